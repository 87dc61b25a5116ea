"""DecisionPath: the steps and approvals a request needs, as a DAG of Steps at organizations.

The same compiled path is executed live by people (`kizuna.coordination`) and sampled by the simulator
(`kizuna.sim`), so measured and simulated times can be set side by side.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, model_validator


class StepKind(StrEnum):
    """What a step does."""

    COORDINATE = "coordinate"  # pass the request on, align positions (ACM bodies, staffs, drafting)
    CONSULT = "consult"  # deliberate or consult formally (NSC deliberation, prior consultation)
    APPROVE = "approve"  # grant an approval (cabinet decision, Diet approval, DM order)
    ORDER = "order"  # issue the order down the chain of command
    EXECUTE = "execute"  # the unit carries out the act: the time of effect
    INFORM = "inform"  # tell someone, nothing waits on it (ex post reports)


class Step(BaseModel):
    """One step of a decision path: an organization does something after its predecessors are done."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="Unique within the path.")
    organization: str = Field(description="The organization (id in the structure) that performs the step.")
    kind: StepKind
    label: str = Field(description="What happens, in words.")
    predecessors: tuple[str, ...] = ()
    approval: str | None = Field(default=None, description="The approval this step grants, if any.")
    after_effect: bool = Field(
        default=False,
        description="True for steps the law lets come after acting (ex post Diet approval, reports).",
    )
    citations: tuple[str, ...] = Field(default=(), description="Why the step is there (law, source).")


class DecisionPath(BaseModel):
    """A DAG of steps from a request to its decision and its execution."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request: str = Field(description="The id of the request this path answers.")
    structure: str = Field(description="The structure it was compiled against.")
    steps: tuple[Step, ...]
    decision_step: str = Field(description="The step whose completion is the decision.")
    effect_step: str = Field(description="The step whose completion is the effect (execution).")
    prohibited: bool = Field(default=False, description="True when the law forbids the act outright.")
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _is_dag(self) -> DecisionPath:
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError("step ids must be unique")
        known = set(ids)
        for step in self.steps:
            missing = set(step.predecessors) - known
            if missing:
                raise ValueError(f"step {step.id!r} waits on unknown steps {sorted(missing)}")
        for end in (self.decision_step, self.effect_step):
            if end not in known:
                raise ValueError(f"{end!r} is not a step of the path")
        self.order()  # raises on a cycle
        return self

    @cached_property
    def by_id(self) -> dict[str, Step]:
        """Steps by id."""
        return {s.id: s for s in self.steps}

    def order(self) -> tuple[Step, ...]:
        """Return the steps in a topological order (stable: ties keep file order).

        Computed once per path (the live service asks for it on every answer about a request).
        """
        return self._order

    @cached_property
    def _order(self) -> tuple[Step, ...]:
        pending = {s.id: set(s.predecessors) for s in self.steps}
        done: list[Step] = []
        by_id = {s.id: s for s in self.steps}
        while pending:
            ready = [sid for sid in (s.id for s in self.steps) if sid in pending and not pending[sid]]
            if not ready:
                raise ValueError(f"steps wait on each other in a cycle: {sorted(pending)}")
            for sid in ready:
                del pending[sid]
                done.append(by_id[sid])
            for deps in pending.values():
                deps.difference_update(ready)
        return tuple(done)

    def approvals(self) -> tuple[str, ...]:
        """Return the approvals the path obtains, in order."""
        return tuple(s.approval for s in self.order() if s.approval)
