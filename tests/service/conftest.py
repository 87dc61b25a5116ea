"""Fixtures for the service: a real app over a real SQLite file (or PostgreSQL), users of both nations.

`service` builds the app with `create_app` on a fresh database with a clock the test drives, adds the
users in USERS (members of the organizations the tests act for) with API tokens, and gives a
`Client` per user: an httpx client on the ASGI app that authenticates with that user's token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kizuna.access import Classification, Marking, Passwords, User
from kizuna.service import Runtime, create_app
from kizuna.settings import Settings

PASSWORD = "correct horse battery"

#: (id, nation, organization, role): the people the tests act as.
USERS: tuple[tuple[str, str, str, str], ...] = (
    ("admin", "USA", "usfj", "admin"),
    ("excon", "USA", "usfj", "exercise-control"),
    ("usfj-op", "USA", "usfj", "operator"),
    ("usfj-approver", "USA", "usfj", "approver"),
    ("us-observer", "USA", "usfj", "observer"),
    ("jp-observer", "JPN", "jp-mod", "observer"),
    ("jp-mod-op", "JPN", "jp-mod", "operator"),
)

UNCLASS_BOTH = Marking.releasable(Classification.UNCLASSIFIED, "USA", ["JPN"])
SECRET_BOTH = Marking.releasable(Classification.SECRET, "USA", ["JPN"])
US_NOFORN = Marking.national(Classification.SECRET, "USA")
JP_ONLY = Marking.national(Classification.SECRET, "JPN")


class Clock:
    """A clock the test moves: starts at a fixed moment and advances a second per reading."""

    def __init__(self) -> None:
        self.now = datetime(2027, 4, 6, 5, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class Service:
    """A running app, its runtime and one authenticated client per user."""

    app: FastAPI
    runtime: Runtime
    http: TestClient
    tokens: dict[str, str]

    def client(self, user_id: str) -> Client:
        """Return a client that acts as `user_id`."""
        return Client(self.http, {"Authorization": f"Bearer {self.tokens[user_id]}"})

    def add_user(
        self, user_id: str, nation: str, organization: str, role: str, *, clearance: str = "secret"
    ) -> Client:
        """Add a user (with a password and a token) and return its client."""
        user = User(
            id=user_id,
            name=user_id,
            nation=nation,
            organization=organization,
            role=role,
            clearance=clearance,
        )
        self.runtime.directory.add(user, PASSWORD)
        self.tokens[user_id] = self.runtime.directory.issue_token(user_id, "tests")
        return self.client(user_id)


@dataclass
class Client:
    """An authenticated view of the test client."""

    http: TestClient
    headers: dict[str, str]

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.http.get(url, headers=self.headers, **kwargs)

    def post(self, url: str, json: Any = None, *, key: str | None = None, **kwargs: Any) -> Any:
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.http.post(url, json=json, headers=headers, **kwargs)


def build_service(settings: Settings, *, clock: Clock | None = None) -> Iterator[Service]:
    """Start the app on `settings` with the test users; close it at the end."""
    app = create_app(settings, clock or Clock(), passwords=Passwords.fast())
    runtime: Runtime = app.state.runtime
    with TestClient(app) as http:
        service = Service(app=app, runtime=runtime, http=http, tokens={})
        for user_id, nation, org, role in USERS:
            service.add_user(user_id, nation, org, role)
        yield service


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """A service on a fresh SQLite file."""
    yield from build_service(
        Settings(
            data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'kizuna.db'}", sqlite_synchronous="NORMAL"
        )
    )


@pytest.fixture
def make_service() -> Callable[[str], Iterator[Service]]:
    """Return a builder of services on a given database URL (for PostgreSQL runs)."""

    def make(url: str) -> Iterator[Service]:
        return build_service(Settings(database_url=url))

    return make
