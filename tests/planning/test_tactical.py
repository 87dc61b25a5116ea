"""The tactical coordination center: a shortcut between member units that never skips an approval."""

from __future__ import annotations

from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kizuna.authority import FrameworkSet, Query, load_frameworks, rule
from kizuna.model import RequestSpec, Structure, load_structure
from kizuna.model.loading import bundled_dir
from kizuna.planning import compile_request, tactical_center

CENTERS = {"nansei-tcc-okinawa", "nansei-tcc-sakishima"}
WITHOUT = bundled_dir("scenarios") / "tactical-center" / "us-japan-2025-without-tcc.yaml"


@cache
def frameworks() -> FrameworkSet:
    return load_frameworks()


@cache
def structure(ref: str = "us-japan-2025") -> Structure:
    return load_structure(ref)


def isr(**changes: object) -> RequestSpec:
    fields: dict[str, object] = {
        "id": "isr-for-marines",
        "requester": "12th-mlr",
        "executor": "yonaguni-coast-observation-unit",
        "situation": "armed-attack",
        "actor": "gsdf",
        "activity": "isr",
        "supported": "us-forces",
        "location": "japan-territory",
    }
    fields.update(changes)
    return RequestSpec.model_validate(fields)


def test_the_2025_structure_has_the_assumed_centers_between_marines_and_gsdf() -> None:
    s = structure()
    for center in CENTERS:
        org = s.org(center)
        assert org.is_bilateral
        assert "tactical-tasking" in org.grants
        assert org.assumption
        # an assumption that says no public source describes it, naming no research notes
        assert "No public description" in org.assumption
        assert "[U]" in org.assumption
        assert "alliance-facts" not in org.assumption
    assert tactical_center(s, "12th-mlr", "yaeyama-area-security-force") == s.org("nansei-tcc-sakishima")
    assert tactical_center(s, "12th-mlr", "ardb") == s.org("nansei-tcc-okinawa")
    # two units of one nation stay in their national chain
    assert tactical_center(s, "yaeyama-area-security-force", "miyako-guard") is None
    # a unit that is not a member never takes the shortcut
    assert tactical_center(s, "iii-mef", "yaeyama-area-security-force") is None


def test_a_permitted_tasking_takes_the_center_instead_of_both_chains() -> None:
    path = compile_request(structure(), frameworks(), isr())
    assert [(s.organization, s.kind.value) for s in path.order()] == [
        ("12th-mlr", "coordinate"),
        ("nansei-tcc-sakishima", "coordinate"),
        ("yonaguni-coast-observation-unit", "execute"),
    ]
    assert path.by_id[path.decision_step].organization == "nansei-tcc-sakishima"
    assert any("Tactical route" in n for n in path.notes)
    # without the center the same request climbs both chains and crosses the operational commands
    long = compile_request(load_structure(WITHOUT), frameworks(), isr())
    orgs = [s.organization for s in long.order()]
    assert {"iii-mef", "usfj"} <= set(orgs)
    assert len(orgs) > 5


def test_a_tasking_that_needs_an_approval_goes_up_the_chains_and_says_why() -> None:
    request = isr(
        id="supply",
        executor="yaeyama-area-security-force",
        activity="supply",
        flags=("in-response-plan",),
        granted=("nsc-deliberation", "basic-response-plan"),
    )
    path = compile_request(structure(), frameworks(), request)
    assert not CENTERS & {s.organization for s in path.steps}
    assert "defense-minister-order" in path.approvals()
    note = next(n for n in path.notes if n.startswith("Not through nansei-tcc-sakishima"))
    assert "defense-minister-order" in note
    assert "attack-supplies-to-us-and-others" in note


def test_the_reverse_direction_takes_the_center_too() -> None:
    request = RequestSpec(
        id="cover",
        requester="miyako-guard",
        executor="12th-mlr",
        situation="armed-attack",
        actor="us-forces",
        activity="use-of-force",
        supported="japan",
        location="japan-territory",
        flags=("attack-occurred",),
    )
    path = compile_request(structure(), frameworks(), request)
    assert [s.organization for s in path.order()] == ["miyako-guard", "nansei-tcc-sakishima", "12th-mlr"]
    # Before the attack occurs (clear danger only) U.S. combat from Japan still needs prior consultation
    # (EON60; Treaty Art. V needs an actual attack): the shortcut is refused and the request goes up.
    before = compile_request(structure(), frameworks(), request.model_copy(update={"flags": frozenset()}))
    assert not CENTERS & {s.organization for s in before.steps}
    assert "prior-consultation" in before.approvals()
    assert any(n.startswith("Not through nansei-tcc-sakishima") for n in before.notes)


PAIRS = [
    ("12th-mlr", "yonaguni-coast-observation-unit", "gsdf"),
    ("12th-mlr", "yaeyama-area-security-force", "gsdf"),
    ("12th-mlr", "ardb", "gsdf"),
    ("miyako-guard", "12th-mlr", "us-forces"),
    ("amami-area-security-force", "12th-mlr", "us-forces"),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_path_through_a_center_contains_every_approval_the_ruling_requires(data: st.DataObject) -> None:
    """For every query between member units, the compiled path obtains what the ruling requires."""
    fw = frameworks()
    requester, executor, actor = data.draw(st.sampled_from(PAIRS))
    situation = data.draw(st.sampled_from(fw.vocabulary("situation")))
    activity = data.draw(st.sampled_from(fw.vocabulary("activity")))
    supported = data.draw(st.sampled_from(fw.vocabulary("supported")))
    location = data.draw(st.sampled_from(fw.vocabulary("location")))
    flags = data.draw(st.frozensets(st.sampled_from(fw.vocabulary("flags"))))
    granted = data.draw(st.frozensets(st.sampled_from(sorted(fw.approvals))))
    query = Query(
        situation=situation,
        actor=actor,
        activity=activity,
        supported=supported,
        location=location,
        flags=flags,
        granted=granted,
    )
    ruling = rule(fw, query)
    request = RequestSpec(
        id="tasking",
        requester=requester,
        executor=executor,
        situation=situation,
        actor=actor,
        activity=activity,
        supported=supported,
        location=location,
        flags=tuple(sorted(flags)),
        granted=tuple(sorted(granted)),
    )
    path = compile_request(structure(), fw, request)
    if ruling.prohibited:
        assert path.prohibited
        return
    obtained = set(path.approvals())
    assert set(ruling.missing) <= obtained, (ruling.missing, path.approvals())
    assert set(ruling.after) <= obtained, (ruling.after, path.approvals())
    through_center = bool(CENTERS & {s.organization for s in path.steps})
    # the shortcut is taken exactly when no approval is missing before acting
    assert through_center == (not ruling.missing)
    if through_center:
        # and nothing before the effect waits on an approval it skipped
        before_effect = [s for s in path.steps if not s.after_effect]
        assert [s.organization for s in before_effect][-1] == executor
