"""Exercises: a crisis marked as exercise traffic, played from a scenario's MSEL on an exercise clock.

`Exercises` runs them beside the coordinator (create, clock, injects, filings, observations) and
`DeliveryThread` delivers injects at their exercise time; `kizuna.exercise.players` plays organizations
with synthetic players through the public API; `kizuna.exercise.aar` sets the measured times beside the
simulated distributions of the same decision paths and calibrates the scenario. docs/exercise.md tells
the whole story.
"""

from kizuna.exercise.clock import MAX_SPEED, MIN_SPEED, ClockAction, ClockHistory, ClockState, change
from kizuna.exercise.control import DeliveryThread, Exercises, recipients_problems, stream_of
from kizuna.exercise.events import (
    ClockChanged,
    ExerciseCreated,
    ExerciseEvent,
    InjectAdded,
    InjectAnswered,
    InjectDelivered,
    ObservationRecorded,
    exercise_event,
)
from kizuna.exercise.state import ExerciseState, ExerciseView, InjectState, Observation

__all__ = [
    "ClockAction",
    "ClockChanged",
    "ClockHistory",
    "ClockState",
    "DeliveryThread",
    "ExerciseCreated",
    "ExerciseEvent",
    "ExerciseState",
    "ExerciseView",
    "Exercises",
    "InjectAdded",
    "InjectAnswered",
    "InjectDelivered",
    "InjectState",
    "MAX_SPEED",
    "MIN_SPEED",
    "Observation",
    "ObservationRecorded",
    "change",
    "exercise_event",
    "recipients_problems",
    "stream_of",
]
