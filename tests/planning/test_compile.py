"""compile_request: the ruling's approvals at their granters, routed through the structure, in order."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kizuna.authority import FrameworkSet, Query, load_frameworks, rule
from kizuna.errors import InvalidQuery, MissingFact, UnknownId
from kizuna.model import RequestSpec, Structure, load_structure
from kizuna.model.queries import chain_of_command
from kizuna.planning import DecisionPath, StepKind, compile_request

STRUCTURES = ("us-japan-2015", "us-japan-2025", "us-japan-combined")


@cache
def frameworks() -> FrameworkSet:
    return load_frameworks()


@cache
def structure(sid: str) -> Structure:
    return load_structure(sid)


def orgs(path: DecisionPath) -> list[str]:
    return [s.organization for s in path.order()]


def ancestors(path: DecisionPath, step_id: str) -> set[str]:
    """Every step `step_id` waits on, directly or not."""
    seen: set[str] = set()
    stack = list(path.by_id[step_id].predecessors)
    while stack:
        sid = stack.pop()
        if sid not in seen:
            seen.add(sid)
            stack.extend(path.by_id[sid].predecessors)
    return seen


COMBAT_OPS = RequestSpec(
    id="combat-ops",
    executor="12th-mlr",
    situation="important-influence",
    actor="us-forces",
    activity="combat-operations-from-japan",
)


def test_prior_consultation_is_obtained_once_at_the_cabinet_through_the_embassy_and_mofa() -> None:
    for sid in STRUCTURES:
        path = compile_request(structure(sid), frameworks(), COMBAT_OPS)
        granting = [s for s in path.steps if s.approval == "prior-consultation"]
        assert len(granting) == 1
        granter = granting[0].organization
        assert "prior-consultation" in structure(sid).org(granter).grants
        visited = orgs(path)
        assert visited.index("us-embassy-tokyo") < visited.index("jp-mofa") < visited.index(granter)
        assert path.decision_step == granting[0].id
        assert path.by_id[path.effect_step].organization == "12th-mlr"
        assert path.by_id[path.effect_step].kind is StepKind.EXECUTE


def test_the_2015_request_goes_through_hawaii_and_the_2025_one_through_the_jfhq() -> None:
    before = compile_request(structure("us-japan-2015"), frameworks(), COMBAT_OPS)
    after = compile_request(structure("us-japan-2025"), frameworks(), COMBAT_OPS)
    assert "indopacom" in orgs(before)
    assert "indopacom" not in orgs(after)
    assert "usfj" in orgs(after)
    assert any(structure("us-japan-2015").org(o).nation == "bilateral" for o in orgs(before))


def test_the_requester_defaults_to_the_executors_operational_commander() -> None:
    for sid in STRUCTURES:
        s = structure(sid)
        path = compile_request(s, frameworks(), COMBAT_OPS)
        first = path.order()[0]
        assert first.organization == chain_of_command(s, "12th-mlr")[0].superior


def test_an_administrative_headquarters_passes_the_request_to_its_operational_authority() -> None:
    request = RequestSpec(
        id="protect",
        requester="usfj",
        executor="msdf",
        situation="peacetime",
        actor="msdf",
        activity="asset-protection",
        supported="us-forces",
        location="high-seas-near-japan",
    )
    before = compile_request(structure("us-japan-2015"), frameworks(), request)
    after = compile_request(structure("us-japan-2025"), frameworks(), request)
    assert [s.organization for s in before.steps if s.id.startswith("endorse")] == ["indopacom"]
    assert not [s for s in after.steps if s.id.startswith("endorse")]
    # the supported force's request is granted where the structure says: INDOPACOM in 2015, USFJ in 2025
    assert [s.organization for s in before.steps if s.approval == "us-request"] == ["indopacom"]
    assert [s.organization for s in after.steps if s.approval == "us-request"] == ["usfj"]


def test_the_order_goes_down_the_chain_of_command_to_the_executor() -> None:
    request = RequestSpec(
        id="mso",
        executor="msdf",
        situation="gray-zone",
        actor="msdf",
        activity="maritime-security-operation",
        location="japan-territory",
        flags=("urgent",),
    )
    for sid in ("us-japan-2015", "us-japan-2025"):
        s = structure(sid)
        path = compile_request(s, frameworks(), request)
        chain = [link.superior for link in chain_of_command(s, "msdf")]
        order_orgs = [st.organization for st in path.order() if st.kind is StepKind.ORDER]
        # every command between the ordering minister and the unit relays the order, top down
        below_minister = chain[: chain.index("jp-mod")][::-1]
        assert order_orgs == below_minister
        assert path.approvals() == tuple(rule(frameworks(), _query(request)).missing)


def _query(request: RequestSpec) -> Query:
    assert request.actor is not None
    assert request.activity is not None
    return Query(
        situations=request.situations,
        actor=request.actor,
        activity=request.activity,
        supported=request.supported,
        location=request.location,
        flags=frozenset(request.flags),
        granted=frozenset(request.granted),
    )


def test_approvals_the_law_lets_come_later_branch_off_after_the_decision() -> None:
    request = RequestSpec(
        id="pso",
        executor="gsdf",
        situation="gray-zone",
        actor="gsdf",
        activity="public-security-operation",
        location="japan-territory",
    )
    ruling = rule(frameworks(), _query(request))
    assert ruling.after, "the referral to the Diet may follow the order"
    path = compile_request(structure("us-japan-2025"), frameworks(), request)
    later = [s for s in path.steps if s.approval in ruling.after]
    assert len(later) == len(ruling.after)
    assert all(s.after_effect for s in later)
    waits_on = ancestors(path, path.effect_step)
    assert not any(s.id in waits_on for s in later)
    assert all(path.decision_step in ancestors(path, s.id) for s in later)


def test_a_prohibited_act_gives_a_prohibited_path_that_says_where_it_would_be_lawful() -> None:
    request = RequestSpec(
        id="guam",
        executor="msdf",
        situation="peacetime",
        actor="msdf",
        activity="bmd-intercept",
        supported="us-forces",
        location="high-seas-near-japan",
        granted=("prime-minister-approval", "defense-minister-order"),
    )
    ruling = rule(frameworks(), _query(request))
    assert ruling.prohibited
    path = compile_request(structure("us-japan-2015"), frameworks(), request)
    assert path.prohibited
    assert len(path.steps) == 1
    assert any("Prohibited" in n for n in path.notes)
    for situation in ruling.lawful_under:
        assert any(situation in n for n in path.notes)


def test_a_designation_is_drafted_deliberated_decided_and_approved_in_that_order() -> None:
    request = RequestSpec(id="sts", designates="survival-threatening", situation="survival-threatening")
    for sid in STRUCTURES:
        path = compile_request(structure(sid), frameworks(), request)
        assert path.approvals() == ("nsc-deliberation", "basic-response-plan", "diet-prior-approval")
        order = path.order()
        assert "draft" in order[0].label
        assert order[0].organization == "jp-cabinet-secretariat"
        assert path.by_id[path.effect_step].approval == "diet-prior-approval"
        assert path.decision_step == path.effect_step


def test_taking_part_in_peacekeeping_is_designated_by_its_implementation_plan() -> None:
    request = RequestSpec(
        id="pko", designates="international-peace-cooperation", situation="international-peace-cooperation"
    )
    path = compile_request(structure("us-japan-2025"), frameworks(), request)
    assert path.approvals() == ("implementation-plan",)
    assert structure("us-japan-2025").org(path.by_id[path.effect_step].organization).id == "jp-cabinet"


def test_an_urgent_armed_attack_designation_takes_diet_approval_after_the_fact() -> None:
    urgent = RequestSpec(id="aas", designates="armed-attack", situation="armed-attack", flags=("urgent",))
    path = compile_request(structure("us-japan-2025"), frameworks(), urgent)
    diet = [s for s in path.steps if s.approval == "diet-approval"]
    assert len(diet) == 1
    assert diet[0].after_effect
    assert path.by_id[path.effect_step].approval == "basic-response-plan"
    calm = compile_request(structure("us-japan-2025"), frameworks(), urgent.model_copy(update={"flags": ()}))
    assert path.by_id[calm.effect_step].approval == "diet-approval"


def test_a_situation_without_a_designation_procedure_is_an_unknown_id() -> None:
    request = RequestSpec(id="gz", designates="gray-zone", situation="gray-zone")
    with pytest.raises(UnknownId, match="survival-threatening"):
        compile_request(structure("us-japan-2015"), frameworks(), request)


def test_an_unknown_executor_names_the_known_organizations() -> None:
    request = COMBAT_OPS.model_copy(update={"executor": "jjoc"})
    with pytest.raises(UnknownId, match="jjoc"):
        compile_request(structure("us-japan-2015"), frameworks(), request)


def test_an_approval_nobody_grants_is_a_clear_error() -> None:
    s = structure("us-japan-2015")
    stripped = s.model_copy(
        update={
            "organizations": tuple(
                o.model_copy(update={"grants": tuple(g for g in o.grants if g != "prior-consultation")})
                for o in s.organizations
            )
        }
    )
    with pytest.raises(InvalidQuery, match="grants approval 'prior-consultation'"):
        compile_request(stripped, frameworks(), COMBAT_OPS)


def test_a_unit_that_is_not_an_organization_needs_an_executor() -> None:
    request = COMBAT_OPS.model_copy(update={"executor": None})
    with pytest.raises(InvalidQuery, match="executor"):
        compile_request(structure("us-japan-2015"), frameworks(), request)


# -- invariants over random requests ----------------------------------------------------------------------

EXECUTORS = ("gsdf", "msdf", "asdf", "jcg", "iii-mef", "12th-mlr", "ardb")
ACTOR_OF = {"gsdf": "gsdf", "msdf": "msdf", "asdf": "asdf", "jcg": "jcg", "ardb": "gsdf"}


@st.composite
def requests(draw: st.DrawFn) -> RequestSpec:
    fw = frameworks()
    executor = draw(st.sampled_from(EXECUTORS))
    actor = ACTOR_OF.get(executor, "us-forces")
    return RequestSpec(
        id="r",
        executor=executor,
        situation=tuple(draw(st.sets(st.sampled_from(fw.vocabulary("situation")), min_size=1, max_size=2))),
        actor=actor,
        activity=draw(st.sampled_from(fw.vocabulary("activity"))),
        supported=draw(st.sampled_from(fw.vocabulary("supported"))),
        location=draw(st.sampled_from(fw.vocabulary("location"))),
        flags=tuple(draw(st.sets(st.sampled_from(sorted(fw.flags)), max_size=3))),
        granted=tuple(draw(st.sets(st.sampled_from(sorted(fw.approvals)), max_size=3))),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=requests(), sid=st.sampled_from(STRUCTURES))
def test_compiled_paths_are_sound(request: RequestSpec, sid: str) -> None:
    s = structure(sid)
    ruling = rule(frameworks(), _query(request))
    path = compile_request(s, frameworks(), request)  # the DAG validator rejects cycles
    assert len(path.order()) == len(path.steps)
    assert all(step.organization in s.org_by_id for step in path.steps)
    assert path.prohibited == ruling.prohibited
    if path.prohibited:
        return
    obtained = [step.approval for step in path.steps if step.approval]
    for approval in (*ruling.missing, *ruling.after):
        assert obtained.count(approval) == 1, approval
    assert {step.approval for step in path.steps if step.after_effect and step.approval} == set(ruling.after)
    effect_waits_on = ancestors(path, path.effect_step)
    assert path.decision_step == path.effect_step or path.decision_step in effect_waits_on
    assert not any(path.by_id[a].after_effect for a in effect_waits_on)
    assert path.by_id[path.effect_step].organization == request.executor


def test_every_approval_of_the_law_has_a_granter_in_every_bundled_structure() -> None:
    """Planning places each missing approval at the organization that grants it: none may be orphaned."""
    for sid in STRUCTURES:
        granted = {a for org in structure(sid).organizations for a in org.grants}
        assert set(frameworks().approvals) <= granted, (sid, sorted(set(frameworks().approvals) - granted))


def test_a_request_leaving_out_a_fact_the_law_depends_on_is_refused_naming_it() -> None:
    """Issue 8 item 13: planning never compiles a path on a defaulted fact."""
    request = RequestSpec(
        id="fuel",
        executor="msdf",
        situation="important-influence",
        actor="msdf",
        activity="refueling",
        supported="us-forces",
    )
    with pytest.raises(MissingFact) as info:
        compile_request(structure("us-japan-2025"), frameworks(), request)
    assert info.value.fields == ("location",)
    stated = request.model_copy(update={"location": "high-seas-near-japan"})
    assert compile_request(structure("us-japan-2025"), frameworks(), stated).approvals()


def test_a_request_under_two_designations_compiles_the_path_of_the_lawful_basis() -> None:
    """Issue 8 item 5: a Guam-bound intercept while Japan is in both an armed attack and a
    survival-threatening situation takes the STS basis, with Diet approval that may follow in urgency."""
    request = RequestSpec(
        id="guam",
        executor="msdf",
        situation=("armed-attack", "survival-threatening"),
        actor="msdf",
        activity="bmd-intercept",
        supported="us-forces",
        location="high-seas-near-japan",
        flags=("attack-occurred", "in-response-plan", "urgent"),
    )
    path = compile_request(structure("us-japan-2025"), frameworks(), request)
    assert not path.prohibited
    assert path.approvals() == (
        "nsc-deliberation",
        "basic-response-plan",
        "prime-minister-order",
        "diet-approval",
    )
    assert [s.approval for s in path.steps if s.after_effect and s.approval] == ["diet-approval"]
    alone = compile_request(
        structure("us-japan-2025"), frameworks(), request.model_copy(update={"situation": "armed-attack"})
    )
    assert alone.prohibited


def test_support_that_needs_no_approval_is_decided_by_the_executors_commander() -> None:
    request = RequestSpec(
        id="airlift",
        requester="jp-mod",
        executor="iii-mef",
        situation="large-scale-disaster",
        actor="us-forces",
        activity="disaster-relief",
        supported="japan",
    )
    assert not rule(frameworks(), _query(request)).missing
    for sid in STRUCTURES:
        s = structure(sid)
        path = compile_request(s, frameworks(), request)
        decider = path.by_id[path.decision_step].organization
        assert decider in [link.superior for link in chain_of_command(s, "iii-mef")]
        assert s.org(decider).nation == "us"
