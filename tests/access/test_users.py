"""Users and the visibility rule, case by case."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kizuna.access import Classification, Marking, Role, User, can_see

C, S, TS = Classification.CONFIDENTIAL, Classification.SECRET, Classification.TOP_SECRET


def _user(nation: str, clearance: Classification, *, active: bool = True) -> User:
    return User(
        id=f"user-{nation.lower()}",
        name="Test",
        nation=nation,
        organization="acm",
        role=Role.OPERATOR,
        clearance=clearance,
        active=active,
    )


@pytest.mark.parametrize(
    ("user", "marking", "seen"),
    [
        (_user("USA", S), Marking.national(S, "USA"), True),
        (_user("JPN", TS), Marking.national(S, "USA"), False),  # NOFORN: owner only, whatever the clearance
        (_user("JPN", S), Marking.releasable(S, "USA", ["JPN"]), True),
        (_user("JPN", C), Marking.releasable(S, "USA", ["JPN"]), False),  # not cleared
        (_user("KOR", TS), Marking.releasable(C, "USA", ["JPN"]), False),  # not released to KOR
        (_user("USA", S, active=False), Marking.national(C, "USA"), False),  # inactive users see nothing
        (_user("JPN", C), Marking.releasable(C, "USA", ["JPN"], exercise=True), True),
    ],
)
def test_can_see(user: User, marking: Marking, seen: bool) -> None:
    assert can_see(user, marking) is seen


def test_roles_say_who_writes_and_who_approves() -> None:
    assert [r for r in Role if not r.can_write] == [Role.OBSERVER]
    assert [r for r in Role if r.can_approve] == [Role.APPROVER]


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", "Not Kebab"), ("nation", "Japan"), ("role", "boss"), ("clearance", "cosmic"), ("name", "")],
)
def test_invalid_users_are_refused_naming_the_field(field: str, value: str) -> None:
    data = _user("JPN", S).model_dump() | {field: value}
    with pytest.raises(ValidationError, match=field):
        User.model_validate(data)
