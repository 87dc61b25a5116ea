"""The exercises as the service shows them: a fold of the exercise events of the log.

`ExerciseView.apply` folds one event at a time, in log order, exactly like the coordinator's live view;
`ExerciseView.rebuild(events)` recreates the view from the log alone (a restarted server does this), so
the clock, the deliveries made and the observations written are where they were.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from kizuna.access import Marking, User, can_see, combine, filed_into
from kizuna.coordination import Actor, Recorded
from kizuna.exercise.clock import ClockHistory, ClockState
from kizuna.exercise.events import (
    ClockChanged,
    ExerciseCreated,
    InjectAdded,
    InjectAnswered,
    InjectDelivered,
    ObservationRecorded,
    exercise_event,
)
from kizuna.interop.msel import Msel, MselRow
from kizuna.model.scenario import Scenario

#: The role of exercise control (the white cell): runs the clock, sees the MSEL, adds injects.
WHITE_CELL = "exercise-control"
#: Roles that write observations: observers and controllers, and exercise control.
OBSERVING_ROLES = frozenset({"observer", WHITE_CELL})


@dataclass
class InjectState:
    """One inject of the MSEL and what became of it."""

    row: MselRow
    marking: Marking
    added: bool = False
    delivered: datetime | None = None
    delivered_seq: int | None = None
    answers: list[tuple[str, str]] = field(default_factory=list)  # (organization, request id)


@dataclass(frozen=True, slots=True)
class Observation:
    """A time-stamped observation tied to an exercise objective."""

    id: str
    objective: str
    text: str
    exercise_time: datetime
    rating: str | None
    refs: tuple[str, ...]
    author: Actor
    at: datetime
    marking: Marking


@dataclass
class ExerciseState:
    """An exercise: its crisis, scenario, MSEL, clock, deliveries and observations."""

    id: str
    name: str
    structure: str
    situation: str
    marking: Marking
    scenario: Scenario
    msel: Msel
    objectives: tuple[str, ...]
    created_by: Actor
    created_at: datetime
    clock: ClockHistory
    injects: dict[str, InjectState] = field(default_factory=dict)
    observations: list[Observation] = field(default_factory=list)
    answered: dict[str, str] = field(default_factory=dict)  # request id -> serial
    version: int = 1
    _queue: list[tuple[datetime, str]] = field(default_factory=list)  # every inject, by time
    _head: int = 0  # injects before this index are delivered

    @property
    def start(self) -> datetime:
        """Exercise hour 0."""
        return self.msel.start

    def add_row(self, row: MselRow, *, added: bool = False) -> None:
        """Add an inject (from the MSEL, or ad hoc) to those waiting for their time."""
        marking = (
            combine(self.marking, filed_into(row.marking, self.marking))
            if row.marking is not None
            else self.marking
        )
        self.injects[row.serial] = InjectState(row=row, marking=marking, added=added)
        entry = (row.time, row.serial)
        if not self._queue or entry >= self._queue[-1]:
            self._queue.append(entry)
        else:
            at = bisect.bisect_left(self._queue, entry)
            self._queue.insert(at, entry)
            self._head = min(self._head, at)

    def next_due(self) -> datetime | None:
        """The exercise time of the next inject not yet delivered (None when all are)."""
        while (
            self._head < len(self._queue) and self.injects[self._queue[self._head][1]].delivered is not None
        ):
            self._head += 1
        return self._queue[self._head][0] if self._head < len(self._queue) else None

    def due(self, now: datetime, limit: int = 1000) -> list[InjectState]:
        """The injects not yet delivered whose time has come, in time order (at most `limit`)."""
        self.next_due()
        out: list[InjectState] = []
        k = self._head
        while k < len(self._queue) and self._queue[k][0] <= now and len(out) < limit:
            inject = self.injects[self._queue[k][1]]
            if inject.delivered is None:
                out.append(inject)
            k += 1
        return out

    def inbox(self, organization: str) -> list[InjectState]:
        """The injects delivered to an organization, in the order they arrived."""
        return sorted(
            (
                i
                for i in self.injects.values()
                if i.delivered is not None and i.row.addressed_to(organization)
            ),
            key=lambda i: (i.delivered_seq or 0, i.row.serial),
        )

    def sees(self, user: User) -> bool:
        """Tell whether a user may see the exercise at all."""
        return can_see(user, self.marking)

    def first_filing(self, request: str) -> str | None:
        """The live request id of the first filing of a scenario request (by MSEL time), if filed."""
        rows = sorted((i.row for i in self.injects.values() if i.row.request == request), key=_row_order)
        for row in rows:
            answers = self.injects[row.serial].answers
            if answers:
                return answers[0][1]
        return None


def _row_order(row: MselRow) -> tuple[datetime, str]:
    return row.time, row.serial


@dataclass
class ExerciseView:
    """Every exercise, as of `last_seq`."""

    exercises: dict[str, ExerciseState] = field(default_factory=dict)
    last_seq: int = 0

    @classmethod
    def rebuild(cls, events: Iterable[Recorded]) -> ExerciseView:
        """Recreate the view from the log."""
        view = cls()
        for recorded in events:
            view.apply(recorded)
        return view

    def apply(self, recorded: Recorded) -> str | None:
        """Fold one event of the log; return the id of the exercise it changed (None: not an exercise's)."""
        if recorded.seq <= self.last_seq:
            return None
        self.last_seq = recorded.seq
        event = exercise_event(recorded.event)
        if event is None:
            return None
        if isinstance(event, ExerciseCreated):
            self.exercises[event.crisis] = _created(event)
            return event.crisis
        state = self.exercises.get(event.crisis)
        if state is None:
            return None  # an exercise event whose exercise is missing from the log: nothing to fold into
        state.version += 1
        match event:
            case ClockChanged():
                state.clock.add(event.state)
            case InjectAdded():
                state.add_row(MselRow.model_validate(event.row), added=True)
            case InjectDelivered():
                inject = state.injects.get(event.serial)
                if inject is not None:
                    inject.delivered = event.delivered
                    inject.delivered_seq = recorded.seq
            case InjectAnswered():
                inject = state.injects.get(event.serial)
                if inject is not None:
                    inject.answers.append((event.organization, event.request))
                    state.answered[event.request] = event.serial
            case ObservationRecorded():
                state.observations.append(
                    Observation(
                        id=event.observation,
                        objective=event.objective,
                        text=event.text,
                        exercise_time=event.exercise_time,
                        rating=event.rating,
                        refs=event.refs,
                        author=event.actor,
                        at=event.at,
                        marking=event.marking,
                    )
                )
        return event.crisis

    def __iter__(self) -> Iterator[ExerciseState]:
        return iter(self.exercises.values())


def _created(event: ExerciseCreated) -> ExerciseState:
    scenario = Scenario.model_validate(event.scenario)
    msel = Msel.model_validate(event.msel)
    state = ExerciseState(
        id=event.crisis,
        name=event.name,
        structure=event.structure,
        situation=event.situation,
        marking=event.marking,
        scenario=scenario,
        msel=msel,
        objectives=event.objectives,
        created_by=event.actor,
        created_at=event.at,
        clock=ClockHistory(ClockState(anchor=msel.start)),
    )
    for row in msel.rows:
        state.add_row(row)
    return state
