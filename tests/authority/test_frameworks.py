"""FrameworkSet: conflicts and gaps are found at load time with file and line; queries are validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from kizuna.authority import FrameworkSet, Outcome, Query, load_frameworks, rule
from kizuna.errors import DataError, InvalidQuery, MissingFact, UnknownId

MINIMAL = (Path(__file__).parent / "fixtures" / "tiny-framework.yaml").read_text(encoding="utf-8")

DEFER = """\
  - id: vote-later
    effect: defer
    when: {flags: [urgent]}
    approvals: [vote]
    reason: Vote later when urgent.
    citations: [{law: Act, article: "4", source: K 9}]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of_text(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def load_text(tmp_path: Path, text: str) -> FrameworkSet:
    return load_frameworks(write(tmp_path, text))


def test_a_valid_set_rules_by_its_data(tmp_path: Path) -> None:
    fs = load_text(tmp_path, MINIMAL + DEFER)
    r = rule(fs, Query("war", "unit", "fight", location="home"))
    assert r.outcome is Outcome.REQUIRES_APPROVAL
    assert r.missing == ("plan", "vote")  # the law's order, rules written on `army` cover its `unit`
    urgent = rule(fs, Query("war", "unit", "fight", location="home", flags=frozenset({"urgent"})))
    assert (urgent.missing, urgent.after) == (("plan",), ("vote",))
    assert rule(fs, Query("calm", "army", "fight", location="home")).outcome is Outcome.PROHIBITED


def test_defer_against_prior_is_a_conflict_with_both_lines(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace("    approvals: [plan, vote]\n", "    approvals: [plan, vote]\n    prior: [vote]\n")
        + DEFER
    )
    with pytest.raises(DataError) as info:
        load_text(tmp_path, text)
    [problem] = info.value.problems
    assert problem.line == line_of_text(text, "id: vote-later")
    assert problem.field == "rules[vote-later]"
    assert (
        f"conflicts with rule 'fight-in-war' ({problem.file}:{line_of_text(text, 'id: fight-in-war')})"
        in str(problem)
    )
    assert "situation=war" in problem.message  # an example query for which both fire


def test_precedence_resolves_a_conflict(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace("    approvals: [plan, vote]\n", "    approvals: [plan, vote]\n    prior: [vote]\n")
        + DEFER
        + "    overrides: [fight-in-war]\n"
    )
    fs = load_text(tmp_path, text)
    assert fs.rule(Query("war", "army", "fight", location="home", flags=frozenset({"urgent"}))).outcome is (
        Outcome.PROHIBITED  # fight-in-war dropped: only the fallback is left
    )


def test_rules_that_cannot_fire_together_do_not_conflict(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "    approvals: [plan, vote]\n", "    approvals: [plan, vote]\n    prior: [vote]\n"
    ) + (DEFER.replace("when: {flags: [urgent]}", "when: {situation: calm, flags: [urgent]}"))
    assert load_text(tmp_path, text).rules[-1].id == "vote-later"


def test_contradicting_fallbacks_conflict(tmp_path: Path) -> None:
    text = MINIMAL + (
        "  - id: anything-goes\n    effect: allow\n    default: true\n    when: {actor: unit}\n"
        "    reason: Units may.\n    citations: [{law: Act, source: K 9}]\n"
    )
    with pytest.raises(DataError) as info:
        load_text(tmp_path, text)
    assert "one fallback allows, the other prohibits" in str(info.value)
    assert info.value.problems[0].line == line_of_text(text, "id: anything-goes")


def test_an_allow_cannot_override_a_prohibition(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "    approvals: [plan, vote]\n", "    approvals: [plan, vote]\n    overrides: [nothing-without-law]\n"
    )
    with pytest.raises(DataError, match="prohibitions win"):
        load_text(tmp_path, text)


def test_an_actor_without_a_fallback_is_a_gap(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "  - {id: unit, name: Unit, description: A unit of the army., part_of: army, source: K 3}\n",
        "  - {id: unit, name: Unit, description: A unit of the army., part_of: army, source: K 3}\n"
        "  - {id: navy, name: Navy, description: The navy., source: K 3}\n",
    )
    with pytest.raises(DataError) as info:
        load_text(tmp_path, text)
    [problem] = info.value.problems
    assert problem.field == "actors[navy]"
    assert problem.line == line_of_text(text, "id: navy")
    assert "no fallback rule covers" in problem.message


def test_query_from_dict_names_unknown_fields_and_ids() -> None:
    fs = load_frameworks()
    with pytest.raises(InvalidQuery, match=r"unknown query field 'colour'; valid fields: situations, actor"):
        Query.from_dict({"situation": "peacetime", "actor": "jsdf", "activity": "isr", "colour": "red"}, fs)
    with pytest.raises(MissingFact, match="depends on activity") as missing:
        Query.from_dict({"situation": "peacetime", "actor": "jsdf"}, fs)
    assert missing.value.fields == ("activity",)
    with pytest.raises(InvalidQuery, match="not both"):
        Query.from_dict({"situation": "peacetime", "situations": ["gray-zone"], "actor": "jsdf"}, fs)
    with pytest.raises(InvalidQuery, match="must be an id or a list of ids"):
        Query.from_dict({"situation": "peacetime", "actor": "jsdf", "activity": "isr", "flags": [1]}, fs)
    with pytest.raises(UnknownId) as info:
        Query.from_dict(
            {"situation": "peacetime", "actor": "jsdf", "activity": "isr", "flags": ["hurry"]}, fs
        )
    assert info.value.kind == "flag"
    assert "combat-ongoing" in info.value.known


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("situation", "war", "situation"),
        ("actor", "navy", "actor"),
        ("activity", "fishing", "activity"),
        ("supported", "nato", "supported party"),
        ("location", "moon", "location"),
    ],
)
def test_an_unknown_id_is_an_error_never_a_silent_prohibition(field: str, value: str, kind: str) -> None:
    fs = load_frameworks()
    q = Query("peacetime", "jsdf", "isr").replace(**{field: value})
    for evaluate in (fs.rule, fs.reference):
        with pytest.raises(UnknownId) as info:
            evaluate(q)
        assert info.value.kind == kind
        assert info.value.value == value
        assert info.value.known


def test_an_unknown_granted_approval_is_an_error() -> None:
    with pytest.raises(UnknownId, match="unknown approval 'blessing'"):
        load_frameworks().rule(Query("peacetime", "jsdf", "isr", granted=frozenset({"blessing"})))


def test_sets_merge_vocabularies_and_keep_the_law_order() -> None:
    fs = load_frameworks()
    assert fs.ids == ("japan-2015", "us-japan-treaty-1960")
    approvals = list(fs.approvals)
    assert approvals.index("nsc-deliberation") < approvals.index("basic-response-plan")
    assert approvals.index("basic-response-plan") < approvals.index("diet-approval")
    assert approvals.index("diet-approval") < approvals.index("prime-minister-order")
    assert approvals[-1] == "prior-consultation"
    assert "combat-operations-from-japan" in fs.activities
    assert "use-of-force" in fs.activities
    assert fs.lineage("msdf") == ("msdf", "jsdf")
    assert fs.approvals["basic-response-plan"].prerequisites == ("nsc-deliberation",)
    assert fs.approvals["diet-prior-approval"].may_follow is False


def test_the_issue_vocabulary_is_defined() -> None:
    fs = load_frameworks()
    assert set(fs.situations) >= {
        "peacetime", "gray-zone", "important-influence", "international-peace-joint-response",
        "survival-threatening", "anticipated-armed-attack", "armed-attack", "large-scale-disaster",
        "overseas-emergency",
    }  # fmt: skip
    assert set(fs.flags) == {
        "combat-ongoing", "territorial-consent", "in-response-plan", "un-resolution", "urgent",
        "first-request", "attack-occurred", "under-defense-order", "ceasefire-agreement", "consent-stable",
        "diet-not-in-session",
    }  # fmt: skip
    assert set(fs.approvals) == {
        "basic-plan", "basic-response-plan", "diet-approval", "diet-prior-approval", "nsc-deliberation",
        "cabinet-decision", "prime-minister-approval", "prime-minister-order", "defense-minister-order",
        "prior-consultation", "us-request", "foreign-minister-request", "governor-request",
        # issue 8: amendments (item 1), requesters (8, 9), peacekeeping and the Coast Guard (11)
        "basic-plan-amendment", "basic-response-plan-amendment", "coast-guard-request",
        "governor-security-request", "implementation-plan", "ipc-hq-request", "jcg-control-decision",
    }  # fmt: skip
    assert "international-peace-cooperation" in fs.situations
    assert set(fs.supported) == {"none", "japan", "us-forces", "third-country-forces"}
    assert set(fs.actors) == {"jsdf", "gsdf", "msdf", "asdf", "jcg", "us-forces"}
    added = {
        "abandoned-mine-removal", "public-security-operation", "airspace-violation-response",
        "defensive-positions",
        "armed-rescue-of-nationals", "force-withdrawal", "logistics-staging-from-japan",
        # issue 8 item 11
        "guarding-operation", "anti-piracy-operation", "own-asset-protection", "operate-under-mod-control",
        "defense-operation-standby", "pre-deployment-information-gathering", "defense-operation",
        "public-security-operation-on-request", "peacekeeping-operation", "ceasefire-monitoring",
        "safety-ensuring-operation", "coming-to-aid",
    }  # fmt: skip
    assert added <= set(fs.activities)


def test_the_treaty_alone_loads_with_its_own_vocabulary() -> None:
    fs = load_frameworks("us-japan-treaty-1960")
    r = fs.rule(Query("peacetime", "us-forces", "combat-operations-from-japan"))
    assert r.missing == ("prior-consultation",)
    with pytest.raises(UnknownId):
        fs.rule(Query("peacetime", "jsdf", "isr"))


def test_the_korean_minute_is_shown_as_not_encoded() -> None:
    r = load_frameworks().rule(Query("peacetime", "us-forces", "combat-operations-from-japan"))
    assert any("Korean Minute" in a and "NOT encoded" in a for a in r.assumptions)
    assert any("[assumption:" in reason for reason in r.reasons)


# -- amendments, satisfied approvals, designations (issue 8) ----------------------------------------------

AMEND = MINIMAL.replace(
    """  - id: vote
    name: Vote""",
    """  - id: plan-amendment
    name: Plan amendment
    description: The plan changed to list the act.
    amends: plan
    satisfied_by: [vote]
    citations: [{law: Act, article: "1", source: K 8}]
    source: K 8
  - id: vote
    name: Vote""",
) + (
    """  - id: plan-must-list
    effect: require
    when: {activity: fight, flags: {none: [urgent]}}
    approvals: [plan-amendment]
    reason: The plan must list the act.
    citations: [{law: Act, article: "1", source: K 9}]
"""
)


def test_an_amendment_is_asked_for_only_once_the_plan_is_held_and_never_what_is_granted(
    tmp_path: Path,
) -> None:
    """Issue 8 item 1: no plan yet - the plan to be made lists the act; a plan held without it - its
    amendment, under its own id; the vote given under the plan settles the amendment."""
    fs = load_text(tmp_path, AMEND)
    none = rule(fs, Query("war", "unit", "fight", location="home"))
    assert none.missing == ("plan", "vote")
    held = rule(fs, Query("war", "unit", "fight", location="home", granted={"plan"}))
    assert held.missing == ("plan-amendment", "vote")
    voted = rule(fs, Query("war", "unit", "fight", location="home", granted={"plan", "vote"}))
    assert voted.permitted
    assert voted.required == ("plan", "plan-amendment", "vote")  # the amendment was settled by the vote


def test_approval_references_and_replaces_are_checked_with_lines(tmp_path: Path) -> None:
    text = AMEND.replace("amends: plan", "amends: plann").replace(
        "  - {id: war, name: War, description: An attack., source: K 2}",
        "  - {id: war, name: War, description: An attack., replaces: [calmm], source: K 2}",
    )
    with pytest.raises(DataError) as info:
        load_text(tmp_path, text)
    fields = {p.field: p for p in info.value.problems}
    assert fields["approvals[plan-amendment].amends"].value == "plann"
    assert fields["approvals[plan-amendment].amends"].line == line_of_text(text, "id: plan-amendment")
    assert fields["situations[war].replaces"].value == "calmm"


def test_fresh_is_gone_a_granted_approval_is_never_needed_anew(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "    approvals: [plan, vote]\n", "    approvals: [plan, vote]\n    fresh: [plan]\n"
    )
    with pytest.raises(DataError, match="fresh: unknown key"):
        load_text(tmp_path, text)


def test_a_rule_can_look_at_every_designation_in_force(tmp_path: Path) -> None:
    text = MINIMAL + (
        """  - id: calm-while-at-war
    effect: allow
    when: {situation: calm, activity: patrol, designated: {all: [war]}}
    reason: Patrols need no plan while a war is also designated.
    citations: [{law: Act, article: "5", source: K 9}]
"""
    )
    fs = load_text(tmp_path, text)
    alone = rule(fs, Query("calm", "unit", "patrol", location="home"))
    assert alone.prohibited
    both = rule(fs, Query(situations={"calm", "war"}, actor="unit", activity="patrol", location="home"))
    assert both.permitted
    assert both.basis == "calm"
    assert both.rule_ids == ("calm-while-at-war",)


def test_in_force_ends_what_a_designation_replaces() -> None:
    fs = load_frameworks()
    assert fs.in_force(["peacetime", "anticipated-armed-attack", "armed-attack"]) == ("armed-attack",)
    assert fs.in_force(["important-influence", "survival-threatening", "armed-attack"]) == (
        "important-influence",
        "survival-threatening",
        "armed-attack",
    )
    assert fs.in_force(["armed-attack", "survival-threatening", "peacetime"]) == ("peacetime",)
    with pytest.raises(UnknownId):
        fs.in_force(["wartime"])


@pytest.mark.parametrize(
    ("changes", "kind"),
    [
        ({"situations": {"armed-attack", "wartime"}}, "situation"),
        ({"actor": "navy"}, "actor"),
        ({"supported": "nato"}, "supported party"),
        ({"flags": {"hurry"}}, "flag"),
        ({"granted": {"blessing"}}, "approval"),
    ],
)
def test_an_unknown_id_with_several_designations_is_an_error_in_both_evaluators(
    changes: dict[str, object], kind: str
) -> None:
    fs = load_frameworks()
    base = Query(
        situations={"armed-attack", "survival-threatening"},
        actor="msdf",
        activity="bmd-intercept",
        supported="us-forces",
        location="high-seas-near-japan",
    )
    query = base.replace(**changes)
    for evaluate in (fs.rule, fs.reference):
        with pytest.raises(UnknownId) as info:
            evaluate(query)
        assert info.value.kind == kind
