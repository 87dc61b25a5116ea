"""The issue's 'Done when': a U.S. user and Japanese users carry a request from filing to execution
through the API, with the law and the markings enforced at every step.

The request is the U.S. asking the MSDF to protect U.S. ships (asset protection, SDF Act Art. 95-2) in a
gray-zone situation, compiled in the us-japan-2025 structure: USFJ files the U.S. request, the ACM
relays it, the Defense Minister orders it, the JJOC orders the MSDF, and the MSDF reports it executed.
"""

from __future__ import annotations

from typing import Any

from tests.service.conftest import SECRET_BOTH, UNCLASS_BOTH, US_NOFORN, Client, Service

CRISIS = "taiwan-contingency"


def open_crisis(service: Service, situation: str = "gray-zone") -> None:
    """Open the exercise crisis CRISIS under a fixed id, as the demo's seed does (the API chooses ids)."""
    service.runtime.coordinator.open_crisis(
        service.runtime.directory.get("excon"),
        crisis_id=CRISIS,
        name="Taiwan contingency (exercise)",
        structure="us-japan-2025",
        situation=situation,
        exercise=True,
        marking=UNCLASS_BOTH,
    )


def us_isr(marking: dict[str, Any]) -> dict[str, Any]:
    """A U.S. request whose decision path stays within U.S. organizations (it may be NOFORN)."""
    return {
        "name": "III MEF ISR",
        "executor": "iii-mef",
        "actor": "us-forces",
        "activity": "isr",
        "marking": marking,
    }


def asset_protection(marking: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "MSDF protects U.S. ships",
        "executor": "msdf",
        "actor": "msdf",
        "activity": "asset-protection",
        "supported": "us-forces",
        "location": "high-seas-near-japan",
        "marking": marking,
    }


def act(client: Client, request_id: str, step: str, action: str, **body: Any) -> Any:
    return client.post(f"/api/requests/{request_id}/steps/{step}/actions", {"action": action, **body})


def test_a_request_goes_from_filing_to_execution_across_both_nations(service: Service) -> None:
    open_crisis(service)
    us = service.client("usfj-op")
    acg_jp = service.add_user("acg-jp", "JPN", "acm-acg", "operator")
    jp_mod_op = service.client("jp-mod-op")
    jp_mod = service.add_user("jp-mod-approver", "JPN", "jp-mod", "approver")
    jjoc = service.add_user("jjoc-op", "JPN", "jjoc", "operator")
    msdf = service.add_user("msdf-op", "JPN", "msdf", "operator")

    filed = us.post(f"/api/crises/{CRISIS}/requests", asset_protection(SECRET_BOTH.to_json()), key="ap-1")
    assert filed.status_code == 201, filed.text
    view = filed.json()
    request_id = view["request"]["id"]
    assert view["request"]["status"] == "filed"
    assert view["request"]["spec"]["requester"] == "usfj"
    assert view["request"]["marking"]["exercise"] is True, "exercise traffic is marked as such"
    assert view["request"]["verdict"]["missing"] == ["us-request", "defense-minister-order"]
    steps = [s["id"] for s in view["steps"]]
    assert steps == [
        "file-usfj",
        "relay-acm-acg",
        "defense-minister-order-jp-mod",
        "order-jjoc",
        "execute-msdf",
    ]
    # Filing again with the same key is the same filing.
    again = us.post(f"/api/crises/{CRISIS}/requests", asset_protection(SECRET_BOTH.to_json()), key="ap-1")
    assert again.json()["request"]["id"] == request_id

    # Nobody acts for an organization they are not a member of; nothing goes before its predecessors.
    assert act(jp_mod_op, request_id, "file-usfj", "coordinate").status_code == 403
    assert act(us, request_id, "defense-minister-order-jp-mod", "approve").status_code == 403
    early = act(msdf, request_id, "execute-msdf", "execute")
    assert early.status_code == 409
    assert early.json()["current"]["steps"]["execute-msdf"] == "waiting"

    assert act(us, request_id, "file-usfj", "coordinate").status_code == 200
    assert act(acg_jp, request_id, "relay-acm-acg", "coordinate").status_code == 200
    # An operator may not approve; only an approver of the granting organization may.
    assert act(jp_mod_op, request_id, "defense-minister-order-jp-mod", "approve").status_code == 403
    approved = act(jp_mod, request_id, "defense-minister-order-jp-mod", "approve")
    assert approved.status_code == 200
    assert approved.json()["request"]["status"] == "decided"
    record = approved.json()["steps"][2]["record"]
    assert record["actor"]["user"] == "jp-mod-approver"
    assert record["verdict"]["outcome"] == "permitted"
    assert act(jjoc, request_id, "order-jjoc", "order").status_code == 200
    executed = act(msdf, request_id, "execute-msdf", "execute")
    assert executed.status_code == 200, executed.text
    assert executed.json()["request"]["status"] == "executed"

    # Once executed it cannot be withdrawn; the U.S. and Japanese users see the same history.
    assert us.post(f"/api/requests/{request_id}/withdraw", {"reason": "late"}).status_code == 409
    for client in (us, jp_mod, service.client("jp-observer")):
        got = client.get(f"/api/requests/{request_id}").json()
        assert [s["status"] for s in got["steps"]] == ["done"] * 5
    events = us.get("/api/events", params={"limit": 1000}).json()
    acted = [e["event"] for e in events if e["type"] == "step-acted"]
    assert [e["actor"]["organization"] for e in acted] == ["usfj", "acm-acg", "jp-mod", "jjoc", "msdf"]
    assert all(e["rule"] and e["inputs"]["situation"] == "gray-zone" for e in acted)

    # A tasking under the decided request: the JJOC tasks an MSDF unit it commands; the unit moves it on.
    tasked = jjoc.post(
        f"/api/crises/{CRISIS}/taskings",
        {
            "unit": "msdf",
            "task": "escort the U.S. replenishment group",
            "request": request_id,
            "marking": UNCLASS_BOTH.to_json(),
        },
    )
    assert tasked.status_code == 201, tasked.text
    tasking = tasked.json()
    assert tasking["marking"]["level"] == "secret", "a derived object takes its parts' strictest marking"
    assert us.post(f"/api/taskings/{tasking['id']}/status", {"status": "acknowledged"}).status_code == 403
    assert msdf.post(f"/api/taskings/{tasking['id']}/status", {"status": "acknowledged"}).status_code == 200


def test_the_law_under_the_designation_in_force_is_enforced(service: Service) -> None:
    open_crisis(service, situation="gray-zone")
    us = service.client("usfj-op")
    body = asset_protection(SECRET_BOTH.to_json()) | {"activity": "use-of-force"}
    filed = us.post(f"/api/crises/{CRISIS}/requests", body)
    assert filed.status_code == 201, filed.text
    request = filed.json()["request"]
    assert request["status"] == "prohibited"
    assert request["verdict"]["outcome"] == "prohibited"
    first = filed.json()["steps"][0]["id"]
    assert act(us, request["id"], first, "coordinate").status_code == 409


def test_a_japanese_user_never_sees_a_us_noforn_object(service: Service) -> None:
    open_crisis(service)
    us = service.client("usfj-op")
    filed = us.post(f"/api/crises/{CRISIS}/requests", us_isr(US_NOFORN.to_json()))
    assert filed.status_code == 201
    hidden = filed.json()["request"]["id"]
    report = us.post(
        f"/api/crises/{CRISIS}/sitreps",
        {"title": "U.S. eyes only", "text": "force posture", "refs": [], "marking": US_NOFORN.to_json()},
    )
    assert report.status_code == 201
    jp = service.client("jp-observer")
    assert hidden not in [r["request"]["id"] for r in jp.get("/api/requests").json()]
    assert jp.get(f"/api/requests/{hidden}").status_code == 404
    assert jp.get(f"/api/sitreps/{report.json()['id']}").status_code == 404
    assert hidden not in jp.get(f"/api/exports/crises/{CRISIS}.json").text
    assert hidden in us.get(f"/api/exports/crises/{CRISIS}.json").text
