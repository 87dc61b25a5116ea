"""The command fast path answers exactly as the FastAPI routes do, and leaves them everything else."""

from __future__ import annotations

from typing import Any

from tests.service.conftest import SECRET_BOTH, Service
from tests.service.test_end_to_end import CRISIS, asset_protection, open_crisis

from kizuna.service import fastpath

MEMBERS = {
    "usfj": "usfj-op",
    "acm-acg": "acg-jp",
    "jp-mod": "jp-mod-approver",
    "jjoc": "jjoc-op",
    "msdf": "msdf-op",
}


def _members(service: Service) -> None:
    service.add_user("acg-jp", "JPN", "acm-acg", "operator")
    service.add_user("jp-mod-approver", "JPN", "jp-mod", "approver")
    service.add_user("jjoc-op", "JPN", "jjoc", "operator")
    service.add_user("msdf-op", "JPN", "msdf", "operator")


def test_every_command_answer_is_byte_for_byte_what_the_route_answers(
    service: Service, monkeypatch: Any
) -> None:
    """Each answer of the fast path equals, byte for byte, the route's answer to reading the request
    (same view, same encoding); and every command is answered by the fast path, not passed on."""
    open_crisis(service)
    _members(service)
    answered: list[str] = []
    original = fastpath.CommandFastPath._answered

    async def counting(self: Any, scope: Any, *args: Any) -> bool:
        done = await original(self, scope, *args)
        if done:
            answered.append(scope["path"])
        return done

    monkeypatch.setattr(fastpath.CommandFastPath, "_answered", counting)
    us = service.client("usfj-op")
    filed = us.post(f"/api/crises/{CRISIS}/requests", asset_protection(SECRET_BOTH.to_json()), key="fp-1")
    assert filed.status_code == 201, filed.text
    request_id = filed.json()["request"]["id"]
    assert filed.content == us.get(f"/api/requests/{request_id}").content
    retried = us.post(f"/api/crises/{CRISIS}/requests", asset_protection(SECRET_BOTH.to_json()), key="fp-1")
    assert retried.content == filed.content
    for step in filed.json()["steps"]:
        member = service.client(MEMBERS[step["organization"]])
        action = {"approve": "approve", "order": "order", "execute": "execute"}.get(
            step["kind"], "coordinate"
        )
        acted = member.post(f"/api/requests/{request_id}/steps/{step['id']}/actions", {"action": action})
        assert acted.status_code == 200, acted.text
        assert acted.content == member.get(f"/api/requests/{request_id}").content
        assert acted.headers["content-type"] == "application/json"
        assert "content-security-policy" in acted.headers  # the security headers apply
    assert len(answered) == 2 + len(filed.json()["steps"])


def test_refusals_are_the_routes_errors(service: Service) -> None:
    """A refused command (by the law, a membership, a conflict) answers the documented error body."""
    open_crisis(service)
    _members(service)
    us = service.client("usfj-op")
    request_id = us.post(f"/api/crises/{CRISIS}/requests", asset_protection(SECRET_BOTH.to_json())).json()[
        "request"
    ]["id"]
    wrong = service.client("msdf-op").post(
        f"/api/requests/{request_id}/steps/file-usfj/actions", {"action": "coordinate"}
    )
    assert wrong.status_code == 403
    assert set(wrong.json()) == {"error", "detail", "current", "problems"}
    early = service.client("msdf-op").post(
        f"/api/requests/{request_id}/steps/execute-msdf/actions", {"action": "execute"}
    )
    assert early.status_code == 409
    assert early.json()["current"]["steps"]["execute-msdf"] == "waiting"
    missing = us.post("/api/requests/r-0000000000/steps/file-usfj/actions", {"action": "coordinate"})
    assert missing.status_code == 404


def test_what_the_fast_path_does_not_take_the_route_answers(service: Service) -> None:
    """Bad tokens, bodies, keys and ids, and session cookies, go on to the route and its answers."""
    open_crisis(service)
    us = service.client("usfj-op")
    url = f"/api/crises/{CRISIS}/requests"
    body = asset_protection(SECRET_BOTH.to_json())
    assert service.http.post(url, json=body, headers={"Authorization": "Bearer nope"}).status_code == 401
    token = service.tokens["usfj-op"]
    padded = "Bearer" + " " * (201 - len("Bearer") - len(token)) + token  # a good token, a header too long
    assert service.http.post(url, json=body, headers={"Authorization": padded}).status_code == 400
    assert us.post(url, {**body, "unknown": 1}).status_code == 422
    assert us.post(url, body, key="has space").status_code == 400
    broken = service.http.post(
        url, content=b'{"name": ', headers=us.headers | {"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert us.post(
        "/api/requests/" + "x" * 101 + "/steps/s/actions", {"action": "coordinate"}
    ).status_code in {
        404,
        422,
    }
    chunked = service.http.post(
        url, content=iter([b"{}"]), headers=us.headers | {"Content-Type": "application/json"}
    )
    assert chunked.status_code == 422  # no Content-Length: the route reads it (and finds fields missing)


def test_the_fast_path_answers_with_the_headers_and_errors_of_every_route(
    service: Service, monkeypatch: Any
) -> None:
    """In front of the middleware, the fast path applies what it skips: every security header the
    routes' answers carry, the body limit (413) and the error boundary (500 naming an incident)."""
    open_crisis(service)
    us = service.client("usfj-op")
    filed = us.post(f"/api/crises/{CRISIS}/requests", asset_protection(SECRET_BOTH.to_json()))
    read = us.get(f"/api/requests/{filed.json()['request']['id']}")
    security = {"content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options"}
    assert {name: filed.headers[name] for name in security} == {name: read.headers[name] for name in security}

    limit = service.app.state.runtime.settings.max_body_bytes
    padded = asset_protection(SECRET_BOTH.to_json()) | {"description": "x" * (limit + 1)}
    too_large = us.post(f"/api/crises/{CRISIS}/requests", padded)
    assert too_large.status_code == 413
    assert too_large.json()["error"] == "ContentTooLarge"

    def fails(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a defect")

    monkeypatch.setattr(service.app.state.runtime.views, "answer", fails)
    failed = us.post(f"/api/crises/{CRISIS}/requests", asset_protection(SECRET_BOTH.to_json()))
    assert failed.status_code == 500
    assert failed.json()["error"] == "InternalError"
    assert "incident" in failed.json()["detail"]
    assert "a defect" not in failed.text
