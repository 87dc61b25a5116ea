"""Running exercises: the commands of exercise control, players and observers, and the delivery of injects.

`Exercises` sits beside the coordinator on the same store: every command is decided on the exercise view
and appended to the exercise's stream with the version it saw (a concurrent change loses and is decided
again, as for every command of the live system); the coordinator then applies the new events, and
through its listeners the exercise view and the event stream see them in log order.

`Exercises.deliver_due()` delivers every inject whose exercise time has come; `DeliveryThread` calls it
when the next inject falls due on the wall clock (or the clock changes). Several server processes may
run it at once: a delivery is an append at the stream version the decision saw, so only one of them
records it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kizuna.access import Marking, User, can_see, combine, filed_into
from kizuna.coordination import (
    Actor,
    Coordinator,
    EventBase,
    Recorded,
    RequestState,
    actor_of,
    event_to_data,
)
from kizuna.errors import ConflictError, DataError, InvalidQuery, NotFound, PermissionDenied, Problem
from kizuna.exercise.clock import ClockAction, ClockState, change
from kizuna.exercise.events import (
    ClockChanged,
    ExerciseCreated,
    InjectAdded,
    InjectAnswered,
    InjectDelivered,
    ObservationRecorded,
)
from kizuna.exercise.state import OBSERVING_ROLES, WHITE_CELL, ExerciseState, ExerciseView, InjectState
from kizuna.ids import new_id
from kizuna.interop.msel import ALL, Msel, MselRow
from kizuna.model.scenario import Scenario
from kizuna.model.structure import Structure
from kizuna.store import Clock, NewEvent

if TYPE_CHECKING:
    from kizuna.exercise.aar import Review

#: How often a command is decided again after losing a race on its stream.
ATTEMPTS = 20
#: Longest the delivery thread sleeps: it also picks up clock changes made by other server processes.
MAX_WAIT_S = 1.0
#: Injects delivered in one append.
DELIVERY_BATCH = 500

RULE_WHITE_CELL = "exercise.exercise-control-runs-the-exercise"
RULE_DUE = "exercise.inject-delivered-at-its-exercise-time"
RULE_RECIPIENT = "exercise.recipient-files-the-inject's-request"
RULE_OBSERVER = "exercise.observer-or-controller-writes-observations"


def stream_of(exercise_id: str) -> str:
    """Return the store stream of an exercise."""
    return f"exercise:{exercise_id}"


def recipients_problems(msel: Msel, structure: Structure, marking: Marking, where: str) -> list[Problem]:
    """Check that every inject can reach its recipients: each is an organization of the structure, and
    the inject's marking (combined with the exercise's) releases it to the recipient's nation(s)."""
    problems: list[Problem] = []
    codes = {n.id: n.code for n in structure.nations}
    for row in msel.rows:
        combined = combine(marking, filed_into(row.marking, marking)) if row.marking is not None else marking
        for org in row.to:
            if org == ALL:
                continue
            if org not in structure.org_by_id:
                problems.append(
                    Problem(
                        where, row.line, f"row {row.serial}: to", "unknown organization", org, structure.id
                    )
                )
                continue
            organization = structure.org_by_id[org]
            nations = list(codes.values()) if organization.is_bilateral else [codes[organization.nation]]
            barred = [n for n in nations if n not in combined.rel_to]
            if barred:
                problems.append(
                    Problem(
                        where,
                        row.line,
                        f"row {row.serial}: marking",
                        f"{combined.banner()} cannot reach {org} ({', '.join(barred)})",
                        expected="a marking released to every recipient's nation",
                    )
                )
    return problems


class Exercises:
    """The exercises of one service: the view, the commands, and the delivery of injects."""

    def __init__(self, coordinator: Coordinator, *, clock: Clock) -> None:
        """Follow the coordinator's log: rebuild the exercises from it, then apply what it applies."""
        self.coordinator = coordinator
        self.store = coordinator.store
        self.clock = clock
        self.view = ExerciseView()
        self._lock = threading.RLock()
        self.wake = threading.Event()
        self._listeners: list[Callable[[str], None]] = []
        # Listen first, then read the log: an event applied meanwhile arrives twice and is skipped once.
        self._remove = coordinator.add_listener(self._on_events)
        with self._lock:
            from kizuna.coordination import event_from_data

            for stored in self.store.iter_all(0):
                if stored.type.startswith("exercise-"):
                    self._fold(Recorded(seq=stored.seq, event=event_from_data(dict(stored.payload))))
                else:
                    self.view.last_seq = max(self.view.last_seq, stored.seq)

    def close(self) -> None:
        """Stop following the coordinator."""
        self._remove()

    def add_listener(self, listener: Callable[[str], None]) -> None:
        """Call `listener(exercise_id)` whenever an exercise changes (on the thread that applied it)."""
        self._listeners.append(listener)

    def _on_events(self, batch: Sequence[Recorded]) -> None:
        with self._lock:
            for recorded in batch:
                self._fold(recorded)

    def _fold(self, recorded: Recorded) -> None:
        changed = self.view.apply(recorded)
        if changed is not None:
            self.wake.set()
            for listener in self._listeners:
                listener(changed)

    # -- reading --------------------------------------------------------------------------------------

    def reviewable(self, user: User, exercise_id: str) -> ExerciseState:
        """Return the exercise if the user may read its after-action review (control, observers and
        controllers); otherwise NotFound (an exercise they may not see) or PermissionDenied."""
        state = self.get(user, exercise_id)
        if user.role not in OBSERVING_ROLES:
            raise PermissionDenied(
                "the after-action review is for exercise control, observers and controllers"
            )
        return state

    def review(self, user: User, exercise_id: str, *, replications: int, seed: int) -> Review:
        """Build the after-action review from the log as far as the user may see it (the egress rule,
        applied to the input), in the structure the exercise's crisis runs in."""
        from kizuna.exercise.aar import build_review, log_of

        self.reviewable(user, exercise_id)
        crisis = self.coordinator.view.crises.get(exercise_id)
        if crisis is None:
            raise NotFound(f"no exercise {exercise_id!r}")
        log = [r for r in log_of(self.store) if can_see(user, r.event.marking)]
        structure = self.coordinator.law.structure(crisis.structure)
        return build_review(log, exercise_id, replications=replications, seed=seed, structure=structure)

    def get(self, user: User, exercise_id: str) -> ExerciseState:
        """Return an exercise the user may see, or raise NotFound."""
        state = self.view.exercises.get(exercise_id)
        if state is None or not state.sees(user):
            raise NotFound(f"no exercise {exercise_id!r}")
        return state

    def visible(self, user: User) -> list[ExerciseState]:
        """The exercises the user may see."""
        with self._lock:
            return [e for e in self.view if e.sees(user)]

    def now(self, exercise_id: str) -> datetime:
        """The exercise time now."""
        state = self.view.exercises[exercise_id]
        return state.clock.current.now(self.clock())

    def inbox(self, user: User, exercise_id: str) -> list[InjectState]:
        """The injects delivered to the user's organization that the user may see."""
        with self._lock:
            state = self.get(user, exercise_id)
            return [i for i in state.inbox(user.organization) if can_see(user, i.marking)]

    # -- commands ---------------------------------------------------------------------------------------

    def _append(
        self, user: User, exercise_id: str, decide: Callable[[ExerciseState | None], list[EventBase]]
    ) -> None:
        """Decide on the current state and append to the exercise's stream; decide again on a lost race."""
        for _ in range(ATTEMPTS):
            with self._lock:
                state = self.view.exercises.get(exercise_id)
                version = state.version if state is not None else 0
                events = decide(state)
            if not events:
                return
            try:
                self.store.append(
                    stream_of(exercise_id),
                    [NewEvent(type=e.type, payload=event_to_data(e), occurred_at=e.at) for e in events],
                    expected_version=version,
                    actor=user.id,
                    marking=events[0].marking.to_json(),
                )
            except ConflictError as error:
                if not isinstance(error.current, int):
                    raise
                self.coordinator.catch_up()
                continue
            self.coordinator.catch_up()
            return
        raise ConflictError("too many concurrent changes to the exercise; try again")

    def create(
        self,
        user: User,
        *,
        exercise_id: str,
        name: str,
        scenario: Scenario,
        msel: Msel,
        structure: str,
        situation: str,
        marking: Marking,
        objectives: Sequence[str] = (),
        description: str = "",
    ) -> ExerciseState:
        """Create an exercise: open its crisis (exercise traffic) and record its scenario and MSEL.

        Raises:
            PermissionDenied: the user is not exercise control.
            DataError: an inject cannot reach its recipients (unknown organization, or a marking that
                does not release it to their nation).
            ConflictError: the id is taken.
        """
        if user.role != WHITE_CELL:
            raise PermissionDenied(f"{user.id} is {user.role!r}; creating an exercise needs exercise-control")
        if scenario.network is not None or scenario.parameters is None:
            raise InvalidQuery(
                f"scenario {scenario.id!r} is a queueing network; an exercise needs a structure"
            )
        law = self.coordinator.law
        org_structure = law.structure(structure)
        marking = marking.model_copy(update={"exercise": True})
        problems = recipients_problems(msel, org_structure, marking, msel.source or "msel")
        if problems:
            raise DataError(problems)
        if exercise_id in self.view.exercises:
            raise ConflictError(f"exercise {exercise_id!r} exists", current={"exercise": exercise_id})
        # The crisis first (idempotent: a retry after a crash between the two appends finds it).
        crisis = self.coordinator.open_crisis(
            user,
            crisis_id=exercise_id,
            name=name,
            structure=structure,
            situation=situation,
            marking=marking,
            exercise=True,
            description=description or scenario.description,
            idempotency_key=f"exercise:{exercise_id}",
        )
        data = scenario.model_dump(mode="json", exclude={"file"})

        def decide(state: ExerciseState | None) -> list[EventBase]:
            if state is not None:
                raise ConflictError(f"exercise {exercise_id!r} exists", current={"exercise": exercise_id})
            return [
                ExerciseCreated(
                    at=self.clock(),
                    actor=actor_of(user),
                    rule=(RULE_WHITE_CELL,),
                    inputs={"scenario": scenario.id, "rows": len(msel.rows)},
                    marking=crisis.marking,
                    exercise=True,
                    crisis=exercise_id,
                    name=name,
                    structure=structure,
                    situation=situation,
                    scenario=data,
                    msel=msel.model_dump(mode="json"),
                    objectives=tuple(objectives) or _objectives(msel),
                )
            ]

        self._append(user, exercise_id, decide)
        return self.view.exercises[exercise_id]

    def _white_cell(self, user: User, exercise_id: str) -> ExerciseState:
        state = self.get(user, exercise_id)
        if user.role != WHITE_CELL:
            raise PermissionDenied(f"{user.id} is {user.role!r}; only exercise-control runs the exercise")
        return state

    def set_clock(
        self,
        user: User,
        exercise_id: str,
        action: ClockAction,
        *,
        speed: float | None = None,
        to: datetime | None = None,
    ) -> ClockState:
        """Start, pause, resume, change the speed of or jump the exercise clock (exercise control)."""
        self._white_cell(user, exercise_id)

        def decide(state: ExerciseState | None) -> list[EventBase]:
            assert state is not None
            if to is not None and to < state.start:
                raise InvalidQuery(
                    f"{to.isoformat()} is before the exercise starts ({state.start.isoformat()})"
                )
            new = change(state.clock.current, action, wall=self.clock(), speed=speed, to=to)
            return [
                ClockChanged(
                    at=new.anchor_wall or self.clock(),
                    actor=actor_of(user),
                    rule=(RULE_WHITE_CELL,),
                    inputs={"action": action.value, "speed": speed, "to": to.isoformat() if to else None},
                    marking=state.marking,
                    exercise=True,
                    crisis=exercise_id,
                    action=action,
                    state=new,
                )
            ]

        self._append(user, exercise_id, decide)
        return self.view.exercises[exercise_id].clock.current

    def add_inject(self, user: User, exercise_id: str, row: MselRow) -> InjectState:
        """Add an inject while the exercise runs (exercise control); a time already passed is due now."""
        state = self._white_cell(user, exercise_id)
        structure = self.coordinator.law.structure(state.structure)
        problems = recipients_problems(
            Msel(start=state.start, rows=(row,)), structure, state.marking, f"exercise {exercise_id}"
        )
        if problems:
            raise DataError(problems)

        def decide(current: ExerciseState | None) -> list[EventBase]:
            assert current is not None
            if row.serial in current.injects:
                raise ConflictError(f"serial {row.serial!r} is taken", current={"serial": row.serial})
            return [
                InjectAdded(
                    at=self.clock(),
                    actor=actor_of(user),
                    rule=(RULE_WHITE_CELL,),
                    inputs={"serial": row.serial},
                    marking=current.marking,
                    exercise=True,
                    crisis=exercise_id,
                    row=row.model_dump(mode="json"),
                )
            ]

        self._append(user, exercise_id, decide)
        return self.view.exercises[exercise_id].injects[row.serial]

    def deliver_due(self) -> float | None:
        """Deliver every inject whose exercise time has come; return seconds until the next falls due.

        None means nothing is due while the clocks stand as they are (paused, or every inject delivered).
        """
        wall = self.clock()
        with self._lock:  # read under the lock; append outside it (appending takes the coordinator's)
            # A paused clock delivers too: what a jump passed is due at the time it stands at.
            started = [s for s in self.view if s.clock.current.started]
            running = [s for s in started if s.clock.current.running]
            due = [s for s in started if s.due(s.clock.current.now(wall), limit=1)]
        for state in due:
            self._deliver(state)
        waits: list[float] = []
        with self._lock:
            for state in running:
                nxt = state.next_due()
                when = state.clock.current.wall_at(nxt) if nxt is not None else None
                if when is not None:
                    waits.append(max(0.0, (when - self.clock()).total_seconds()))
        return min(waits) if waits else None

    def _deliver(self, state: ExerciseState) -> None:
        system = User(
            id="exercise-clock",
            name="Exercise clock",
            nation=state.created_by.nation,
            organization=state.created_by.organization,
            role=WHITE_CELL,
            clearance="top-secret",
        )

        def decide(current: ExerciseState | None) -> list[EventBase]:
            assert current is not None
            wall = self.clock()
            now = current.clock.current.now(wall)
            events: list[EventBase] = []
            for inject in current.due(now, limit=DELIVERY_BATCH):
                row = inject.row
                events.append(
                    InjectDelivered(
                        at=wall,
                        actor=Actor(
                            user=system.id,
                            organization=system.organization,
                            nation=system.nation,
                            role=WHITE_CELL,
                        ),
                        rule=(RULE_DUE,),
                        inputs={"due": row.time.isoformat(), "clock_speed": current.clock.current.speed},
                        marking=inject.marking,
                        exercise=True,
                        crisis=current.id,
                        serial=row.serial,
                        due=row.time,
                        delivered=now,
                        to=row.to,
                        event=row.event,
                        sender=row.sender,
                        method=row.method,
                        expected_action=row.expected_action,
                        objective=row.objective,
                        request=row.request,
                        after=row.after,
                    )
                )
            return events

        self._append(system, state.id, decide)

    def file_inject(
        self, user: User, exercise_id: str, serial: str, *, marking: Marking | None = None
    ) -> RequestState:
        """File the request an inject asks for, as a member of a recipient organization.

        The request is filed in the exercise's crisis (so it is exercise traffic) under the inject's
        marking, and the exercise records which inject it answers. Filing again returns the same request.
        """
        state = self.get(user, exercise_id)
        inject = state.injects.get(serial)
        if inject is None or inject.delivered is None or not can_see(user, inject.marking):
            raise NotFound(f"no inject {serial!r} delivered in exercise {exercise_id!r}")
        row = inject.row
        if row.request is None:
            raise InvalidQuery(f"inject {serial!r} asks for no request")
        if not row.addressed_to(user.organization):
            raise PermissionDenied(f"inject {serial!r} goes to {', '.join(row.to)}, not {user.organization}")
        spec = state.scenario.request_by_id.get(row.request) or next(
            (s for s in state.msel.requests if s.id == row.request), None
        )
        if spec is None:
            raise NotFound(f"inject {serial!r} names request {row.request!r}, which neither defines")
        fields: dict[str, Any] = spec.model_dump(
            exclude={"id", "requester", "situation"}, exclude_defaults=True
        )
        fields.setdefault("name", spec.name or spec.id)
        fields["note"] = f"exercise {exercise_id}, inject {serial}" + (f": {spec.note}" if spec.note else "")
        filed = self.coordinator.file_request(
            user,
            exercise_id,
            spec=fields,
            marking=combine(inject.marking, filed_into(marking, inject.marking))
            if marking is not None
            else inject.marking,
            idempotency_key=f"inject:{exercise_id}:{serial}",
        )

        def decide(current: ExerciseState | None) -> list[EventBase]:
            assert current is not None
            if filed.id in current.answered:
                return []
            return [
                InjectAnswered(
                    at=self.clock(),
                    actor=actor_of(user),
                    rule=(RULE_RECIPIENT,),
                    inputs={"request": row.request},
                    marking=filed.marking,
                    exercise=True,
                    crisis=exercise_id,
                    serial=serial,
                    request=filed.id,
                    organization=user.organization,
                )
            ]

        self._append(user, exercise_id, decide)
        return filed

    def observe(
        self,
        user: User,
        exercise_id: str,
        *,
        objective: str,
        text: str,
        rating: str | None = None,
        refs: Sequence[str] = (),
        marking: Marking | None = None,
    ) -> str:
        """Record an observation at the exercise time now, tied to an objective (observers, controllers)."""
        state = self.get(user, exercise_id)
        if user.role not in OBSERVING_ROLES:
            raise PermissionDenied(f"{user.id} is {user.role!r}; observations are written by observers")
        if not text.strip() or not objective.strip():
            raise InvalidQuery("an observation names its objective and says what was observed")
        combined = (
            combine(state.marking, filed_into(marking, state.marking))
            if marking is not None
            else state.marking
        )
        if not can_see(user, combined):
            raise PermissionDenied(f"{user.id} could not see an observation marked {combined.banner()}")
        for ref in refs:
            request = self.coordinator.view.requests.get(ref)
            if request is None or request.crisis != exercise_id or not can_see(user, request.marking):
                raise NotFound(f"no request {ref!r} in exercise {exercise_id!r}")
        observation = new_id("o")

        def decide(current: ExerciseState | None) -> list[EventBase]:
            assert current is not None
            wall = self.clock()
            return [
                ObservationRecorded(
                    at=wall,
                    actor=actor_of(user),
                    rule=(RULE_OBSERVER,),
                    inputs={"objective": objective},
                    marking=combined,
                    exercise=True,
                    crisis=exercise_id,
                    observation=observation,
                    objective=objective.strip(),
                    text=text.strip(),
                    exercise_time=current.clock.current.now(wall),
                    rating=rating,
                    refs=tuple(refs),
                )
            ]

        self._append(user, exercise_id, decide)
        return observation


def _objectives(msel: Msel) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r.objective for r in msel.rows if r.objective))


class DeliveryThread:
    """Delivers injects when they fall due on the wall clock; woken early by clock changes."""

    def __init__(self, exercises: Exercises) -> None:
        """Prepare the thread (start it with `start`)."""
        self.exercises = exercises
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kizuna-inject-delivery", daemon=True)
        self.errors: list[BaseException] = []

    def start(self) -> None:
        """Start delivering."""
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread to end."""
        self._stop.set()
        self.exercises.wake.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        wake = self.exercises.wake
        while not self._stop.is_set():
            wake.clear()
            try:
                wait = self.exercises.deliver_due()
            except ConflictError:
                wait = 0.0  # another process delivered first; look again at once
            except Exception as error:  # keep delivering; the error is kept for the health check
                self.errors.append(error)
                wait = MAX_WAIT_S
            timeout = MAX_WAIT_S if wait is None else min(wait, MAX_WAIT_S)
            if timeout > 0:
                wake.wait(timeout)


def hours_between(a: datetime, b: datetime) -> float:
    """Return b - a in hours."""
    return (b - a) / timedelta(hours=1)
