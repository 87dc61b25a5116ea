"""The coordinator: checks each command against the live view and the law, and records it in the store.

One command is one append to one stream, so every write is one transaction. A command is decided
against the view caught up with the log; the append names the stream version the decision saw, so when
two users act on one object at once the store lets exactly one append through. The loser is decided
again against the new state: an action on another step of the same request goes through, while a second
action on the same step fails with a ConflictError that carries the current state.

Users only ever act on what they may see: an object whose marking the user may not see does not exist
for them (NotFound), which is the same answer as for an id that does not exist.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from kizuna.access import Marking, User, can_see, combine
from kizuna.coordination import crisis as crisis_machine
from kizuna.coordination import request as request_machine
from kizuna.coordination import tasking as tasking_machine
from kizuna.coordination.crisis import CrisisState
from kizuna.coordination.events import (
    COORDINATION_EVENT_TYPES,
    Action,
    Actor,
    CrisisOpened,
    EventBase,
    RequestFiled,
    SitrepFiled,
    TaskingIssued,
    TaskingStatus,
    event_from_data,
    event_to_data,
)
from kizuna.coordination.law import Law
from kizuna.coordination.projection import LiveView, Recorded
from kizuna.coordination.request import RequestState
from kizuna.coordination.sitrep import RULE_FILER, SitrepState
from kizuna.coordination.tasking import TaskingState
from kizuna.errors import ConflictError, InvalidQuery, NotFound, PermissionDenied
from kizuna.model import RequestSpec
from kizuna.store import Clock, EventStore, NewEvent, StoredEvent

#: How often a command is decided again after losing a race on its stream.
ATTEMPTS = 5
#: Longest a command waits for this process's other appends to fill a gap before it reads the log.
GAP_WAIT_S = 0.05

#: Receives newly applied events, in log order, on the thread that applied them.
ViewListener = Callable[[Sequence[Recorded]], None]

RULE_FILE = "coordination.member-files-for-own-organization"


def actor_of(user: User) -> Actor:
    """Return the snapshot of a user that events record."""
    return Actor(user=user.id, organization=user.organization, nation=user.nation, role=str(user.role))


def stream_of(kind: str, object_id: str) -> str:
    """Return the store stream of one object (`request:<id>`)."""
    return f"{kind}:{object_id}"


def _new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


@dataclass(frozen=True, slots=True)
class _Decision:
    """What a command decided: the stream, the version it saw and the events to append."""

    stream: str
    expected_version: int
    events: tuple[EventBase, ...]


class Coordinator:
    """Runs commands against the store and keeps the live view of everything.

    Thread-safe: commands may run on many threads at once; the view is changed under one lock and always
    in log order.
    """

    def __init__(self, store: EventStore, law: Law, *, clock: Clock) -> None:
        """Open the coordinator on a store: the view is rebuilt from the whole log."""
        self.store = store
        self.law = law
        self.clock = clock
        self.view = LiveView()
        self._idempotency: dict[str, tuple[str, str]] = {}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._inflight = 0  # appends of this process not yet in `_pending` or the view
        self._pending: dict[int, tuple[StoredEvent, EventBase]] = {}
        self._listeners: list[ViewListener] = []
        self.catch_up()

    # -- the view -----------------------------------------------------------------------------------

    def add_listener(self, listener: ViewListener) -> Callable[[], None]:
        """Call `listener` with every batch of events applied from now on; return the remover."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def catch_up(self) -> tuple[Recorded, ...]:
        """Apply the events appended since the view was last current (by any process) and return them."""
        with self._lock:
            new: list[Recorded] = []
            for stored in self.store.iter_all(self.view.last_seq):
                own = self._pending.pop(stored.seq, None)
                if own is None and stored.type not in COORDINATION_EVENT_TYPES:
                    self.view.last_seq = stored.seq  # another package's event (intelligence): not ours
                    continue
                event = own[1] if own is not None else event_from_data(dict(stored.payload))
                new.append(self._apply(stored, event))
            if new:
                for listener in list(self._listeners):
                    listener(new)
            self._apply_pending()
            self._changed.notify_all()
            return tuple(new)

    def _apply(self, stored: StoredEvent, event: EventBase) -> Recorded:
        """Fold one event into the view (under the lock)."""
        recorded = Recorded(seq=stored.seq, event=event)  # type: ignore[arg-type]
        self.view.apply(recorded)
        if stored.idempotency_key is not None:
            self._idempotency[stored.idempotency_key] = (stored.stream, _object_id(stored.stream))
        return recorded

    def _apply_pending(self) -> None:
        """Apply this process's appended events that are next in the log (under the lock)."""
        batch: list[Recorded] = []
        while (own := self._pending.pop(self.view.last_seq + 1, None)) is not None:
            batch.append(self._apply(*own))
        for seq in [seq for seq in self._pending if seq <= self.view.last_seq]:
            del self._pending[seq]
        if batch:
            for listener in list(self._listeners):
                listener(batch)

    def _run(self, decide: Callable[[], _Decision], *, user: User, idempotency_key: str | None) -> str:
        """Decide and append, deciding again after a lost race; return the stream written (or replayed).

        The view is caught up first only when the log is known to have grown (this process's appends,
        PostgreSQL notifications, the service's poll); a decision on a stale view loses at the store's
        expected-version check and is made again on a caught-up one.
        """
        key = f"{user.id}:{idempotency_key}" if idempotency_key else None
        for attempt in range(ATTEMPTS):
            # The log grew past the view: by this process's appends in flight (applied as they return)
            # or by another process's (read now; and a decision on a view that misses them loses at
            # the store's version check and is made again).
            caught_up = bool(attempt) or (
                self.store.notifier.head > self.view.last_seq and not self._inflight and not self._pending
            )
            if caught_up:
                self.catch_up()
            with self._lock:
                if key is not None and key in self._idempotency:
                    return self._idempotency[key][0]
            # Decided outside the lock, on frozen states: commands on one object race, and the store's
            # expected-version check picks the winner, in one process as across workers.
            try:
                decision = decide()
            except NotFound:
                if caught_up:
                    raise
                continue  # perhaps another process made it: catch up and decide again

            payloads = [event_to_data(e) for e in decision.events]
            with self._lock:
                self._inflight += 1
            try:
                stored = self.store.append(
                    decision.stream,
                    [
                        NewEvent(type=e.type, payload=payload, occurred_at=e.at)
                        for e, payload in zip(decision.events, payloads, strict=True)
                    ],
                    expected_version=decision.expected_version,
                    idempotency_key=key,
                    actor=user.id,
                    marking=decision.events[0].marking.to_json(),
                )
            except BaseException as error:
                with self._lock:
                    self._inflight -= 1
                    self._changed.notify_all()
                if not isinstance(error, ConflictError):
                    raise
                if not isinstance(error.current, int):  # the key was used for another stream
                    self.catch_up()
                    with self._lock:
                        if key is not None and key in self._idempotency:
                            return self._idempotency[key][0]  # a concurrent retry of this write won
                    raise
                continue
            self._apply_own(stored, payloads, decision.events)
            return decision.stream
        raise ConflictError("too many concurrent changes; try again", current=None)

    def _apply_own(
        self, stored: Sequence[StoredEvent], payloads: Sequence[dict[str, Any]], events: Sequence[EventBase]
    ) -> None:
        """Apply just-appended events as decided, without reading them back, in log order.

        Several threads' appends commit together and return in any order, so each thread's events wait
        in `_pending` until the events before them are applied; while other appends of this process are
        still in flight, a thread waits (briefly) for them to fill the gap, and reads the log only when
        the gap is another process's. Events are applied as decided only if the store recorded exactly
        these payloads (not the replay of an earlier write with the same idempotency key).
        """
        with self._lock:
            self._inflight -= 1
            try:
                if stored[-1].seq <= self.view.last_seq:
                    return  # already applied from the log (a catch-up got there first)
                if any(dict(s.payload) != p for s, p in zip(stored, payloads, strict=True)):
                    self.catch_up()  # a replay of an earlier write: the log says what it was
                    return
                for record, event in zip(stored, events, strict=True):
                    self._pending[record.seq] = (record, event)
                deadline = time.monotonic() + GAP_WAIT_S
                while True:
                    self._apply_pending()
                    if self.view.last_seq >= stored[-1].seq:
                        return
                    remaining = deadline - time.monotonic()
                    if not self._inflight or remaining <= 0:
                        self.catch_up()
                        return
                    self._changed.wait(remaining)
            finally:
                self._changed.notify_all()

    # -- reading (what a user may see) ----------------------------------------------------------------

    def snapshot(self) -> LiveView:
        """Return a consistent copy of the view's object tables (the objects themselves are frozen)."""
        with self._lock:
            view = self.view
            return LiveView(
                crises=dict(view.crises),
                requests=dict(view.requests),
                taskings=dict(view.taskings),
                sitreps=dict(view.sitreps),
                last_seq=view.last_seq,
            )

    def crisis(self, user: User, crisis_id: str) -> CrisisState:
        """Return a crisis the user may see, or raise NotFound."""
        return _visible(user, self.view.crises.get(crisis_id), "crisis", crisis_id)

    def request(self, user: User, request_id: str) -> RequestState:
        """Return a request the user may see, or raise NotFound."""
        return _visible(user, self.view.requests.get(request_id), "request", request_id)

    def tasking(self, user: User, tasking_id: str) -> TaskingState:
        """Return a tasking the user may see, or raise NotFound."""
        return _visible(user, self.view.taskings.get(tasking_id), "tasking", tasking_id)

    def sitrep(self, user: User, sitrep_id: str) -> SitrepState:
        """Return a situation report the user may see, or raise NotFound."""
        return _visible(user, self.view.sitreps.get(sitrep_id), "situation report", sitrep_id)

    # -- commands -----------------------------------------------------------------------------------

    def open_crisis(
        self,
        user: User,
        *,
        crisis_id: str,
        name: str,
        structure: str,
        situation: str,
        marking: Marking,
        exercise: bool,
        description: str = "",
        idempotency_key: str | None = None,
    ) -> CrisisState:
        """Open a crisis in a structure, starting in `situation`.

        An exercise crisis's marking is marked exercise, and so, by `combine`, is everything in it.
        """
        actor = actor_of(user)
        if marking.exercise and not exercise:
            raise InvalidQuery("a real crisis cannot carry an exercise marking")
        marking = marking.model_copy(update={"exercise": exercise})

        def decide() -> _Decision:
            crisis_machine.check_open(actor, exercise=exercise)
            self.law.structure(structure)
            self.law.check_situation(situation)
            _check_marking(user, marking)
            if crisis_id in self.view.crises:
                raise ConflictError(f"crisis {crisis_id!r} exists", current={"crisis": crisis_id})
            event = CrisisOpened(
                at=self.clock(),
                actor=actor,
                rule=(crisis_machine.RULE_OPEN,),
                inputs={"structure": structure, "situation": situation},
                marking=marking,
                exercise=exercise,
                crisis=crisis_id,
                name=name,
                structure=structure,
                situation=situation,
                description=description,
            )
            return _Decision(stream_of("crisis", crisis_id), 0, (event,))

        self._run(decide, user=user, idempotency_key=idempotency_key)
        return self.view.crises[crisis_id]

    def file_request(
        self,
        user: User,
        crisis_id: str,
        *,
        spec: dict[str, Any],
        marking: Marking,
        idempotency_key: str | None = None,
    ) -> RequestState:
        """File a request in a crisis for the user's organization, compiled to its decision path.

        `spec` holds the fields of a RequestSpec except `id`, `requester` and `situation`, which the
        coordinator sets: a new id, the user's organization and the designation in force (for a
        designation request, the situation sought is `designates`). Approvals listed as already
        `granted` must be ones the crisis holds (obtained on its designations' paths): nobody grants an
        approval by claiming it.

        A designation changes the crisis for everyone who sees it, so its request may not be marked more
        restrictively than the crisis.
        """
        actor = actor_of(user)
        forbidden = {"id", "requester", "situation"} & set(spec)
        if forbidden:
            raise InvalidQuery(f"the service sets {', '.join(sorted(forbidden))}; leave them out")
        request_id = _new_id("r")

        def decide() -> _Decision:
            crisis = self.crisis(user, crisis_id)
            if actor.role not in request_machine.ACTING_ROLES:
                raise PermissionDenied(f"{actor.user} is {actor.role!r}; filing needs operator or approver")
            combined = combine(crisis.marking, marking)
            _check_marking(user, combined)
            unheld = sorted(set(spec.get("granted", ())) - set(crisis.approvals))
            if unheld:
                raise PermissionDenied(
                    f"{', '.join(unheld)} not granted in crisis {crisis_id!r} (it holds: "
                    f"{', '.join(crisis.approvals) or 'none'}); approvals are obtained along a path"
                )
            if spec.get("designates") and not crisis.marking.at_least_as_restrictive_as(combined):
                raise InvalidQuery(
                    "a designation changes the crisis for everyone who sees it: mark it as the crisis"
                )
            try:
                full = RequestSpec.model_validate(
                    {**spec, "id": request_id, "requester": actor.organization, "situation": crisis.situation}
                )
            except ValueError as error:
                raise InvalidQuery(f"invalid request: {error}") from error
            structure = self.law.structure(crisis.structure)
            path = self.law.compile(structure, full)
            verdict = self.law.judge(full, crisis.situation, full.granted)
            event = RequestFiled(
                at=self.clock(),
                actor=actor,
                rule=(RULE_FILE, *(verdict.rule_ids if verdict else ())),
                inputs={"situation": crisis.situation, "structure": crisis.structure},
                marking=combined,
                exercise=crisis.exercise,
                crisis=crisis_id,
                request=request_id,
                spec=full,
                path=path,
                verdict=verdict,
            )
            return _Decision(stream_of("request", request_id), 0, (event,))

        stream = self._run(decide, user=user, idempotency_key=idempotency_key)
        return self.view.requests[_object_id(stream)]

    def act(
        self,
        user: User,
        request_id: str,
        step_id: str,
        action: Action,
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> RequestState:
        """Perform an action on a step of a request, as a member of the step's organization."""
        actor = actor_of(user)

        def decide() -> _Decision:
            state = self.request(user, request_id)
            crisis = self.view.crises[state.crisis]
            event = request_machine.decide_step(
                state,
                step_id,
                action,
                actor,
                structure=self.law.structure(crisis.structure),
                situation=crisis.situation,
                judge=self.law.judge,
                at=self.clock(),
                reason=reason,
            )
            return _Decision(stream_of("request", request_id), state.version, (event,))

        self._run(decide, user=user, idempotency_key=idempotency_key)
        return self.view.requests[request_id]

    def withdraw(
        self, user: User, request_id: str, *, reason: str, idempotency_key: str | None = None
    ) -> RequestState:
        """Withdraw a request, as a member of the organization that filed it."""
        actor = actor_of(user)

        def decide() -> _Decision:
            state = self.request(user, request_id)
            event = request_machine.decide_withdraw(state, actor, at=self.clock(), reason=reason)
            return _Decision(stream_of("request", request_id), state.version, (event,))

        self._run(decide, user=user, idempotency_key=idempotency_key)
        return self.view.requests[request_id]

    def issue_tasking(
        self,
        user: User,
        crisis_id: str,
        *,
        unit: str,
        task: str,
        marking: Marking,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> TaskingState:
        """Task a unit the user's organization commands, under a decided request or on its own authority.

        The tasking's marking is the most restrictive of the given one, the crisis's and the request's.
        """
        actor = actor_of(user)
        tasking_id = _new_id("t")
        if not task.strip():
            raise InvalidQuery("a tasking needs a task")

        def decide() -> _Decision:
            crisis = self.crisis(user, crisis_id)
            parts = [crisis.marking, marking]
            rules = [tasking_machine.RULE_SUPERIOR]
            if request_id is not None:
                request = self.request(user, request_id)
                if request.crisis != crisis_id:
                    raise InvalidQuery(f"request {request_id!r} belongs to crisis {request.crisis!r}")
                if request.status not in {
                    request_machine.RequestStatus.DECIDED,
                    request_machine.RequestStatus.EXECUTED,
                }:
                    raise ConflictError(
                        f"request {request_id!r} is {request.status.value}; a tasking needs it decided",
                        current=request.summary(),
                    )
                parts.append(request.marking)
                rules.append("coordination.request-decided")
            tasking_machine.check_issue(self.law.structure(crisis.structure), actor, unit)
            combined = combine(*parts)
            _check_marking(user, combined)
            event = TaskingIssued(
                at=self.clock(),
                actor=actor,
                rule=tuple(rules),
                inputs={"unit": unit, "request": request_id, "situation": crisis.situation},
                marking=combined,
                exercise=crisis.exercise,
                crisis=crisis_id,
                tasking=tasking_id,
                request=request_id,
                unit=unit,
                task=task,
            )
            return _Decision(stream_of("tasking", tasking_id), 0, (event,))

        stream = self._run(decide, user=user, idempotency_key=idempotency_key)
        return self.view.taskings[_object_id(stream)]

    def update_tasking(
        self,
        user: User,
        tasking_id: str,
        status: TaskingStatus,
        *,
        note: str = "",
        idempotency_key: str | None = None,
    ) -> TaskingState:
        """Acknowledge or complete a tasking (its unit), or cancel it (its issuer)."""
        actor = actor_of(user)

        def decide() -> _Decision:
            state = self.tasking(user, tasking_id)
            event = tasking_machine.decide_update(state, actor, status, at=self.clock(), note=note)
            return _Decision(stream_of("tasking", tasking_id), state.version, (event,))

        self._run(decide, user=user, idempotency_key=idempotency_key)
        return self.view.taskings[tasking_id]

    def file_sitrep(
        self,
        user: User,
        crisis_id: str,
        *,
        title: str,
        text: str,
        marking: Marking,
        refs: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> SitrepState:
        """File a situation report; its marking covers the crisis and every request or tasking it cites."""
        actor = actor_of(user)
        sitrep_id = _new_id("s")
        if not title.strip():
            raise InvalidQuery("a situation report needs a title")

        def decide() -> _Decision:
            crisis = self.crisis(user, crisis_id)
            if actor.role not in request_machine.ACTING_ROLES:
                raise PermissionDenied(f"{actor.user} is {actor.role!r}; filing needs operator or approver")
            parts = [crisis.marking, marking]
            for ref in refs:
                if ref in self.view.requests:
                    parts.append(self.request(user, ref).marking)
                elif ref in self.view.taskings:
                    parts.append(self.tasking(user, ref).marking)
                else:
                    raise NotFound(f"no request or tasking {ref!r}")
            combined = combine(*parts)
            _check_marking(user, combined)
            event = SitrepFiled(
                at=self.clock(),
                actor=actor,
                rule=(RULE_FILER,),
                inputs={"refs": list(refs), "situation": crisis.situation},
                marking=combined,
                exercise=crisis.exercise,
                crisis=crisis_id,
                sitrep=sitrep_id,
                title=title,
                text=text,
                refs=tuple(refs),
            )
            return _Decision(stream_of("sitrep", sitrep_id), 0, (event,))

        stream = self._run(decide, user=user, idempotency_key=idempotency_key)
        return self.view.sitreps[_object_id(stream)]


def _object_id(stream: str) -> str:
    return stream.split(":", 1)[1]


_T = TypeVar("_T", CrisisState, RequestState, TaskingState, SitrepState)


def _visible(user: User, obj: _T | None, kind: str, object_id: str) -> _T:
    if obj is None or not can_see(user, obj.marking):
        raise NotFound(f"no {kind} {object_id!r}")
    return obj


def _check_marking(user: User, marking: Marking) -> None:
    """Refuse to create an object its own author could not see."""
    if not can_see(user, marking):
        raise PermissionDenied(
            f"{user.id} could not see an object marked {marking}; choose a marking they may see"
        )
