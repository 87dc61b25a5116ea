"""The live view: crises, requests, taskings and situation reports, folded from the event log.

The view is a projection in memory: `LiveView.rebuild(events)` recreates it from the log alone, and
applying the same events in the same order always gives the same view (a test says so). The service
reads only from it; it never reads objects any other way.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

from kizuna.access import Marking
from kizuna.coordination import crisis as crisis_machine
from kizuna.coordination import request as request_machine
from kizuna.coordination import sitrep as sitrep_machine
from kizuna.coordination import tasking as tasking_machine
from kizuna.coordination.crisis import CrisisState
from kizuna.coordination.events import (
    CrisisOpened,
    Event,
    ExtensionEvent,
    RequestFiled,
    RequestWithdrawn,
    SitrepFiled,
    StepActed,
    TaskingIssued,
    TaskingUpdated,
)
from kizuna.coordination.request import RequestState, RequestStatus
from kizuna.coordination.sitrep import SitrepState
from kizuna.coordination.tasking import TaskingState
from kizuna.errors import IntegrityError


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event with its place in the global log (the store's sequence number)."""

    seq: int
    event: Event | ExtensionEvent


@dataclass
class LiveView:
    """Every object of the live system, as of `last_seq`.

    `marked` indexes the log by marking: for each marking, the sequence numbers of the events that carry
    it, in order. The service numbers each user's events from it (the events a user may see are those
    of the markings they may see), so it never hands out the log's own numbers, which count hidden
    events too.
    """

    crises: dict[str, CrisisState] = field(default_factory=dict)
    requests: dict[str, RequestState] = field(default_factory=dict)
    taskings: dict[str, TaskingState] = field(default_factory=dict)
    sitreps: dict[str, SitrepState] = field(default_factory=dict)
    last_seq: int = 0
    marked: dict[Marking, array[int]] = field(default_factory=dict)

    @classmethod
    def rebuild(cls, events: Iterable[Recorded]) -> LiveView:
        """Recreate the view from the log."""
        view = cls()
        for recorded in events:
            view.apply(recorded)
        return view

    def apply(self, recorded: Recorded) -> None:
        """Fold one event into the view; events at or before `last_seq` are skipped (at-least-once safe)."""
        if recorded.seq <= self.last_seq:
            return
        event = recorded.event
        match event:
            case CrisisOpened():
                self.crises[event.crisis] = crisis_machine.start(event)
            case RequestFiled():
                self.requests[event.request] = request_machine.start(event)
            case StepActed():
                state = request_machine.apply(self._request(event.request), event)
                self.requests[event.request] = state
                if (
                    state.status is RequestStatus.EXECUTED
                    and event.step == state.path.effect_step
                    and (state.spec.designates)
                ):
                    self.crises[event.crisis] = crisis_machine.designate(
                        self._crisis(event.crisis),
                        event,
                        situation=state.spec.designates,
                        organization=state.path.by_id[state.path.decision_step].organization,
                        approvals=state.granted,
                    )
            case RequestWithdrawn():
                self.requests[event.request] = request_machine.apply(self._request(event.request), event)
            case TaskingIssued():
                self.taskings[event.tasking] = tasking_machine.start(event)
            case TaskingUpdated():
                self.taskings[event.tasking] = tasking_machine.apply(self._tasking(event.tasking), event)
            case SitrepFiled():
                self.sitreps[event.sitrep] = sitrep_machine.start(event)
        seqs = self.marked.get(event.marking)
        if seqs is None:
            seqs = self.marked[event.marking] = array("q")
        seqs.append(recorded.seq)
        self.last_seq = recorded.seq

    def _crisis(self, crisis_id: str) -> CrisisState:
        try:
            return self.crises[crisis_id]
        except KeyError:
            raise IntegrityError(f"an event refers to crisis {crisis_id!r} before it was opened") from None

    def _request(self, request_id: str) -> RequestState:
        try:
            return self.requests[request_id]
        except KeyError:
            raise IntegrityError(f"an event refers to request {request_id!r} before it was filed") from None

    def _tasking(self, tasking_id: str) -> TaskingState:
        try:
            return self.taskings[tasking_id]
        except KeyError:
            raise IntegrityError(f"an event refers to tasking {tasking_id!r} before it was issued") from None


#: The state of one object: what a command answers with.
ObjectState = CrisisState | RequestState | TaskingState | SitrepState


def object_as_of(events: Iterable[Event]) -> ObjectState:
    """Fold the first events of one object's stream into its state at that point.

    This is what a command answered when it wrote the last of these events, so a retry of that
    command (the same idempotency key) answers the same again, however the object moved on since.
    A crisis's own stream holds only its opening; designations are folded by the live view.

    Raises:
        IntegrityError: The events do not start an object's stream.
    """
    state: ObjectState | None = None
    for event in events:
        match event:
            case CrisisOpened():
                state = crisis_machine.start(event)
            case RequestFiled():
                state = request_machine.start(event)
            case StepActed() | RequestWithdrawn() if isinstance(state, RequestState):
                state = request_machine.apply(state, event)
            case TaskingIssued():
                state = tasking_machine.start(event)
            case TaskingUpdated() if isinstance(state, TaskingState):
                state = tasking_machine.apply(state, event)
            case SitrepFiled():
                state = sitrep_machine.start(event)
            case _:
                raise IntegrityError(f"a {event.type} event does not belong where it was found")
    if state is None:
        raise IntegrityError("an empty stream has no object")
    return state
