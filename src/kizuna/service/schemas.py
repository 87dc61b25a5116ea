"""Request bodies and response views of the API (the domain states are returned as they are)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kizuna.access import Marking, TokenInfo, User
from kizuna.coordination import Action, RequestState, StepRecord, StepStatus, TaskingStatus
from kizuna.model.ids import Ident
from kizuna.planning import Step, StepKind


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_Body):
    """A user's credentials."""

    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=1000)


class LoginOut(BaseModel):
    """The logged-in user and the CSRF token the browser echoes in X-CSRF-Token on writes."""

    user: User
    csrf_token: str
    expires_at: datetime


class TokenIn(_Body):
    """A name for a new API token (what it is for) and, optionally, its lifetime in days."""

    name: str = Field(min_length=1, max_length=200)
    days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Expire after this many days (default KIZUNA_TOKEN_TTL_DAYS).",
    )


class TokenView(BaseModel):
    """An API token as listed: its public id (start of its SHA-256), never the token itself."""

    id: str
    user_id: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked: bool

    @classmethod
    def of(cls, info: TokenInfo) -> TokenView:
        """Build the view of a listed token."""
        return cls(
            id=info.id,
            user_id=info.user_id,
            name=info.name,
            created_at=info.created_at,
            expires_at=info.expires_at,
            revoked=info.revoked,
        )


class TokenOut(TokenView):
    """A new API token: shown once, send it as `Authorization: Bearer <token>`."""

    token: str


class CrisisIn(_Body):
    """A crisis to open (admins; exercise control for exercises). The service chooses its id."""

    name: str = Field(min_length=1, max_length=200)
    structure: Ident = Field(description="The structure the crisis runs in (e.g. us-japan-2025).")
    situation: Ident = Field(
        description="The situation in force at the start (no default: it decides the law)."
    )
    exercise: bool = Field(default=True, description="Exercise traffic (marked so on every object).")
    marking: Marking
    description: str = Field(default="", max_length=4000)

    @model_validator(mode="before")
    @classmethod
    def _no_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and "id" in data:
            raise ValueError(
                "the service chooses crisis ids (so that opening one never tells whether an id is "
                "taken); leave `id` out, and send an Idempotency-Key to open a crisis exactly once"
            )
        return data


class RequestIn(_Body):
    """A request to file in a crisis: an act (actor + activity) or a designation (`designates`).

    The service sets the id, the requesting organization (the user's) and the situation (the designation
    in force).
    """

    name: str = Field(default="", max_length=200)
    executor: Ident | None = None
    actor: Ident | None = None
    activity: Ident | None = None
    supported: Ident | None = Field(
        default=None, description="Whose forces the act supports; required where the ruling depends on it."
    )
    location: Ident | None = Field(
        default=None, description="Where the act takes place; required where the ruling depends on it."
    )
    flags: list[Ident] = Field(default_factory=list, max_length=20)
    granted: list[Ident] = Field(default_factory=list, max_length=20)
    designates: Ident | None = None
    deadline_h: float | None = Field(default=None, gt=0, le=10_000)
    note: str | None = Field(default=None, max_length=4000)
    marking: Marking

    def spec_fields(self) -> dict[str, Any]:
        """Return the RequestSpec fields given (without the marking)."""
        return self.model_dump(exclude={"marking"}, exclude_defaults=True)


class ActionIn(_Body):
    """An action on a step: coordinate, consult, approve, deny (with a reason), order, execute, inform."""

    action: Action
    reason: str | None = Field(default=None, max_length=4000)


class WithdrawIn(_Body):
    """Why the request is withdrawn."""

    reason: str = Field(min_length=1, max_length=4000)


class TaskingIn(_Body):
    """A tasking of a unit the user's organization commands."""

    unit: Ident
    task: str = Field(min_length=1, max_length=4000)
    request: str | None = Field(default=None, max_length=100, description="The decided request it serves.")
    marking: Marking


class TaskingMoveIn(_Body):
    """Acknowledge or complete (the unit), or cancel (the issuer)."""

    status: TaskingStatus
    note: str = Field(default="", max_length=4000)


class SitrepIn(_Body):
    """A situation report; its marking will cover every request or tasking it refers to."""

    title: str = Field(min_length=1, max_length=200)
    text: str = Field(default="", max_length=20_000)
    refs: list[str] = Field(default_factory=list, max_length=50)
    marking: Marking


class StepView(BaseModel):
    """One step of a request's path with where it stands."""

    id: str
    organization: str
    kind: StepKind
    label: str
    predecessors: tuple[str, ...]
    approval: str | None
    after_effect: bool
    status: str
    record: StepRecord | None

    @classmethod
    def of(cls, step: Step, status: str, record: StepRecord | None) -> StepView:
        """Build the view of one step of a path, standing at `status`, with its record if done."""
        return cls(
            id=step.id,
            organization=step.organization,
            kind=step.kind,
            label=step.label,
            predecessors=step.predecessors,
            approval=step.approval,
            after_effect=step.after_effect,
            status=status,
            record=record,
        )


class RequestView(BaseModel):
    """A request with its steps' statuses, as the API shows it."""

    request: RequestState
    steps: list[StepView]
    ready: list[str] = Field(description="Steps that can be acted on now.")

    @classmethod
    def of(cls, state: RequestState) -> RequestView:
        """Build the view of a request state (one pass over its steps: statuses and what is ready)."""
        done = state.done
        steps: list[StepView] = []
        ready: list[str] = []
        for s, status in state.statuses(done):
            if status is StepStatus.READY:
                ready.append(s.id)
            steps.append(StepView.of(s, status.value, done.get(s.id)))
        return cls(request=state, steps=steps, ready=ready)


class EventOut(BaseModel):
    """An event as the API and the stream show it: the reader's number for it and the event itself."""

    seq: int = Field(
        description="Your number for the event: the events you may see are 1, 2, 3, ... in log order "
        "(not the log's own sequence numbers, which count events hidden from you)."
    )
    type: str
    event: dict[str, Any]
