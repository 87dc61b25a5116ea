"""The events of the live system: what happened, who did it, the rule that allowed it and its inputs.

Events are the source of truth (design.md, 'Contracts'): every object the service shows is a projection of
them. Each event carries its provenance (style.md rule 6): the acting user and the organization they
acted for, the rules that allowed the action (authority rule ids, or a named coordination rule), the
inputs the check saw, the marking of the object it concerns and whether it is exercise traffic.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from kizuna.access import Marking
from kizuna.model import RequestSpec
from kizuna.planning import DecisionPath


class Action(StrEnum):
    """What a user does to a step of a decision path."""

    COORDINATE = "coordinate"
    CONSULT = "consult"
    APPROVE = "approve"
    DENY = "deny"
    ORDER = "order"
    EXECUTE = "execute"  # report the step executed
    INFORM = "inform"

    @property
    def past(self) -> str:
        """The action in the past tense, for messages ("was already approved by ...")."""
        return {"execute": "reported executed", "deny": "denied"}.get(
            self.value, f"{self.value}ed".replace("eed", "ed")
        )


class TaskingStatus(StrEnum):
    """Where a tasking to a unit stands."""

    ISSUED = "issued"
    ACKNOWLEDGED = "acknowledged"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Actor(BaseModel):
    """Who acted: a snapshot of the user at the time of the action."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str
    organization: str
    nation: str
    role: str


class Verdict(BaseModel):
    """The authority ruling an action was checked against, as recorded in the event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    situation: str | tuple[str, ...] = Field(
        description="The designation in force when the check ran, or the designations (the act was ruled "
        "on their union)."
    )
    basis: str | None = Field(
        default=None, description="With several designations in force, the one whose legal basis applied."
    )
    outcome: str = Field(description="permitted, requires-approval or prohibited.")
    missing: tuple[str, ...] = Field(default=(), description="Approvals still missing.")
    after: tuple[str, ...] = Field(default=(), description="Missing approvals the law lets come later.")
    rule_ids: tuple[str, ...] = Field(default=(), description="Ids of the rules that fired.")
    reasons: tuple[str, ...] = Field(default=(), description="The rules that fired, in words.")
    citations: tuple[str, ...] = Field(default=(), description="Law, article and source of each rule.")

    @property
    def prohibited(self) -> bool:
        """Tell whether the law forbids the act outright."""
        return self.outcome == "prohibited"

    @property
    def allows_execution(self) -> bool:
        """Tell whether the act may be carried out now: nothing missing but what may come after."""
        if self.outcome == "permitted":
            return True
        return self.outcome == "requires-approval" and set(self.missing) <= set(self.after)


class EventBase(BaseModel):
    """What every event carries: time, actor, provenance, marking and the exercise flag."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = Field(description="What happened; each event class fixes it.")
    at: datetime = Field(description="When the action was taken (the service's clock, UTC).")
    actor: Actor
    rule: tuple[str, ...] = Field(description="The rules that allowed the action.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="What the check saw.")
    marking: Marking = Field(description="The marking of the object the event concerns.")
    exercise: bool = Field(description="True for exercise traffic.")
    crisis: str
    command_digest: str | None = Field(
        default=None,
        description="For a write made with an idempotency key: a digest of the user, the key, the "
        "command and its arguments, so a retry is told apart from another write reusing the key.",
    )


class CrisisOpened(EventBase):
    """A crisis was opened: the situation in force starts as `situation`."""

    type: Literal["crisis-opened"] = "crisis-opened"
    name: str
    structure: str
    situation: str
    description: str = ""


class RequestFiled(EventBase):
    """A request was filed in a crisis and compiled to its decision path."""

    type: Literal["request-filed"] = "request-filed"
    request: str
    spec: RequestSpec
    path: DecisionPath
    verdict: Verdict | None = Field(default=None, description="None for a designation request.")


class StepActed(EventBase):
    """A member of the step's organization performed an action on a step."""

    type: Literal["step-acted"] = "step-acted"
    request: str
    step: str
    action: Action
    reason: str | None = None
    verdict: Verdict | None = None


class RequestWithdrawn(EventBase):
    """The requesting organization withdrew its request."""

    type: Literal["request-withdrawn"] = "request-withdrawn"
    request: str
    reason: str


class TaskingIssued(EventBase):
    """A commanding organization tasked a unit, under an approved request or on its own authority."""

    type: Literal["tasking-issued"] = "tasking-issued"
    tasking: str
    request: str | None
    unit: str
    task: str


class TaskingUpdated(EventBase):
    """The tasked unit (or the issuer, to cancel) moved a tasking on."""

    type: Literal["tasking-updated"] = "tasking-updated"
    tasking: str
    status: TaskingStatus
    note: str = ""


class SitrepFiled(EventBase):
    """A situation report was filed; its marking covers the objects it refers to."""

    type: Literal["sitrep-filed"] = "sitrep-filed"
    sitrep: str
    title: str
    text: str
    refs: tuple[str, ...] = ()


class ExtensionEvent(EventBase):
    """An event of a layer above coordination (an exercise's clock, injects, observations).

    The live view does not fold it, but it is part of the log like any other event: it carries a marking
    and the exercise flag, so the egress filters it, and the stream delivers it to those who may see it.
    Its own fields are kept whole; the layer that wrote it reads them back (`kizuna.exercise.events`).
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    type: str


Event = Annotated[
    CrisisOpened | RequestFiled | StepActed | RequestWithdrawn | TaskingIssued | TaskingUpdated | SitrepFiled,
    Field(discriminator="type"),
]

EVENT_TYPES: tuple[type[EventBase], ...] = (
    CrisisOpened,
    RequestFiled,
    StepActed,
    RequestWithdrawn,
    TaskingIssued,
    TaskingUpdated,
    SitrepFiled,
)

#: The `type` of every coordination event: other packages record events of their own in the same log,
#: which the live view and the coordination event stream pass over.
COORDINATION_EVENT_TYPES: frozenset[str] = frozenset(
    str(cls.model_fields["type"].default) for cls in EVENT_TYPES
)

#: Layers above coordination whose events share the coordination view and event stream, by the prefix of
#: their `type`: an exercise's clock, injects and observations reach the players through the stream (as
#: ExtensionEvents, filtered by their markings like any other). Other layers' events in the same log
#: (intelligence: sensor scans many times a second, with routes and pictures of their own) are passed
#: over by the view, the per-user numbering and the stream.
STREAMED_PREFIXES: tuple[str, ...] = ("exercise-",)

_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
_CORE_TYPES = COORDINATION_EVENT_TYPES


def in_coordination_log(event_type: str) -> bool:
    """Tell whether an event of this type belongs to the coordination view and stream (see above)."""
    return event_type in COORDINATION_EVENT_TYPES or event_type.startswith(STREAMED_PREFIXES)


def event_from_data(data: dict[str, Any]) -> Event | ExtensionEvent:
    """Rebuild an event from its stored JSON data (a type coordination does not define: ExtensionEvent)."""
    if data.get("type") not in _CORE_TYPES:
        return ExtensionEvent.model_validate(data)
    return _ADAPTER.validate_python(data)


def event_to_data(event: EventBase) -> dict[str, Any]:
    """Return the JSON data an event is stored as."""
    return event.model_dump(mode="json")
