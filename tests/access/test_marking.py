"""Markings: levels are ordered, a combined marking never widens, visibility is monotone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from kizuna.access import Classification, Marking, Role, User, can_see, combine, filed_into, visible
from kizuna.errors import InvalidQuery

NATIONS = ["USA", "JPN", "KOR", "AUS"]
levels = st.sampled_from(list(Classification))
nations = st.sampled_from(NATIONS)


@st.composite
def markings(draw: st.DrawFn, exercise: bool | None = None) -> Marking:
    owner = draw(nations)
    world = draw(st.booleans()) if exercise is None else exercise
    if draw(st.booleans()):
        return Marking.national(draw(levels), owner, exercise=world)
    return Marking.releasable(draw(levels), owner, draw(st.frozensets(nations)), exercise=world)


def one_world(min_size: int, max_size: int) -> st.SearchStrategy[list[Marking]]:
    """Lists of markings of one world (all exercise or all real): the only lists combine() takes."""
    return st.booleans().flatmap(
        lambda world: st.lists(markings(world), min_size=min_size, max_size=max_size)
    )


@st.composite
def users(draw: st.DrawFn, clearance: st.SearchStrategy[Classification] = levels) -> User:
    return User(
        id="u1",
        name="Test User",
        nation=draw(nations),
        organization="some-org",
        role=draw(st.sampled_from(list(Role))),
        clearance=draw(clearance),
        active=draw(st.booleans()),
    )


def test_levels_are_ordered_by_rank_not_spelling() -> None:
    assert (
        Classification.UNCLASSIFIED
        < Classification.CONFIDENTIAL
        < Classification.SECRET
        < Classification.TOP_SECRET
    )
    # As strings, "unclassified" > "confidential"; as levels it is the other way round.
    assert Classification.UNCLASSIFIED < "confidential"
    assert str.__gt__(Classification.UNCLASSIFIED, "confidential")
    assert sorted(Classification, reverse=True)[0] is Classification.TOP_SECRET
    with pytest.raises(TypeError, match="cannot compare"):
        assert Classification.SECRET < 3  # type: ignore[operator]


def test_levels_have_national_names() -> None:
    assert Classification.TOP_SECRET.display() == "TOP SECRET"
    assert Classification.SECRET.display("JPN") == "極秘"
    assert Classification.SECRET.display("KOR") == "SECRET"  # unknown nations fall back to U.S. names


def test_the_owner_is_always_released_to() -> None:
    marking = Marking(level=Classification.SECRET, owner="USA", rel_to=frozenset({"JPN"}))
    assert marking.rel_to == {"USA", "JPN"}
    assert marking.banner() == "SECRET//REL TO USA, JPN"
    assert Marking.national(Classification.SECRET, "USA").banner() == "SECRET//NOFORN"
    assert (
        Marking.national(Classification.CONFIDENTIAL, "JPN", exercise=True).banner("JPN")
        == "EXERCISE//秘//NOFORN"
    )


def test_a_noforn_marking_cannot_name_foreign_nations() -> None:
    with pytest.raises(ValidationError, match="released to its owner USA only, not to \\['JPN'\\]"):
        Marking(level=Classification.SECRET, owner="USA", noforn=True, rel_to=frozenset({"JPN"}))


@pytest.mark.parametrize(
    "data",
    [
        {"level": "secret-ish", "owner": "USA"},
        {"level": "secret", "owner": "usa"},
        {"level": "secret", "owner": "USA", "colour": "red"},
    ],
)
def test_invalid_marking_json_is_refused_clearly(data: dict[str, str]) -> None:
    with pytest.raises(InvalidQuery, match="invalid marking"):
        Marking.from_json(data)


@given(markings())
def test_json_round_trips(marking: Marking) -> None:
    data = marking.to_json()
    assert data["rel_to"] == sorted(data["rel_to"])
    assert Marking.from_json(data) == marking


def test_exercise_and_real_parts_are_never_combined() -> None:
    real = Marking.national(Classification.SECRET, "USA")
    exercise = Marking.national(Classification.SECRET, "USA", exercise=True)
    with pytest.raises(InvalidQuery, match="exercise traffic never mixes"):
        combine(real, exercise)
    assert not exercise.at_least_as_restrictive_as(real)
    assert not real.at_least_as_restrictive_as(exercise)


def test_what_is_filed_into_an_exercise_is_exercise_traffic() -> None:
    exercise = Marking.national(Classification.SECRET, "USA", exercise=True)
    real = Marking.releasable(Classification.CONFIDENTIAL, "USA", frozenset({"JPN"}))
    assert filed_into(real, exercise) == real.model_copy(update={"exercise": True})
    assert filed_into(real, real.model_copy(update={"level": Classification.SECRET})) == real
    with pytest.raises(InvalidQuery, match="cannot be filed into a real crisis"):
        filed_into(exercise, real)


def test_combine_needs_a_marking() -> None:
    with pytest.raises(InvalidQuery, match="at least one marking"):
        combine()


def test_combining_a_us_releasable_and_a_japanese_noforn_part() -> None:
    us = Marking.releasable(Classification.SECRET, "USA", ["JPN"])
    jp = Marking.national(Classification.CONFIDENTIAL, "JPN")
    fused = combine(us, jp)
    assert fused.level is Classification.SECRET
    assert fused.owner is None
    assert fused.rel_to == {"JPN"}
    assert fused.noforn
    tanaka = User(
        id="tanaka",
        name="Tanaka",
        nation="JPN",
        organization="jjoc",
        role=Role.APPROVER,
        clearance=Classification.SECRET,
    )
    smith = tanaka.model_copy(update={"id": "smith", "nation": "USA"})
    assert can_see(tanaka, fused)
    assert not can_see(smith, fused)  # the Japanese part is not releasable to the U.S.


@given(one_world(1, 5))
def test_a_combined_marking_never_widens(parts: list[Marking]) -> None:
    fused = combine(*parts)
    for part in parts:
        assert fused.at_least_as_restrictive_as(part)


@given(one_world(1, 5), users())
def test_whoever_sees_a_combined_object_sees_every_part(parts: list[Marking], user: User) -> None:
    if can_see(user, combine(*parts)):
        assert all(can_see(user, part) for part in parts)


@given(one_world(1, 4), st.randoms())
def test_combine_is_order_free_and_idempotent(parts: list[Marking], rnd: object) -> None:
    shuffled = list(parts)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert combine(*shuffled) == combine(*parts)
    fused = combine(*parts)
    assert combine(fused, fused) == fused
    assert combine(*parts, fused) == fused


@given(markings(), users(), levels)
def test_visibility_is_monotone_in_clearance(marking: Marking, user: User, higher: Classification) -> None:
    if higher >= user.clearance and can_see(user, marking):
        assert can_see(user.model_copy(update={"clearance": higher}), marking)


@given(markings(), markings(), users())
def test_visibility_is_monotone_in_restriction(a: Marking, b: Marking, user: User) -> None:
    if a.at_least_as_restrictive_as(b) and can_see(user, a):
        assert can_see(user, b)


@given(st.lists(markings(), max_size=8), users())
def test_visible_keeps_exactly_what_can_be_seen_in_order(items: list[Marking], user: User) -> None:
    assert visible(user, items, lambda m: m) == [m for m in items if can_see(user, m)]
