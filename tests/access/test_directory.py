"""The user directory on a real database: accounts, logins, API tokens, sessions and CSRF."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from kizuna.access import Classification, Passwords, Role, User, UserDirectory
from kizuna.errors import ConflictError, InvalidQuery, PermissionDenied, UnknownId
from kizuna.store import open_store

T0 = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


TANAKA = User(
    id="tanaka",
    name="Tanaka Kenji",
    nation="JPN",
    organization="jjoc",
    role=Role.APPROVER,
    clearance=Classification.SECRET,
)
SMITH = User(
    id="smith",
    name="Alex Smith",
    nation="USA",
    organization="usfj",
    role=Role.OPERATOR,
    clearance=Classification.TOP_SECRET,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def directory(store_url: str, clock: FakeClock) -> Iterator[UserDirectory]:
    with open_store(store_url, listen=False) as store:
        directory = UserDirectory(
            store.engine, passwords=Passwords.fast(), clock=clock, session_ttl=timedelta(hours=1)
        )
        directory.add(TANAKA, "jjoc-desk-7431")
        directory.add(SMITH, None)
        yield directory


def test_users_are_added_listed_and_read_back(directory: UserDirectory) -> None:
    assert directory.users() == [SMITH, TANAKA]
    assert directory.get("tanaka") == TANAKA


def test_an_existing_id_is_a_conflict(directory: UserDirectory) -> None:
    with pytest.raises(ConflictError, match="user 'tanaka' already exists"):
        directory.add(TANAKA.model_copy(update={"name": "Someone Else"}), "another-password")


def test_an_unknown_user_is_named_with_the_known_ones(directory: UserDirectory) -> None:
    with pytest.raises(UnknownId, match="unknown user 'nobody'; known: smith, tanaka"):
        directory.get("nobody")


def test_short_passwords_are_refused(directory: UserDirectory) -> None:
    with pytest.raises(InvalidQuery, match="at least 8 characters"):
        directory.set_password("smith", "short")


def test_login_needs_the_right_password_of_an_active_user(directory: UserDirectory) -> None:
    assert directory.authenticate("tanaka", "jjoc-desk-7431") == TANAKA
    failures = []
    for user_id, password in [
        ("tanaka", "wrong-password"),
        ("nobody", "jjoc-desk-7431"),
        ("smith", "x" * 10),
    ]:
        with pytest.raises(PermissionDenied) as raised:
            directory.authenticate(user_id, password)
        failures.append(str(raised.value))
    assert set(failures) == {"invalid credentials"}  # the answer does not tell which user ids exist
    directory.update(TANAKA.model_copy(update={"active": False}))
    with pytest.raises(PermissionDenied):
        directory.authenticate("tanaka", "jjoc-desk-7431")


def test_a_password_hashed_at_an_old_cost_is_rehashed_at_login(
    directory: UserDirectory, store_url: str
) -> None:
    stronger = UserDirectory(
        directory.engine,
        passwords=Passwords(PasswordHasher(time_cost=2, memory_cost=8 * 1024, parallelism=1)),
    )
    stronger.authenticate("tanaka", "jjoc-desk-7431")
    from sqlalchemy import select

    from kizuna.access.directory import users_table

    with directory.engine.connect() as connection:
        stored = connection.execute(
            select(users_table.c.password_hash).where(users_table.c.id == "tanaka")
        ).scalar_one()
    assert not stronger.passwords.needs_rehash(stored)
    assert stronger.authenticate("tanaka", "jjoc-desk-7431") == TANAKA


def test_api_tokens_act_as_their_user_until_revoked_or_expired(
    directory: UserDirectory, clock: FakeClock
) -> None:
    forever = directory.issue_token("smith", "automation")
    day = directory.issue_token("tanaka", "one day", ttl=timedelta(days=1))
    assert directory.user_for_token(forever) == SMITH
    assert directory.user_for_token(day) == TANAKA
    clock.now += timedelta(days=2)
    with pytest.raises(PermissionDenied):
        directory.user_for_token(day)
    assert directory.revoke_token(forever)
    with pytest.raises(PermissionDenied):
        directory.user_for_token(forever)
    with pytest.raises(PermissionDenied):
        directory.user_for_token("kzn_made-up")
    listed = directory.tokens("smith")
    assert [(t.name, t.revoked) for t in listed] == [("automation", True)]


def test_tokens_are_stored_only_as_digests(directory: UserDirectory) -> None:
    from sqlalchemy import select

    from kizuna.access.directory import tokens_table

    token = directory.issue_token("smith", "automation")
    with directory.engine.connect() as connection:
        stored = connection.execute(select(tokens_table.c.token_hash)).scalars().all()
    assert token not in stored
    assert all(token not in value for value in stored)


def test_sessions_carry_a_csrf_token_and_expire(directory: UserDirectory, clock: FakeClock) -> None:
    started = directory.start_session(TANAKA)
    found = directory.session(started.session_id)
    assert found.user == TANAKA
    assert found.csrf_token == started.csrf_token
    found.check_csrf(started.csrf_token)
    for bad in (None, "", "0" * 64):
        with pytest.raises(PermissionDenied, match="CSRF"):
            found.check_csrf(bad)
    clock.now += timedelta(hours=2)
    with pytest.raises(PermissionDenied):
        directory.session(started.session_id)


def test_ending_a_session_logs_out(directory: UserDirectory) -> None:
    started = directory.start_session(TANAKA)
    directory.end_session(started.session_id)
    with pytest.raises(PermissionDenied):
        directory.session(started.session_id)
