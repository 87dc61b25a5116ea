"""The intelligence view: sensors, their scans, reports and release decisions, folded from the event log.

Like the coordination view, it is a projection in memory that `IntelView.rebuild` recreates from the
log alone. Scans are kept per crisis in log order, already converted to the fusion frame, so that every
audience's picture is fused from the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from pydantic import BaseModel, ConfigDict

from kizuna.access import Marking, User, can_see, combine
from kizuna.errors import IntegrityError
from kizuna.intel.events import (
    AnyIntelEvent,
    Credibility,
    Filer,
    Place,
    Reliability,
    ReportFiled,
    SensorKind,
    SensorRegistered,
    SensorReleased,
    TearlineReleased,
    TracksReported,
)
from kizuna.intel.fusion import Scan
from kizuna.intel.geo import Frame

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(moment: datetime) -> int:
    """Return microseconds since the epoch of an aware datetime (exact integer arithmetic)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(time_us: int) -> datetime:
    """Return the aware UTC datetime of microseconds since the epoch."""
    from datetime import timedelta

    return _EPOCH + timedelta(microseconds=time_us)


class SensorRelease(BaseModel):
    """A widening of a sensor's releasability: its reports observed from `start` on carry `marking`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: str
    start: datetime
    marking: Marking


class SensorState(BaseModel):
    """A registered sensor and the releases of its reports decided so far."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    crisis: str
    name: str
    kind: SensorKind
    nation: str
    organization: str
    description: str
    marking: Marking
    exercise: bool
    registered_by: Filer
    registered_at: datetime
    releases: tuple[SensorRelease, ...] = ()

    def marking_at(self, moment: datetime) -> Marking:
        """Return the marking of a report observed at `moment`: the latest release in force, else the base."""
        current = self.marking
        start: datetime | None = None
        for release in self.releases:
            if release.start <= moment and (start is None or release.start >= start):
                current, start = release.marking, release.start
        return current

    def visible_to(self, user: User) -> bool:
        """Tell whether the user may know the sensor: its base marking or one of its releases."""
        return can_see(user, self.marking) or any(can_see(user, r.marking) for r in self.releases)


class IntelReport(BaseModel):
    """An intelligence report, or a tearline (a sanitized copy released by a disclosure officer)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    crisis: str
    title: str
    text: str
    place: Place | None
    observed_at: datetime | None
    reliability: Reliability
    credibility: Credibility
    marking: Marking
    exercise: bool
    filed_by: Filer
    filed_at: datetime
    tearline_of: str | None = None
    decision: str | None = None

    @property
    def grading(self) -> str:
        """Return the Admiralty grading, e.g. `B2`."""
        return f"{self.reliability.value}{self.credibility.value}"


class ReleaseDecision(BaseModel):
    """A disclosure officer's decision: a tearline of a report, or a sensor widened from a time on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: str
    crisis: str
    subject: str
    released: Marking
    start: datetime | None
    reason: str
    officer: Filer
    at: datetime
    marking: Marking


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """One scan as recorded: its crisis, sensor, observation time, the scan itself and its restriction."""

    seq: int
    crisis: str
    sensor: str
    time: datetime
    scan: Scan
    restriction: Marking | None


@dataclass
class IntelView:
    """Every intelligence object, as of `last_seq`."""

    frame: Frame = field(default_factory=lambda: Frame(0.0, 0.0))
    sensors: dict[str, SensorState] = field(default_factory=dict)
    reports: dict[str, IntelReport] = field(default_factory=dict)
    decisions: dict[str, ReleaseDecision] = field(default_factory=dict)
    scans: dict[str, list[ScanRecord]] = field(default_factory=dict)
    last_seq: int = 0

    @classmethod
    def rebuild(cls, events: Iterable[tuple[int, AnyIntelEvent]], frame: Frame | None = None) -> IntelView:
        """Recreate the view from the log's intelligence events."""
        view = cls(frame=frame or Frame(0.0, 0.0))
        for seq, event in events:
            view.apply(seq, event)
        return view

    def scan_marking(self, record: ScanRecord) -> Marking:
        """Return the marking of a scan now: its sensor's marking at its time, and its own restriction."""
        marking = self.sensors[record.sensor].marking_at(record.time)
        return combine(marking, record.restriction) if record.restriction is not None else marking

    def apply(self, seq: int, event: AnyIntelEvent) -> None:
        """Fold one event; events at or before `last_seq` are skipped."""
        if seq <= self.last_seq:
            return
        match event:
            case SensorRegistered():
                self.sensors[event.sensor] = SensorState(
                    id=event.sensor,
                    crisis=event.crisis,
                    name=event.name,
                    kind=event.kind,
                    nation=event.actor.nation,
                    organization=event.actor.organization,
                    description=event.description,
                    marking=event.marking,
                    exercise=event.exercise,
                    registered_by=event.actor,
                    registered_at=event.at,
                )
            case TracksReported():
                self._sensor(event.sensor)
                self.scans.setdefault(event.crisis, []).append(
                    ScanRecord(
                        seq=seq,
                        crisis=event.crisis,
                        sensor=event.sensor,
                        time=event.time,
                        scan=self.to_scan(event),
                        restriction=event.restriction,
                    )
                )
            case ReportFiled():
                self.reports[event.report] = IntelReport(
                    id=event.report,
                    crisis=event.crisis,
                    title=event.title,
                    text=event.text,
                    place=event.place,
                    observed_at=event.observed_at,
                    reliability=event.reliability,
                    credibility=event.credibility,
                    marking=event.marking,
                    exercise=event.exercise,
                    filed_by=event.actor,
                    filed_at=event.at,
                )
            case TearlineReleased():
                original = self._report(event.report)
                self.reports[event.tearline] = IntelReport(
                    id=event.tearline,
                    crisis=event.crisis,
                    title=event.title,
                    text=event.text,
                    place=event.place,
                    observed_at=event.observed_at,
                    reliability=event.reliability,
                    credibility=event.credibility,
                    marking=event.released,
                    exercise=event.exercise,
                    filed_by=event.actor,
                    filed_at=event.at,
                    tearline_of=original.id,
                    decision=event.decision,
                )
                self.decisions[event.decision] = ReleaseDecision(
                    id=event.decision,
                    kind="tearline",
                    crisis=event.crisis,
                    subject=event.report,
                    released=event.released,
                    start=None,
                    reason=event.reason,
                    officer=event.actor,
                    at=event.at,
                    marking=event.marking,
                )
            case SensorReleased():
                sensor = self._sensor(event.sensor)
                release = SensorRelease(decision=event.decision, start=event.start, marking=event.released)
                self.sensors[event.sensor] = sensor.model_copy(
                    update={"releases": (*sensor.releases, release)}
                )
                self.decisions[event.decision] = ReleaseDecision(
                    id=event.decision,
                    kind="sensor",
                    crisis=event.crisis,
                    subject=event.sensor,
                    released=event.released,
                    start=event.start,
                    reason=event.reason,
                    officer=event.actor,
                    at=event.at,
                    marking=event.marking,
                )
        self.last_seq = seq

    def to_scan(self, event: TracksReported) -> Scan:
        """Convert a scan's reports into the fusion frame."""
        reports = event.reports
        lat = np.array([r.lat for r in reports], dtype=float)
        lon = np.array([r.lon for r in reports], dtype=float)
        alt = np.array([r.alt_m for r in reports], dtype=float)
        local = np.array([r.covariance() for r in reports], dtype=float).reshape(-1, 3, 3)
        z = self.frame.to_enu(lat, lon, alt).reshape(-1, 3) if reports else np.zeros((0, 3))
        r = self.frame.covariance_to_frame(lat, lon, local) if reports else np.zeros((0, 3, 3))
        return Scan.build(
            event.sensor,
            to_us(event.time),
            z,
            r,
            tuple(rep.track for rep in reports),
            tuple(rep.kind for rep in reports),
        )

    def _sensor(self, sensor_id: str) -> SensorState:
        try:
            return self.sensors[sensor_id]
        except KeyError:
            raise IntegrityError(
                f"an event refers to sensor {sensor_id!r} before it was registered"
            ) from None

    def _report(self, report_id: str) -> IntelReport:
        try:
            return self.reports[report_id]
        except KeyError:
            raise IntegrityError(f"an event refers to report {report_id!r} before it was filed") from None
