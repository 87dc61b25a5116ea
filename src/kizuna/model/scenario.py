"""Scenarios: a timeline of injects and requests, the structures to compare, and the timing parameters.

A scenario file is YAML. It has two forms that share the distribution, duty-hour and arrival vocabulary:

* an **organizational** scenario names `structures`, `frameworks`, `requests` (RequestSpec fields),
  `injects` (a timeline of events, requests and designations) and `parameters` (service times, staff,
  duty hours, rework, link delays, liaison effect, per organization and per step kind);
* a **network** scenario has a `network:` section (nodes with servers and service times, routes with an
  arrival process and a sequence or DAG of node visits): a plain queueing network that needs no structure
  or law, so the engine can be checked against queueing theory (docs/examples/mmc.yaml is an M/M/c).

Every parameter block carries `source:` or `assumption:`. All times are hours unless a distribution says
`unit:`. The loader (`load_scenario`) reports every problem with file, line, field, value and what was
expected; cross-file checks (organization ids against a structure) happen when the scenario is built for
the engine (`kizuna.sim.build`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, cast, get_args
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from kizuna.errors import DataError, Problem
from kizuna.model.ids import Ident
from kizuna.model.provenance import Provenanced
from kizuna.model.recompute import Recomputed
from kizuna.model.request import RequestSpec
from kizuna.model.sources import Source, read_source_table, resolve_references, source_table_input
from kizuna.model.yamlfile import line_of, lines_of, plain, read_yaml

#: The step kinds parameters may be given for; the same values as `kizuna.planning.StepKind` (the model
#: layer cannot import planning; a test keeps the two equal).
StepKindName = Literal["coordinate", "consult", "approve", "order", "execute", "inform"]
STEP_KINDS: tuple[str, ...] = get_args(StepKindName)

_HOURS_PER = {"h": 1.0, "min": 1.0 / 60.0, "s": 1.0 / 3600.0, "d": 24.0}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- distributions ------------------------------------------------------------------------------------


class _Dist(_Frozen):
    unit: Literal["h", "min", "s", "d"] = Field(default="h", description="Unit of the numbers given.")

    @property
    def scale(self) -> float:
        """Hours per unit of this distribution's numbers."""
        return _HOURS_PER[self.unit]

    def mean_h(self) -> float:  # pragma: no cover - every subclass overrides
        """Return the mean in hours."""
        raise NotImplementedError


class Deterministic(_Dist):
    """Always the same duration. A bare number in a file means this, in hours."""

    dist: Literal["deterministic"] = "deterministic"
    value: float = Field(ge=0)

    def mean_h(self) -> float:
        """Return the mean in hours."""
        return self.value * self.scale


class Exponential(_Dist):
    """Memoryless duration with the given mean (the M of M/M/c)."""

    dist: Literal["exponential"]
    mean: float = Field(gt=0)

    def mean_h(self) -> float:
        """Return the mean in hours."""
        return self.mean * self.scale


class Lognormal(_Dist):
    """Right-skewed duration given by its mean and coefficient of variation (sd / mean)."""

    dist: Literal["lognormal"]
    mean: float = Field(gt=0)
    cv: float = Field(ge=0, description="Coefficient of variation; 0 means deterministic.")

    def mean_h(self) -> float:
        """Return the mean in hours."""
        return self.mean * self.scale


class Triangular(_Dist):
    """Duration between `low` and `high`, most likely `mode` (a common elicitation format)."""

    dist: Literal["triangular"]
    low: float = Field(ge=0)
    mode: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError("triangular needs low <= mode <= high and low < high")
        return self

    def mean_h(self) -> float:
        """Return the mean in hours."""
        return (self.low + self.mode + self.high) / 3.0 * self.scale


class Empirical(_Dist):
    """Durations drawn with equal probability from observed samples (resampling)."""

    dist: Literal["empirical"]
    samples: tuple[float, ...] = Field(min_length=1)

    @field_validator("samples")
    @classmethod
    def _non_negative(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(v < 0 for v in value):
            raise ValueError("samples must be non-negative durations")
        return value

    def mean_h(self) -> float:
        """Return the mean in hours."""
        return sum(self.samples) / len(self.samples) * self.scale


def _number_is_deterministic(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"dist": "deterministic", "value": value}
    if isinstance(value, dict) and "dist" not in value and "value" in value:
        return {"dist": "deterministic", **value}
    return value


#: A duration distribution: `{dist: lognormal, mean: 2, cv: 0.5}`, `{dist: exponential, mean: 1}`,
#: `{dist: triangular, low: 1, mode: 2, high: 6}`, `{dist: empirical, samples: [...]}`,
#: `{dist: deterministic, value: 0.5}` or a bare number of hours; any of them with `unit: min` etc.
Distribution = Annotated[
    Deterministic | Exponential | Lognormal | Triangular | Empirical,
    Field(discriminator="dist"),
    BeforeValidator(_number_is_deterministic),
]


# -- duty hours ---------------------------------------------------------------------------------------

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _days(value: Any) -> Any:
    """Accept 'mon-fri', 'mon,wed,fri' or a list of day names."""
    if not isinstance(value, str):
        return value
    out: list[str] = []
    for part in value.replace(" ", "").split(","):
        if "-" in part:
            first, last = part.split("-", 1)
            if first not in _WEEKDAYS or last not in _WEEKDAYS:
                raise ValueError(f"unknown day in {part!r}; days are {', '.join(_WEEKDAYS)}")
            i, j = _WEEKDAYS.index(first), _WEEKDAYS.index(last)
            out.extend(_WEEKDAYS[i : j + 1] if i <= j else (*_WEEKDAYS[i:], *_WEEKDAYS[: j + 1]))
        else:
            out.append(part)
    return out


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class DutyHours(_Frozen):
    """When an organization works on a step, in the local time of its site.

    `watch` (the default) is a 24/7 watch. `office` works from `open` to `close` on `days`; a step that
    arrives outside those hours waits for the next opening, or, when `call_in` is given, for staff
    called in after that delay, whichever comes first. A step once started runs to its end.
    """

    hours: Literal["watch", "office"] = "watch"
    open: time = time(9, 0)
    close: time = time(18, 0)
    days: Annotated[tuple[Weekday, ...], BeforeValidator(_days)] = ("mon", "tue", "wed", "thu", "fri")
    call_in: Distribution | None = Field(
        default=None, description="Delay to bring staff in outside office hours (none: wait for opening)."
    )

    @field_validator("hours", mode="before")
    @classmethod
    def _aliases(cls, value: Any) -> Any:
        return "watch" if value in ("24/7", "24x7") else value

    @model_validator(mode="after")
    def _open_before_close(self) -> DutyHours:
        if self.hours == "office":
            if self.open >= self.close:
                raise ValueError("office hours need open < close (overnight shifts: use a watch)")
            if not self.days:
                raise ValueError("office hours need at least one day")
        return self

    @property
    def always(self) -> bool:
        """Tell whether this is a 24/7 watch."""
        return self.hours == "watch"


# -- parameters ---------------------------------------------------------------------------------------


class LinkClass(StrEnum):
    """How far apart two organizations are, which sets the communication delay between their steps.

    `kizuna.sim.build` classifies a pair from the structure: the same site is `co-located`; sites less
    than 3,000 km apart (one country or region) are `same-country`; farther apart (Tokyo–Hawaii,
    Tokyo–Washington) is `trans-pacific`. An organization without a site counts as `same-country`.
    """

    CO_LOCATED = "co-located"
    SAME_COUNTRY = "same-country"
    TRANS_PACIFIC = "trans-pacific"


class StepParams(Provenanced):
    """Parameters of one step kind (at every organization, or at one): service time and rework."""

    service: Distribution | None = None
    rework: float | None = Field(
        default=None,
        ge=0,
        lt=1,
        description="Probability that a finished step is sent back and done again (repeatedly).",
    )


class OrgParams(StepParams):
    """Parameters of one organization: staff, duty hours, and service and rework per step kind."""

    servers: int | None = Field(default=None, ge=1, description="Steps worked on at the same time.")
    duty: DutyHours | None = None
    steps: dict[StepKindName, StepParams] = Field(default_factory=dict, description="Per step kind.")


class DefaultParams(OrgParams):
    """The defaults every organization and step kind starts from; service time is required here."""

    service: Distribution
    servers: int = Field(default=1, ge=1)
    duty: DutyHours = DutyHours()
    rework: float = Field(default=0.0, ge=0, lt=1)


class LinkParams(Provenanced):
    """Communication delay between two steps at organizations of one link class."""

    delay: Distribution


class LiaisonParams(Provenanced):
    """A `liaison` relation between two organizations multiplies their link delay by `factor`."""

    factor: float = Field(gt=0, le=1)


class Parameters(_Frozen):
    """Timing parameters, resolved per (organization, step kind) from the most specific level down.

    Service time and rework: `organizations.ORG.steps.KIND`, then `organizations.ORG`, then
    `step_kinds.KIND`, then `defaults`. Servers and duty hours: `organizations.ORG`, then `defaults`.
    """

    defaults: DefaultParams
    step_kinds: dict[StepKindName, StepParams] = Field(default_factory=dict)
    organizations: dict[Ident, OrgParams] = Field(default_factory=dict)
    links: dict[LinkClass, LinkParams] = Field(default_factory=dict)
    liaison: LiaisonParams | None = None

    def _levels(self, org: str, kind: str) -> tuple[StepParams | None, ...]:
        """The parameter levels of (org, kind), most specific first (defaults not included)."""
        o = self.organizations.get(org)
        own = cast("Mapping[str, StepParams]", o.steps if o is not None else {})
        kinds = cast("Mapping[str, StepParams]", self.step_kinds)
        return (own.get(kind), o, kinds.get(kind))

    def service(self, org: str, kind: str) -> Distribution:
        """Return the service-time distribution of a step of `kind` at `org`."""
        for level in self._levels(org, kind):
            if level is not None and level.service is not None:
                return level.service
        return self.defaults.service

    def rework(self, org: str, kind: str) -> float:
        """Return the probability that a step of `kind` at `org` is sent back."""
        for level in self._levels(org, kind):
            if level is not None and level.rework is not None:
                return level.rework
        return self.defaults.rework

    def servers(self, org: str) -> int:
        """Return the number of steps `org` works on at once."""
        o = self.organizations.get(org)
        return o.servers if o is not None and o.servers is not None else self.defaults.servers

    def duty(self, org: str) -> DutyHours:
        """Return the duty hours of `org`."""
        o = self.organizations.get(org)
        return o.duty if o is not None and o.duty is not None else self.defaults.duty

    def link_delay(self, link: LinkClass) -> Distribution | None:
        """Return the delay distribution of a link class (None: no delay)."""
        p = self.links.get(link)
        return p.delay if p is not None else None


# -- arrivals, deadlines, injects ----------------------------------------------------------------------


class Arrival(_Frozen):
    """An arrival process: `count` arrivals, or as many as fall before `horizon_h`.

    `poisson` draws exponential gaps with rate `rate_per_h`; `deterministic` spaces arrivals by
    `interval_h`. The process begins `offset_h` hours after its origin (the inject that starts it, or
    hour 0 of a network scenario): the first deterministic arrival comes at the offset, the first poisson
    one a gap after it. `horizon_h` is counted from the same origin as `offset_h`, so the arrivals fall in
    [offset_h, horizon_h].
    """

    process: Literal["poisson", "deterministic"]
    rate_per_h: float | None = Field(default=None, gt=0)
    interval_h: float | None = Field(default=None, gt=0)
    count: int | None = Field(default=None, ge=1)
    horizon_h: float | None = Field(default=None, gt=0)
    offset_h: float = Field(default=0.0, ge=0, description="Hours from the origin to the process's start.")

    @model_validator(mode="after")
    def _complete(self) -> Arrival:
        if self.process == "poisson" and self.rate_per_h is None:
            raise ValueError("a poisson process needs rate_per_h")
        if self.process == "deterministic" and self.interval_h is None:
            raise ValueError("a deterministic process needs interval_h")
        if (self.count is None) == (self.horizon_h is None):
            raise ValueError("give exactly one of count and horizon_h")
        if self.horizon_h is not None and self.offset_h >= self.horizon_h:
            raise ValueError(
                f"offset_h ({self.offset_h:g}) must come before horizon_h ({self.horizon_h:g}): "
                "both count from the process's origin"
            )
        return self

    @property
    def mean_gap_h(self) -> float:
        """Mean time between arrivals, in hours."""
        if self.process == "poisson":
            assert self.rate_per_h is not None
            return 1.0 / self.rate_per_h
        assert self.interval_h is not None
        return self.interval_h

    def max_count(self) -> int:
        """Return an upper bound on the number of arrivals (for a horizon: mean + 8 sd + 8)."""
        if self.count is not None:
            return self.count
        assert self.horizon_h is not None
        mean = (self.horizon_h - self.offset_h) / self.mean_gap_h
        if self.process == "deterministic":
            return int(mean) + 1
        return int(mean + 8.0 * mean**0.5 + 8.0)


class Deadline(_Frozen):
    """A time by which a request should be decided or in effect ("before the landing").

    Exactly one of `at_h` (scenario hours), `at` (a date-time) or `after_h` (hours after filing).
    """

    name: str = Field(min_length=1)
    at_h: float | None = None
    at: datetime | None = None
    after_h: float | None = Field(default=None, gt=0)
    of: Literal["decision", "effect"] = "effect"
    source: tuple[str, ...] = ()
    assumption: str | None = None

    @field_validator("source", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_time(self) -> Deadline:
        if sum(v is not None for v in (self.at_h, self.at, self.after_h)) != 1:
            raise ValueError("a deadline gives exactly one of at_h, at and after_h")
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("`at` needs a time zone offset (e.g. 2027-05-01T06:00:00+09:00)")
        return self


class InjectRequest(_Frozen):
    """Requests filed by an inject: `count` at once, or an `arrival` process starting at the inject."""

    request: Ident = Field(description="A request id of the scenario's `requests`.")
    count: int = Field(default=1, ge=1)
    arrival: Arrival | None = None
    after: tuple[Ident, ...] = Field(
        default=(), description="Request ids whose decision (first filing) this waits for."
    )
    deadlines: tuple[Deadline, ...] = ()

    @field_validator("after", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _count_or_arrival(self) -> InjectRequest:
        if self.arrival is not None and self.count != 1:
            raise ValueError("give `count` or `arrival`, not both")
        return self


class Inject(_Frozen):
    """One entry of the timeline: at `at_h` hours (or the date-time `at`), what happens."""

    at_h: float | None = Field(default=None, ge=0)
    at: datetime | None = None
    event: str | None = Field(default=None, description="What happens, in words (for the timeline).")
    designates: tuple[Ident, ...] = Field(
        default=(), description="Situations designated from this time (shown on the timeline)."
    )
    requests: tuple[InjectRequest, ...] = ()
    source: tuple[str, ...] = ()
    assumption: str | None = None

    @field_validator("source", "designates", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("requests", mode="before")
    @classmethod
    def _bare_ids(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"request": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _one_time(self) -> Inject:
        if (self.at_h is None) == (self.at is None):
            raise ValueError("an inject gives exactly one of at_h and at")
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("`at` needs a time zone offset (e.g. 2027-05-01T06:00:00+09:00)")
        return self


class Observation(Provenanced):
    """A timeline observed in a real event (or a stated bound), set beside the model in reports.

    `low_h`..`high_h` is the observed time from filing (the inject) to the request's decision or effect;
    give both equal for a single value. `kind: bound` marks a statement of what is needed or possible (a
    planning bound) rather than a measurement.
    """

    name: str = Field(min_length=1)
    request: Ident = Field(description="The request of the scenario this observation compares with.")
    of: Literal["decision", "effect"] = "effect"
    low_h: float = Field(ge=0)
    high_h: float = Field(ge=0)
    kind: Literal["observed", "bound"] = "observed"
    note: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Observation:
        if self.high_h < self.low_h:
            raise ValueError(f"high_h ({self.high_h}) is below low_h ({self.low_h})")
        return self


# -- the plain queueing network ------------------------------------------------------------------------


class Node(Provenanced):
    """A station of a queueing network: `servers` in parallel, FIFO, with one service distribution."""

    id: Ident
    servers: int = Field(default=1, ge=1)
    service: Distribution
    duty: DutyHours | None = None


class RouteStep(_Frozen):
    """One visit of a route: at `node`, after the steps `after` (default: the previous step)."""

    id: Ident
    node: Ident
    after: tuple[Ident, ...] | None = None
    delay: Distribution | None = Field(
        default=None,
        description="Transit delay before the visit (from its predecessors' ends, or, for a step without "
        "predecessors, from the customer's arrival).",
    )

    @field_validator("after", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


def _route_steps(value: Any) -> Any:
    if isinstance(value, list):
        return [{"id": v, "node": v} if isinstance(v, str) else v for v in value]
    return value


class Route(Provenanced):
    """A class of customers: how they arrive and which nodes they visit (a chain or a fork-join DAG)."""

    id: Ident
    arrival: Arrival
    steps: Annotated[tuple[RouteStep, ...], BeforeValidator(_route_steps)] = Field(min_length=1)
    deadline_h: float | None = Field(default=None, gt=0, description="Hours from arrival.")
    warmup: int = Field(
        default=0,
        ge=0,
        description="The first `warmup` customers are simulated but left out of the statistics "
        "(to compare with steady-state formulas).",
    )

    @model_validator(mode="after")
    def _dag(self) -> Route:
        seen: set[str] = set()
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} appears twice (give each visit an `id:`)")
            for pred in step.after or ():
                if pred not in seen:
                    raise ValueError(f"step {step.id!r} comes after {pred!r}, which is not an earlier step")
            seen.add(step.id)
        return self

    def predecessors(self) -> dict[str, tuple[str, ...]]:
        """Return each step's predecessors (a missing `after` means the previous step)."""
        out: dict[str, tuple[str, ...]] = {}
        prev: str | None = None
        for step in self.steps:
            out[step.id] = step.after if step.after is not None else ((prev,) if prev else ())
            prev = step.id
        return out

    @property
    def last(self) -> str:
        """The step whose end is the customer's departure."""
        return self.steps[-1].id


class Network(_Frozen):
    """A plain queueing network: nodes and routes, no structure or law needed."""

    nodes: tuple[Node, ...] = Field(min_length=1)
    routes: tuple[Route, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Network:
        ids = [n.id for n in self.nodes]
        if len(set(ids)) != len(ids):
            raise ValueError("node ids must be unique")
        known = set(ids)
        for route in self.routes:
            for step in route.steps:
                if step.node not in known:
                    raise ValueError(
                        f"route {route.id!r} visits unknown node {step.node!r}; known: {', '.join(ids)}"
                    )
        return self

    @cached_property
    def node_by_id(self) -> dict[str, Node]:
        """Nodes by id."""
        return {n.id: n for n in self.nodes}


# -- the scenario -------------------------------------------------------------------------------------


class Start(_Frozen):
    """The scenario clock's zero as date, time and IANA zone (alternative to an aware date-time)."""

    date: dt.date
    time: dt.time = dt.time(0, 0)
    zone: str = "UTC"

    @field_validator("zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, KeyError, OSError) as err:
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. Asia/Tokyo)") from err
        return value

    def aware(self) -> datetime:
        """Return the start as an aware date-time."""
        return datetime.combine(self.date, self.time, tzinfo=ZoneInfo(self.zone))


def clock_zone(when: datetime) -> tzinfo:
    """Return the clock a date-time is read on: its IANA zone, or its fixed UTC offset.

    A start written `2027-03-12T17:30:00+09:00` keeps UTC+09:00 all year (a fixed offset has no daylight
    saving); `{date, time, zone}` follows the zone's rules.

    Raises:
        ValueError: the date-time is naive, or its zone is neither an IANA zone (`zoneinfo.ZoneInfo`) nor
            a fixed offset (e.g. a pytz or dateutil zone, whose offsets the engine could not read).
    """
    tz = when.tzinfo
    if isinstance(tz, ZoneInfo):
        return tz
    offset = tz.utcoffset(None) if tz is not None else None
    if tz is None or offset is None:
        raise ValueError(
            f"{when.isoformat()} needs an IANA zone ({{date, time, zone}}) or a fixed UTC offset "
            f"(2027-05-01T06:00:00+09:00), not {type(tz).__name__}"
        )
    return timezone(offset)


def local_time(start: datetime, hours: float) -> datetime:
    """Return the date-time `hours` after `start`, on start's clock.

    The hours are added in UTC: across a daylight-saving change the wall clock moves by one hour more
    or less than the hours elapsed (adding a timedelta to a datetime with a `ZoneInfo` adds wall-clock
    time instead).
    """
    return (start.astimezone(UTC) + timedelta(hours=hours)).astimezone(clock_zone(start))


def hours_between(start: datetime, when: datetime) -> float:
    """Return the hours elapsed from `start` to `when`, both aware (subtracted in UTC)."""
    return (when.astimezone(UTC) - start.astimezone(UTC)) / timedelta(hours=1)


def _start(value: Any) -> Any:
    if isinstance(value, dict):
        return Start.model_validate(value).aware()
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(0, 0), tzinfo=UTC)
    return value


class Scenario(Recomputed, _Frozen):
    """A scenario: what happens when, under which structures, with which timing parameters."""

    id: Ident
    name: str = Field(min_length=1)
    description: str = ""
    sources: Annotated[dict[str, Source], BeforeValidator(source_table_input)] = Field(
        default_factory=dict,
        description="The documents the scenario cites, by key: the file's own `sources:` entries (a title "
        "and URL, or a mapping like the catalog's) and, after loading, the catalog entries it cites.",
    )
    structures: tuple[str, ...] = Field(default=(), description="Structure ids or paths to compare.")
    frameworks: tuple[str, ...] = Field(default=(), description="Framework ids or paths in force.")
    start: Annotated[datetime, BeforeValidator(_start)] = Field(
        default=datetime(2000, 1, 1, tzinfo=UTC),
        description="Scenario hour 0: an aware date-time, or {date, time, zone}.",
    )
    requests: tuple[RequestSpec, ...] = ()
    injects: tuple[Inject, ...] = ()
    observed: tuple[Observation, ...] = Field(
        default=(), description="Observed timelines (or bounds) to set beside the model's results."
    )
    parameters: Parameters | None = None
    network: Network | None = None
    file: str | None = Field(default=None, description="The file the scenario was loaded from.")

    _lines: dict[str, int] = PrivateAttr(default_factory=dict)

    @field_validator("structures", "frameworks", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("start needs a time zone: 2027-05-01T06:00:00+09:00 or {date, time, zone}")
        clock_zone(value)
        return value

    @model_validator(mode="after")
    def _form(self) -> Scenario:
        if self.network is not None:
            if self.requests or self.injects or self.structures:
                raise ValueError("a network scenario has `network:` and no structures, requests or injects")
            return self
        if not self.structures:
            raise ValueError("a scenario names `structures` to compare (or is a `network:` scenario)")
        if not self.requests or not self.injects or self.parameters is None:
            raise ValueError("a scenario needs `requests`, `injects` and `parameters` (or a `network:`)")
        ids = [r.id for r in self.requests]
        if len(set(ids)) != len(ids):
            raise ValueError("request ids must be unique")
        known = set(ids)
        for i, inject in enumerate(self.injects):
            for entry in inject.requests:
                for ref in (entry.request, *entry.after):
                    if ref not in known:
                        raise ValueError(
                            f"injects[{i}] files unknown request {ref!r}; known: {', '.join(ids)}"
                        )
        for i, observation in enumerate(self.observed):
            if observation.request not in known:
                raise ValueError(
                    f"observed[{i}] names unknown request {observation.request!r}; known: {', '.join(ids)}"
                )
        return self

    @property
    def is_network(self) -> bool:
        """Tell whether this is a plain queueing-network scenario."""
        return self.network is not None

    @cached_property
    def request_by_id(self) -> dict[str, RequestSpec]:
        """Requests by id."""
        return {r.id: r for r in self.requests}

    @property
    def zone(self) -> tzinfo:
        """The clock of `start`: its IANA zone or its fixed offset (network nodes and organizations
        without a site keep office hours on it)."""
        return clock_zone(self.start)

    def hours(self, when: datetime) -> float:
        """Return a date-time as scenario hours (hours after `start`, counted in UTC)."""
        return hours_between(self.start, when)

    def when(self, hours: float) -> datetime:
        """Return scenario hour `hours` as a date-time on the clock of `start`."""
        return local_time(self.start, hours)

    def inject_hours(self, inject: Inject) -> float:
        """Return the scenario hour of an inject."""
        return inject.at_h if inject.at_h is not None else self.hours(_aware(inject.at))

    def line(self, path: str) -> int | None:
        """Return the line in the file of a dotted field path (e.g. 'parameters.organizations.mofa')."""
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path.rpartition(".")[0]
        return None


def _aware(value: datetime | None) -> datetime:
    assert value is not None
    return value


# -- loading ------------------------------------------------------------------------------------------


def load_scenario(ref: str | Path) -> Scenario:
    """Load and validate a scenario by bundled id (e.g. `taiwan-contingency`) or file path.

    Raises:
        DataError: the file is invalid; every problem is listed with its line.
        UnknownId: `ref` is not a file and not a bundled scenario id.
    """
    from kizuna.model.loading import load_checked

    return load_checked(ref, kind="scenarios", check=check_scenario_file)


def check_scenario_file(path: str | Path) -> tuple[Scenario | None, list[Problem]]:
    """Validate one scenario file; return the scenario (None when invalid) and every problem found."""
    file = str(path)
    try:
        root = read_yaml(path)
    except DataError as err:
        return None, list(err.problems)
    if not isinstance(root, dict):
        keys = ", ".join(Scenario.model_fields)
        return None, [Problem(file, 1, "(top level)", "a scenario file is a mapping", expected=keys)]
    data = plain(root)
    data["file"] = file
    problems: list[Problem] = []
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        problems.extend(_problems(file, root, err))
    local = read_source_table(file, root, [])  # malformed entries were reported by the model above
    cited = resolve_references(file, _references(root), local, problems)
    if scenario is not None:
        scenario = scenario.model_copy(update={"sources": {**local, **dict(sorted(cited.items()))}})
        scenario._lines.update(lines_of(root))
    problems.sort(key=lambda p: p.line or 0)
    return (scenario if not problems else None), problems


def _node_at(root: Any, loc: tuple[Any, ...]) -> tuple[Any, Any]:
    """Follow an error location into the YAML tree; return the deepest (parent, key) that exists."""
    parent: Any = root
    key: Any = None
    node: Any = root
    for part in loc:
        inside_map = isinstance(node, dict) and part in node
        inside_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if inside_map or inside_list:
            parent, key, node = node, part, node[part]
        # pydantic adds union tags (e.g. 'lognormal') to locations: skip what the file does not have
    return parent, key


def _problems(file: str, root: Any, err: ValidationError) -> Iterator[Problem]:
    for e in err.errors():
        loc = tuple(e["loc"])
        parent, key = _node_at(root, loc)
        line = line_of(parent, key) if key is not None else 1
        # pydantic puts the union tag (e.g. 'lognormal') into locations; the file does not have it
        fld = ".".join(str(p) for p in loc if p not in _DIST_BY_TAG) or "(top level)"
        message = e["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if loc and loc[-1] == "[key]":
            fld = fld.removesuffix(".[key]")
            yield Problem(
                file, line, fld, "unknown name", e.get("input"), message.replace("Input should be", "one of")
            )
        elif e["type"] == "extra_forbidden":
            yield Problem(file, line, fld, "unknown key", expected=_allowed(loc))
        elif e["type"] == "missing":
            yield Problem(file, line, fld, "missing required key")
        elif e["type"] == "union_tag_invalid":
            yield Problem(
                file,
                line,
                fld,
                "unknown distribution",
                e.get("input", {}).get("dist") if isinstance(e.get("input"), dict) else e.get("input"),
                "one of deterministic, exponential, lognormal, triangular, empirical",
            )
        elif e["type"] == "union_tag_not_found":
            yield Problem(file, line, fld, "a distribution needs `dist:`", expected=_DIST_HELP)
        else:
            value = e.get("input")
            if isinstance(value, dict | list):
                value = None
            yield Problem(file, line, fld, message, value)


_DIST_HELP = "e.g. {dist: lognormal, mean: 2, cv: 0.5} or a number of hours"


def _allowed(loc: tuple[Any, ...]) -> str | None:
    """Name the keys allowed where an unknown key was found (best effort, from the models)."""
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            model = _DIST_BY_TAG.get(str(part)) if model is _DIST_MARK else None
            continue
        model = _inner_model(fields[part].annotation)
    fields = getattr(model, "model_fields", None)
    if not fields:
        return None
    return "one of " + ", ".join(f.alias or name for name, f in fields.items() if name != "file")


_DIST_MARK = object()
_DIST_BY_TAG: dict[str, type[BaseModel]] = {
    "deterministic": Deterministic,
    "exponential": Exponential,
    "lognormal": Lognormal,
    "triangular": Triangular,
    "empirical": Empirical,
}


def _inner_model(annotation: Any) -> Any:
    """Find the model inside an annotation like `tuple[Inject, ...]`, `X | None` or `dict[str, X]`."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    args = typing.get_args(annotation)
    if any(isinstance(a, type) and a in _DIST_BY_TAG.values() for a in args):
        return _DIST_MARK
    for arg in reversed(args):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _references(root: Any) -> Iterator[tuple[str, int | None, str]]:
    """Yield (field, line, reference) for every `source:` in the file (the `sources:` table aside)."""

    def walk(node: Any, where: str) -> Iterator[tuple[str, int | None, str]]:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "source" and where != "" and isinstance(v, str | list):
                    for ref in [v] if isinstance(v, str) else v:
                        if isinstance(ref, str):
                            yield f"{where}.source", line_of(node, k), ref
                elif k != "sources":
                    yield from walk(v, f"{where}.{k}" if where else str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, f"{where}[{i}]")

    yield from walk(root, "")
