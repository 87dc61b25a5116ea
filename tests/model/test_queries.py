"""Chains of command, operational commanders and coordination routes, on a fictional and the bundled data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.errors import InvalidQuery, NotFound, UnknownId
from kizuna.model import (
    Era,
    Nation,
    Organization,
    OrgKind,
    Relation,
    RelationKind,
    Structure,
    load_structure,
)
from kizuna.model.queries import (
    CHAIN_PRIORITY,
    ROUTE_WEIGHTS,
    chain_of_command,
    coordination_route,
    era_instant,
    format_offset,
    operational_authority,
    operational_commander,
    route_graph,
    superiors,
)

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def twin_2010() -> Structure:
    return load_structure(FIXTURES / "twin-2010.yaml")


@pytest.fixture
def twin_2020() -> Structure:
    return load_structure(FIXTURES / "twin-2020.yaml")


def test_chain_of_command_runs_to_the_top(twin_2010: Structure) -> None:
    chain = chain_of_command(twin_2010, "a-marines")
    assert [(link.subordinate, link.superior) for link in chain] == [
        ("a-marines", "a-ocean"),
        ("a-ocean", "a-defense"),
        ("a-defense", "a-head"),
    ]
    assert all(link.kind is RelationKind.COMMANDS for link in chain)
    assert chain_of_command(twin_2010, "a-head") == ()


def test_chain_follows_reports_to_and_administrative_lines(twin_2010: Structure) -> None:
    assert [link.kind for link in chain_of_command(twin_2010, "a-embassy")] == [RelationKind.REPORTS_TO]
    chain = chain_of_command(twin_2010, "a-forces-borea")
    assert chain[0].kind is RelationKind.ADMINISTRATIVE_CONTROL
    assert chain[0].superior == "a-ocean"


def test_chain_prefers_operational_command_over_administrative(twin_2010: Structure) -> None:
    admin = twin_2010.relations[0].model_copy(
        update={"from_": "b-defense", "kind": RelationKind.ADMINISTRATIVE_CONTROL, "to": "b-brigade"}
    )
    both = twin_2010.model_copy(update={"relations": (admin, *twin_2010.relations)})
    first = chain_of_command(both, "b-brigade")[0]
    assert (first.kind, first.superior) == (RelationKind.COMMANDS, "b-army")


def test_operational_commander_moves_with_the_reform(twin_2010: Structure, twin_2020: Structure) -> None:
    assert operational_commander(twin_2010, "b-army").id == "b-joint-staff"  # type: ignore[union-attr]
    assert operational_commander(twin_2020, "b-army").id == "b-joint-ops"  # type: ignore[union-attr]
    assert operational_commander(twin_2010, "a-head") is None


def test_operational_authority_skips_headquarters_without_forces(
    twin_2010: Structure, twin_2020: Structure
) -> None:
    # In 2010 the forces headquarters in Borea commands nothing: authority sits at the ocean command.
    assert operational_authority(twin_2010, "a-forces-borea").id == "a-ocean"
    assert operational_authority(twin_2020, "a-forces-borea").id == "a-forces-borea"
    with pytest.raises(NotFound):
        operational_authority(twin_2010, "coord-policy")


def test_unknown_organization_names_the_known_ones(twin_2010: Structure) -> None:
    with pytest.raises(UnknownId, match="a-ocean"):
        chain_of_command(twin_2010, "nowhere")
    with pytest.raises(UnknownId):
        coordination_route(twin_2010, "a-ocean", "nowhere")


def test_route_crosses_through_the_operations_body_with_the_clock_change(twin_2010: Structure) -> None:
    route = coordination_route(twin_2010, "a-ocean", "b-joint-staff")
    assert route.orgs == ("a-ocean", "coord-ops", "b-joint-staff")
    assert route.bodies == ("coord-ops",)
    assert [hop.via for hop in route.hops] == ["", "member-of", "member-of (reverse)"]
    assert route.cost == 2 * ROUTE_WEIGHTS[RelationKind.MEMBER_OF]
    # Honolulu (UTC-10) to Tokyo (UTC+9): one change of +19 hours.
    assert [hop.offset_text for hop in route.hops] == ["UTC-10:00", "UTC+09:00", "UTC+09:00"]
    (change,) = route.offset_changes
    assert (change.from_org, change.to_org, change.hours) == ("a-ocean", "coord-ops", 19)
    assert route.max_offset_spread == timedelta(hours=19)


def test_route_offsets_follow_daylight_saving_at_the_instant_given(twin_2010: Structure) -> None:
    winter = coordination_route(twin_2010, "a-head", "b-head", at=datetime(2015, 1, 15, tzinfo=UTC))
    summer = coordination_route(twin_2010, "a-head", "b-head", at=datetime(2015, 7, 15, tzinfo=UTC))
    assert winter.hops[0].utc_offset == timedelta(hours=-5)
    assert summer.hops[0].utc_offset == timedelta(hours=-4)
    assert winter.hops[-1].utc_offset == summer.hops[-1].utc_offset == timedelta(hours=9)


def test_route_default_instant_is_the_era_start_not_the_wall_clock(twin_2010: Structure) -> None:
    route = coordination_route(twin_2010, "a-head", "b-head")
    assert route.at == era_instant(twin_2010) == datetime(2010, 6, 1, 12, tzinfo=UTC)


def test_route_is_a_cheapest_path_and_uses_real_relations(twin_2020: Structure) -> None:
    import networkx as nx

    graph = route_graph(twin_2020)
    for a, b in [("a-head", "b-brigade"), ("a-marines", "b-navy"), ("a-embassy", "b-cabinet")]:
        route = coordination_route(twin_2020, a, b)
        assert route.cost == pytest.approx(nx.dijkstra_path_length(graph, a, b, weight="weight"))
        for before, hop in zip(route.hops, route.hops[1:], strict=False):
            assert hop.relation is not None
            assert {hop.relation.from_, hop.relation.to} == {before.org, hop.org}


def test_route_rejects_bad_queries(twin_2010: Structure) -> None:
    with pytest.raises(InvalidQuery, match="two different"):
        coordination_route(twin_2010, "a-ocean", "a-ocean")
    with pytest.raises(InvalidQuery, match="time zone"):
        coordination_route(twin_2010, "a-ocean", "b-army", at=datetime(2015, 1, 1))  # noqa: DTZ001
    isolated = twin_2010.model_copy(
        update={"relations": tuple(r for r in twin_2010.relations if "b-cabinet" not in (r.from_, r.to))}
    )
    with pytest.raises(NotFound, match="b-cabinet"):
        coordination_route(isolated, "a-ocean", "b-cabinet")


def test_format_offset() -> None:
    assert format_offset(timedelta(hours=9)) == "UTC+09:00"
    assert format_offset(timedelta(hours=-9, minutes=-30)) == "UTC-09:30"
    assert format_offset(None) == "?"


# -- the bundled U.S.-Japan structures --------------------------------------------------------------------


def test_2015_us_operational_route_runs_from_hawaii_through_the_acm() -> None:
    s = load_structure("us-japan-2015")
    us = operational_authority(s, "usfj")
    assert us.id == "indopacom"
    assert s.site_of(us.id).time_zone == "Pacific/Honolulu"  # type: ignore[union-attr]
    jp = operational_commander(s, "gsdf")
    assert jp is not None
    route = coordination_route(s, us.id, jp.id)
    assert route.bodies, "the 2015 route crosses between the nations through an ACM body"
    assert all(s.org(b).name.endswith("(ACM)") for b in route.bodies)
    assert [c.hours for c in route.offset_changes] == [19]


def test_2025_route_runs_between_usfj_and_jjoc_in_one_time_zone() -> None:
    s = load_structure("us-japan-2025")
    assert operational_authority(s, "usfj").id == "usfj"
    assert operational_commander(s, "gsdf").id == "jjoc"  # type: ignore[union-attr]
    route = coordination_route(s, "usfj", "jjoc")
    assert route.orgs[0] == "usfj"
    assert route.orgs[-1] == "jjoc"
    assert route.offset_changes == ()
    assert len(route.hops) <= 3


def test_2015_chain_of_the_marines_in_okinawa_runs_through_indopacom() -> None:
    s = load_structure("us-japan-2015")
    superiors = [link.superior for link in chain_of_command(s, "12th-mlr")]
    assert "indopacom" in superiors
    assert "usfj" not in superiors
    assert superiors[-1] == "us-president"


# -- properties over random hierarchies ---------------------------------------------------------------------


@st.composite
def hierarchies(draw: st.DrawFn) -> Structure:
    """One nation's organizations with random command, control and reporting lines (acyclic)."""
    count = draw(st.integers(2, 25))
    orgs = tuple(
        Organization(id=f"o{i}", name=f"Org {i}", nation="n", kind=OrgKind.COMMAND, assumption="test")
        for i in range(count)
    )
    relations: dict[str, Relation] = {}
    commanded: set[int] = set()
    for i in range(1, count):
        for kind in draw(st.lists(st.sampled_from(list(CHAIN_PRIORITY)), max_size=3, unique=True)):
            if kind is RelationKind.COMMANDS and i in commanded:
                continue
            j = draw(st.integers(0, i - 1))  # superiors come earlier, so the lines cannot form a cycle
            ends = (f"o{j}", f"o{i}") if kind.points_down else (f"o{i}", f"o{j}")
            rel = Relation(from_=ends[0], kind=kind, to=ends[1], assumption="test")
            relations[rel.key] = rel
            commanded |= {i} if kind is RelationKind.COMMANDS else set()
    return Structure(
        id="random",
        name="Random",
        era=Era(valid_from=date(2020, 1, 1)),
        nations=(Nation(id="n", name="N", code="XNN", assumption="test"),),
        organizations=orgs,
        relations=tuple(relations.values()),
    )


@settings(max_examples=100, deadline=None)
@given(hierarchies(), st.data())
def test_a_chain_is_the_preferred_link_at_each_level_and_ends_at_a_top(
    structure: Structure, data: st.DataObject
) -> None:
    org = data.draw(st.sampled_from([o.id for o in structure.organizations]))
    chain = chain_of_command(structure, org)
    visited = [org, *(link.superior for link in chain)]
    assert len(set(visited)) == len(visited)
    for link in chain:
        assert link.relation in structure.relations
        kinds = [other.kind for other in superiors(structure, link.subordinate)]
        assert CHAIN_PRIORITY.index(link.kind) == min(CHAIN_PRIORITY.index(k) for k in kinds)
    assert superiors(structure, visited[-1]) == ()
    # The chain above a superior is the rest of this chain.
    if chain:
        assert chain_of_command(structure, chain[0].superior) == chain[1:]
    commander = operational_commander(structure, org)
    assert (commander.id if commander else None) == (
        chain[0].superior if chain and chain[0].kind is RelationKind.COMMANDS else None
    )
