"""Crises: a timeline of situation designations, each made by the competent organization.

A crisis starts in the situation it is opened with; every later designation is the effect of a
designation request (a RequestSpec with `designates`) whose decision path the competent organizations
walked: the execution of its effect step is the designation, recorded in one event on the request's
stream, so designating is one transaction. The designation in force is the last one on the timeline;
every action in the crisis is checked against it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from kizuna.access import Marking
from kizuna.coordination.events import Actor, CrisisOpened, StepActed
from kizuna.errors import PermissionDenied

#: Roles that may open a crisis (a real one, or an exercise run by exercise control).
OPENING_ROLES = frozenset({"admin", "exercise-control"})
RULE_OPEN = "coordination.crisis-opened-by-admin-or-exercise-control"


class Designation(BaseModel):
    """One entry of a crisis's timeline: a situation, since when, decided by whom."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    situation: str
    since: datetime
    organization: str
    request: str | None
    actor: Actor


class CrisisState(BaseModel):
    """A crisis as the service shows it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    description: str
    structure: str
    marking: Marking
    exercise: bool
    opened_at: datetime
    opened_by: Actor
    timeline: tuple[Designation, ...]
    approvals: tuple[str, ...] = Field(
        default=(),
        description="Approvals obtained on the paths of the crisis's designations (a basic plan, an NSC "
        "deliberation); later requests may cite them as already granted.",
    )
    version: int = 1

    @property
    def situation(self) -> str:
        """The designation in force."""
        return self.timeline[-1].situation


def check_open(actor: Actor, *, exercise: bool) -> None:
    """Check that the actor may open a crisis: admins, and exercise control for exercises only.

    Exercise control never touches the real world: it may not open a real crisis, and (by `can_see`)
    does not see one.
    """
    if actor.role == "admin" or (actor.role == "exercise-control" and exercise):
        return
    if actor.role == "exercise-control":
        raise PermissionDenied(
            f"{actor.user} is exercise control, which runs exercises only; "
            "a real crisis is opened by an admin"
        )
    needed = "admin or exercise-control" if exercise else "admin"
    what = "an exercise crisis" if exercise else "a real crisis"
    raise PermissionDenied(f"{actor.user} is {actor.role!r}; opening {what} needs {needed}")


def start(event: CrisisOpened) -> CrisisState:
    """Return the state an opened crisis starts in."""
    return CrisisState(
        id=event.crisis,
        name=event.name,
        description=event.description,
        structure=event.structure,
        marking=event.marking,
        exercise=event.exercise,
        opened_at=event.at,
        opened_by=event.actor,
        timeline=(
            Designation(
                situation=event.situation,
                since=event.at,
                organization=event.actor.organization,
                request=None,
                actor=event.actor,
            ),
        ),
    )


def designate(
    state: CrisisState, event: StepActed, *, situation: str, organization: str, approvals: tuple[str, ...]
) -> CrisisState:
    """Add a designation to the crisis's timeline: the executed effect step of a designation request.

    The approvals obtained on the designation's path join the crisis's approvals.
    """
    held = (*state.approvals, *(a for a in approvals if a not in state.approvals))
    entry = Designation(
        situation=situation,
        since=event.at,
        organization=organization,
        request=event.request,
        actor=event.actor,
    )
    return state.model_copy(
        update={"timeline": (*state.timeline, entry), "approvals": held, "version": state.version + 1}
    )
