"""What the coordination tests share: a Hypothesis strategy for decision paths."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from kizuna.planning import DecisionPath, Step, StepKind


@st.composite
def decision_paths(
    draw: st.DrawFn, orgs: Sequence[str], labels: st.SearchStrategy[str] | None = None
) -> DecisionPath:
    """A decision path: steps before the effect in a random DAG, the effect, after-effect steps.

    Steps sit at `orgs`; their labels are drawn from `labels` (default: "step N").
    """
    kinds = [StepKind.COORDINATE, StepKind.CONSULT, StepKind.APPROVE, StepKind.ORDER, StepKind.INFORM]
    before = draw(st.integers(1, 5))
    steps: list[Step] = []
    for i in range(before):
        kind = draw(st.sampled_from(kinds))
        preds = draw(st.sets(st.sampled_from([s.id for s in steps]), max_size=2)) if steps else set()
        steps.append(
            Step(
                id=f"s{i}",
                organization=draw(st.sampled_from(orgs)),
                kind=kind,
                label=draw(labels) if labels is not None else f"step {i}",
                predecessors=tuple(sorted(preds)),
                approval=f"approval-{i}" if kind is StepKind.APPROVE else None,
            )
        )
    effect = Step(
        id="effect",
        organization=draw(st.sampled_from(orgs)),
        kind=StepKind.EXECUTE,
        label="execute",
        predecessors=tuple(s.id for s in steps),
    )
    after = [
        Step(
            id=f"post{i}",
            organization=draw(st.sampled_from(orgs)),
            kind=draw(st.sampled_from([StepKind.APPROVE, StepKind.INFORM])),
            label="after the fact",
            predecessors=("effect",),
            after_effect=True,
        )
        for i in range(draw(st.integers(0, 2)))
    ]
    after = [
        s.model_copy(update={"approval": f"post-approval-{s.id}"}) if s.kind is StepKind.APPROVE else s
        for s in after
    ]
    approvals = [s for s in steps if s.kind is StepKind.APPROVE]
    return DecisionPath(
        request="r-test",
        structure="test-structure",
        steps=(*steps, effect, *after),
        decision_step=approvals[-1].id if approvals else "effect",
        effect_step="effect",
    )
