"""Synthetic players: bots that play organizations of an exercise through the public HTTP API.

Each bot plays one organization with users of its own (an operator files, an approver acts), follows
the event stream its users may see, and works like the organization the simulator models
(`kizuna.sim`), in exercise time:

* a step of its organization *arrives* when the last of its predecessors is done (as the log records
  it) plus the link delay from that predecessor's organization; a request's first step arrives when the
  request is filed, and the bot files the request an inject asks for when the inject arrives (or, with
  `after`, when the first filing of each prerequisite is decided);
* steps wait first-come first-served for the organization's `servers`; one that would start outside
  duty hours waits for the next opening or for staff called in, whichever is sooner, holding its server;
* a step takes its service time (redrawn while rework sends it back), then the bot performs the step's
  action through the API.

The durations come from the same resolved parameters the engine uses (`kizuna.sim.build.structure_input`
on the live decision path) and are drawn with the engine's samplers (`kizuna.sim.distributions`) and its
duty calendar (`kizuna.sim.calendar`). Each draw comes from a generator seeded by the run's seed and the
step's identity (the inject's serial and the step id), so a run's draws do not depend on the order in
which the bots learn of events.

Wall-clock latency (the stream, HTTP, the server deciding) makes each action land a little after its
intended exercise time: at 3600x a 10 ms delay is 36 exercise seconds. Each bot measures that lag from
the times the log records and sends its next actions early by the median lag, so the recorded times
scatter around the intended ones instead of trailing them (docs/exercise.md argues the rest negligible).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from kizuna.exercise.clock import ClockHistory, ClockState
from kizuna.model.request import RequestSpec
from kizuna.model.scenario import Scenario
from kizuna.model.structure import Structure
from kizuna.planning import DecisionPath, StepKind
from kizuna.sim.build import structure_input
from kizuna.sim.distributions import draw_one
from kizuna.sim.engine import PathTemplate, Station

#: The action a bot performs on each kind of step.
ACTION_OF: dict[StepKind, str] = {
    StepKind.COORDINATE: "coordinate",
    StepKind.CONSULT: "consult",
    StepKind.APPROVE: "approve",
    StepKind.ORDER: "order",
    StepKind.EXECUTE: "execute",
    StepKind.INFORM: "inform",
}
#: Lags (wall seconds) a bot's lead is the median of.
LAG_WINDOW = 25
#: The most a bot sends early, in wall seconds.
MAX_LEAD_S = 0.5
#: Writes one bot has in flight at once (a bot acts for an organization of several staff).
IN_FLIGHT = 16


@dataclass(frozen=True, slots=True)
class PlayerConfig:
    """How the bots play: their seed, and a factor on service times (2.0 makes a mis-specified bot)."""

    seed: int = 0
    service_scale: float = 1.0
    compensate_lag: bool = True


class Playbook:
    """The parameters the bots draw from, resolved exactly as the engine resolves them.

    A path's template (service, rework and link delays per step) is built by `structure_input` on a
    scenario holding just that request, so a request a person files ad hoc is played the same way.
    """

    def __init__(self, scenario: Scenario, structure: Structure) -> None:
        """Resolve against a scenario's parameters in a structure."""
        self.scenario = scenario
        self.structure = structure
        self._base = scenario.model_dump(exclude={"file", "requests", "injects", "observed"})
        self._templates: dict[str, tuple[PathTemplate, dict[str, Station]]] = {}
        self._stations: dict[str, Station] = {}

    def template(self, spec: RequestSpec, path: DecisionPath) -> PathTemplate:
        """Return the engine template of a live decision path (built once per path)."""
        key = path.model_dump_json(exclude={"request"})
        if key not in self._templates:
            data = {
                **self._base,
                "requests": [spec.model_dump()],
                "injects": [{"at_h": 0, "requests": [spec.id]}],
            }
            one = Scenario.model_validate(data)
            inp = structure_input(one, self.structure, {spec.id: path})
            template = inp.templates[0]
            stations = {s.id: s for s in inp.stations}
            self._stations.update(stations)
            self._templates[key] = (template, stations)
        return self._templates[key][0]

    def station(self, organization: str) -> Station:
        """Return an organization's station (servers, duty calendar, call-in)."""
        if organization not in self._stations:
            assert self.scenario.parameters is not None
            params = self.scenario.parameters
            from kizuna.sim.calendar import DutyCalendar

            site = self.structure.site_of(organization)
            zone = site.time_zone if site is not None else self.scenario.zone  # the clock of `start`
            duty = params.duty(organization)
            self._stations[organization] = Station(
                id=organization,
                servers=params.servers(organization),
                calendar=DutyCalendar.build(duty, zone, self.scenario.start),
                call_in=duty.call_in,
            )
        return self._stations[organization]


def _rng(seed: int, key: str) -> np.random.Generator:
    digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


# -- what a bot knows -----------------------------------------------------------------------------------


@dataclass
class _Request:
    id: str
    spec: RequestSpec
    path: DecisionPath
    filed_h: float
    done: dict[str, float] = field(default_factory=dict)  # step -> exercise hours of the action
    closed: bool = False


@dataclass
class _Inject:
    serial: str
    due_h: float
    to: tuple[str, ...]
    request: str | None
    after: tuple[str, ...]


class World:
    """What one bot has seen of the exercise on its event stream."""

    def __init__(self, exercise: str) -> None:
        """Follow one exercise."""
        self.exercise = exercise
        self.start: datetime | None = None
        self.clock: ClockHistory | None = None
        self.requests: dict[str, _Request] = {}
        self.injects: dict[str, _Inject] = {}
        self.answers: dict[str, str] = {}  # serial -> request id
        self.serial_of: dict[str, str] = {}  # request id -> serial
        self.last_seq = 0

    def hours(self, wall: datetime) -> float:
        """Exercise hours (after the start) at a wall-clock moment of the server."""
        assert self.clock is not None
        assert self.start is not None
        return (self.clock.at(wall) - self.start) / timedelta(hours=1)

    def apply(self, seq: int, kind: str, event: Mapping[str, Any]) -> bool:
        """Fold one event of the stream; return whether it concerns this exercise."""
        if seq <= self.last_seq:
            return False
        self.last_seq = seq
        if event.get("crisis") != self.exercise:
            return False
        at = datetime.fromisoformat(event["at"])
        if kind == "exercise-created":
            self.start = datetime.fromisoformat(event["msel"]["start"])
            self.clock = ClockHistory(ClockState(anchor=self.start))
        elif kind == "exercise-clock" and self.clock is not None:
            self.clock.add(ClockState.model_validate(event["state"]))
        elif kind == "exercise-inject-delivered" and self.start is not None:
            due = datetime.fromisoformat(event["due"])
            self.injects[event["serial"]] = _Inject(
                serial=event["serial"],
                due_h=(due - self.start) / timedelta(hours=1),
                to=tuple(event["to"]),
                request=event.get("request"),
                after=tuple(event.get("after") or ()),
            )
        elif kind == "exercise-inject-answered":
            self.answers.setdefault(event["serial"], event["request"])
            self.serial_of.setdefault(event["request"], event["serial"])
        elif kind == "request-filed" and self.clock is not None:
            path = DecisionPath.model_validate(event["path"])
            self.requests[event["request"]] = _Request(
                id=event["request"],
                spec=RequestSpec.model_validate(event["spec"]),
                path=path,
                filed_h=self.hours(at),
                closed=path.prohibited,
            )
        elif kind == "step-acted" and event["request"] in self.requests:
            request = self.requests[event["request"]]
            request.done.setdefault(event["step"], self.hours(at))
            if event["action"] == "deny":
                request.closed = True
        elif kind == "request-withdrawn" and event["request"] in self.requests:
            self.requests[event["request"]].closed = True
        return True

    def decided_h(self, scenario_request: str) -> float | None:
        """When the first filing (by MSEL time) of a scenario request was decided, if it was."""
        rows = sorted((i for i in self.injects.values() if i.request == scenario_request), key=_inject_order)
        for inject in rows:
            rid = self.answers.get(inject.serial)
            if rid is not None and rid in self.requests:
                request = self.requests[rid]
                return request.done.get(request.path.decision_step)
        return None


def _inject_order(inject: _Inject) -> tuple[float, str]:
    return inject.due_h, inject.serial


# -- one bot --------------------------------------------------------------------------------------------


@dataclass
class _Visit:
    """A step of the bot's organization: when it arrived, its draws, and its planned and recorded times."""

    request: str
    step: str
    kind: StepKind
    arrive_h: float
    service_h: float
    call_in_h: float | None
    begin_h: float = math.nan
    end_h: float = math.nan
    posted: bool = False
    sending: bool = False
    failed: str | None = None


@dataclass
class _Filing:
    serial: str
    at_h: float


Post = Callable[[str, str, Any], Awaitable[tuple[int, Any]]]
Get = Callable[[str, Mapping[str, Any]], Awaitable[Any]]
#: Exercise hours within which a stepped clock counts an action as due (rounding to microseconds).
DUE_EPS_H = 1e-6


class Bot:
    """Plays one organization: files its injects' requests and performs its steps in exercise time."""

    def __init__(
        self,
        organization: str,
        *,
        exercise: str,
        playbook: Playbook,
        config: PlayerConfig,
        post: Post,
        get: Get | None = None,
        offset_s: float = 0.0,
    ) -> None:
        """Play `organization`; `post(user, path, body)` sends a write as the bot's `actor` or `filer`,
        `get(path, params)` reads as its `actor`."""
        self.org = organization
        self.exercise = exercise
        self.playbook = playbook
        self.config = config
        self.post = post
        self.get = get
        self.offset_s = offset_s  # server wall clock minus this process's
        self.world = World(exercise)
        self.station = playbook.station(organization)
        self.visits: dict[tuple[str, str], _Visit] = {}
        self.filed: set[str] = set()
        self.errors: list[str] = []
        self.actions = 0
        self.lags: deque[float] = deque(maxlen=LAG_WINDOW)
        self.changed = asyncio.Event()
        self._sending: set[str] = set()  # filings in flight
        self._active: set[str] = set()  # requests with steps of this organization still to do
        self._posted: set[tuple[str, str]] = set()  # steps this bot did (their visits may be dropped)
        self._waiting = False  # a filing waits for a prerequisite's decision
        self.keep_backlog = False  # keep what `sync` read, to hand to bots whose users see the same
        self.backlog: list[tuple[int, str, Mapping[str, Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    # -- knowledge ----------------------------------------------------------------------------------

    def observe(self, seq: int, kind: str, event: Mapping[str, Any]) -> None:
        """Take in one event of the stream."""
        if self.world.apply(seq, kind, event):
            if kind == "request-filed":
                self._active.add(event["request"])
            # Another organization's step only matters for a step of this one, or a filing that waits.
            if kind != "step-acted" or event.get("request") in self._active or self._waiting:
                self.changed.set()

    def _key(self, request: str) -> str:
        return self.world.serial_of.get(request, request)

    def _arrivals(self) -> None:
        """Create the visits of steps of this organization whose predecessors are all done."""
        world = self.world
        for rid in list(self._active):
            request = world.requests[rid]
            mine = [s for s in request.path.steps if s.organization == self.org and s.id not in request.done]
            if request.closed or not mine:
                self._active.discard(rid)
                continue
            for step in mine:
                if step.organization != self.org or step.id in request.done:
                    continue
                if (request.id, step.id) in self.visits or (request.id, step.id) in self._posted:
                    continue
                if not all(p in request.done for p in step.predecessors):
                    continue
                self.visits[(request.id, step.id)] = self._visit(request, step.id)

    def _visit(self, request: _Request, step_id: str) -> _Visit:
        template = self.playbook.template(request.spec, request.path)
        index = {s.id: j for j, s in enumerate(template.steps)}
        spec = template.steps[index[step_id]]
        rng = _rng(self.config.seed, f"{self._key(request.id)}/{step_id}")
        work = draw_one(spec.service, rng)
        while spec.rework > 0 and rng.random() < spec.rework:
            work += draw_one(spec.service, rng)
        call_in = draw_one(self.station.call_in, rng) if self.station.call_in is not None else None
        arrive = request.filed_h
        preds = [
            (template.steps[p].id, d)
            for p, d in spec.preds
            if not template.steps[p].after_effect or spec.after_effect
        ]
        if preds:
            arrive = max(request.done[p] + draw_one(d, rng) for p, d in preds)
        return _Visit(
            request=request.id,
            step=step_id,
            kind=StepKind(spec.kind),
            arrive_h=arrive,
            service_h=work * self.config.service_scale,
            call_in_h=call_in,
        )

    def _schedule(self) -> None:
        """First-come first-served on the organization's servers, with duty hours (the engine's rules).

        Steps already done that ended before the earliest open step arrived cannot delay it any more:
        they are dropped, so the schedule costs what is in hand, not the whole exercise.
        """
        open_ = [v.arrive_h for v in self.visits.values() if not v.posted and v.failed is None]
        horizon = min(open_, default=math.inf)
        for key in [k for k, v in self.visits.items() if v.posted and v.end_h <= horizon]:
            del self.visits[key]
        free = [-math.inf] * self.station.servers
        calendar = self.station.calendar
        for visit in sorted(self.visits.values(), key=lambda v: (v.arrive_h, v.request, v.step)):
            if visit.failed is not None:
                continue
            earliest = min(range(len(free)), key=free.__getitem__)
            if visit.posted:
                free[earliest] = max(free[earliest], visit.end_h)
                continue
            ready = max(visit.arrive_h, free[earliest])
            begin = ready
            if calendar is not None:
                opening = float(calendar.next_open(np.array([ready]))[0])
                if opening > ready and visit.call_in_h is not None:
                    opening = min(opening, ready + visit.call_in_h)
                begin = opening
            visit.begin_h = begin
            visit.end_h = begin + visit.service_h
            free[earliest] = visit.end_h

    def _filings(self) -> list[_Filing]:
        """Injects to this organization that ask for a request, ready to file (prerequisites decided)."""
        out: list[_Filing] = []
        self._waiting = False
        for inject in self.world.injects.values():
            if inject.request is None or self.org not in inject.to or inject.serial in self.filed:
                continue
            if inject.serial in self._sending:
                continue
            if inject.serial in self.world.answers:
                self.filed.add(inject.serial)
                continue
            at = inject.due_h
            for prerequisite in inject.after:
                decided = self.world.decided_h(prerequisite)
                if decided is None:
                    self._waiting = True
                    break
                at = max(at, decided)
            else:
                out.append(_Filing(inject.serial, at))
        return out

    def plan(self) -> tuple[float, _Visit | _Filing] | None:
        """Return the next thing to do and its exercise hour, or None."""
        if self.world.clock is None:
            return None
        self._arrivals()
        self._schedule()
        best: tuple[float, _Visit | _Filing] | None = None
        for filing in self._filings():
            if best is None or filing.at_h < best[0]:
                best = (filing.at_h, filing)
        for visit in self.visits.values():
            if visit.posted or visit.sending or visit.failed is not None:
                continue
            if best is None or visit.end_h < best[0]:
                best = (visit.end_h, visit)
        return best

    @property
    def busy(self) -> bool:
        """Tell whether the bot has something to do now or later (or a write in flight)."""
        return bool(self._tasks) or self.plan() is not None

    # -- acting -------------------------------------------------------------------------------------

    def _server_wall(self, hours: float) -> datetime | None:
        world = self.world
        assert world.clock is not None
        assert world.start is not None
        return world.clock.current.wall_at(world.start + timedelta(hours=hours))

    def lead_s(self) -> float:
        """How early the bot sends, in wall seconds: the median lag it measured (0 without compensation)."""
        if not self.config.compensate_lag or not self.lags:
            return 0.0
        return min(MAX_LEAD_S, max(0.0, statistics.median(self.lags)))

    async def run(self, stop: asyncio.Event) -> None:
        """Act until `stop` is set."""
        while not stop.is_set():
            self.changed.clear()
            nxt = self.plan()
            wait = 1.0
            if nxt is not None:
                hours, what = nxt
                due = self._server_wall(hours)
                if due is not None:
                    server_now = datetime.now(UTC) + timedelta(seconds=self.offset_s)
                    wait = (due - server_now).total_seconds() - self.lead_s()
                    if wait <= 0 and len(self._tasks) < IN_FLIGHT:
                        self._send(what, due)
                        continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=min(max(wait, 0.0), 1.0))

    # -- a stepped clock (the runner moves exercise time from one due action to the next) -----------------

    async def sync(self) -> int:
        """Read the events this bot may see that it has not seen yet (from the log); return how many."""
        assert self.get is not None
        seen = 0
        while True:
            page = await self.get("/api/events", {"after": self.world.last_seq, "limit": 1000})
            for item in page:
                self.observe(int(item["seq"]), item["type"], item["event"])
                if self.keep_backlog:
                    self.backlog.append((int(item["seq"]), item["type"], item["event"]))
            seen += len(page)
            if len(page) < 1000:
                return seen

    def next_h(self) -> float | None:
        """The exercise hour of the bot's next action (None: nothing planned)."""
        nxt = self.plan()
        return nxt[0] if nxt is not None else None

    async def settle(self, now_h: float) -> int:
        """Do everything due at or before `now_h` (the clock stands there); return how many writes."""
        sent = 0
        while True:
            while (nxt := self.plan()) is not None and nxt[0] <= now_h + DUE_EPS_H:
                assert self.world.clock is not None
                self._send(nxt[1], self.world.clock.current.anchor_wall or datetime.now(UTC))
                sent += 1
            if not self._tasks:
                return sent
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _send(self, what: _Visit | _Filing, intended: datetime) -> None:
        """Send a write without waiting for it: the bot's staff work in parallel."""
        if isinstance(what, _Filing):
            self._sending.add(what.serial)
        else:
            what.sending = True
        task = asyncio.create_task(self._do(what, intended))
        self._tasks.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            if isinstance(what, _Filing):
                self._sending.discard(what.serial)
            else:
                what.sending = False
            if not done.cancelled() and done.exception() is not None:
                self.errors.append(f"write failed: {done.exception()!r}")
            self.changed.set()

        task.add_done_callback(finished)

    async def _do(self, what: _Visit | _Filing, intended: datetime) -> None:
        if isinstance(what, _Filing):
            self.filed.add(what.serial)
            path = f"/api/exercises/{self.exercise}/injects/{what.serial}/file"
            status, body = await self.post("filer", path, {})
            if status == 201:
                request = body["request"]
                self.world.serial_of.setdefault(request["id"], what.serial)
                self.world.answers.setdefault(what.serial, request["id"])
                # Not a lag to lead by: a filing waits for the inject's delivery, which cannot come early.
            else:
                self.errors.append(f"filing inject {what.serial}: {status} {_detail(body)}")
            return
        status, body = await self.post(
            "actor",
            f"/api/requests/{what.request}/steps/{what.step}/actions",
            {"action": ACTION_OF[what.kind]},
        )
        self.actions += 1
        if status == 200:
            what.posted = True
            self._posted.add((what.request, what.step))
            record = next(r for r in body["request"]["records"] if r["step"] == what.step)
            logged = self.world.hours(datetime.fromisoformat(record["at"]))
            what.end_h = max(what.end_h, logged)
            self.world.requests[what.request].done.setdefault(what.step, logged)
            self._lag(intended, record["at"])
        elif status == 409 and isinstance(body, dict) and _done_by_others(body, what.step):
            what.posted = True  # someone (a person, another process, a retried write) did it first
            self._posted.add((what.request, what.step))
        else:
            what.failed = f"{status} {_detail(body)}"
            self.errors.append(f"{what.request} {what.step}: {what.failed}")

    def _lag(self, intended: datetime, recorded: str) -> None:
        self.lags.append((datetime.fromisoformat(recorded) - intended).total_seconds() + self.lead_s())


def _done_by_others(body: Mapping[str, Any], step: str) -> bool:
    current = body.get("current") or {}
    steps = current.get("steps") or {}
    return steps.get(step) in {"done", "denied"}


def _detail(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("detail", body))[:300]
    return str(body)[:300]


# -- a team of bots over HTTP -----------------------------------------------------------------------------


@dataclass
class TeamResult:
    """What the bots did: actions, filings, errors, and the lags they measured (wall seconds)."""

    actions: int
    filings: int
    errors: list[str]
    lag_s: dict[str, float]
    wall_s: float
    hours: float = 0.0


async def play(
    base_url: str,
    exercise: str,
    tokens: Mapping[str, Mapping[str, str]],
    *,
    playbook: Playbook,
    config: PlayerConfig,
    done: Callable[[Sequence[Bot]], Awaitable[bool]],
    progress: Callable[[Sequence[Bot]], None] | None = None,
    poll_s: float = 0.5,
) -> TeamResult:
    """Play organizations of an exercise with bots until `done(bots)` says so.

    Args:
        base_url: The service (`http://127.0.0.1:8000`).
        exercise: The exercise id.
        tokens: Per organization, an `actor` (approver) and a `filer` (operator) API token.
        playbook: The parameters the bots draw from.
        config: Seed and service-time factor.
        done: Called every `poll_s` seconds; the run ends when it returns True.
        progress: Called every `poll_s` seconds with the bots.
        poll_s: How often `done` and `progress` are called.
    """
    import httpx

    started = time.monotonic()
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    clients: dict[tuple[str, str], httpx.AsyncClient] = {}
    for org, pair in tokens.items():
        for role, token in pair.items():
            clients[(org, role)] = httpx.AsyncClient(
                base_url=base_url,
                headers={"Authorization": f"Bearer {token}"},
                timeout=httpx.Timeout(30.0),
                limits=limits,
            )
    offset = await _clock_offset(clients[next(iter(clients))], exercise)

    def poster(org: str) -> Post:
        async def post(role: str, path: str, body: Any) -> tuple[int, Any]:
            for attempt in range(3):
                try:
                    response = await clients[(org, role)].post(path, json=body)
                    break
                except httpx.TransportError:  # a kept-alive connection closed under us: send again
                    if attempt == 2:
                        raise
                    await asyncio.sleep(0.05)
            try:
                return response.status_code, response.json()
            except ValueError:
                return response.status_code, response.text

        return post

    bots = [
        Bot(org, exercise=exercise, playbook=playbook, config=config, post=poster(org), offset_s=offset)
        for org in tokens
    ]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_follow(clients[(b.org, "actor")], b, stop)) for b in bots]
    tasks += [asyncio.create_task(b.run(stop)) for b in bots]
    try:
        while True:
            await asyncio.sleep(poll_s)
            if progress is not None:
                progress(bots)
            for task in tasks:
                if task.done() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            if await done(bots):
                break
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in clients.values():
            await client.aclose()
    return TeamResult(
        actions=sum(b.actions for b in bots),
        filings=sum(len(b.filed) for b in bots),
        errors=[f"{b.org}: {e}" for b in bots for e in b.errors],
        lag_s={b.org: b.lead_s() for b in bots},
        wall_s=time.monotonic() - started,
    )


async def _clock_offset(client: Any, exercise: str) -> float:
    """The server's wall clock minus this process's, from the clock route (midpoint of the round trip)."""
    before = time.time()
    response = await client.get(f"/api/exercises/{exercise}/clock")
    after = time.time()
    response.raise_for_status()
    server = datetime.fromisoformat(response.json()["server_time"]).timestamp()
    return server - (before + after) / 2


async def _follow(client: Any, bot: Bot, stop: asyncio.Event) -> None:
    """Feed a bot the event stream its user may see, from the start of the log; reconnect when cut."""
    import httpx

    while not stop.is_set():
        try:
            async with client.stream(
                "GET", "/api/events/stream", params={"after": bot.world.last_seq}, timeout=None
            ) as response:
                seq, kind, data = 0, "", ""
                async for line in response.aiter_lines():
                    if line.startswith("id: "):
                        seq = int(line[4:])
                    elif line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        data = line[6:]
                    elif not line and data:
                        bot.observe(seq, kind, json.loads(data)["event"])
                        data = ""
        except (OSError, ValueError, httpx.HTTPError) as error:  # the stream was cut: resume
            if stop.is_set():
                return
            bot.errors.append(f"stream: {error!r}")
            await asyncio.sleep(0.2)


async def play_stepped(
    base_url: str,
    exercise: str,
    tokens: Mapping[str, Mapping[str, str]],
    *,
    playbook: Playbook,
    config: PlayerConfig,
    jump: Callable[[float], Awaitable[float]],
    next_inject_h: Callable[[], Awaitable[float | None]],
    inject_hours: Sequence[float],
    until_h: float,
    alike: Sequence[Sequence[str]] | None = None,
    progress: Callable[[Sequence[Bot], float], None] | None = None,
) -> TeamResult:
    """Play with the clock stepped: it stands still at each moment something is due, and moves on after.

    The runner pauses the clock; at each step every bot reads the log it may see (`/api/events`), does
    what is due at the time the clock stands at, and the runner moves the clock (a jump) to the earliest
    thing due next, a bot's action or an inject. An action is then recorded at exactly its exercise time,
    whatever the HTTP latency, and the run is as fast as the service answers: exercise time as a
    discrete-event simulation would advance it, through the live service. Only for bots-only runs.

    Args:
        jump: Moves the paused clock to an exercise hour (at least the one given); returns where it stands.
        next_inject_h: The exercise hour of the next inject not yet delivered (None: all delivered).
        inject_hours: The exercise hours of the MSEL's injects.
        until_h: Stop at this exercise hour.
        alike: Groups of organizations whose bots' users see the same events (same nation and
            clearance): one read of the log through the API, by the group's first bot, serves the group.
            Default: every bot reads for itself.
    """
    import httpx

    started = time.monotonic()
    clients = {
        (org, role): httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=httpx.Timeout(60.0)
        )
        for org, pair in tokens.items()
        for role, token in pair.items()
    }

    def poster(org: str) -> Post:
        async def post(role: str, path: str, body: Any) -> tuple[int, Any]:
            response = await clients[(org, role)].post(path, json=body)
            try:
                return response.status_code, response.json()
            except ValueError:
                return response.status_code, response.text

        return post

    def getter(org: str) -> Get:
        async def get(path: str, params: Mapping[str, Any]) -> Any:
            response = await clients[(org, "actor")].get(path, params=dict(params))
            response.raise_for_status()
            return response.json()

        return get

    bots = {
        org: Bot(org, exercise=exercise, playbook=playbook, config=config, post=poster(org), get=getter(org))
        for org in tokens
    }
    groups = [list(g) for g in (alike or [[org] for org in tokens])]

    async def sync(group: list[str]) -> int:
        reader = bots[group[0]]
        seen = await reader.sync()
        for org in group[1:]:
            bot = bots[org]
            for seq, kind, event in reader.backlog:
                bot.observe(seq, kind, event)
        reader.backlog.clear()
        return seen

    for org in (g[0] for g in groups):
        bots[org].keep_backlog = True
    times = sorted(inject_hours)
    confirmed = 0
    now_h = 0.0
    try:
        while True:
            if confirmed < len(times) and times[confirmed] <= now_h + DUE_EPS_H:
                while (due := await next_inject_h()) is not None and due <= now_h + DUE_EPS_H:
                    await asyncio.sleep(0.002)  # the delivery thread is delivering
                while confirmed < len(times) and times[confirmed] <= now_h + DUE_EPS_H:
                    confirmed += 1
            while True:  # the barrier: nothing more happens at this moment
                seen = sum(await asyncio.gather(*(sync(g) for g in groups)))
                sent = sum(await asyncio.gather(*(b.settle(now_h) for b in bots.values())))
                if not seen and not sent:
                    break
            if progress is not None:
                progress(list(bots.values()), now_h)
            upcoming = [h for b in bots.values() if (h := b.next_h()) is not None]
            if confirmed < len(times):
                upcoming.append(times[confirmed])
            if not upcoming or min(upcoming) > until_h:
                break
            now_h = await jump(max(min(upcoming), now_h))
    finally:
        for client in clients.values():
            await client.aclose()
    return TeamResult(
        actions=sum(b.actions for b in bots.values()),
        filings=sum(len(b.filed) for b in bots.values()),
        errors=[f"{b.org}: {e}" for b in bots.values() for e in b.errors],
        lag_s={b.org: 0.0 for b in bots.values()},
        wall_s=time.monotonic() - started,
    )
