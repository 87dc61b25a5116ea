"""Situation reports: text filed in a crisis, marked at least as restrictively as what it refers to."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from kizuna.access import Marking
from kizuna.coordination.events import Actor, SitrepFiled

RULE_FILER = "coordination.operator-or-approver-files-sitrep"


class SitrepState(BaseModel):
    """A situation report as the service shows it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    crisis: str
    title: str
    text: str
    refs: tuple[str, ...]
    marking: Marking
    exercise: bool
    filed_by: Actor
    filed_at: datetime


def start(event: SitrepFiled) -> SitrepState:
    """Return the report a SitrepFiled event records."""
    return SitrepState(
        id=event.sitrep,
        crisis=event.crisis,
        title=event.title,
        text=event.text,
        refs=event.refs,
        marking=event.marking,
        exercise=event.exercise,
        filed_by=event.actor,
        filed_at=event.at,
    )
