"""Credentials: streams end when their credential goes, tokens expire and are revoked, logins are throttled.

A stream is opened, then the credential behind it is taken away (logout, token revoked through the
API or the command line's directory, user deactivated, clearance lowered): the stream ends without
another event having to arrive. Tokens expire (by default and per token), are listed without the
secret, and revoked at once. Logins back off per account and per address on a clock the test drives,
and a flood of logins at the real argon2 cost never runs more password checks at once than the gate
allows while the health route keeps answering.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.service.conftest import PASSWORD, Clock, Service, build_service

from kizuna.access import Classification, LoginThrottle, Passwords, User
from kizuna.service import create_app
from kizuna.settings import Settings


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'k.db'}", sqlite_synchronous="NORMAL"
    )


def _open_stream(service: Service, headers: dict[str, str]) -> Callable[[], tuple[int, float]]:
    """Open a stream (60 s at most) in a thread; return a function that waits for its end."""
    before = service.runtime.hub.count
    pool = ThreadPoolExecutor(1)

    def run() -> tuple[int, float]:
        started = time.monotonic()
        with service.http.stream(
            "GET", "/api/events/stream", params={"timeout_s": 60}, headers=headers
        ) as response:
            assert response.status_code == 200
            for _ in response.iter_bytes():
                pass
        return response.status_code, time.monotonic() - started

    future = pool.submit(run)
    deadline = time.monotonic() + 20
    while service.runtime.hub.count <= before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert service.runtime.hub.count > before, "the stream is open"

    def wait() -> tuple[int, float]:
        result = future.result(timeout=30)
        pool.shutdown()
        return result

    return wait


def test_a_stream_ends_when_its_token_is_revoked(service: Service) -> None:
    us = service.client("usfj-op")
    token_id = service.runtime.directory.token_id(service.tokens["usfj-op"])
    ended = _open_stream(service, us.headers)
    other = service.client("usfj-approver")
    # Revoking someone else's token is a 404 like a missing one; the owner revokes its own.
    assert other.http.delete(f"/api/auth/tokens/{token_id}", headers=other.headers).status_code == 404
    revoked = us.http.delete(f"/api/auth/tokens/{token_id}", headers=us.headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked"] is True
    _, seconds = ended()
    assert seconds < 30, "the stream ended well before its own timeout"
    assert us.get("/api/users/me").status_code == 401


def test_a_stream_ends_at_logout_and_tokens_outlive_it(service: Service) -> None:
    http = service.http
    login = http.post("/api/auth/login", json={"username": "usfj-op", "password": PASSWORD})
    csrf = login.json()["csrf_token"]
    cookie = {"Cookie": f"kizuna_session={http.cookies.get('kizuna_session')}"}
    http.cookies.clear()
    ended = _open_stream(service, cookie)
    assert http.post("/api/auth/logout", headers=cookie | {"X-CSRF-Token": csrf}).status_code == 204
    ended()
    assert http.get("/api/users/me", headers=cookie).status_code == 401
    assert service.client("usfj-op").get("/api/users/me").status_code == 200, "the token still works"


@pytest.mark.parametrize("change", ["deactivated", "clearance lowered"])
def test_a_stream_ends_when_its_user_is_changed_by_another_process(service: Service, change: str) -> None:
    """A change made straight in the directory (as `kizuna user update` does) reaches open streams."""
    us = service.client("usfj-op")
    ended = _open_stream(service, us.headers)
    user = service.runtime.directory.get("usfj-op")
    update = {"active": False} if change == "deactivated" else {"clearance": Classification.CONFIDENTIAL}
    service.runtime.directory.update(user.model_copy(update=update))  # raises the epoch in the database
    ended()  # the service's poll (or NOTIFY on PostgreSQL) found the new epoch
    expected = 401 if change == "deactivated" else 200
    assert us.get("/api/users/me").status_code == expected


def test_tokens_expire_by_default_and_by_their_own_lifetime(tmp_path: Path) -> None:
    clock = Clock()
    for service in build_service(_settings(tmp_path).model_copy(update={"token_ttl_days": 30}), clock=clock):
        us = service.client("usfj-op")
        week = us.post("/api/auth/tokens", {"name": "week", "days": 7})
        assert week.status_code == 201
        listed = us.get("/api/auth/tokens").json()
        assert {t["name"] for t in listed} == {"tests", "week"}
        assert all("token" not in t for t in listed), "a listing never shows a token"
        default = next(t for t in listed if t["name"] == "tests")
        assert default["expires_at"] is not None
        weekly = {"Authorization": f"Bearer {week.json()['token']}"}
        assert service.http.get("/api/users/me", headers=weekly).status_code == 200
        clock.now += timedelta(days=8)
        service.runtime.credentials.changed()  # let the cache go (it keeps a credential for seconds)
        assert service.http.get("/api/users/me", headers=weekly).status_code == 401
        assert us.get("/api/users/me").status_code == 200
        clock.now += timedelta(days=23)
        service.runtime.credentials.changed()
        assert us.get("/api/users/me").status_code == 401, "the default lifetime ran out"


# -- login throttling ----------------------------------------------------------------------------------


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def throttled(tmp_path: Path) -> Iterator[tuple[Service, Ticks]]:
    ticks = Ticks()
    throttle = LoginThrottle(
        account_failures=3, address_failures=10, backoff_s=2, max_backoff_s=60, clock=ticks
    )
    app = create_app(_settings(tmp_path), Clock(), passwords=Passwords.fast(), throttle=throttle)
    with TestClient(app) as http:
        service = Service(app=app, runtime=app.state.runtime, http=http, tokens={})
        service.add_user("tanaka", "JPN", "jp-mod", "approver")
        yield service, ticks


def _login(service: Service, password: str, username: str = "tanaka") -> Any:
    return service.http.post("/api/auth/login", json={"username": username, "password": password})


def test_the_right_password_after_many_wrong_ones_is_throttled(throttled: tuple[Service, Ticks]) -> None:
    service, ticks = throttled
    for _ in range(3):
        assert _login(service, "wrong password").status_code == 401
    refused = _login(service, PASSWORD)
    assert refused.status_code == 429
    assert refused.json()["error"] == "Throttled"
    assert refused.headers["Retry-After"] == "2"
    ticks.now += 2.5
    assert _login(service, "wrong again").status_code == 401  # a fourth failure: 4 s now
    ticks.now += 3
    assert _login(service, PASSWORD).status_code == 429
    ticks.now += 1.5
    assert _login(service, PASSWORD).status_code == 200, "after the delay the right password works"
    assert _login(service, "wrong password").status_code == 401, "and a success opened the account again"


def test_an_address_is_throttled_across_accounts_and_unknown_names_alike(
    throttled: tuple[Service, Ticks],
) -> None:
    service, ticks = throttled
    for i in range(10):
        assert _login(service, "wrong password", username=f"nobody-{i}").status_code == 401
    refused = _login(service, PASSWORD)
    assert refused.status_code == 429
    assert "this address" in refused.json()["detail"]
    ticks.now += 2.5
    assert _login(service, PASSWORD).status_code == 200


def test_a_login_flood_is_bounded_and_the_service_stays_responsive(tmp_path: Path) -> None:
    """Forty concurrent wrong logins at the real argon2 cost: never more checks at once than the gate
    allows, the health route answers while they run, and the service is fine afterwards."""
    settings = _settings(tmp_path).model_copy(update={"login_concurrency": 2, "login_address_failures": 1000})
    app = create_app(settings, Clock(), passwords=Passwords.default())
    runtime = app.state.runtime
    with TestClient(app) as http:
        runtime.directory.add(
            User(
                id="flood", name="f", nation="USA", organization="usfj", role="operator", clearance="secret"
            ),
            PASSWORD,
        )
        gate = runtime.login
        health_during: list[int] = []

        def wrong(i: int) -> int:
            return http.post(
                "/api/auth/login", json={"username": f"user-{i}", "password": "wrong password"}
            ).status_code

        with ThreadPoolExecutor(40) as pool:
            futures = [pool.submit(wrong, i) for i in range(40)]
            while not all(f.done() for f in futures):
                if gate.checking:
                    health_during.append(http.get("/api/health").status_code)
                time.sleep(0.01)
            codes = [f.result() for f in futures]
        assert set(codes) <= {401, 429}
        assert gate.most_checking <= 2, "no more password checks at once than the gate allows"
        assert health_during, "health was asked while logins were checked"
        assert set(health_during) == {200}, "and answered"
        assert (
            http.post("/api/auth/login", json={"username": "flood", "password": PASSWORD}).status_code == 200
        )


def test_the_gate_refuses_beyond_its_queue(tmp_path: Path) -> None:
    settings = _settings(tmp_path).model_copy(update={"login_concurrency": 1})
    app = create_app(settings, Clock(), passwords=Passwords.default())
    app.state.runtime.login.queue = 2
    with TestClient(app) as http, ThreadPoolExecutor(12) as pool:
        codes = list(
            pool.map(
                lambda i: (
                    http.post(
                        "/api/auth/login", json={"username": f"u{i}", "password": "wrong password"}
                    ).status_code
                ),
                range(12),
            )
        )
    assert 429 in codes, "logins beyond the queue are refused at once"
    assert 401 in codes
