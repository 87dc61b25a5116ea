"""The load-time conflict check is sound and complete for defer/prior contradictions (Hypothesis).

Random rule sets over a tiny vocabulary: when the set loads, no query ever gets an approval `after` that a
fired rule requires `prior`; when the loader reports a conflict, some query really makes both rules fire.
"""

from __future__ import annotations

from itertools import product
from pathlib import Path

from hypothesis import event, given, settings
from hypothesis import strategies as st

from kizuna.authority import FrameworkSet, Query
from kizuna.errors import DataError
from kizuna.model.framework import Citation, Effect, Framework, Rule, check_framework_file

TINY = Path(__file__).parent / "fixtures" / "tiny-framework.yaml"
SITUATIONS, ACTIVITIES, FLAGS = ("calm", "war"), ("patrol", "fight"), ("urgent",)
CITE = (Citation(law="Act", article="1", source="K 1"),)


def base() -> Framework:
    framework, problems = check_framework_file(TINY)
    assert framework is not None, problems
    return framework


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, object]:
    when: dict[str, object] = {}
    if draw(st.booleans()):
        when["situation"] = draw(st.lists(st.sampled_from(SITUATIONS), min_size=1, max_size=2, unique=True))
    if draw(st.booleans()):
        when["activity"] = draw(st.lists(st.sampled_from(ACTIVITIES), min_size=1, max_size=2, unique=True))
    flags = draw(st.sampled_from([None, "all", "none"]))
    if flags is not None:
        when["flags"] = {flags: ["urgent"]}
    designated = draw(st.sampled_from([None, "all", "none", "any"]))
    if designated is not None:
        when["designated"] = {designated: [draw(st.sampled_from(SITUATIONS))]}
    return when


@st.composite
def extra_rules(draw: st.DrawFn) -> list[Rule]:
    rules = []
    for i in range(draw(st.integers(1, 4))):
        effect = draw(st.sampled_from([Effect.ALLOW, Effect.DEFER]))
        approvals = draw(st.lists(st.sampled_from(["plan", "vote"]), min_size=1, max_size=2, unique=True))
        prior = draw(st.lists(st.sampled_from(approvals), unique=True)) if effect is Effect.ALLOW else []
        rules.append(
            Rule.model_validate(
                {
                    "id": f"extra-{i}",
                    "effect": effect,
                    "when": draw(conditions()),
                    "approvals": approvals,
                    "prior": prior,
                    "reason": "generated",
                    "citations": CITE,
                    "file": "generated.yaml",
                    "line": 100 + i,
                }
            )
        )
    return rules


def fires(rule: Rule, q: Query, basis: str) -> bool:
    """Whether a generated rule's conditions hold for `q` read under the designation `basis` (written
    independently of kizuna.authority.rules)."""
    when = rule.when
    if when.activity is not None and q.activity not in when.activity.ids:
        return False
    if not (set(when.flags.all) <= q.flags and not set(when.flags.none) & q.flags):
        return False
    designated = when.designated
    if not set(designated.all) <= q.situations or set(designated.none) & q.situations:
        return False
    if designated.any and not set(designated.any) & q.situations:
        return False
    return when.situation is None or basis in when.situation.ids


def every_query() -> list[Query]:
    """Every query of the tiny vocabulary, on one designation or both at once."""
    designations = [{"calm"}, {"war"}, {"calm", "war"}]
    return [
        Query(situations=s, actor="army", activity=a, supported="none", location="home", flags=frozenset(f))
        for s, a, f in product(designations, ACTIVITIES, [(), FLAGS])
    ]


@settings(max_examples=150, deadline=None)
@given(extra_rules())
def test_a_set_that_loads_never_defers_what_a_fired_rule_requires_prior(rules: list[Rule]) -> None:
    framework = base()
    framework = framework.model_copy(update={"rules": (*framework.rules, *rules)})
    try:
        fs = FrameworkSet([framework])
    except DataError as error:
        event("conflict reported")
        # Every reported conflict names two rules that do fire together for some query.
        by_id = {r.id: r for r in rules}
        for problem in error.problems:
            assert "conflicts with rule" in problem.message
            a = by_id[problem.field.removeprefix("rules[").removesuffix("]")]
            b = by_id[problem.message.split("'")[1]]
            assert any(fires(a, q, s) and fires(b, q, s) for q in every_query() for s in q.situations), (
                problem
            )
        return
    event("loaded")
    for q in every_query():
        ruling = fs.reference(q)
        fired = set(ruling.rule_ids)
        for rule in fs.rules:
            if rule.id in fired and rule.effect is Effect.ALLOW:
                assert not set(rule.prior) & set(ruling.after), (q, rule.id)
        assert fs.rule(q) == ruling
