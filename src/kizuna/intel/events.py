"""The events of intelligence sharing: sensors, their track reports, intelligence reports, releases.

Like the coordination events, each carries its time, the acting user, the rule that allowed it, the
marking of what it concerns and the exercise flag. The store keeps one marking per event: for a release
decision it is the marking of the original (the decision is a record of the owner nation), while what
the decision releases carries the released marking inside the payload.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from kizuna.access import Marking

#: A CoT type as the CoT event schema defines it (e.g. `a-h-S`, `a-f-A-M-F`).
CotType = Annotated[str, Field(pattern=r"^(\w+(-\w+)*)?$", max_length=64)]
#: Largest standard deviation a report may claim (m): beyond it a report says nothing about position.
MAX_SIGMA_M = 1_000_000.0


class Reliability(StrEnum):
    """Source reliability on the Admiralty scale (NATO AJP-2.1): A (completely reliable) to F."""

    A = "A"  # completely reliable
    B = "B"  # usually reliable
    C = "C"  # fairly reliable
    D = "D"  # not usually reliable
    E = "E"  # unreliable
    F = "F"  # reliability cannot be judged


class Credibility(StrEnum):
    """Information credibility on the Admiralty scale: 1 (confirmed) to 6 (cannot be judged)."""

    CONFIRMED = "1"
    PROBABLY_TRUE = "2"
    POSSIBLY_TRUE = "3"
    DOUBTFUL = "4"
    IMPROBABLE = "5"
    CANNOT_BE_JUDGED = "6"


class SensorKind(StrEnum):
    """What a sensor is (it sets nothing in fusion; it tells the reader what stands behind a track)."""

    RADAR = "radar"  # ground-based air or surface search radar
    BMD_RADAR = "bmd-radar"  # ballistic missile defence radar
    PATROL_SHIP = "patrol-ship"  # coast guard or navy ship
    PATROL_AIRCRAFT = "patrol-aircraft"  # maritime patrol aircraft
    AIS = "ais"  # automatic identification system receiver
    TAK = "tak"  # position reports of TAK clients (Cursor on Target)
    OTHER = "other"


class Filer(BaseModel):
    """Who acted: a snapshot of the user at the time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str
    organization: str
    nation: str
    role: str


class Place(BaseModel):
    """Where a report is about: a point, how far around it, and a name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: float = Field(default=0.0, ge=0, le=5_000_000)
    name: str = Field(default="", max_length=200)


class PositionReport(BaseModel):
    """One position a sensor reports, with its uncertainty in the east-north-up frame at the point.

    Give `sigma_m` (east, north, up standard deviations) or the full covariance `cov_m2`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    alt_m: float = Field(default=0.0, ge=-12_000, le=3_000_000, description="Height above the ellipsoid.")
    sigma_m: tuple[float, float, float] | None = Field(
        default=None, description="1-sigma error east, north, up (m)."
    )
    cov_m2: (
        tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]] | None
    ) = Field(default=None, description="Covariance in the ENU frame at the point (m²), symmetric.")
    track: str = Field(default="", max_length=64, description="The sensor's own track id, if any.")
    kind: CotType = Field(default="", description="The CoT type the sensor assigns, if any.")

    @model_validator(mode="after")
    def _uncertainty(self) -> PositionReport:
        if (self.sigma_m is None) == (self.cov_m2 is None):
            raise ValueError("give exactly one of sigma_m (east, north, up) or cov_m2 (3x3)")
        cov = self.covariance()
        if not np.all(np.isfinite(cov)):
            raise ValueError("the uncertainty must be finite")
        if not np.allclose(cov, cov.T, rtol=1e-9, atol=1e-9):
            raise ValueError("cov_m2 must be symmetric")
        if np.any(np.diag(cov) <= 0) or np.any(np.diag(cov) > MAX_SIGMA_M**2):
            raise ValueError(f"each variance must be positive and at most ({MAX_SIGMA_M:.0f} m)²")
        try:
            np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            raise ValueError("cov_m2 must be positive definite") from None
        return self

    def covariance(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Return the 3x3 covariance in the ENU frame at the point."""
        if self.cov_m2 is not None:
            return np.array(self.cov_m2, dtype=float)
        assert self.sigma_m is not None
        return np.diag(np.square(np.array(self.sigma_m, dtype=float)))


class IntelEvent(BaseModel):
    """What every intelligence event carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    at: datetime = Field(description="When the action was taken (the service's clock).")
    actor: Filer
    rule: tuple[str, ...] = Field(description="The rules that allowed the action.")
    marking: Marking = Field(description="The marking of what the event concerns (see the module).")
    exercise: bool
    crisis: str
    command_digest: str | None = Field(
        default=None,
        description="Binds the write's idempotency key to its user, command and arguments (a retry must "
        "repeat them exactly).",
    )

    @classmethod
    def type_name(cls) -> str:
        """Return the event type this class records (its `type` field's value)."""
        return str(cls.model_fields["type"].default)


class SensorRegistered(IntelEvent):
    """A nation registered a sensor in a crisis; its reports carry its marking."""

    type: Literal["sensor-registered"] = "sensor-registered"
    sensor: str
    name: str
    kind: SensorKind
    description: str = ""


class TracksReported(IntelEvent):
    """A sensor reported positions observed at one time (a scan)."""

    type: Literal["tracks-reported"] = "tracks-reported"
    sensor: str
    time: datetime = Field(description="When the positions were observed.")
    reports: tuple[PositionReport, ...]
    restriction: Marking | None = Field(
        default=None, description="A marking this scan adds to the sensor's (never wider)."
    )


class ReportFiled(IntelEvent):
    """An intelligence report was filed."""

    type: Literal["intel-report-filed"] = "intel-report-filed"
    report: str
    title: str
    text: str
    place: Place | None = None
    observed_at: datetime | None = None
    reliability: Reliability
    credibility: Credibility


class TearlineReleased(IntelEvent):
    """A disclosure officer released a sanitized copy (a tearline) of a report under a wider marking."""

    type: Literal["tearline-released"] = "tearline-released"
    decision: str
    report: str = Field(description="The original report.")
    tearline: str = Field(description="The id of the released copy.")
    title: str
    text: str
    place: Place | None = None
    observed_at: datetime | None = None
    reliability: Reliability
    credibility: Credibility
    released: Marking = Field(description="The marking of the released copy.")
    reason: str


class SensorReleased(IntelEvent):
    """A disclosure officer widened a sensor's releasability from a time onward."""

    type: Literal["sensor-released"] = "sensor-released"
    decision: str
    sensor: str
    released: Marking = Field(description="The marking of the sensor's reports from `start` onward.")
    start: datetime = Field(description="Reports observed at or after this time carry `released`.")
    reason: str


AnyIntelEvent = Annotated[
    SensorRegistered | TracksReported | ReportFiled | TearlineReleased | SensorReleased,
    Field(discriminator="type"),
]

#: The event types this package records (the store's `type` column), so others can skip them.
INTEL_EVENT_TYPES: frozenset[str] = frozenset(
    {"sensor-registered", "tracks-reported", "intel-report-filed", "tearline-released", "sensor-released"}
)

_ADAPTER: TypeAdapter[AnyIntelEvent] = TypeAdapter(AnyIntelEvent)


def intel_event_from_data(data: dict[str, Any]) -> AnyIntelEvent:
    """Rebuild an intelligence event from its stored JSON."""
    return _ADAPTER.validate_python(data)


def intel_event_to_data(event: IntelEvent) -> dict[str, Any]:
    """Return the JSON an intelligence event is stored as."""
    return event.model_dump(mode="json")
