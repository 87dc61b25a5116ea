"""Writes never tell a hidden object from a missing one.

Every write route the OpenAPI document lists is called, for several users who may not see some
objects (a Japanese approver, a U.S. operator cleared only to CONFIDENTIAL, exercise control facing a
real crisis, a deactivated user), once naming an object the user may not see and once naming an id
that nothing has, in every place a route takes an id (the path, a request cited by a tasking, a
report's references, a crisis id in the body, another user's token). The two answers must be the same,
status and body, byte for byte once the id itself is blotted out; and the same again when the request
carries an idempotency key the user already used for another write.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.service.conftest import UNCLASS_BOTH, US_NOFORN, Client, Service
from tests.service.test_end_to_end import CRISIS, asset_protection, open_crisis, us_isr

WRITES = {"post", "put", "patch", "delete"}


@dataclass(frozen=True)
class Slot:
    """One place a write route takes an id: which kind, and how to build the call with it."""

    kind: str  # crisis, request, tasking, token, exercise, sensor, intel-report
    call: Callable[[Client, str, dict[str, str]], Any]


def _slots() -> dict[tuple[str, str], list[Slot]]:
    """For every write route: where it takes ids (an empty list: the route names no object)."""

    def post(url: str, body: dict[str, Any]) -> Callable[[Client, str, dict[str, str]], Any]:
        def call(client: Client, object_id: str, headers: dict[str, str]) -> Any:
            return client.http.post(
                url.format(id=object_id),
                json=_fill(body, object_id),
                headers=client.headers | headers,
            )

        return call

    sitrep = {"title": "t", "refs": [], "marking": UNCLASS_BOTH.to_json()}
    exercise = {
        "id": "{id}",
        "name": "n",
        "scenario": "dprk-missile-launch",
        "structure": "us-japan-2025",
        "situation": "gray-zone",
        "marking": UNCLASS_BOTH.to_json(),
        "msel": [],
    }
    tasking = {"unit": "iii-mef", "task": "t", "marking": UNCLASS_BOTH.to_json()}
    return {
        ("post", "/api/auth/login"): [],
        ("post", "/api/auth/logout"): [],
        ("post", "/api/auth/tokens"): [],
        ("delete", "/api/auth/tokens/{token_id}"): [
            Slot(
                "token",
                lambda c, i, h: c.http.delete(f"/api/auth/tokens/{i}", headers=c.headers | h),
            )
        ],
        ("post", "/api/crises"): [
            Slot(
                "crisis",
                post(
                    "/api/crises",
                    {
                        "id": "{id}",
                        "name": "n",
                        "structure": "us-japan-2025",
                        "situation": "gray-zone",
                        "marking": UNCLASS_BOTH.to_json(),
                    },
                ),
            )
        ],
        ("post", "/api/crises/{crisis_id}/requests"): [
            Slot("crisis", post("/api/crises/{id}/requests", asset_protection(UNCLASS_BOTH.to_json())))
        ],
        ("post", "/api/requests/{request_id}/withdraw"): [
            Slot("request", post("/api/requests/{id}/withdraw", {"reason": "r"}))
        ],
        ("post", "/api/requests/{request_id}/steps/{step_id}/actions"): [
            Slot("request", post("/api/requests/{id}/steps/file-usfj/actions", {"action": "coordinate"}))
        ],
        ("post", "/api/crises/{crisis_id}/taskings"): [
            Slot("crisis", post("/api/crises/{id}/taskings", tasking)),
            Slot("request", post(f"/api/crises/{CRISIS}/taskings", tasking | {"request": "{id}"})),
        ],
        ("post", "/api/taskings/{tasking_id}/status"): [
            Slot("tasking", post("/api/taskings/{id}/status", {"status": "cancelled"}))
        ],
        ("post", "/api/exercises"): [Slot("crisis", post("/api/exercises", exercise))],
        ("post", "/api/exercises/msel-check"): [],
        ("post", "/api/exercises/{exercise_id}/clock"): [
            Slot("exercise", post("/api/exercises/{id}/clock", {"action": "start", "speed": 1}))
        ],
        ("post", "/api/exercises/{exercise_id}/injects"): [
            Slot(
                "exercise",
                post("/api/exercises/{id}/injects", {"serial": "P1", "event": "e", "to": ["usfj"]}),
            )
        ],
        ("post", "/api/exercises/{exercise_id}/injects/{serial}/file"): [
            Slot("exercise", post("/api/exercises/{id}/injects/001/file", {}))
        ],
        ("post", "/api/exercises/{exercise_id}/observations"): [
            Slot("exercise", post("/api/exercises/{id}/observations", {"objective": "o", "text": "t"}))
        ],
        ("post", "/api/crises/{crisis_id}/sitreps"): [
            Slot("crisis", post("/api/crises/{id}/sitreps", sitrep)),
            Slot("request", post(f"/api/crises/{CRISIS}/sitreps", sitrep | {"refs": ["{id}"]})),
            Slot("tasking", post(f"/api/crises/{CRISIS}/sitreps", sitrep | {"refs": ["{id}"]})),
        ],
        **_intel_slots(post),
    }


def _intel_slots(
    post: Callable[[str, dict[str, Any]], Callable[[Client, str, dict[str, str]], Any]],
) -> dict[tuple[str, str], list[Slot]]:
    """The intelligence routes: sensors, their scans and releases, reports and their tearlines."""
    marking = UNCLASS_BOTH.to_json()
    scan = {
        "time": "2027-04-06T05:00:00+00:00",
        "reports": [{"lat": 25.7, "lon": 123.5, "sigma_m": [50, 50, 20]}],
    }
    report = {"title": "t", "text": "x", "reliability": "B", "credibility": "2", "marking": marking}
    release = {"marking": marking, "start": "2027-04-06T05:00:00+00:00", "reason": "r"}
    tearline = {"title": "t", "text": "x", "marking": marking, "reason": "r"}
    sensor = {"name": "n", "kind": "radar", "marking": marking}
    return {
        ("post", "/api/crises/{crisis_id}/sensors"): [
            Slot("crisis", post("/api/crises/{id}/sensors", sensor)),
            Slot("sensor", post(f"/api/crises/{CRISIS}/sensors", sensor | {"id": "{id}"})),  # refused
        ],
        ("post", "/api/intel/sensors/{sensor_id}/scans"): [
            Slot("sensor", post("/api/intel/sensors/{id}/scans", scan))
        ],
        ("post", "/api/intel/sensors/{sensor_id}/releases"): [
            Slot("sensor", post("/api/intel/sensors/{id}/releases", release))
        ],
        ("post", "/api/crises/{crisis_id}/intel-reports"): [
            Slot("crisis", post("/api/crises/{id}/intel-reports", report))
        ],
        ("post", "/api/intel/reports/{report_id}/tearlines"): [
            Slot("intel-report", post("/api/intel/reports/{id}/tearlines", tearline))
        ],
    }


def _fill(body: Any, object_id: str) -> Any:
    if isinstance(body, dict):
        return {k: _fill(v, object_id) for k, v in body.items()}
    if isinstance(body, list):
        return [_fill(v, object_id) for v in body]
    return object_id if body == "{id}" else body


def _missing(kind: str) -> str:
    """An id of the same shape as the hidden one that nothing has."""
    prefix = {
        "crisis": "c-",
        "request": "r-",
        "tasking": "t-",
        "token": "",
        "exercise": "ex-",
        "sensor": "s-",
        "intel-report": "ir-",
    }[kind]
    return prefix + secrets.token_hex(8 if kind == "token" else 5)


def _seed(service: Service) -> dict[str, dict[str, list[str]]]:
    """Make the objects; return, for each probing user, the ids of each kind it may not see."""
    open_crisis(service)
    us, excon, admin = service.client("usfj-op"), service.client("excon"), service.client("admin")
    hidden_crisis = excon.post(
        "/api/crises",
        {
            "name": "U.S. planning",
            "structure": "us-japan-2025",
            "situation": "gray-zone",
            "marking": US_NOFORN.to_json(),
        },
    ).json()["id"]
    secret_shared = us.post(
        f"/api/crises/{CRISIS}/requests", asset_protection(UNCLASS_BOTH.to_json()) | {"marking": _secret()}
    ).json()["request"]["id"]
    noforn_request = us.post(f"/api/crises/{CRISIS}/requests", us_isr(US_NOFORN.to_json())).json()["request"][
        "id"
    ]
    noforn_tasking = us.post(
        f"/api/crises/{CRISIS}/taskings",
        {"unit": "iii-mef", "task": "prepare", "marking": US_NOFORN.to_json()},
    ).json()["id"]
    real = admin.post(
        "/api/crises",
        {
            "name": "Real crisis",
            "structure": "us-japan-2025",
            "situation": "gray-zone",
            "exercise": False,
            "marking": UNCLASS_BOTH.to_json(),
        },
    )
    assert real.status_code == 201, real.text
    real_crisis = real.json()["id"]
    real_request = us.post(f"/api/crises/{real_crisis}/requests", us_isr(UNCLASS_BOTH.to_json())).json()[
        "request"
    ]["id"]
    real_tasking = us.post(
        f"/api/crises/{real_crisis}/taskings",
        {"unit": "iii-mef", "task": "real", "marking": UNCLASS_BOTH.to_json()},
    ).json()["id"]
    others_token = service.runtime.directory.token_id(service.tokens["usfj-op"])
    us_exercise = excon.post(
        "/api/exercises",
        {
            "id": "us-only-ex",
            "name": "U.S. exercise",
            "scenario": "dprk-missile-launch",
            "structure": "us-japan-2025",
            "situation": "gray-zone",
            "marking": US_NOFORN.to_json(),
            "msel": [],
        },
    )
    assert us_exercise.status_code == 201, us_exercise.text
    intel = _seed_intel(service, real_crisis)
    foreign = {
        "crisis": [hidden_crisis],
        "request": [noforn_request],
        "tasking": [noforn_tasking],
        "token": [others_token],
        "exercise": ["us-only-ex"],
        "sensor": [intel["noforn-sensor"]],
        "intel-report": [intel["noforn-report"]],
    }
    return {
        "jp-mod-approver": foreign,
        "us-low": {
            "crisis": [hidden_crisis],
            "request": [secret_shared, noforn_request],
            "tasking": [noforn_tasking],
            "token": [others_token],
            "exercise": ["us-only-ex"],
            "sensor": [intel["secret-sensor"], intel["noforn-sensor"]],
            "intel-report": [intel["secret-report"], intel["noforn-report"]],
        },
        "excon": {
            "crisis": [real_crisis],
            "request": [real_request],
            "tasking": [real_tasking],
            "token": [others_token],
            "exercise": [real_crisis],  # a real crisis is no exercise to exercise control
            "sensor": [intel["real-sensor"]],
            "intel-report": [intel["real-report"]],
        },
        "us-inactive": foreign,
    }


def _seed_intel(service: Service, real_crisis: str) -> dict[str, str]:
    """Sensors and reports each probing user may not see: U.S. NOFORN, SECRET, in the real crisis."""
    us = service.client("usfj-op")
    made: dict[str, str] = {}
    for name, crisis, marking in (
        ("noforn", CRISIS, US_NOFORN.to_json()),
        ("secret", CRISIS, _secret()),
        ("real", real_crisis, UNCLASS_BOTH.to_json()),
    ):
        sensor = us.post(
            f"/api/crises/{crisis}/sensors",
            {"name": name, "kind": "radar", "marking": marking},
        )
        assert sensor.status_code == 201, sensor.text
        made[f"{name}-sensor"] = sensor.json()["id"]
        report = us.post(
            f"/api/crises/{crisis}/intel-reports",
            {"title": name, "text": name, "reliability": "B", "credibility": "2", "marking": marking},
        )
        assert report.status_code == 201, report.text
        made[f"{name}-report"] = report.json()["report"]["id"]
    return made


def _secret() -> dict[str, Any]:
    return UNCLASS_BOTH.to_json() | {"level": "secret"}


def _blot(text: str, object_id: str) -> str:
    return text.replace(object_id, "<ID>")


def test_every_write_route_answers_a_hidden_id_exactly_like_a_missing_one(service: Service) -> None:
    service.add_user("jp-mod-approver", "JPN", "jp-mod", "approver")
    service.add_user("us-low", "USA", "usfj", "operator", clearance="confidential")
    service.add_user("us-inactive", "USA", "usfj", "approver")
    hidden = _seed(service)
    inactive = service.runtime.directory.get("us-inactive")
    service.runtime.directory.update(inactive.model_copy(update={"active": False}))

    # Each user has already used an idempotency key for a write of its own.
    used = {
        "jp-mod-approver": lambda c: c.post(f"/api/crises/{CRISIS}/sitreps", _own_report(), key="used"),
        "us-low": lambda c: c.post(f"/api/crises/{CRISIS}/sitreps", _own_report(), key="used"),
        "excon": lambda c: c.post(
            "/api/crises",
            {
                "name": "x",
                "structure": "us-japan-2025",
                "situation": "gray-zone",
                "marking": UNCLASS_BOTH.to_json(),
            },
            key="used",
        ),
    }
    for user_id, write in used.items():
        assert write(service.client(user_id)).status_code == 201, user_id

    routes = {
        (method, path)
        for path, operations in service.app.openapi()["paths"].items()
        for method in operations
        if method in WRITES
    }
    slots = _slots()
    assert routes == set(slots), f"routes the probe does not know: {sorted(routes - set(slots))}"

    probed = 0
    for user_id, ids in hidden.items():
        client = service.client(user_id)
        for route, route_slots in slots.items():
            for slot in route_slots:
                for hidden_id in ids[slot.kind]:
                    missing_id = _missing(slot.kind)
                    for headers in ({}, {"Idempotency-Key": "used"}):
                        a = slot.call(client, hidden_id, headers)
                        b = slot.call(client, missing_id, headers)
                        where = (user_id, route, slot.kind, headers)
                        assert a.status_code < 500, (where, a.text)
                        assert a.status_code == b.status_code, (where, a.text, b.text)
                        assert _blot(a.text, hidden_id) == _blot(b.text, missing_id), where
                        if user_id != "us-inactive":  # (a role that may not write at all: 403 to both)
                            assert a.status_code in {403, 404, 422}, (where, a.text)
                        probed += 1
    assert probed > 60


def _own_report() -> dict[str, Any]:
    return {"title": "own", "refs": [], "marking": UNCLASS_BOTH.to_json()}


def test_the_probe_would_see_a_difference(service: Service) -> None:
    """The comparison is not vacuous: a visible object answers differently from a missing one."""
    open_crisis(service)
    us = service.client("usfj-op")
    visible = us.post(f"/api/crises/{CRISIS}/requests", us_isr(UNCLASS_BOTH.to_json())).json()["request"][
        "id"
    ]
    jp = service.add_user("jp-mod-approver", "JPN", "jp-mod", "approver")
    a = jp.post(f"/api/requests/{visible}/withdraw", {"reason": "r"})
    b = jp.post(f"/api/requests/{_missing('request')}/withdraw", {"reason": "r"})
    assert (a.status_code, b.status_code) == (403, 404)
    assert re.search("withdraw", a.text)
