"""Invariants of rulings over random queries (Hypothesis), and of the bundled rules as data."""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.authority import FrameworkSet, Outcome, Query, load_frameworks
from kizuna.model.framework import SINGLE_FIELDS, Effect


@cache
def fw() -> FrameworkSet:
    return load_frameworks()


@st.composite
def queries(draw: st.DrawFn) -> Query:
    f = fw()
    fields = {name: draw(st.sampled_from(f.vocabulary(name))) for name in SINGLE_FIELDS}
    flags = draw(st.frozensets(st.sampled_from(f.vocabulary("flags"))))
    granted = draw(st.frozensets(st.sampled_from(list(f.approvals))))
    return Query(**fields, flags=flags, granted=granted)


def approvals() -> st.SearchStrategy[str]:
    return st.sampled_from(list(fw().approvals))


@settings(max_examples=400, deadline=None)
@given(queries())
def test_compiled_engine_agrees_with_the_reference(q: Query) -> None:
    assert fw().rule(q) == fw().reference(q)


@settings(max_examples=300, deadline=None)
@given(queries(), st.frozensets(approvals()))
def test_granting_more_never_makes_a_ruling_worse(q: Query, more: frozenset[str]) -> None:
    before = fw().rule(q)
    after = fw().rule(q.replace(granted=q.granted | more))
    assert after.outcome.rank >= before.outcome.rank
    assert set(after.missing) <= set(before.missing)


@settings(max_examples=300, deadline=None)
@given(queries())
def test_combat_ongoing_never_turns_a_prohibition_into_a_permission(q: Query) -> None:
    before = fw().rule(q.replace(flags=q.flags - {"combat-ongoing"}))
    after = fw().rule(q.replace(flags=q.flags | {"combat-ongoing"}))
    if before.outcome is Outcome.PROHIBITED:
        assert after.outcome is Outcome.PROHIBITED


@settings(max_examples=300, deadline=None)
@given(queries())
def test_every_ruling_is_well_formed(q: Query) -> None:
    f = fw()
    r = f.rule(q)
    assert r.citations, "every ruling cites at least one law"
    assert r.reasons
    assert len(r.reasons) == len(r.rule_ids)
    assert (r.outcome is Outcome.PERMITTED) == (not r.missing and not r.prohibited)
    assert set(r.missing) <= set(r.required)
    assert set(r.after) <= set(r.required)
    assert not set(r.missing) & set(r.after)
    if r.prohibited:
        assert r.required == r.missing == r.after == ()
    else:
        assert not r.lawful_under
    # Required approvals come in the law's order: a prerequisite never after what needs it.
    position = {a: i for i, a in enumerate(r.required)}
    for a in r.required:
        for pre in f.approvals[a].prerequisites:
            if pre in position:
                assert position[pre] < position[a]
    # Approvals the law never lets come after acting are never in `after`.
    assert all(f.approvals[a].may_follow for a in r.after)
    # Assumed readings are visible in the reasons.
    for assumption in r.assumptions:
        assert any(assumption.strip() in reason for reason in r.reasons)


def test_every_id_in_the_rules_exists() -> None:
    f = fw()
    for rule in f.rules:
        for name in SINGLE_FIELDS:
            match = rule.when.field(name)
            if match is not None:
                assert set(match.ids) <= set(f.vocabulary(name)), (rule.id, name)
        flag_ids = {*rule.when.flags.all, *rule.when.flags.any, *rule.when.flags.none}
        assert flag_ids <= set(f.flags), rule.id
        assert {*rule.approvals, *rule.fresh, *rule.prior} <= set(f.approvals), rule.id
        assert set(rule.lawful_under) <= set(f.situations), rule.id
        assert rule.citations, rule.id
    for approval in f.approvals.values():
        assert set(approval.prerequisites) <= set(f.approvals), approval.id


def test_every_term_and_rule_is_documented() -> None:
    f = fw()
    for section in (f.situations, f.actors, f.activities, f.locations, f.flags, f.supported, f.approvals):
        for term in section.values():
            assert term.description.strip(), term.id
            assert term.source or term.assumption, term.id
    for rule in f.rules:
        assert all(c.source for c in rule.citations), rule.id


def test_the_brief_example() -> None:
    q = Query(
        situation="armed-attack",
        actor="jsdf",
        activity="use-of-force",
        supported="none",
        location="japan-territory",
        flags=frozenset({"urgent", "in-response-plan"}),
        granted=frozenset({"basic-response-plan"}),
    )
    r = fw().rule(q)
    assert r.outcome is Outcome.REQUIRES_APPROVAL
    assert r.missing == ("prime-minister-order",)
    assert r.after == ("diet-approval",)
    assert "aas-defense-operation" in r.rule_ids


def test_the_effects_used_in_the_data_are_all_exercised() -> None:
    used = {r.effect for r in fw().rules}
    assert used == set(Effect)
