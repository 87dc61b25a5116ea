"""The law as the coordinator consults it: the designations in force in a crisis, and rulings on their union.

Issue 8 item 5: a crisis can be in a survival-threatening and an armed attack situation at once; a
request filed then is ruled on the union, so a Guam-bound intercept is lawful (SDF Act 76(1)(ii)) though
the armed attack situation alone would forbid it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.access import Classification, Marking, User
from kizuna.coordination import Action, Coordinator, Law, RequestStatus
from kizuna.coordination.crisis import CrisisState, Designation
from kizuna.coordination.events import Actor
from kizuna.errors import InvalidQuery, MissingFact
from kizuna.model import RequestSpec
from kizuna.planning import StepKind
from kizuna.store import open_store

LAW = Law()
CRISIS = "c-law"
SHARED = Marking.releasable(Classification.SECRET, "USA", ["JPN"])
ACTOR = Actor(user="x", organization="jp-cabinet", nation="JPN", role="approver")
GUAM = {
    "executor": "msdf",
    "actor": "msdf",
    "activity": "bmd-intercept",
    "supported": "us-forces",
    "location": "high-seas-near-japan",
    "flags": ["attack-occurred", "in-response-plan"],
}


def crisis(*situations: str) -> CrisisState:
    at = datetime(2027, 4, 6, tzinfo=UTC)
    return CrisisState(
        id=CRISIS,
        name="t",
        description="",
        structure="us-japan-2025",
        marking=SHARED,
        exercise=True,
        opened_at=at,
        opened_by=ACTOR,
        timeline=tuple(
            Designation(situation=s, since=at, organization="jp-cabinet", request=None, actor=ACTOR)
            for s in situations
        ),
    )


def test_a_designation_ends_only_those_it_replaces() -> None:
    assert LAW.in_force(crisis("gray-zone")) == "gray-zone"
    assert LAW.in_force(crisis("gray-zone", "important-influence")) == "important-influence"
    assert LAW.in_force(crisis("important-influence", "survival-threatening")) == (
        "important-influence",
        "survival-threatening",
    )
    # The armed attack situation ends the anticipated one; the survival-threatening one stays in force.
    assert LAW.in_force(
        crisis("peacetime", "anticipated-armed-attack", "survival-threatening", "armed-attack")
    ) == ("armed-attack", "survival-threatening")
    assert LAW.in_force(crisis("survival-threatening", "armed-attack", "peacetime")) == "peacetime"


def test_judging_on_two_designations_takes_the_lawful_basis() -> None:
    spec = RequestSpec.model_validate(
        {**GUAM, "id": "r", "situation": ["armed-attack", "survival-threatening"]}
    )
    verdict = LAW.judge(spec, spec.situation, ())
    assert verdict is not None
    assert verdict.outcome == "requires-approval"
    assert verdict.basis == "survival-threatening"
    assert verdict.situation == ("armed-attack", "survival-threatening")
    assert "diet-approval" in verdict.missing  # not prior without exception: Japan is attacked too
    alone = LAW.judge(spec.model_copy(update={"situation": "armed-attack"}), "armed-attack", ())
    assert alone is not None
    assert alone.prohibited


def test_a_request_leaving_out_a_fact_is_refused_not_defaulted() -> None:
    spec = RequestSpec(id="r", situation="important-influence", actor="msdf", activity="refueling")
    with pytest.raises(MissingFact) as info:
        LAW.judge(spec, "important-influence", ())
    assert info.value.fields == ("supported", "location")
    assert isinstance(info.value, InvalidQuery)  # the service answers 422


@pytest.fixture
def coordinator(sqlite_url: str) -> Iterator[Coordinator]:
    with open_store(sqlite_url, sqlite_synchronous="NORMAL") as store:
        yield Coordinator(store, LAW, clock=lambda: datetime(2027, 4, 6, tzinfo=UTC))


def member(org: str) -> User:
    nation = "USA" if org == "usfj" else "JPN"
    return User(id=f"{org}-a", name=org, nation=nation, organization=org, role="approver", clearance="secret")


def test_a_crisis_in_two_designations_rules_a_request_on_their_union(coordinator: Coordinator) -> None:
    excon = User(
        id="excon", name="x", nation="USA", organization="usfj", role="exercise-control", clearance="secret"
    )
    coordinator.open_crisis(
        excon,
        crisis_id=CRISIS,
        name="two designations",
        structure="us-japan-2025",
        situation="survival-threatening",
        marking=SHARED,
        exercise=True,
    )
    designation = coordinator.file_request(
        member("jp-cabinet-secretariat"), CRISIS, spec={"designates": "armed-attack"}, marking=SHARED
    )
    while ready := coordinator.view.requests[designation.id].ready_steps():
        step = ready[0]
        coordinator.act(member(step.organization), designation.id, step.id, Action(step.kind.value))
    state = coordinator.view.crises[CRISIS]
    assert [d.situation for d in state.timeline] == ["survival-threatening", "armed-attack"]
    assert coordinator.law.in_force(state) == ("armed-attack", "survival-threatening")
    filed = coordinator.file_request(member("usfj"), CRISIS, spec=GUAM, marking=SHARED)
    assert filed.status is RequestStatus.FILED
    assert filed.spec.situation == ("armed-attack", "survival-threatening")
    assert filed.verdict is not None
    assert filed.verdict.basis == "survival-threatening"
    assert any(s.kind is StepKind.APPROVE for s in filed.path.steps)


_SITUATIONS = ("gray-zone", "important-influence", "survival-threatening", "armed-attack")


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(_SITUATIONS), min_size=1, max_size=2, unique=True),
    st.sampled_from(["bmd-intercept", "asset-protection", "refueling", "supply"]),
    st.sets(st.sampled_from(["attack-occurred", "in-response-plan", "combat-ongoing", "urgent"])),
    st.sets(st.sampled_from(["diet-approval", "defense-minister-order", "basic-plan", "us-request"])),
    st.sampled_from([None, "high-seas-near-japan", "japan-territory"]),
)
def test_a_kept_ruling_is_the_ruling_made_afresh(
    situations: list[str], activity: str, flags: set[str], granted: set[str], location: str | None
) -> None:
    """`Law.judge` keeps rulings by the query's fields: asked again, or by another request, the same."""
    situation: str | tuple[str, ...] = situations[0] if len(situations) == 1 else tuple(situations)
    spec = RequestSpec.model_validate(
        {
            **GUAM,
            "id": "r-cache",
            "situation": situation,
            "activity": activity,
            "flags": sorted(flags),
            "location": location,
        }
    )

    def ruled(law: Law) -> object:
        try:
            return law.judge(spec, situation, tuple(sorted(granted)))
        except MissingFact as missing:
            return ("missing", missing.fields)

    fresh = ruled(Law(frameworks=LAW.frameworks))
    assert ruled(LAW) == fresh
    assert ruled(LAW) == fresh  # kept
