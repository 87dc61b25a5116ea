"""Authentication: tokens, sessions with CSRF, and nothing without credentials."""

from __future__ import annotations

from tests.service.conftest import PASSWORD, Service


def test_requests_without_credentials_are_refused(service: Service) -> None:
    for url in (
        "/api/users/me",
        "/api/crises",
        "/api/requests",
        "/api/events",
        "/api/taskings",
        "/api/sitreps",
    ):
        response = service.http.get(url)
        assert response.status_code == 401, url
    assert service.http.get("/api/users/me", headers={"Authorization": "Bearer kzn_nope"}).status_code == 401
    assert service.http.get("/api/users/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_a_token_authenticates_as_its_user(service: Service) -> None:
    me = service.client("jp-mod-op").get("/api/users/me").json()
    assert (me["id"], me["nation"], me["organization"], me["role"]) == (
        "jp-mod-op",
        "JPN",
        "jp-mod",
        "operator",
    )


def test_login_sets_a_session_and_writes_need_the_csrf_token(service: Service) -> None:
    http = service.http
    assert (
        http.post("/api/auth/login", json={"username": "excon", "password": "wrong password"}).status_code
        == 401
    )
    response = http.post("/api/auth/login", json={"username": "excon", "password": PASSWORD})
    assert response.status_code == 200
    csrf = response.json()["csrf_token"]
    assert "httponly" in response.headers["set-cookie"].lower()
    assert http.get("/api/users/me").json()["id"] == "excon"
    body = {"name": "a token"}
    assert http.post("/api/auth/tokens", json=body).status_code == 403
    assert http.post("/api/auth/tokens", json=body, headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    made = http.post("/api/auth/tokens", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    token = made.json()["token"]
    assert http.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    http.cookies.clear()
    assert http.get("/api/users/me").status_code == 401
    assert http.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).json()["id"] == "excon"
