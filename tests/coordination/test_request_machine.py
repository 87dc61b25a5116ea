"""The request state machine never reaches an illegal state, whatever users try in whatever order.

Hypothesis draws decision paths (random DAGs of steps at organizations, with approvals before the effect
and after-effect steps behind it), users of several organizations and roles, and sequences of actions,
withdrawals and changes of the designation in force. After every move the state must be legal: each
step acted on once, only by a member of its organization, only after its predecessors; a denied or
withdrawn request stays so; the act is executed only after every approval it needs before acting. The
machine must also be live: an action every precondition allows is accepted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from tests.coordination.conftest import decision_paths

from kizuna.access import Classification, Marking
from kizuna.coordination.events import Action, Actor, RequestFiled, Verdict
from kizuna.coordination.request import (
    ACTIONS,
    Judge,
    RequestState,
    RequestStatus,
    StepStatus,
    apply,
    decide_step,
    decide_withdraw,
    start,
)
from kizuna.errors import ConflictError, InvalidQuery, KizunaError, PermissionDenied, UnknownId
from kizuna.model import RequestSpec, Structure
from kizuna.planning import DecisionPath, Step, StepKind

ORGS = ("org-a", "org-b", "org-c")
#: org-c grants nothing: an approval step placed there can never be granted.
GRANTERS = ("org-a", "org-b")
ROLES = ("operator", "approver", "observer", "admin")
FORBIDDEN = "forbidding-situation"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
MARKING = Marking(level=Classification.UNCLASSIFIED, owner="USA", rel_to=frozenset({"JPN"}))


def _structure(approvals: set[str]) -> Structure:
    grants = tuple(sorted(approvals))
    return Structure.model_validate(
        {
            "id": "test-structure",
            "name": "Test",
            "era": {"valid_from": "2025-01-01"},
            "nations": [{"id": "us", "name": "US", "code": "USA", "assumption": "test"}],
            "organizations": [
                {
                    "id": org,
                    "name": org,
                    "nation": "us",
                    "kind": "command",
                    "grants": grants if org in GRANTERS else (),
                    "assumption": "test",
                }
                for org in ORGS
            ],
        }
    )


def paths() -> st.SearchStrategy[DecisionPath]:
    """A decision path over this test's organizations (see `tests.coordination.conftest`)."""
    return decision_paths(ORGS)


def fake_law(path: DecisionPath) -> Judge:
    """A stand-in for the authority engine: the path's approvals are what the law requires."""
    required = [s.approval for s in path.steps if s.approval]
    after = [s.approval for s in path.steps if s.approval and s.after_effect]

    def judge(spec: RequestSpec, situation: str, granted: tuple[str, ...]) -> Verdict:
        if situation == FORBIDDEN:
            return Verdict(situation=situation, outcome="prohibited", rule_ids=("test.forbidden",))
        missing = tuple(a for a in required if a not in granted)
        return Verdict(
            situation=situation,
            outcome="requires-approval" if missing else "permitted",
            missing=missing,
            after=tuple(a for a in after if a in missing),
            rule_ids=("test.rule",),
        )

    return judge


class RequestMachine(RuleBasedStateMachine):
    """Drive one request with random actions and check it after every one."""

    @initialize(path=paths(), situation=st.sampled_from(["armed-attack", "gray-zone"]))
    def file(self, path: DecisionPath, situation: str) -> None:
        self.path = path
        self.structure = _structure({s.approval for s in path.steps if s.approval})
        self.judge = fake_law(path)
        self.situation = situation
        self.now = T0
        spec = RequestSpec(id="r-test", situation=situation, actor="jsdf", activity="supply")
        filer = Actor(user="filer", organization="org-a", nation="USA", role="operator")
        self.state: RequestState = start(
            RequestFiled(
                at=T0,
                actor=filer,
                rule=("test",),
                marking=MARKING,
                exercise=True,
                crisis="c",
                request="r-test",
                spec=spec,
                path=path,
            )
        )
        self.ever_closed: RequestStatus | None = None
        self.history: list[str] = []

    def _tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    @rule(
        data=st.data(),
        org=st.sampled_from(ORGS),
        role=st.sampled_from(ROLES),
        action=st.sampled_from(list(Action)),
        reason=st.sampled_from([None, "", "not lawful here"]),
    )
    def act(self, data: st.DataObject, org: str, role: str, action: Action, reason: str | None) -> None:
        step = data.draw(st.sampled_from(self.path.steps))
        self._try(step, org, role, action, reason)

    @rule(data=st.data(), action=st.sampled_from(list(Action)))
    def filer_acts(self, data: st.DataObject, action: Action) -> None:
        """The user who filed the request, an approver of org-a, acts on one of its steps."""
        step = data.draw(st.sampled_from(self.path.steps))
        self._try(step, "org-a", "approver", action, "not lawful here", user="filer")

    def _try(
        self, step: Step, org: str, role: str, action: Action, reason: str | None, *, user: str | None = None
    ) -> None:
        actor = Actor(user=user or f"{org}-{role}", organization=org, nation="USA", role=role)
        before = self.state
        allowed = self._allowed(step, actor, action, reason)
        try:
            event = decide_step(
                before,
                step.id,
                action,
                actor,
                structure=self.structure,
                situation=self.situation,
                judge=self.judge,
                at=self._tick(),
                reason=reason,
            )
        except (ConflictError, PermissionDenied, InvalidQuery) as error:
            refused: KizunaError | None = error
        else:
            refused = None
        if refused is not None:
            assert not allowed, f"a legal {action} on {step.id} was refused: {refused}"
            return
        assert allowed, f"an illegal {action} on {step.id} by {actor} was accepted"
        assert event.step == step.id
        assert event.actor == actor
        assert event.rule, "every event names the rule that allowed it"
        self.state = apply(before, event)
        self.history.append(step.id)
        hypothesis_event(f"status {self.state.status.value}")

    def _allowed(self, step: Step, actor: Actor, action: Action, reason: str | None) -> bool:
        """The machine's rules, restated plainly."""
        state = self.state
        done = state.done
        if state.status.closed or step.id in done or action not in ACTIONS[step.kind]:
            return False
        if action is Action.DENY and not reason:
            return False
        if actor.organization != step.organization:
            return False
        if actor.user == "filer" and step.kind is StepKind.APPROVE:  # separation of duties
            return False
        if action in {Action.APPROVE, Action.DENY}:
            if actor.role != "approver":
                return False
        elif actor.role not in {"operator", "approver"}:
            return False
        if step.approval and action is not Action.DENY and step.organization not in GRANTERS:
            return False
        if any(p not in done for p in step.predecessors):
            return False
        if action in {Action.APPROVE, Action.EXECUTE, Action.ORDER} and self.situation == FORBIDDEN:
            return False
        if step.id == self.path.effect_step:
            needed = [s.id for s in self.path.steps if s.kind is StepKind.APPROVE and not s.after_effect]
            if any(n not in done for n in needed):
                return False
        return True

    @rule(data=st.data(), deny=st.integers(0, 9).map(lambda n: n == 0))
    def progress(self, data: st.DataObject, deny: bool) -> None:
        """Take a step the way its organization would, so that runs get far along their paths."""
        ready = self.state.ready_steps()
        if not ready:
            return
        step = data.draw(st.sampled_from(ready))
        actions = ACTIONS[step.kind]
        action = Action.DENY if deny and Action.DENY in actions else min(actions - {Action.DENY})
        role = "approver" if action in {Action.APPROVE, Action.DENY} else "operator"
        self._try(step, step.organization, role, action, "not lawful here" if deny else None)

    @rule(org=st.sampled_from(ORGS), role=st.sampled_from(ROLES), reason=st.sampled_from(["", "overtaken"]))
    def withdraw(self, org: str, role: str, reason: str) -> None:
        actor = Actor(user=f"{org}-{role}", organization=org, nation="USA", role=role)
        legal = (
            bool(reason)
            and org == "org-a"
            and role in {"operator", "approver"}
            and not self.state.status.closed
            and self.state.status is not RequestStatus.EXECUTED
        )
        try:
            event = decide_withdraw(self.state, actor, at=self._tick(), reason=reason)
        except KizunaError:
            assert not legal
            return
        assert legal
        self.state = apply(self.state, event)

    @rule(situation=st.sampled_from(["armed-attack", "gray-zone", FORBIDDEN]))
    def designate(self, situation: str) -> None:
        self.situation = situation

    @rule(name=st.sampled_from(["nope", "s99"]))
    def unknown_step(self, name: str) -> None:
        actor = Actor(user="x", organization="org-a", nation="USA", role="approver")
        with pytest.raises(UnknownId):
            decide_step(
                self.state,
                name,
                Action.COORDINATE,
                actor,
                structure=self.structure,
                situation=self.situation,
                judge=self.judge,
                at=self._tick(),
            )

    @invariant()
    def closed_stays_closed(self) -> None:
        if self.ever_closed is not None:
            assert self.state.status is self.ever_closed
        if self.state.status.closed:
            self.ever_closed = self.state.status

    @invariant()
    def steps_are_legal(self) -> None:
        seen: list[str] = []
        for record in self.state.records:
            step = self.path.by_id[record.step]
            assert record.step not in seen, "a step was acted on twice"
            assert record.actor.organization == step.organization
            assert all(p in seen for p in step.predecessors), "a step went before its predecessors"
            seen.append(record.step)

    @invariant()
    def executed_only_after_all_approvals(self) -> None:
        done = self.state.done
        if self.path.effect_step in done:
            for step in self.path.steps:
                if step.kind is StepKind.APPROVE and not step.after_effect:
                    assert done[step.id].action is Action.APPROVE
            assert self.state.status in {RequestStatus.EXECUTED, RequestStatus.DENIED}

    @invariant()
    def status_agrees_with_records(self) -> None:
        done = self.state.done
        denied = any(r.action is Action.DENY for r in self.state.records)
        assert (self.state.status is RequestStatus.DENIED) == denied
        for step in self.path.steps:
            status = self.state.step_status(step.id)
            if step.id in done:
                assert status in {StepStatus.DONE, StepStatus.DENIED}
            elif self.state.status.closed:
                assert status is StepStatus.CLOSED
        assert self.state.version == 1 + len(self.state.records) + (
            self.state.status is RequestStatus.WITHDRAWN
        )


TestRequestMachine = RequestMachine.TestCase
TestRequestMachine.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_a_path_with_an_approval_at_a_non_granter_never_executes() -> None:
    step = Step(id="a", organization="org-c", kind=StepKind.APPROVE, label="approve", approval="approval-0")
    effect = Step(id="effect", organization="org-a", kind=StepKind.EXECUTE, label="x", predecessors=("a",))
    path = DecisionPath(
        request="r", structure="t", steps=(step, effect), decision_step="a", effect_step="effect"
    )
    state = start(
        RequestFiled(
            at=T0,
            actor=Actor(user="u", organization="org-a", nation="USA", role="operator"),
            rule=("t",),
            marking=MARKING,
            exercise=False,
            crisis="c",
            request="r",
            spec=RequestSpec(id="r", situation="armed-attack", actor="jsdf", activity="supply"),
            path=path,
        )
    )
    approver = Actor(user="c", organization="org-c", nation="USA", role="approver")
    with pytest.raises(PermissionDenied, match="does not grant"):
        decide_step(
            state,
            "a",
            Action.APPROVE,
            approver,
            structure=_structure({"approval-0"}),
            situation="armed-attack",
            judge=fake_law(path),
            at=T0,
        )
