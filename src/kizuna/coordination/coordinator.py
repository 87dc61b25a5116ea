"""The coordinator: checks each command against the live view and the law, and records it in the store.

One command is one append to one stream, so every write is one transaction. A command is decided
against the view caught up with the log; the append names the stream version the decision saw, so when
two users act on one object at once the store lets exactly one append through. The loser is decided
again against the new state: an action on another step of the same request goes through, while a second
action on the same step fails with a ConflictError that carries the current state.

Users only ever act on what they may see: every id a command names is resolved by one method,
`resolve` (visible or NotFound), before anything else is looked at, including the idempotency key, so
an object whose marking the user may not see answers exactly like an id that does not exist.

An idempotency key belongs to one user and one command with its arguments (a digest of them is
recorded with the write): a retry answers what the first write answered (the object as that write left
it), and reusing the key for anything else is refused.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from kizuna.access import Marking, Separation, User, can_see, combine, filed_into
from kizuna.coordination import crisis as crisis_machine
from kizuna.coordination import request as request_machine
from kizuna.coordination import tasking as tasking_machine
from kizuna.coordination.crisis import CrisisState
from kizuna.coordination.events import (
    COORDINATION_EVENT_TYPES,
    STREAMED_PREFIXES,
    Action,
    Actor,
    CrisisOpened,
    EventBase,
    ExtensionEvent,
    RequestFiled,
    SitrepFiled,
    TaskingIssued,
    TaskingStatus,
    event_from_data,
    event_to_data,
    in_coordination_log,
)
from kizuna.coordination.law import Law
from kizuna.coordination.projection import LiveView, ObjectState, Recorded, object_as_of
from kizuna.coordination.request import RequestState
from kizuna.coordination.sitrep import RULE_FILER, SitrepState
from kizuna.coordination.tasking import TaskingState
from kizuna.errors import ConflictError, InvalidQuery, NotFound, PermissionDenied
from kizuna.ids import new_id
from kizuna.model import RequestSpec, Structure
from kizuna.planning import DecisionPath, StepKind
from kizuna.store import Clock, EventStore, NewEvent, StoredEvent

#: How often a command is decided again after losing a race on its stream.
ATTEMPTS = 5
#: Longest a command waits for this process's other appends to fill a gap before it reads the log.
GAP_WAIT_S = 0.05

#: Receives newly applied events, in log order, on the thread that applied them.
ViewListener = Callable[[Sequence[Recorded]], None]

RULE_FILE = "coordination.member-files-for-own-organization"
RULE_RELEASABLE = "coordination.path-organizations-may-see-the-request"


def actor_of(user: User) -> Actor:
    """Return the snapshot of a user that events record."""
    return Actor(user=user.id, organization=user.organization, nation=user.nation, role=str(user.role))


def stream_of(kind: str, object_id: str) -> str:
    """Return the store stream of one object (`request:<id>`)."""
    return f"{kind}:{object_id}"


class Kind(StrEnum):
    """The kinds of object a command may name, as its NotFound message names them."""

    CRISIS = "crisis"
    REQUEST = "request"
    TASKING = "tasking"
    SITREP = "situation report"
    REFERENCE = "request or tasking"  # what a situation report may cite


@dataclass(frozen=True, slots=True)
class _Decision:
    """What a command decided: the stream, the version it saw and the events to append."""

    stream: str
    expected_version: int
    events: tuple[EventBase, ...]


@dataclass(frozen=True, slots=True)
class _Command:
    """A command as its idempotency key binds it: its name and arguments, and the ids it names."""

    name: str
    args: dict[str, Any]
    resolve: Callable[[], object]


@dataclass(frozen=True, slots=True)
class _Keyed:
    """An earlier write made with an idempotency key: its stream, last event and command digest."""

    stream: str
    last_seq: int
    digest: str | None


@dataclass(frozen=True, slots=True)
class _Written:
    """Where a command wrote; `replayed` holds the earlier write a retry repeats."""

    stream: str
    replayed: _Keyed | None = None


class Coordinator:
    """Runs commands against the store and keeps the live view of everything.

    Thread-safe: commands may run on many threads at once; the view is changed under one lock and always
    in log order.
    """

    def __init__(
        self,
        store: EventStore,
        law: Law,
        *,
        clock: Clock,
        separation: Separation | None = None,
        history: Iterable[StoredEvent] | None = None,
    ) -> None:
        """Open the coordinator on a store: the view is rebuilt from the whole log.

        Args:
            store: The event store.
            law: The structures and frameworks commands are checked against.
            clock: Gives the time of each command.
            separation: Which kinds of step a request's filer may not act on (default: approve).
            history: The log's events to rebuild the view from, in order, as a pass that verifies the
                chain yields them (`EventStore.verification()`), so the view comes from exactly the rows
                checked; by default read from the store. Events appended after it are read as usual.

        Raises:
            InvalidQuery: `separation` names a kind of step that does not exist.
        """
        self.store = store
        self.law = law
        self.clock = clock
        self.separation = separation or Separation()
        unknown = self.separation.filer_excluded - {k.value for k in StepKind}
        if unknown:
            raise InvalidQuery(
                f"unknown step kinds {sorted(unknown)} closed to the filer; "
                f"known: {', '.join(k.value for k in StepKind)}"
            )
        self.view = LiveView()
        self._idempotency: dict[str, _Keyed] = {}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._inflight = 0  # appends of this process not yet in `_pending` or the view
        self._inflight_by_thread: dict[int, int] = {}  # the same, by the thread that made them
        self._pending: dict[int, tuple[StoredEvent, EventBase]] = {}
        self._listeners: list[ViewListener] = []
        self.catch_up(history)
        if history is not None:
            self.catch_up()  # what was appended after the pass's snapshot

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

    def catch_up(self, events: Iterable[StoredEvent] | None = None) -> tuple[Recorded, ...]:
        """Apply the events appended since the view was last current (by any process) and return them.

        Args:
            events: The events to apply, already read in log order; by default read from the store.
        """
        with self._lock:
            new: list[Recorded] = []
            reached = 0
            source: Iterable[StoredEvent]
            if events is None:  # only this log's events: the intelligence desk's beside them are not read
                source, reached = self.store.scan(
                    self.view.last_seq, COORDINATION_EVENT_TYPES, prefixes=STREAMED_PREFIXES
                )
            else:
                source = events
            for stored in source:
                own = self._pending.pop(stored.seq, None)
                if own is None and not in_coordination_log(stored.type):
                    self.view.last_seq = stored.seq  # another package's event (intelligence): not ours
                    continue
                event = own[1] if own is not None else event_from_data(dict(stored.payload))
                new.append(self._apply(stored, event))
            self.view.last_seq = max(self.view.last_seq, reached)
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
            self._idempotency[stored.idempotency_key] = _Keyed(
                stored.stream, stored.seq, event.command_digest
            )
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

    def _run(
        self,
        decide: Callable[[], _Decision],
        *,
        user: User,
        idempotency_key: str | None,
        command: _Command,
    ) -> _Written:
        """Decide and append, deciding again after a lost race; return where it wrote (or replayed).

        Every id the command names is resolved for the user first (visible or NotFound); only then is
        the idempotency key looked at, so an earlier write's key never answers for an object the user
        may not see. A key already used for this command with these arguments is a retry: nothing is
        written and the earlier write is returned. A key used for anything else is refused.

        The view is caught up first only when the log is known to have grown (this process's appends,
        PostgreSQL notifications, the service's poll); a decision on a stale view loses at the store's
        expected-version check and is made again on a caught-up one.
        """
        key = f"{user.id}:{idempotency_key}" if idempotency_key else None
        digest = _digest(user.id, idempotency_key, command) if idempotency_key else None
        for attempt in range(ATTEMPTS):
            # The log grew past the view: by this process's appends in flight (applied as they return)
            # or by another process's (read now; and a decision on a view that misses them loses at
            # the store's version check and is made again).
            caught_up = bool(attempt) or (
                self.store.notifier.head > self.view.last_seq and not self._inflight and not self._pending
            )
            if caught_up:
                self.catch_up()
            # Decided outside the lock, on frozen states: commands on one object race, and the store's
            # expected-version check picks the winner, in one process as across workers.
            try:
                command.resolve()
                if key is not None and (earlier := self._earlier(key, digest)) is not None:
                    return _Written(earlier.stream, earlier)
                decision = decide()
            except NotFound:
                if caught_up:
                    raise
                continue  # perhaps another process made it: catch up and decide again

            events = decision.events
            if digest is not None:
                events = tuple(e.model_copy(update={"command_digest": digest}) for e in events)
            payloads = [event_to_data(e) for e in events]
            with self._lock:
                self._count_inflight(+1)
            try:
                stored = self.store.append(
                    decision.stream,
                    [
                        NewEvent(type=e.type, payload=payload, occurred_at=e.at)
                        for e, payload in zip(events, payloads, strict=True)
                    ],
                    expected_version=decision.expected_version,
                    idempotency_key=key,
                    actor=user.id,
                    marking=events[0].marking.to_json(),
                )
            except BaseException as error:
                with self._lock:
                    self._count_inflight(-1)
                    self._changed.notify_all()
                if not isinstance(error, ConflictError):
                    raise
                if not isinstance(error.current, int):  # the key was used for another stream
                    self.catch_up()
                    if key is not None and (earlier := self._earlier(key, digest)) is not None:
                        return _Written(earlier.stream, earlier)  # a concurrent retry of this write won
                    raise
                continue
            if self._apply_own(stored, payloads, events, keyed=key is not None):
                return _Written(decision.stream)
            # The store answered with an earlier write under this key (a concurrent one won).
            earlier = self._earlier(key, digest) if key is not None else None
            return _Written(decision.stream, earlier)
        raise ConflictError("too many concurrent changes; try again", current=None)

    def _earlier(self, key: str, digest: str | None) -> _Keyed | None:
        """Return the earlier write made with this key, if any; refuse a key reused for another write.

        Raises:
            InvalidQuery: The key was used for another command, or with other arguments.
        """
        with self._lock:
            earlier = self._idempotency.get(key)
        if earlier is None:
            return None
        if earlier.digest is not None and earlier.digest != digest:
            raise InvalidQuery(
                f"Idempotency-Key {key.split(':', 1)[1]!r} was already used for a different write "
                "(another route, object or body); a retry must repeat the same write exactly, and a "
                "new write needs a new key"
            )
        return earlier

    def _answer(self, written: _Written, table: dict[str, _S], kind: type[_S]) -> _S:
        """Return what a command answers: the object now, or as the retried write left it."""
        if written.replayed is None:
            return table[_object_id(written.stream)]
        last = written.replayed.last_seq
        events = [
            event_from_data(dict(e.payload)) for e in self.store.read_stream(written.stream) if e.seq <= last
        ]
        own = [e for e in events if not isinstance(e, ExtensionEvent)]  # layers above write their own streams
        return _typed(object_as_of(own), kind)

    def _count_inflight(self, change: int) -> None:
        """Count an append of this thread going out (+1) or back (-1) (under the lock)."""
        thread = threading.get_ident()
        left = self._inflight_by_thread.get(thread, 0) + change
        if left:
            self._inflight_by_thread[thread] = left
        else:
            del self._inflight_by_thread[thread]
        self._inflight += change

    def _inflight_elsewhere(self) -> int:
        """How many appends other threads have in flight (under the lock).

        Only they can fill a gap before this thread's append: this thread's own others in flight are
        commands parked by a command runner (`kizuna.service.commands`), which resumes them in log
        order, so they come after it, or are not committed yet.
        """
        return self._inflight - self._inflight_by_thread.get(threading.get_ident(), 0)

    def _apply_own(
        self,
        stored: Sequence[StoredEvent],
        payloads: Sequence[dict[str, Any]],
        events: Sequence[EventBase],
        *,
        keyed: bool,
    ) -> bool:
        """Apply just-appended events as decided, without reading them back, in log order.

        Several threads' appends commit together and return in any order, so each thread's events wait
        in `_pending` until the events before them are applied; while other threads of this process
        still have appends in flight, a thread waits (briefly) for them to fill the gap, and reads the
        log only when the gap is another process's (or another package's, such as intelligence).
        Events are applied as decided only if the store recorded exactly these payloads (not the
        replay of an earlier write with the same idempotency key).

        Returns:
            False if the store answered with an earlier write under the same idempotency key.
        """
        with self._lock:
            self._count_inflight(-1)
            try:
                # Only a keyed append can be answered with an earlier write (the store's replay).
                replay = keyed and any(dict(s.payload) != p for s, p in zip(stored, payloads, strict=True))
                if stored[-1].seq <= self.view.last_seq:
                    return not replay  # already applied from the log (a catch-up got there first)
                if replay:
                    self.catch_up()  # a replay of an earlier write: the log says what it was
                    return False
                for record, event in zip(stored, events, strict=True):
                    self._pending[record.seq] = (record, event)
                deadline = time.monotonic() + GAP_WAIT_S
                while True:
                    self._apply_pending()
                    if self.view.last_seq >= stored[-1].seq:
                        return True
                    remaining = deadline - time.monotonic()
                    if not self._inflight_elsewhere() or remaining <= 0:
                        self.catch_up()
                        return True
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

    def resolve(self, user: User, kind: Kind, object_id: str) -> ObjectState:
        """Return the object an id names if the user may see it; otherwise NotFound, as for a missing id.

        This is the one place a command turns an id into an object: the answer for an object the user
        may not see is the same, byte for byte, as for an id nothing has.

        Raises:
            NotFound: No object of this kind has the id, or the user may not see it.
        """
        view = self.view
        tables: dict[Kind, tuple[dict[str, Any], ...]] = {
            Kind.CRISIS: (view.crises,),
            Kind.REQUEST: (view.requests,),
            Kind.TASKING: (view.taskings,),
            Kind.SITREP: (view.sitreps,),
            Kind.REFERENCE: (view.requests, view.taskings),
        }
        found: ObjectState | None = next(
            (table[object_id] for table in tables[kind] if object_id in table), None
        )
        if found is None or not can_see(user, found.marking):
            raise NotFound(f"no {kind.value} {object_id!r}")
        return found

    def crisis(self, user: User, crisis_id: str) -> CrisisState:
        """Return a crisis the user may see, or raise NotFound."""
        return _typed(self.resolve(user, Kind.CRISIS, crisis_id), CrisisState)

    def request(self, user: User, request_id: str) -> RequestState:
        """Return a request the user may see, or raise NotFound."""
        return _typed(self.resolve(user, Kind.REQUEST, request_id), RequestState)

    def tasking(self, user: User, tasking_id: str) -> TaskingState:
        """Return a tasking the user may see, or raise NotFound."""
        return _typed(self.resolve(user, Kind.TASKING, tasking_id), TaskingState)

    def sitrep(self, user: User, sitrep_id: str) -> SitrepState:
        """Return a situation report the user may see, or raise NotFound."""
        return _typed(self.resolve(user, Kind.SITREP, sitrep_id), SitrepState)

    def _cited(self, user: User, crisis: CrisisState, object_id: str, kind: Kind) -> ObjectState:
        """Resolve an object another one cites: visible, and of the same crisis (so never real and
        exercise traffic mixed)."""
        cited = self.resolve(user, kind, object_id)
        if cited.crisis != crisis.id or cited.exercise != crisis.exercise:  # type: ignore[union-attr]
            raise InvalidQuery(
                f"{kind.value} {object_id!r} belongs to crisis {cited.crisis!r}, not {crisis.id!r}: "  # type: ignore[union-attr]
                "an object cites only objects of its own crisis (and never mixes real and exercise)"
            )
        return cited

    # -- commands -----------------------------------------------------------------------------------

    def open_crisis(
        self,
        user: User,
        *,
        name: str,
        structure: str,
        situation: str,
        marking: Marking,
        exercise: bool,
        description: str = "",
        crisis_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> CrisisState:
        """Open a crisis in a structure, starting in `situation`.

        The service chooses the crisis's id (`c-` and 40 random bits), so that opening a crisis never
        tells whether an id is taken by a crisis the user may not see. `crisis_id` is for trusted
        callers only (the demo's seed, tests), never for ids a user chose.

        An exercise crisis's marking is marked exercise, and so, by `combine`, is everything in it.
        """
        actor = actor_of(user)
        if marking.exercise and not exercise:
            raise InvalidQuery("a real crisis cannot carry an exercise marking")
        marking = marking.model_copy(update={"exercise": exercise})
        chosen = crisis_id or new_id("c")

        def decide() -> _Decision:
            crisis_machine.check_open(actor, exercise=exercise)
            self.law.structure(structure)
            self.law.check_situation(situation)
            _check_marking(user, marking)
            if chosen in self.view.crises:
                raise ConflictError(f"crisis id {chosen!r} is taken", current=None)
            event = CrisisOpened(
                at=self.clock(),
                actor=actor,
                rule=(crisis_machine.RULE_OPEN,),
                inputs={"structure": structure, "situation": situation},
                marking=marking,
                exercise=exercise,
                crisis=chosen,
                name=name,
                structure=structure,
                situation=situation,
                description=description,
            )
            return _Decision(stream_of("crisis", chosen), 0, (event,))

        args = {
            "name": name,
            "structure": structure,
            "situation": situation,
            "marking": marking.to_json(),
            "exercise": exercise,
            "description": description,
            "crisis": crisis_id,
        }
        written = self._run(
            decide,
            user=user,
            idempotency_key=idempotency_key,
            command=_Command("open-crisis", args, lambda: None),
        )
        return self._answer(written, self.view.crises, CrisisState)

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
        restrictively than the crisis. A request whose decision path needs an organization of a nation
        its marking does not release to could never be carried, so it is refused at filing.
        """
        actor = actor_of(user)
        forbidden = {"id", "requester", "situation"} & set(spec)
        if forbidden:
            raise InvalidQuery(f"the service sets {', '.join(sorted(forbidden))}; leave them out")
        request_id = new_id("r")

        def decide() -> _Decision:
            crisis = self.crisis(user, crisis_id)
            if actor.role not in request_machine.ACTING_ROLES:
                raise PermissionDenied(f"{actor.user} is {actor.role!r}; filing needs operator or approver")
            combined = combine(crisis.marking, filed_into(marking, crisis.marking))
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
            in_force = self.law.in_force(crisis)  # one designation, or several ruled on together
            try:
                full = RequestSpec.model_validate(
                    {**spec, "id": request_id, "requester": actor.organization, "situation": in_force}
                )
            except ValueError as error:
                raise InvalidQuery(f"invalid request: {error}") from error
            structure = self.law.structure(crisis.structure)
            path = self.law.compile(structure, full)
            _check_path_releasable(structure, path, combined, user.nation)
            verdict = self.law.judge(full, in_force, full.granted)
            event = RequestFiled(
                at=self.clock(),
                actor=actor,
                rule=(RULE_FILE, RULE_RELEASABLE, *(verdict.rule_ids if verdict else ())),
                inputs={"situation": in_force, "structure": crisis.structure},
                marking=combined,
                exercise=crisis.exercise,
                crisis=crisis_id,
                request=request_id,
                spec=full,
                path=path,
                verdict=verdict,
            )
            return _Decision(stream_of("request", request_id), 0, (event,))

        args = {"crisis": crisis_id, "spec": spec, "marking": marking.to_json()}
        written = self._run(
            decide,
            user=user,
            idempotency_key=idempotency_key,
            command=_Command("file-request", args, lambda: self.crisis(user, crisis_id)),
        )
        return self._answer(written, self.view.requests, RequestState)

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
        """Perform an action on a step of a request, as a member of the step's organization.

        The request's filer may not act on the kinds of step `separation` closes to them.
        """
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
                situation=self.law.in_force(crisis),
                judge=self.law.judge,
                at=self.clock(),
                reason=reason,
                separation=self.separation,
            )
            return _Decision(stream_of("request", request_id), state.version, (event,))

        args = {"request": request_id, "step": step_id, "action": action.value, "reason": reason}
        written = self._run(
            decide,
            user=user,
            idempotency_key=idempotency_key,
            command=_Command("act", args, lambda: self.request(user, request_id)),
        )
        return self._answer(written, self.view.requests, RequestState)

    def withdraw(
        self, user: User, request_id: str, *, reason: str, idempotency_key: str | None = None
    ) -> RequestState:
        """Withdraw a request, as a member of the organization that filed it."""
        actor = actor_of(user)

        def decide() -> _Decision:
            state = self.request(user, request_id)
            event = request_machine.decide_withdraw(state, actor, at=self.clock(), reason=reason)
            return _Decision(stream_of("request", request_id), state.version, (event,))

        written = self._run(
            decide,
            user=user,
            idempotency_key=idempotency_key,
            command=_Command(
                "withdraw",
                {"request": request_id, "reason": reason},
                lambda: self.request(user, request_id),
            ),
        )
        return self._answer(written, self.view.requests, RequestState)

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
        tasking_id = new_id("t")
        if not task.strip():
            raise InvalidQuery("a tasking needs a task")

        def resolve() -> tuple[CrisisState, RequestState | None]:
            crisis = self.crisis(user, crisis_id)
            if request_id is None:
                return crisis, None
            return crisis, _typed(self._cited(user, crisis, request_id, Kind.REQUEST), RequestState)

        def decide() -> _Decision:
            crisis, request = resolve()
            parts = [crisis.marking, filed_into(marking, crisis.marking)]
            rules = [tasking_machine.RULE_SUPERIOR]
            if request is not None:
                if request.status not in {
                    request_machine.RequestStatus.DECIDED,
                    request_machine.RequestStatus.EXECUTED,
                }:
                    raise ConflictError(
                        f"request {request.id!r} is {request.status.value}; a tasking needs it decided",
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

        args = {
            "crisis": crisis_id,
            "unit": unit,
            "task": task,
            "marking": marking.to_json(),
            "request": request_id,
        }
        written = self._run(
            decide,
            user=user,
            idempotency_key=idempotency_key,
            command=_Command("issue-tasking", args, resolve),
        )
        return self._answer(written, self.view.taskings, TaskingState)

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

        written = self._run(
            decide,
            user=user,
            idempotency_key=idempotency_key,
            command=_Command(
                "update-tasking",
                {"tasking": tasking_id, "status": status.value, "note": note},
                lambda: self.tasking(user, tasking_id),
            ),
        )
        return self._answer(written, self.view.taskings, TaskingState)

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
        """File a situation report; its marking covers the crisis and every request or tasking it cites.

        A report cites only requests and taskings of its own crisis that its author may see; a cited id
        the author may not see answers exactly like one that does not exist.
        """
        actor = actor_of(user)
        sitrep_id = new_id("s")
        if not title.strip():
            raise InvalidQuery("a situation report needs a title")

        def resolve() -> tuple[CrisisState, list[ObjectState]]:
            crisis = self.crisis(user, crisis_id)
            return crisis, [self._cited(user, crisis, ref, Kind.REFERENCE) for ref in refs]

        def decide() -> _Decision:
            crisis, cited = resolve()
            if actor.role not in request_machine.ACTING_ROLES:
                raise PermissionDenied(f"{actor.user} is {actor.role!r}; filing needs operator or approver")
            combined = combine(
                crisis.marking, filed_into(marking, crisis.marking), *(c.marking for c in cited)
            )
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

        args = {
            "crisis": crisis_id,
            "title": title,
            "text": text,
            "marking": marking.to_json(),
            "refs": list(refs),
        }
        written = self._run(
            decide,
            user=user,
            idempotency_key=idempotency_key,
            command=_Command("file-sitrep", args, resolve),
        )
        return self._answer(written, self.view.sitreps, SitrepState)


def _object_id(stream: str) -> str:
    return stream.split(":", 1)[1]


_T = TypeVar("_T", CrisisState, RequestState, TaskingState, SitrepState)
_S = TypeVar("_S", CrisisState, RequestState, TaskingState, SitrepState)


def _typed(found: ObjectState, kind: type[_T]) -> _T:
    if not isinstance(found, kind):  # pragma: no cover - each table holds one kind
        raise TypeError(f"expected a {kind.__name__}, found {type(found).__name__}")
    return found


def _digest(user_id: str, key: str | None, command: _Command) -> str:
    """Return the digest that binds an idempotency key to one user, command and set of arguments."""
    text = json.dumps(
        {"user": user_id, "key": key, "command": command.name, "args": command.args},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_marking(user: User, marking: Marking) -> None:
    """Refuse to create an object its own author could not see."""
    if not can_see(user, marking):
        raise PermissionDenied(
            f"{user.id} could not see an object marked {marking}; choose a marking they may see"
        )


def _nations_of(structure: Structure, organization: str) -> frozenset[str]:
    """Return the nation codes whose people staff an organization (every nation for a bilateral body)."""
    org = structure.org_by_id.get(organization)
    if org is None:
        return frozenset()
    if org.is_bilateral:
        return frozenset(n.code for n in structure.nations)
    return frozenset({structure.nation_by_id[org.nation].code})


def _check_path_releasable(
    structure: Structure, path: DecisionPath, marking: Marking, filer_nation: str
) -> None:
    """Refuse a request whose decision path needs organizations of nations its marking excludes.

    Each step is acted on by members of its organization; if none of the nations staffing it may see
    the request, the step can never be taken and the request never carried.
    """
    blocked: dict[str, frozenset[str]] = {}
    for step in path.steps:
        nations = _nations_of(structure, step.organization)
        if nations and not nations & marking.rel_to:
            blocked[step.organization] = nations
    if blocked:
        orgs = ", ".join(f"{org} ({'/'.join(sorted(n))})" for org, n in blocked.items())
        needed = sorted(frozenset().union(*blocked.values()))
        raise InvalidQuery(
            f"a request marked {marking.banner(filer_nation)} cannot be carried: its decision path "
            f"needs {orgs}, whose nation may not see it; release it to {', '.join(needed)} or file "
            "it differently"
        )
