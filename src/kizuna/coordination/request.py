"""The request state machine: a request moves along its DecisionPath as members of each step's
organization act on the steps; a denied, withdrawn or prohibited request stays so.

`decide_step` and `decide_withdraw` check a command against the state and return the event to record (or
raise); `apply` folds an event into the state. Both are pure: the store, the clock and the law come in
as arguments, so the same machine runs in the service, in tests and in a Hypothesis state machine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kizuna.access import Marking, Separation
from kizuna.coordination.events import (
    Action,
    Actor,
    RequestFiled,
    RequestWithdrawn,
    StepActed,
    Verdict,
)
from kizuna.errors import ConflictError, InvalidQuery, PermissionDenied, UnknownId
from kizuna.model import RequestSpec, Structure
from kizuna.planning import DecisionPath, Step, StepKind

#: Coordination rules named in events beside the authority's rule ids.
RULE_MEMBER = "coordination.member-of-step-organization"
RULE_GRANTER = "coordination.member-of-granting-organization"
RULE_REQUESTER = "coordination.member-of-requesting-organization"
RULE_READY = "coordination.predecessors-done"
RULE_SEPARATION = "coordination.filer-does-not-decide"

#: Separation of duties unless configured otherwise: the filer does not act on approval steps.
DEFAULT_SEPARATION = Separation()

#: Roles that may act on steps; approving and denying needs an approver.
ACTING_ROLES = frozenset({"operator", "approver"})
DECIDING_ROLES = frozenset({"approver"})

#: The actions each kind of step accepts.
ACTIONS: dict[StepKind, frozenset[Action]] = {
    StepKind.COORDINATE: frozenset({Action.COORDINATE}),
    StepKind.CONSULT: frozenset({Action.CONSULT, Action.DENY}),
    StepKind.APPROVE: frozenset({Action.APPROVE, Action.DENY}),
    StepKind.ORDER: frozenset({Action.ORDER}),
    StepKind.EXECUTE: frozenset({Action.EXECUTE}),
    StepKind.INFORM: frozenset({Action.INFORM}),
}


class RequestStatus(StrEnum):
    """Where a request stands."""

    FILED = "filed"
    IN_PROGRESS = "in-progress"
    DECIDED = "decided"  # the decision step is done: the request is approved
    EXECUTED = "executed"  # the effect step is done (after-effect steps may remain)
    DENIED = "denied"
    WITHDRAWN = "withdrawn"
    PROHIBITED = "prohibited"  # the law forbids the act outright; nothing can be done on it

    @property
    def closed(self) -> bool:
        """Tell whether no step can be acted on any more."""
        return self in _CLOSED


_CLOSED = frozenset({RequestStatus.DENIED, RequestStatus.WITHDRAWN, RequestStatus.PROHIBITED})


class StepStatus(StrEnum):
    """Where one step stands."""

    WAITING = "waiting"  # predecessors not done
    READY = "ready"
    DONE = "done"
    DENIED = "denied"
    CLOSED = "closed"  # the request was denied, withdrawn or prohibited before the step was done


class StepRecord(BaseModel):
    """What was done on a step, by whom and when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: str
    action: Action
    actor: Actor
    at: datetime
    reason: str | None = None
    verdict: Verdict | None = None


def _status(step: Step, done: Mapping[str, StepRecord], closed: bool) -> StepStatus:
    """Where a step stands, given the records by step and whether the request is closed."""
    record = done.get(step.id)
    if record is not None:
        return StepStatus.DENIED if record.action is Action.DENY else StepStatus.DONE
    if closed:
        return StepStatus.CLOSED
    return StepStatus.READY if all(p in done for p in step.predecessors) else StepStatus.WAITING


class RequestState(BaseModel):
    """A request and its progress along its decision path: the projection of its events."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    crisis: str
    spec: RequestSpec
    path: DecisionPath
    status: RequestStatus
    marking: Marking
    exercise: bool
    filed_by: Actor
    filed_at: datetime
    verdict: Verdict | None = Field(default=None, description="The ruling at filing.")
    records: tuple[StepRecord, ...] = ()
    closed_reason: str | None = None
    version: int = Field(default=1, description="Events in the request's stream so far.")

    @property
    def done(self) -> dict[str, StepRecord]:
        """Records by step id."""
        return {r.step: r for r in self.records}

    @property
    def granted(self) -> tuple[str, ...]:
        """Approvals held: those the request was filed with and those its path's steps granted since.

        A step that carries an approval grants it when it is done (approved, or, for a step such as
        filing a U.S. request, performed); a denial grants nothing.
        """
        held = list(self.spec.granted)
        for record in self.records:
            approval = self.path.by_id[record.step].approval
            if record.action is not Action.DENY and approval and approval not in held:
                held.append(approval)
        return tuple(held)

    def step_status(self, step_id: str, done: Mapping[str, StepRecord] | None = None) -> StepStatus:
        """Return where a step stands (`done`: the records by step, if the caller has them already)."""
        done = self.done if done is None else done
        return _status(self.path.by_id[step_id], done, self.status.closed)

    def statuses(self, done: Mapping[str, StepRecord] | None = None) -> list[tuple[Step, StepStatus]]:
        """Return every step with where it stands, in path order (one pass: what a view shows)."""
        done = self.done if done is None else done
        closed = self.status.closed
        return [(s, _status(s, done, closed)) for s in self.path.order()]

    def ready_steps(self) -> tuple[Step, ...]:
        """Return the steps that can be acted on now, in path order."""
        done = self.done
        return tuple(s for s in self.path.order() if self.step_status(s.id, done) is StepStatus.READY)

    def summary(self) -> dict[str, Any]:
        """Return the state a losing concurrent action is told about (ConflictError.current)."""
        done = self.done
        return {
            "request": self.id,
            "status": self.status.value,
            "version": self.version,
            "steps": {s.id: self.step_status(s.id, done).value for s in self.path.steps},
        }


#: Rules the law under the designations in force: (request, designation or designations, approvals held)
#: -> ruling on their union, or None when the request is a designation whose path is the whole of the law.
Judge = Callable[[RequestSpec, str | tuple[str, ...], tuple[str, ...]], Verdict | None]


def start(event: RequestFiled) -> RequestState:
    """Return the state a filed request starts in."""
    prohibited = event.path.prohibited or (event.verdict is not None and event.verdict.prohibited)
    return RequestState(
        id=event.request,
        crisis=event.crisis,
        spec=event.spec,
        path=event.path,
        status=RequestStatus.PROHIBITED if prohibited else RequestStatus.FILED,
        marking=event.marking,
        exercise=event.exercise,
        filed_by=event.actor,
        filed_at=event.at,
        verdict=event.verdict,
        closed_reason="the law forbids the act" if prohibited else None,
    )


def decide_step(
    state: RequestState,
    step_id: str,
    action: Action,
    actor: Actor,
    *,
    structure: Structure,
    situation: str | tuple[str, ...],
    judge: Judge,
    at: datetime,
    reason: str | None = None,
    separation: Separation = DEFAULT_SEPARATION,
) -> StepActed:
    """Check one action on one step and return the event that records it.

    `separation` says which kinds of step the user who filed the request may not act on (by default
    its approval steps: nobody approves or denies their own request).

    Raises:
        UnknownId: the step is not on the request's path.
        InvalidQuery: the action does not fit the step's kind, or a denial gives no reason.
        PermissionDenied: the actor is not a member of the step's (granting) organization, lacks the
            role, filed the request and the step's kind is closed to the filer, or the law under the
            designation in force does not allow the act.
        ConflictError: the request is closed, the step is already done or is not ready yet; carries the
            current state.
    """
    if step_id not in state.path.by_id:
        raise UnknownId("step", step_id, state.path.by_id)
    step = state.path.by_id[step_id]
    if state.status.closed:
        raise ConflictError(f"request {state.id!r} is {state.status.value}", current=state.summary())
    if step_id in state.done:
        record = state.done[step_id]
        raise ConflictError(
            f"step {step_id!r} was already {record.action.past} by {record.actor.user}",
            current=state.summary(),
        )
    if action not in ACTIONS[step.kind]:
        allowed = ", ".join(sorted(a.value for a in ACTIONS[step.kind]))
        raise InvalidQuery(f"a {step.kind.value} step takes {allowed}, not {action.value!r}")
    if action is Action.DENY and not (reason and reason.strip()):
        raise InvalidQuery("a denial needs a reason")
    if actor.organization != step.organization:
        raise PermissionDenied(
            f"{actor.user} acts for {actor.organization!r}; step {step_id!r} belongs to {step.organization!r}"
        )
    needed = DECIDING_ROLES if action in {Action.APPROVE, Action.DENY} else ACTING_ROLES
    if actor.role not in needed:
        raise PermissionDenied(
            f"{actor.user} is {actor.role!r}; {action.value} needs the role {' or '.join(sorted(needed))}"
        )
    rules = [RULE_MEMBER, RULE_READY]
    if separation.forbids(filer=state.filed_by.user, actor=actor.user, step_kind=step.kind.value):
        raise PermissionDenied(
            f"{actor.user} filed request {state.id!r}; separation of duties: the filer does not act on "
            f"its {step.kind.value} steps (another member of {step.organization!r} does)"
        )
    if step.kind.value in separation.filer_excluded:
        rules.append(RULE_SEPARATION)
    if step.approval and action is not Action.DENY:
        granters = {o.id for o in structure.granters(step.approval)}
        if step.organization not in granters:
            raise PermissionDenied(
                f"{step.organization!r} does not grant {step.approval!r} in {structure.id!r}; "
                f"granted by: {', '.join(sorted(granters)) or '(none)'}"
            )
        rules.append(RULE_GRANTER)
    waiting = [p for p in step.predecessors if p not in state.done]
    if waiting:
        raise ConflictError(f"step {step_id!r} waits on {', '.join(waiting)}", current=state.summary())
    verdict: Verdict | None = None
    if action in {Action.APPROVE, Action.EXECUTE, Action.ORDER}:
        granted = state.granted
        if step.approval and step.approval not in granted:
            granted = (*granted, step.approval)
        verdict = judge(state.spec, situation, granted)
        if verdict is not None:
            if verdict.prohibited:
                raise PermissionDenied(
                    f"under {situation!r} the law forbids this act ({', '.join(verdict.rule_ids)})"
                )
            if step_id == state.path.effect_step and not verdict.allows_execution:
                raise PermissionDenied(
                    f"under {situation!r} the act still needs {', '.join(verdict.missing)} "
                    f"({', '.join(verdict.rule_ids)})"
                )
            rules.extend(verdict.rule_ids)
    if step_id == state.path.effect_step:
        unapproved = [
            s.id
            for s in state.path.steps
            if s.kind is StepKind.APPROVE
            and not s.after_effect
            and s.id not in state.done
            and s.id != step_id
        ]
        if unapproved:
            raise ConflictError(
                f"the act cannot be executed before {', '.join(unapproved)}", current=state.summary()
            )
    return StepActed(
        at=at,
        actor=actor,
        rule=tuple(rules),
        inputs={
            "situation": situation,
            "granted": list(state.granted),
            "step_kind": step.kind.value,
            "approval": step.approval,
            "version": state.version,
        },
        marking=state.marking,
        exercise=state.exercise,
        crisis=state.crisis,
        request=state.id,
        step=step_id,
        action=action,
        reason=reason,
        verdict=verdict,
    )


def decide_withdraw(state: RequestState, actor: Actor, *, at: datetime, reason: str) -> RequestWithdrawn:
    """Check a withdrawal: only the requesting organization withdraws, and only before execution."""
    if not reason.strip():
        raise InvalidQuery("a withdrawal needs a reason")
    if actor.organization != state.filed_by.organization:
        raise PermissionDenied(
            f"{actor.user} acts for {actor.organization!r}; only {state.filed_by.organization!r} "
            "may withdraw this request"
        )
    if actor.role not in ACTING_ROLES:
        raise PermissionDenied(f"{actor.user} is {actor.role!r}; withdrawing needs operator or approver")
    if state.status.closed or state.status is RequestStatus.EXECUTED:
        raise ConflictError(f"request {state.id!r} is {state.status.value}", current=state.summary())
    return RequestWithdrawn(
        at=at,
        actor=actor,
        rule=(RULE_REQUESTER,),
        inputs={"status": state.status.value, "version": state.version},
        marking=state.marking,
        exercise=state.exercise,
        crisis=state.crisis,
        request=state.id,
        reason=reason,
    )


def apply(state: RequestState, event: StepActed | RequestWithdrawn) -> RequestState:
    """Fold one event into the request's state."""
    version = state.version + 1
    if isinstance(event, RequestWithdrawn):
        return state.model_copy(
            update={"status": RequestStatus.WITHDRAWN, "closed_reason": event.reason, "version": version}
        )
    record = StepRecord(
        step=event.step,
        action=event.action,
        actor=event.actor,
        at=event.at,
        reason=event.reason,
        verdict=event.verdict,
    )
    status = state.status
    closed_reason = state.closed_reason
    if event.action is Action.DENY:
        status, closed_reason = RequestStatus.DENIED, event.reason
    elif event.step == state.path.effect_step:
        status = RequestStatus.EXECUTED
    elif event.step == state.path.decision_step and status is not RequestStatus.EXECUTED:
        status = RequestStatus.DECIDED
    elif status is RequestStatus.FILED:
        status = RequestStatus.IN_PROGRESS
    return state.model_copy(
        update={
            "records": (*state.records, record),
            "status": status,
            "closed_reason": closed_reason,
            "version": version,
        }
    )
