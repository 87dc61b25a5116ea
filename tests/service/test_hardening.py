"""What the adversarial review found, each as a story: idempotency keys, crisis ids, citations across
crises, requests nobody on their path may see, exercise control, separation of duties, and bad input
(headers, parameters, oversized bodies, unknown routes, failures) answered with the documented body.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from tests.service.conftest import PASSWORD, SECRET_BOTH, UNCLASS_BOTH, US_NOFORN, Service
from tests.service.test_end_to_end import CRISIS, act, asset_protection, open_crisis, us_isr

ERROR_KEYS = {"error", "detail", "current", "problems"}


def _error(response: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["error"] == error, body
    return body


# -- idempotency keys ----------------------------------------------------------------------------------


def test_a_retry_answers_what_the_first_write_answered_even_after_the_object_moved_on(
    service: Service,
) -> None:
    open_crisis(service)
    us = service.client("usfj-op")
    body = asset_protection(SECRET_BOTH.to_json())
    first = us.post(f"/api/crises/{CRISIS}/requests", body, key="file-1")
    assert first.status_code == 201
    request_id = first.json()["request"]["id"]
    assert act(us, request_id, "file-usfj", "coordinate").status_code == 200
    retry = us.post(f"/api/crises/{CRISIS}/requests", body, key="file-1")
    assert (retry.status_code, retry.text) == (first.status_code, first.text)
    assert len(us.get("/api/requests").json()) == 1, "the retry wrote nothing"
    # The same for an action: the retry of a done action answers as it did, not 409.
    acted = us.post(
        f"/api/requests/{request_id}/steps/relay-acm-acg/actions", {"action": "coordinate"}, key="a"
    )
    assert acted.status_code == 403  # a failed write does not consume its key
    coordinate = {"action": "coordinate"}
    url = f"/api/requests/{request_id}/withdraw"
    done = us.post(url, {"reason": "overtaken"}, key="w")
    assert done.status_code == 200
    again = us.post(url, {"reason": "overtaken"}, key="w")
    assert (again.status_code, again.text) == (200, done.text)
    assert us.post(f"/api/requests/{request_id}/steps/file-usfj/actions", coordinate).status_code == 409


def test_a_key_reused_for_another_route_object_or_body_is_refused(service: Service) -> None:
    open_crisis(service)
    us = service.client("usfj-op")
    body = asset_protection(SECRET_BOTH.to_json())
    assert us.post(f"/api/crises/{CRISIS}/requests", body, key="k").status_code == 201
    other_body = us.post(f"/api/crises/{CRISIS}/requests", body | {"name": "other"}, key="k")
    detail = _error(other_body, 422, "InvalidQuery")["detail"]
    assert "Idempotency-Key 'k' was already used for a different write" in detail
    report = {"title": "t", "refs": [], "marking": UNCLASS_BOTH.to_json()}
    other_route = us.post(f"/api/crises/{CRISIS}/sitreps", report, key="k")
    _error(other_route, 422, "InvalidQuery")
    assert us.get("/api/sitreps").json() == [], "nothing was written"
    # Keys are per user: another user may use the same key for its own write.
    assert (
        service.client("usfj-approver").post(f"/api/crises/{CRISIS}/sitreps", report, key="k").status_code
        == 201
    )


def test_a_reused_key_on_a_missing_id_is_not_found_not_a_crash(service: Service) -> None:
    open_crisis(service)
    us = service.client("usfj-op")
    request_id = us.post(f"/api/crises/{CRISIS}/requests", us_isr(UNCLASS_BOTH.to_json()), key="k").json()[
        "request"
    ]["id"]
    response = us.post("/api/requests/r-0000000000/withdraw", {"reason": "r"}, key="k")
    assert _error(response, 404, "NotFound")["detail"] == "no request 'r-0000000000'"
    response = us.post(f"/api/requests/{request_id}/withdraw", {"reason": "r"}, key="k")
    _error(response, 422, "InvalidQuery")


# -- crisis ids ----------------------------------------------------------------------------------------


def test_the_service_chooses_crisis_ids(service: Service) -> None:
    excon = service.client("excon")
    body = {
        "name": "drill",
        "structure": "us-japan-2025",
        "situation": "gray-zone",
        "marking": UNCLASS_BOTH.to_json(),
    }
    first = excon.post("/api/crises", body, key="open-1")
    assert first.status_code == 201
    assert first.json()["id"].startswith("c-")
    assert excon.post("/api/crises", body, key="open-1").json()["id"] == first.json()["id"]
    assert excon.post("/api/crises", body).json()["id"] != first.json()["id"]
    chosen = excon.post("/api/crises", body | {"id": first.json()["id"]})
    assert "the service chooses crisis ids" in _error(chosen, 422, "InvalidQuery")["detail"]


# -- what a report may cite ----------------------------------------------------------------------------


def test_a_report_cites_only_objects_of_its_own_crisis(service: Service) -> None:
    open_crisis(service)
    admin, us = service.client("admin"), service.client("usfj-op")
    real = admin.post(
        "/api/crises",
        {
            "name": "real",
            "structure": "us-japan-2025",
            "situation": "gray-zone",
            "exercise": False,
            "marking": UNCLASS_BOTH.to_json(),
        },
    ).json()["id"]
    exercise_request = us.post(f"/api/crises/{CRISIS}/requests", us_isr(UNCLASS_BOTH.to_json())).json()[
        "request"
    ]["id"]
    report = {"title": "real report", "refs": [exercise_request], "marking": UNCLASS_BOTH.to_json()}
    refused = us.post(f"/api/crises/{real}/sitreps", report)
    detail = _error(refused, 422, "InvalidQuery")["detail"]
    assert f"belongs to crisis {CRISIS!r}" in detail
    tasking = {"unit": "iii-mef", "task": "t", "request": exercise_request, "marking": UNCLASS_BOTH.to_json()}
    _error(us.post(f"/api/crises/{real}/taskings", tasking), 422, "InvalidQuery")
    assert us.post(f"/api/crises/{CRISIS}/sitreps", report).status_code == 201


# -- a request whose path cannot see it ----------------------------------------------------------------


def test_a_request_nobody_on_its_path_may_see_is_refused_at_filing(service: Service) -> None:
    open_crisis(service)
    us = service.client("usfj-op")
    refused = us.post(f"/api/crises/{CRISIS}/requests", asset_protection(US_NOFORN.to_json()))
    detail = _error(refused, 422, "InvalidQuery")["detail"]
    assert "cannot be carried" in detail
    assert "jp-mod (JPN)" in detail
    assert "release it to JPN" in detail
    assert us.get("/api/requests").json() == []
    # The same request released to Japan, or a NOFORN one whose path stays American, is filed.
    assert (
        us.post(f"/api/crises/{CRISIS}/requests", asset_protection(SECRET_BOTH.to_json())).status_code == 201
    )
    assert us.post(f"/api/crises/{CRISIS}/requests", us_isr(US_NOFORN.to_json())).status_code == 201


# -- exercise control ----------------------------------------------------------------------------------


def test_exercise_control_neither_sees_nor_opens_a_real_crisis(service: Service) -> None:
    admin, excon = service.client("admin"), service.client("excon")
    body = {
        "name": "real",
        "structure": "us-japan-2025",
        "situation": "gray-zone",
        "exercise": False,
        "marking": UNCLASS_BOTH.to_json(),
    }
    refused = excon.post("/api/crises", body)
    detail = _error(refused, 403, "PermissionDenied")["detail"]
    assert (
        detail == "excon is exercise control, which runs exercises only; a real crisis is opened by an admin"
    )
    real = admin.post("/api/crises", body).json()["id"]
    drill = excon.post("/api/crises", body | {"exercise": True}).json()["id"]
    assert [c["id"] for c in excon.get("/api/crises").json()] == [drill]
    _error(excon.get(f"/api/crises/{real}"), 404, "NotFound")
    _error(excon.get(f"/api/exports/crises/{real}.json"), 404, "NotFound")
    assert {c["id"] for c in admin.get("/api/crises").json()} == {real, drill}


# -- separation of duties ------------------------------------------------------------------------------


def test_a_filer_does_not_approve_their_own_request(service: Service) -> None:
    open_crisis(service)
    jp = service.add_user("jp-mod-approver", "JPN", "jp-mod", "approver")
    colleague = service.add_user("jp-mod-approver-2", "JPN", "jp-mod", "approver")
    us, acg = service.client("usfj-op"), service.add_user("acg-jp", "JPN", "acm-acg", "operator")
    body = {
        "name": "MSDF protects U.S. ships, filed in Tokyo",
        "executor": "msdf",
        "actor": "msdf",
        "activity": "asset-protection",
        "supported": "us-forces",
        "location": "high-seas-near-japan",
        "marking": SECRET_BOTH.to_json(),
    }
    filed = jp.post(f"/api/crises/{CRISIS}/requests", body)
    assert filed.status_code == 201, filed.text
    view = filed.json()
    approve = next(s for s in view["steps"] if s["kind"] == "approve" and s["organization"] == "jp-mod")
    indopacom = service.add_user("indopacom-approver", "USA", "indopacom", "approver")
    for step in view["steps"]:
        if step["id"] == approve["id"]:
            break
        member = {"usfj": us, "acm-acg": acg, "indopacom": indopacom}.get(step["organization"], jp)
        assert act(member, view["request"]["id"], step["id"], step["kind"]).status_code == 200
    own = act(jp, view["request"]["id"], approve["id"], "approve")
    assert "separation of duties" in _error(own, 403, "PermissionDenied")["detail"]
    denied = act(jp, view["request"]["id"], approve["id"], "deny", reason="changed my mind")
    _error(denied, 403, "PermissionDenied")
    approved = act(colleague, view["request"]["id"], approve["id"], "approve")
    assert approved.status_code == 200, approved.text
    record = next(s for s in approved.json()["steps"] if s["id"] == approve["id"])["record"]
    assert "coordination.filer-does-not-decide" in next(
        e["event"]["rule"]
        for e in us.get("/api/events", params={"limit": 1000}).json()
        if e["type"] == "step-acted" and e["event"]["step"] == approve["id"]
    )
    assert record["actor"]["user"] == "jp-mod-approver-2"


# -- bad input -----------------------------------------------------------------------------------------


def test_headers_and_parameters_are_parsed_strictly(service: Service) -> None:
    us = service.client("usfj-op")
    superscript = us.http.get("/api/events/stream", headers=us.headers | {"Last-Event-ID": "²".encode()})
    assert "Last-Event-ID" in _error(superscript, 400, "MalformedRequest")["detail"]
    for value in ("+1", " 1", "1_0", "１"):
        _error(us.get("/api/events", params={"after": value}), 422, "InvalidQuery")
    _error(us.get("/api/events/stream", params={"timeout_s": "nan"}), 422, "InvalidQuery")
    bad_key = us.http.post(
        f"/api/crises/{CRISIS}/sitreps",
        json={"title": "t", "marking": UNCLASS_BOTH.to_json()},
        headers=us.headers | {"Idempotency-Key": "has space"},
    )
    _error(bad_key, 400, "MalformedRequest")
    _error(us.get("/api/requests/" + "x" * 101), 422, "InvalidQuery")
    for authorization in ("Bearer " + "x" * 200, "Bearer t\u00f6ken"):  # too long; not ASCII
        garbled = us.http.get("/api/crises", headers={"Authorization": authorization.encode("latin-1")})
        assert "Authorization" in _error(garbled, 400, "MalformedRequest")["detail"]


def test_unknown_routes_bad_json_and_oversized_bodies_get_the_documented_body(service: Service) -> None:
    us = service.client("usfj-op")
    _error(us.get("/api/no-such-route"), 404, "NotFound")
    wrong = us.http.delete("/api/crises", headers=us.headers)
    body = _error(wrong, 405, "MethodNotAllowed")
    assert "GET, POST" in body["detail"] or "allowed:" in body["detail"]
    broken = us.http.post(
        "/api/auth/tokens", content=b'{"name": ', headers=us.headers | {"Content-Type": "application/json"}
    )
    _error(broken, 400, "MalformedRequest")
    limit = service.runtime.settings.max_body_bytes
    big = json.dumps({"name": "x" * (limit + 10)}).encode()
    declared = us.http.post(
        "/api/auth/tokens", content=big, headers=us.headers | {"Content-Type": "application/json"}
    )
    assert "KIZUNA_MAX_BODY_BYTES" in _error(declared, 413, "ContentTooLarge")["detail"]

    def chunks() -> Any:  # no Content-Length: the bytes read are counted
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    streamed = us.http.post(
        "/api/auth/tokens", content=chunks(), headers=us.headers | {"Content-Type": "application/json"}
    )
    _error(streamed, 413, "ContentTooLarge")


def test_a_failure_is_logged_with_its_traceback_and_answered_generically(
    service: Service, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the secret internals of a failure")

    monkeypatch.setattr(service.runtime.coordinator, "snapshot", broken)
    with caplog.at_level(logging.ERROR, logger="kizuna.service"):
        response = service.client("usfj-op").get("/api/crises")
    body = _error(response, 500, "InternalError")
    assert "secret internals" not in response.text
    incident = body["detail"].rsplit(" ", 1)[-1]
    assert f"incident {incident}" in caplog.text
    assert "the secret internals of a failure" in caplog.text
    assert "Traceback" in caplog.text


def test_logs_never_carry_a_password_or_token(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    http = service.http
    with caplog.at_level(logging.DEBUG):
        http.post("/api/auth/login", json={"username": "excon", "password": "wrong " + PASSWORD})
        login = http.post("/api/auth/login", json={"username": "excon", "password": PASSWORD})
        csrf = login.json()["csrf_token"]
        token = http.post(
            "/api/auth/tokens", json={"name": "logged?"}, headers={"X-CSRF-Token": csrf}
        ).json()["token"]
        http.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
        http.get("/api/users/me", headers={"Authorization": "Bearer kzn_wrong"})
        too_short = http.post("/api/auth/login", json={"username": "excon", "password": ""})
        assert too_short.status_code == 422
        http.cookies.clear()
    text = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert caplog.records, "the service did log something while this ran"
    for secret in (PASSWORD, token, csrf):
        assert secret not in text
