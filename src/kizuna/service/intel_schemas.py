"""Request bodies and views of the intelligence routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kizuna.access import Marking, User
from kizuna.intel import (
    Credibility,
    IntelReport,
    Place,
    PositionReport,
    ReleaseDecision,
    Reliability,
    SensorKind,
    SensorState,
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SensorIn(_Body):
    """A sensor of your nation to register in a crisis; its reports will carry `marking`."""

    name: str = Field(min_length=1, max_length=200)
    kind: SensorKind
    marking: Marking
    description: str = Field(default="", max_length=4000)

    @model_validator(mode="before")
    @classmethod
    def _no_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and "id" in data:
            raise ValueError(
                "the service chooses sensor ids (so that registering one never tells whether an id is "
                "taken); leave `id` out, and send an Idempotency-Key to register a sensor exactly once"
            )
        return data


class ScanIn(_Body):
    """Positions a sensor observed at one time (a scan); `restriction` narrows its marking."""

    time: datetime
    reports: list[PositionReport] = Field(max_length=20_000)
    restriction: Marking | None = None


class ScanOut(BaseModel):
    """What a scan recorded."""

    sensor: str
    time: datetime
    reports: int
    marking: Marking


class SensorReleaseView(BaseModel):
    """A release of a sensor's reports, as far as the reader may see it."""

    start: datetime
    marking: Marking


class SensorView(BaseModel):
    """A sensor as its reader may see it: the releases they may see, nothing of the others."""

    id: str
    crisis: str
    name: str
    kind: SensorKind
    nation: str
    description: str
    marking: Marking
    exercise: bool
    releases: list[SensorReleaseView]

    @classmethod
    def of(cls, sensor: SensorState, user: User) -> SensorView:
        """Build the view of a sensor for a reader."""
        from kizuna.access import can_see

        shown = [r for r in sensor.releases if can_see(user, r.marking)]
        base = can_see(user, sensor.marking)
        return cls(
            id=sensor.id,
            crisis=sensor.crisis,
            name=sensor.name,
            kind=sensor.kind,
            nation=sensor.nation,
            description=sensor.description if base else "",
            marking=sensor.marking if base else shown[-1].marking,
            exercise=sensor.exercise,
            releases=[SensorReleaseView(start=r.start, marking=r.marking) for r in shown],
        )


class IntelReportIn(_Body):
    """An intelligence report of your nation, graded on the Admiralty scale."""

    title: str = Field(min_length=1, max_length=200)
    text: str = Field(default="", max_length=20_000)
    reliability: Reliability
    credibility: Credibility
    marking: Marking
    place: Place | None = None
    observed_at: datetime | None = None


class IntelReportView(BaseModel):
    """A report as its reader sees it: a tearline names its original only to readers of the original."""

    report: IntelReport
    grading: str

    @classmethod
    def of(cls, report: IntelReport, original_visible: bool) -> IntelReportView:
        """Build the view; hide the original's id and the decision from who may not see the original."""
        if report.tearline_of is not None and not original_visible:
            report = report.model_copy(update={"tearline_of": None, "decision": None})
        return cls(report=report, grading=report.grading)


class TearlineIn(_Body):
    """A sanitized copy of a report to release under `marking`, and why."""

    title: str = Field(min_length=1, max_length=200)
    text: str = Field(default="", max_length=20_000)
    marking: Marking
    reason: str = Field(min_length=1, max_length=4000)
    place: Place | None = None
    observed_at: datetime | None = None
    reliability: Reliability | None = None
    credibility: Credibility | None = None


class SensorReleaseIn(_Body):
    """Release a sensor's reports observed from `start` on under `marking`, and why."""

    marking: Marking
    start: datetime
    reason: str = Field(min_length=1, max_length=4000)


class ReleaseView(BaseModel):
    """A release decision (shown to readers of the original: the owner nation's record)."""

    decision: ReleaseDecision
