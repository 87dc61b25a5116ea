"""The events of an exercise, in the stream `exercise:<id>` of the same log as the crisis they run in.

Each is an `EventBase` like every event of the live system: it names its actor and the rule that allowed
it, carries the exercise's marking (exercise traffic, so the egress never sends it to a real feed), and
goes out on the event stream to those who may see it. The coordinator keeps them as `ExtensionEvent`s;
`exercise_event` reads them back into these classes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from kizuna.coordination import EventBase, ExtensionEvent, event_to_data
from kizuna.exercise.clock import ClockAction, ClockState


class ExerciseCreated(EventBase):
    """Exercise control created an exercise: its scenario, MSEL, structure and objectives."""

    type: Literal["exercise-created"] = "exercise-created"
    name: str
    structure: str
    situation: str
    scenario: dict[str, Any] = Field(description="The scenario's data (timing parameters, requests).")
    msel: dict[str, Any] = Field(description="The MSEL (start and rows).")
    objectives: tuple[str, ...] = ()


class ClockChanged(EventBase):
    """Exercise control started, paused, resumed, sped up or slowed down, or jumped the clock."""

    type: Literal["exercise-clock"] = "exercise-clock"
    action: ClockAction
    state: ClockState = Field(description="The clock's whole state from this change on.")


class InjectAdded(EventBase):
    """Exercise control added an inject to the MSEL while the exercise runs (ad hoc)."""

    type: Literal["exercise-inject-added"] = "exercise-inject-added"
    row: dict[str, Any] = Field(description="The MSEL row.")


class InjectDelivered(EventBase):
    """An inject reached the inboxes of its player organizations at its exercise time."""

    type: Literal["exercise-inject-delivered"] = "exercise-inject-delivered"
    serial: str
    due: datetime = Field(description="The exercise time the MSEL gives.")
    delivered: datetime = Field(description="The exercise time it was delivered.")
    to: tuple[str, ...]
    event: str
    sender: str = ""
    method: str = ""
    expected_action: str = ""
    objective: str = ""
    request: str | None = None
    after: tuple[str, ...] = ()


class InjectAnswered(EventBase):
    """A player organization filed the request an inject asked for."""

    type: Literal["exercise-inject-answered"] = "exercise-inject-answered"
    serial: str
    request: str = Field(description="The request filed in the exercise's crisis.")
    organization: str


class ObservationRecorded(EventBase):
    """An observer or controller wrote a time-stamped observation tied to an exercise objective."""

    type: Literal["exercise-observation"] = "exercise-observation"
    observation: str
    objective: str
    text: str
    exercise_time: datetime
    rating: Literal["met", "partly-met", "not-met"] | None = None
    refs: tuple[str, ...] = ()


ExerciseEvent = Annotated[
    ExerciseCreated | ClockChanged | InjectAdded | InjectDelivered | InjectAnswered | ObservationRecorded,
    Field(discriminator="type"),
]

#: The event types an exercise writes.
TYPES = frozenset(
    {
        "exercise-created",
        "exercise-clock",
        "exercise-inject-added",
        "exercise-inject-delivered",
        "exercise-inject-answered",
        "exercise-observation",
    }
)

_ADAPTER: TypeAdapter[ExerciseEvent] = TypeAdapter(ExerciseEvent)


def exercise_event(event: EventBase) -> ExerciseEvent | None:
    """Return an event of the log as an exercise event, or None when it is not one."""
    if isinstance(
        event,
        ExerciseCreated | ClockChanged | InjectAdded | InjectDelivered | InjectAnswered | ObservationRecorded,
    ):
        return event
    if isinstance(event, ExtensionEvent) and event.type in TYPES:
        return _ADAPTER.validate_python(event_to_data(event))
    return None
