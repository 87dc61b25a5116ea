"""Markings are enforced at the egress of every endpoint, the stream and the exports.

A U.S. user creates NOFORN objects of every kind (a crisis of its own, and a request, a tasking and a
situation report in a shared crisis), each carrying a secret phrase. Then every GET route the OpenAPI
document lists is called by a Japanese user with every object id, and the event stream is read from
the start: neither a hidden id nor the phrase ever appears, while the U.S. user does see them (so the
test could fail). Writes fare the same: a Japanese user acting on a hidden object is told it does not
exist, and nobody acts for an organization they are not a member of.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from tests.service.conftest import SECRET_BOTH, UNCLASS_BOTH, US_NOFORN, Client, Service
from tests.service.test_end_to_end import CRISIS, act, asset_protection, open_crisis, us_isr

PHRASE = "EYES-ONLY-7731"


def _seed(service: Service) -> dict[str, Any]:
    """Create visible and hidden objects; return their ids."""
    open_crisis(service)
    us = service.client("usfj-op")
    excon = service.client("excon")
    made = excon.post(
        "/api/crises",
        {
            "name": f"U.S. planning {PHRASE}",
            "structure": "us-japan-2025",
            "situation": "gray-zone",
            "marking": US_NOFORN.to_json(),
        },
    )
    assert made.status_code == 201, made.text
    hidden_crisis = made.json()["id"]
    shared = us.post(f"/api/crises/{CRISIS}/requests", asset_protection(SECRET_BOTH.to_json())).json()[
        "request"
    ]
    hidden_request = us.post(
        f"/api/crises/{CRISIS}/requests", us_isr(US_NOFORN.to_json()) | {"note": PHRASE}
    ).json()["request"]
    tasking = us.post(
        f"/api/crises/{CRISIS}/taskings",
        {"unit": "iii-mef", "task": f"prepare {PHRASE}", "marking": US_NOFORN.to_json()},
    )
    assert tasking.status_code == 201, tasking.text
    # A report that cites a NOFORN request is NOFORN itself, whatever marking its author asked for.
    sitrep = us.post(
        f"/api/crises/{CRISIS}/sitreps",
        {
            "title": "posture",
            "text": PHRASE,
            "refs": [hidden_request["id"]],
            "marking": UNCLASS_BOTH.to_json(),
        },
    )
    assert sitrep.status_code == 201, sitrep.text
    assert sitrep.json()["marking"]["noforn"] is True
    # Exercises: one both nations see, one U.S. eyes only; their routes are filtered like the rest.
    for exercise, marking, name, msel in (
        ("shared-ex", UNCLASS_BOTH, "Missile launch exercise", None),
        ("us-only-ex", US_NOFORN, f"U.S. exercise {PHRASE}", []),  # its injects could reach no JPN cell
    ):
        created = excon.post(
            "/api/exercises",
            {
                "id": exercise,
                "name": name,
                "scenario": "dprk-missile-launch",
                "structure": "us-japan-2025",
                "situation": "gray-zone",
                "marking": marking.to_json(),
                "msel": msel,
            },
        )
        assert created.status_code == 201, created.text
    intel = _seed_intel(service)
    return {
        "hidden": [
            hidden_crisis,
            hidden_request["id"],
            tasking.json()["id"],
            sitrep.json()["id"],
            *intel["hidden"],
        ],
        "hidden_exercises": ["us-only-ex"],
        "visible": {"crisis_id": CRISIS, "request_id": shared["id"]},
        "ids": {
            "crisis_id": [CRISIS, hidden_crisis],
            "request_id": [shared["id"], hidden_request["id"]],
            "tasking_id": [tasking.json()["id"]],
            "sitrep_id": [sitrep.json()["id"]],
            "step_id": ["file-usfj"],
            "exercise_id": ["shared-ex", "us-only-ex"],
            "kind": ["xlsx"],
            **intel["ids"],
        },
    }


def _seed_intel(service: Service) -> dict[str, Any]:
    """A U.S. NOFORN radar with scans (so a U.S.-only track exists) and a NOFORN intelligence report."""
    us = service.client("usfj-op")
    sensor = us.post(
        f"/api/crises/{CRISIS}/sensors",
        {"name": f"radar {PHRASE}", "kind": "radar", "marking": US_NOFORN.to_json()},
    )
    assert sensor.status_code == 201, sensor.text
    radar = sensor.json()["id"]  # the service chooses sensor ids
    for second in range(4):
        scan = {
            "time": f"2027-04-06T05:00:0{second}Z",
            "reports": [{"lat": 25.7 + 0.0001 * second, "lon": 123.5, "sigma_m": [50, 50, 10]}],
        }
        assert us.post(f"/api/intel/sensors/{radar}/scans", scan).status_code == 201
    tracks = us.get(f"/api/crises/{CRISIS}/tracks").json()["tracks"]
    assert len(tracks) == 1
    report = us.post(
        f"/api/crises/{CRISIS}/intel-reports",
        {
            "title": "source",
            "text": PHRASE,
            "reliability": "B",
            "credibility": "2",
            "marking": US_NOFORN.to_json(),
        },
    )
    assert report.status_code == 201, report.text
    report_id = report.json()["report"]["id"]
    return {
        "hidden": [radar, tracks[0]["id"], report_id],
        "ids": {"sensor_id": [radar], "report_id": [report_id], "track_id": [tracks[0]["id"]]},
    }


def _get_urls(service: Service, ids: dict[str, list[str]]) -> list[str]:
    """Every GET route of the API with every combination of known ids filled in (the stream aside)."""
    urls: list[str] = []
    for path, operations in service.app.openapi()["paths"].items():
        if "get" not in operations or path.endswith("/stream"):
            continue
        filled = [path]
        for name in re.findall(r"{(\w+)}", path):
            assert name in ids, f"the security test does not know how to fill {{{name}}} in {path}"
            filled = [u.replace(f"{{{name}}}", value) for u in filled for value in ids[name]]
        urls.extend(filled)
    return urls


def _stream(client: Client, timeout_s: float = 0.5) -> str:
    with client.http.stream(
        "GET", "/api/events/stream", params={"after": 0, "timeout_s": timeout_s}, headers=client.headers
    ) as response:
        assert response.status_code == 200
        return "".join(response.iter_text())


def _live_streams(service: Service, clients: list[Client], write: Callable[[], None]) -> list[str]:
    """Open a stream per client, wait until all are subscribed, write, and return what each received."""
    before = service.runtime.hub.count
    with ThreadPoolExecutor(len(clients)) as pool:
        futures = [pool.submit(_stream, c, 2.0) for c in clients]
        deadline = time.monotonic() + 10
        while service.runtime.hub.count < before + len(clients) and time.monotonic() < deadline:
            time.sleep(0.01)
        write()
        return [f.result() for f in futures]


def test_no_endpoint_stream_or_export_shows_a_japanese_user_a_noforn_object(service: Service) -> None:
    seeded = _seed(service)
    urls = _get_urls(service, seeded["ids"])
    assert any("exports" in u for u in urls)
    assert any("geojson" in u for u in urls)
    us, jp_users = service.client("usfj-op"), [service.client("jp-observer"), service.client("jp-mod-op")]
    hidden_ids = [*seeded["hidden"], *seeded["hidden_exercises"]]
    seen_by_us = "".join(us.get(u).text for u in urls) + _stream(us)
    assert PHRASE in seen_by_us
    assert all(h in seen_by_us for h in hidden_ids)
    for jp in jp_users:
        for url in urls:
            response = jp.get(url)
            # 403: a route for exercise control or observers only (the MSEL, the review)
            assert response.status_code in {200, 403, 404}, (url, response.status_code)
            assert PHRASE not in response.text, url
            for hidden in hidden_ids:
                assert hidden not in response.text or hidden in url, (url, hidden)
        streamed = _stream(jp)
        assert CRISIS in streamed, "the stream does carry what the user may see"
        assert PHRASE not in streamed
        assert not any(h in streamed for h in hidden_ids)


def test_live_stream_messages_are_filtered_per_subscriber(service: Service) -> None:
    seeded = _seed(service)
    us = service.client("usfj-op")

    def write() -> None:
        for title, marking in (("shared-live", UNCLASS_BOTH), (f"hidden-live {PHRASE}", US_NOFORN)):
            body = {"title": title, "refs": [], "marking": marking.to_json()}
            assert us.post(f"/api/crises/{CRISIS}/sitreps", body).status_code == 201

    us_text, jp_text = _live_streams(service, [us, service.client("jp-observer")], write)
    assert "shared-live" in us_text
    assert PHRASE in us_text
    assert "shared-live" in jp_text
    assert PHRASE not in jp_text
    assert not any(h in jp_text for h in seeded["hidden"])


@pytest.mark.parametrize("kind", ["request", "tasking", "sitrep-ref", "tasking-ref", "crisis"])
def test_writes_on_hidden_objects_answer_not_found(service: Service, kind: str) -> None:
    seeded = _seed(service)
    hidden_crisis, hidden_request, hidden_tasking, *_ = seeded["hidden"]
    jp = service.add_user("jp-mod-approver", "JPN", "jp-mod", "approver")
    calls = {
        "request": lambda: act(jp, hidden_request, "file-usfj", "coordinate"),
        "tasking": lambda: jp.post(f"/api/taskings/{hidden_tasking}/status", {"status": "cancelled"}),
        "sitrep-ref": lambda: jp.post(
            f"/api/crises/{CRISIS}/sitreps",
            {"title": "t", "refs": [hidden_request], "marking": UNCLASS_BOTH.to_json()},
        ),
        "tasking-ref": lambda: jp.post(
            f"/api/crises/{CRISIS}/taskings",
            {"unit": "msdf", "task": "t", "request": hidden_request, "marking": UNCLASS_BOTH.to_json()},
        ),
        "crisis": lambda: jp.post(
            f"/api/crises/{hidden_crisis}/requests", asset_protection(UNCLASS_BOTH.to_json())
        ),
    }
    response = calls[kind]()
    assert response.status_code == 404, response.text
    assert PHRASE not in response.text


def test_nobody_acts_for_an_organization_they_are_not_a_member_of(service: Service) -> None:
    seeded = _seed(service)
    request_id = seeded["visible"]["request_id"]
    jp = service.client("jp-mod-op")
    observer = service.client("us-observer")
    assert act(jp, request_id, "file-usfj", "coordinate").status_code == 403
    assert act(observer, request_id, "file-usfj", "coordinate").status_code == 403
    assert jp.post(f"/api/requests/{request_id}/withdraw", {"reason": "not ours"}).status_code == 403
    # A user may not task a unit outside their organization's chain of command.
    tasked = jp.post(
        f"/api/crises/{CRISIS}/taskings", {"unit": "iii-mef", "task": "t", "marking": UNCLASS_BOTH.to_json()}
    )
    assert tasked.status_code == 403
    # Nor create an object marked so that they themselves could not see it.
    own = jp.post(f"/api/crises/{CRISIS}/sitreps", {"title": "t", "refs": [], "marking": US_NOFORN.to_json()})
    assert own.status_code == 403
