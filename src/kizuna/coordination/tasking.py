"""Taskings: an organization orders one of its units to act, under an approved request or on its own.

Only a member of an organization above the unit in the structure (commands, tactical or administrative
control, or the unit reports to it) issues a tasking; only members of the unit acknowledge and complete
it; the issuing organization may cancel it until it is completed.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from kizuna.access import Marking
from kizuna.coordination.events import Actor, TaskingIssued, TaskingStatus, TaskingUpdated
from kizuna.errors import ConflictError, PermissionDenied
from kizuna.model import Structure

RULE_SUPERIOR = "coordination.issuer-commands-unit"
RULE_UNIT = "coordination.member-of-tasked-unit"
RULE_ISSUER = "coordination.member-of-issuing-organization"

#: The moves a tasking may make, from each status.
_MOVES: dict[TaskingStatus, frozenset[TaskingStatus]] = {
    TaskingStatus.ISSUED: frozenset({TaskingStatus.ACKNOWLEDGED, TaskingStatus.CANCELLED}),
    TaskingStatus.ACKNOWLEDGED: frozenset({TaskingStatus.COMPLETED, TaskingStatus.CANCELLED}),
    TaskingStatus.COMPLETED: frozenset(),
    TaskingStatus.CANCELLED: frozenset(),
}


class TaskingState(BaseModel):
    """A tasking as the service shows it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    crisis: str
    request: str | None
    unit: str
    task: str
    status: TaskingStatus
    marking: Marking
    exercise: bool
    issued_by: Actor
    issued_at: datetime
    updated_at: datetime
    note: str = ""
    version: int = 1


def commands(structure: Structure, superior: str, unit: str) -> bool:
    """Tell whether `superior` stands above `unit` in the structure's chains of command."""
    below: dict[str, set[str]] = {}
    for relation in structure.relations:
        if relation.kind.points_down:
            below.setdefault(relation.from_, set()).add(relation.to)
        elif relation.kind.is_hierarchical:  # reports-to: `from` is the subordinate
            below.setdefault(relation.to, set()).add(relation.from_)
    seen, queue = {superior}, deque([superior])
    while queue:
        for child in below.get(queue.popleft(), ()):
            if child == unit:
                return True
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return False


def check_issue(structure: Structure, actor: Actor, unit: str) -> None:
    """Check that the actor's organization may task the unit."""
    structure.org(unit)  # an unknown unit is an UnknownId naming the known ones
    if actor.role not in {"operator", "approver"}:
        raise PermissionDenied(f"{actor.user} is {actor.role!r}; tasking needs operator or approver")
    if not commands(structure, actor.organization, unit):
        raise PermissionDenied(f"{actor.organization!r} does not command {unit!r} in {structure.id!r}")


def decide_update(
    state: TaskingState, actor: Actor, status: TaskingStatus, *, at: datetime, note: str = ""
) -> TaskingUpdated:
    """Check a move of a tasking and return the event that records it."""
    if status not in _MOVES[state.status]:
        raise ConflictError(
            f"tasking {state.id!r} is {state.status.value}; it cannot become {status.value}",
            current={"tasking": state.id, "status": state.status.value, "version": state.version},
        )
    if status is TaskingStatus.CANCELLED:
        if actor.organization != state.issued_by.organization:
            raise PermissionDenied(f"only {state.issued_by.organization!r} may cancel tasking {state.id!r}")
        rule = RULE_ISSUER
    else:
        if actor.organization != state.unit:
            raise PermissionDenied(
                f"{actor.user} acts for {actor.organization!r}, not the unit {state.unit!r}"
            )
        rule = RULE_UNIT
    if actor.role not in {"operator", "approver"}:
        raise PermissionDenied(f"{actor.user} is {actor.role!r}; this needs operator or approver")
    return TaskingUpdated(
        at=at,
        actor=actor,
        rule=(rule,),
        inputs={"from": state.status.value, "version": state.version},
        marking=state.marking,
        exercise=state.exercise,
        crisis=state.crisis,
        tasking=state.id,
        status=status,
        note=note,
    )


def start(event: TaskingIssued) -> TaskingState:
    """Return the state an issued tasking starts in."""
    return TaskingState(
        id=event.tasking,
        crisis=event.crisis,
        request=event.request,
        unit=event.unit,
        task=event.task,
        status=TaskingStatus.ISSUED,
        marking=event.marking,
        exercise=event.exercise,
        issued_by=event.actor,
        issued_at=event.at,
        updated_at=event.at,
    )


def apply(state: TaskingState, event: TaskingUpdated) -> TaskingState:
    """Fold a move into the tasking's state."""
    return state.model_copy(
        update={
            "status": event.status,
            "note": event.note,
            "updated_at": event.at,
            "version": state.version + 1,
        }
    )
