"""What each page shows, read from the coordinator's live view through the API's egress filter.

Every object a page shows comes from `kizuna.service.egress.release` / `release_one`, exactly as the API
releases it, so a page never holds what its user may not see. What a user may do on a step (which
actions, with which role) is the coordination layer's rule (`kizuna.coordination.request.ACTIONS`,
`DECIDING_ROLES`), shown, never re-decided, here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kizuna.access import Marking, User
from kizuna.coordination import (
    Action,
    CrisisState,
    Law,
    LiveView,
    RequestState,
    SitrepState,
    StepStatus,
    TaskingState,
)
from kizuna.coordination.request import ACTING_ROLES, ACTIONS, DECIDING_ROLES
from kizuna.coordination.tasking import commands
from kizuna.model import Structure
from kizuna.planning import Step
from kizuna.service.egress import release, release_one


def actions_for(user: User, step: Step) -> tuple[Action, ...]:
    """Return the actions `user` may take on a ready step, as the coordination rules allow them."""
    if user.organization != step.organization or user.role not in ACTING_ROLES:
        return ()
    allowed = ACTIONS[step.kind]
    if user.role not in DECIDING_ROLES:
        allowed = allowed - {Action.APPROVE, Action.DENY}
    order = list(Action)
    return tuple(sorted(allowed, key=order.index))


@dataclass(frozen=True, slots=True)
class Card:
    """A request on the board: where it stands and who must act now."""

    request: RequestState
    ready: tuple[Step, ...]
    age: timedelta
    deadline_left: timedelta | None

    @property
    def acting_orgs(self) -> tuple[str, ...]:
        """Organizations that must act now (the ready steps'), without repeats."""
        return tuple(dict.fromkeys(s.organization for s in self.ready))


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A step waiting on the user's organization, with the actions the user may take."""

    request: RequestState
    step: Step
    actions: tuple[Action, ...]
    waiting: timedelta


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """A designation or a decision, in time order."""

    at: datetime
    kind: str  # designation, filed, approve, deny, execute, withdrawn
    text_key: str
    marking: Marking
    actor: str
    organization: str
    request: RequestState | None = None
    situation: str | None = None
    step: Step | None = None
    reason: str | None = None


@dataclass
class Overview:
    """Everything the crisis overview shows, as far as the user may see it."""

    crisis: CrisisState
    structure: Structure
    requests: list[RequestState]
    cards: list[Card]
    queue: list[QueueItem]
    taskings: list[TaskingState]
    sitreps: list[SitrepState]
    timeline: list[TimelineEntry]
    markings: list[Marking] = field(default_factory=list)


def crises(user: User, view: LiveView) -> list[CrisisState]:
    """Return the crises the user may see, oldest first."""
    return release(user, sorted(view.crises.values(), key=lambda c: c.opened_at))


def overview(user: User, view: LiveView, crisis_id: str, *, law: Law, now: datetime) -> Overview:
    """Build the crisis overview for `user` (NotFound if the crisis is not theirs to see)."""
    crisis = release_one(user, view.crises.get(crisis_id), "crisis", crisis_id)
    structure = law.structure(crisis.structure)
    requests = release(
        user, sorted((r for r in view.requests.values() if r.crisis == crisis_id), key=lambda r: r.filed_at)
    )
    taskings = release(
        user, sorted((t for t in view.taskings.values() if t.crisis == crisis_id), key=lambda t: t.issued_at)
    )
    sitreps = release(
        user, sorted((s for s in view.sitreps.values() if s.crisis == crisis_id), key=lambda s: s.filed_at)
    )
    cards = [card(r, now) for r in requests if not r.spec.designates or not r.status.closed]
    queue: list[QueueItem] = []
    for request in requests:
        for step in request.ready_steps():
            if step.organization == user.organization:
                waited = now - _ready_since(request, step)
                queue.append(QueueItem(request, step, actions_for(user, step), waited))
    markings = [crisis.marking, *(r.marking for r in requests), *(t.marking for t in taskings)]
    markings += [s.marking for s in sitreps]
    return Overview(
        crisis=crisis,
        structure=structure,
        requests=requests,
        cards=cards,
        queue=queue,
        taskings=list(reversed(taskings)),
        sitreps=list(reversed(sitreps)),
        timeline=timeline(crisis, requests),
        markings=markings,
    )


def card(request: RequestState, now: datetime) -> Card:
    """Return a request's board card."""
    deadline = None
    if request.spec.deadline_h is not None and not request.status.closed:
        deadline = request.filed_at + timedelta(hours=request.spec.deadline_h) - now
    return Card(
        request=request, ready=request.ready_steps(), age=now - request.filed_at, deadline_left=deadline
    )


def _ready_since(request: RequestState, step: Step) -> datetime:
    """When a step became ready: when its last predecessor was done (or the request was filed)."""
    done = request.done
    times = [done[p].at for p in step.predecessors if p in done]
    return max(times, default=request.filed_at)


#: Actions that make the timeline (decisions and effects, not every coordination step).
DECISIONS = frozenset({Action.APPROVE, Action.DENY, Action.EXECUTE})


def timeline(crisis: CrisisState, requests: Iterable[RequestState]) -> list[TimelineEntry]:
    """Designations of the crisis and the decisions on its requests, newest first."""
    entries = [
        TimelineEntry(
            at=d.since,
            kind="designation",
            text_key="timeline.designation" if d.request else "timeline.opened",
            marking=crisis.marking,
            actor=d.actor.user,
            organization=d.organization,
            situation=d.situation,
        )
        for d in crisis.timeline
    ]
    for request in requests:
        entries.append(
            TimelineEntry(
                at=request.filed_at,
                kind="filed",
                text_key="timeline.filed",
                marking=request.marking,
                actor=request.filed_by.user,
                organization=request.filed_by.organization,
                request=request,
            )
        )
        for record in request.records:
            if record.action in DECISIONS:
                entries.append(
                    TimelineEntry(
                        at=record.at,
                        kind=record.action.value,
                        text_key=f"timeline.{record.action.value}",
                        marking=request.marking,
                        actor=record.actor.user,
                        organization=record.actor.organization,
                        request=request,
                        step=request.path.by_id[record.step],
                        reason=record.reason,
                    )
                )
    return sorted(entries, key=lambda e: e.at, reverse=True)


def step_statuses(request: RequestState) -> dict[str, StepStatus]:
    """Return where each step of a request stands."""
    return {s.id: request.step_status(s.id) for s in request.path.steps}


def taskable_units(user: User, structure: Structure) -> list[str]:
    """Units the user's organization may task (those below it in the chains of command)."""
    if user.role not in ACTING_ROLES:
        return []
    return [
        o.id
        for o in structure.organizations
        if o.id != user.organization and commands(structure, user.organization, o.id)
    ]
