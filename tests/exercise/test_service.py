"""An exercise through the API: exercise control creates it and runs the clock, injects reach the inboxes
of their recipients at their exercise time (and the event stream), players file what the injects ask for,
observers write observations; a restarted server resumes where it was; exercise traffic never leaves
for a real feed and is never linked to a real crisis."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.service.conftest import UNCLASS_BOTH, US_NOFORN, Service, build_service

from kizuna.access import Classification, Feed, Marking, Passwords
from kizuna.errors import PermissionDenied
from kizuna.exercise import Exercises
from kizuna.service import create_app
from kizuna.service.egress import release_to_feed
from kizuna.settings import Settings

EXERCISE = "tc-ex"


class ManualClock:
    """A wall clock that moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def settings_for(folder: Path, **extra: Any) -> Settings:
    return Settings(
        data_dir=folder, database_url=f"sqlite:///{folder / 'ex.db'}", sqlite_synchronous="NORMAL", **extra
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def service(tmp_path: Path, clock: ManualClock) -> Iterator[Service]:
    yield from build_service(settings_for(tmp_path), clock=clock)  # type: ignore[arg-type]


def exercises(service: Service) -> Exercises:
    found: Exercises = service.app.state.exercises
    return found


def create(service: Service, **extra: Any) -> Any:
    body = {
        "id": EXERCISE,
        "name": "Taiwan contingency",
        "scenario": "taiwan-contingency",
        "structure": "us-japan-2025",
        "situation": "gray-zone",
        "marking": UNCLASS_BOTH.to_json(),
        **extra,
    }
    return service.client("excon").post("/api/exercises", body)


def delivered_serials(service: Service) -> list[str]:
    msel = service.client("excon").get(f"/api/exercises/{EXERCISE}/msel").json()
    return [i["row"]["serial"] for i in msel if i["delivered"]]


def test_exercise_control_runs_an_exercise_and_injects_reach_their_recipients(
    service: Service, clock: ManualClock
) -> None:
    assert create(service).status_code == 201
    assert service.client("usfj-op").post("/api/exercises", {}).status_code == 422
    excon = service.client("excon")
    start = excon.post(f"/api/exercises/{EXERCISE}/clock", {"action": "start", "speed": 3600})
    assert start.status_code == 200, start.text
    assert start.json()["state"]["running"] is True
    clock.advance(seconds=2)  # two exercise hours at 3600x
    exercises(service).deliver_due()
    assert delivered_serials(service) == ["001", "002", "003", "004", "005", "006"]

    iii_mef = service.add_user("iii-mef-op", "USA", "iii-mef", "operator")
    jp_mod = service.client("jp-mod-op")
    assert [i["row"]["serial"] for i in iii_mef.get(f"/api/exercises/{EXERCISE}/inbox").json()] == [
        "003",
        "004",
    ]
    assert jp_mod.get(f"/api/exercises/{EXERCISE}/inbox").json() == []
    assert iii_mef.get(f"/api/exercises/{EXERCISE}/msel").status_code == 403, "the MSEL is the white cell's"
    assert jp_mod.post(f"/api/exercises/{EXERCISE}/injects/004/file", {}).status_code == 403

    filed = iii_mef.post(f"/api/exercises/{EXERCISE}/injects/004/file", {})
    assert filed.status_code == 201, filed.text
    request = filed.json()["request"]
    assert request["crisis"] == EXERCISE
    assert request["marking"]["exercise"] is True
    assert request["spec"]["activity"] == "combat-operations-from-japan"
    again = iii_mef.post(f"/api/exercises/{EXERCISE}/injects/004/file", {})
    assert again.json()["request"]["id"] == request["id"], "filing an inject twice is filing it once"
    msel = {i["row"]["serial"]: i for i in excon.get(f"/api/exercises/{EXERCISE}/msel").json()}
    assert msel["004"]["requests"] == [request["id"]]

    observed = service.client("us-observer").post(
        f"/api/exercises/{EXERCISE}/observations",
        {"objective": "OBJ-2", "text": "USFJ filed within minutes of the inject", "rating": "met"},
    )
    assert observed.status_code == 201, observed.text
    assert observed.json()["exercise_time"].startswith("2027-04-06T07:00:00")
    assert (
        service.client("usfj-op")
        .post(f"/api/exercises/{EXERCISE}/observations", {"objective": "OBJ-2", "text": "x"})
        .status_code
        == 403
    )

    with excon.http.stream(
        "GET",
        "/api/events/stream",
        params={"after": 0, "max_events": 40, "timeout_s": 1},
        headers=excon.headers,
    ) as response:
        text = "".join(response.iter_text())
    kinds = re.findall(r"^event: (.+)$", text, flags=re.MULTILINE)
    assert kinds[:3] == ["crisis-opened", "exercise-created", "exercise-clock"]
    assert kinds.count("exercise-inject-delivered") == 6
    assert '"exercise":true' in text.replace(" ", "")


def test_a_restarted_server_resumes_the_exercise_where_it_was(tmp_path: Path, clock: ManualClock) -> None:
    settings = settings_for(tmp_path)
    first = build_service(settings, clock=clock)  # type: ignore[arg-type]
    service = next(first)
    assert create(service).status_code == 201
    excon = service.client("excon")
    excon.post(f"/api/exercises/{EXERCISE}/clock", {"action": "start", "speed": 3600})
    clock.advance(seconds=3)  # three exercise hours
    exercises(service).deliver_due()
    excon.post(f"/api/exercises/{EXERCISE}/clock", {"action": "pause"})
    before = excon.get(f"/api/exercises/{EXERCISE}/clock").json()
    delivered = delivered_serials(service)
    tokens = dict(service.tokens)
    with pytest.raises(StopIteration):
        next(first)  # the server stops

    clock.advance(hours=5)  # a paused clock stands still while the server is down
    app = create_app(settings, clock, passwords=Passwords.fast())
    with TestClient(app) as http:
        service = Service(app=app, runtime=app.state.runtime, http=http, tokens=tokens)
        resumed(service, clock, before, delivered)


def resumed(service: Service, clock: ManualClock, before: Any, delivered: list[str]) -> None:
    excon = service.client("excon")
    after = excon.get(f"/api/exercises/{EXERCISE}/clock").json()
    assert after["state"] == before["state"]
    assert after["exercise_time"] == before["exercise_time"] == "2027-04-06T08:00:00+09:00"
    exercises(service).deliver_due()
    assert delivered_serials(service) == delivered == ["001", "002", "003", "004", "005", "006"]

    excon.post(f"/api/exercises/{EXERCISE}/clock", {"action": "resume"})
    clock.advance(seconds=22)  # to H+25
    exercises(service).deliver_due()
    assert len(delivered_serials(service)) == 10
    events = excon.get("/api/events", params={"limit": 1000}).json()
    serials = [e["event"]["serial"] for e in events if e["type"] == "exercise-inject-delivered"]
    assert sorted(serials) == sorted(set(serials)), "nothing is delivered twice across the restart"


def test_injects_only_reach_recipients_whose_nation_they_are_released_to(service: Service) -> None:
    assert create(service).status_code == 201
    excon = service.client("excon")
    us_only = US_NOFORN.model_copy(update={"level": Classification.UNCLASSIFIED}).to_json()
    refused = excon.post(
        f"/api/exercises/{EXERCISE}/injects",
        {"serial": "X1", "event": "U.S. eyes only", "to": ["jp-mod"], "marking": us_only},
    )
    assert refused.status_code == 422
    assert "cannot reach jp-mod (JPN)" in refused.json()["detail"]
    added = excon.post(
        f"/api/exercises/{EXERCISE}/injects",
        {"serial": "X2", "event": "U.S. eyes only", "to": ["usfj"], "marking": us_only},
    )
    assert added.status_code == 201, added.text
    excon.post(f"/api/exercises/{EXERCISE}/clock", {"action": "start", "speed": 1})
    exercises(service).deliver_due()
    assert [
        i["row"]["serial"] for i in service.client("usfj-op").get(f"/api/exercises/{EXERCISE}/inbox").json()
    ][-1] == "X2"
    jp_events = service.client("jp-observer").get("/api/events", params={"limit": 1000}).json()
    assert all(e["event"].get("serial") != "X2" for e in jp_events), (
        "the egress filters inject deliveries too"
    )


def test_a_bad_msel_upload_lists_every_problem_and_creates_nothing(service: Service, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "Serial,Time,Event,To\n1,D-1 05:00,early,usfj\n1,D+0 06:00,dup,nowhere\n", encoding="utf-8"
    )
    excon = service.client("excon")
    with path.open("rb") as handle:
        response = excon.http.post(
            "/api/exercises/msel-check",
            headers=excon.headers,
            files={"file": ("bad.csv", handle, "text/csv")},
            data={"scenario": "taiwan-contingency"},
        )
    assert response.status_code == 422
    found = {(p["line"], p["message"]) for p in response.json()["problems"]}
    assert found == {
        (2, "before the exercise starts"),
        (3, "duplicate serial (first at row 2)"),
        (3, "unknown organization"),
    }
    assert excon.get("/api/exercises").json() == []
    assert all(c["id"] != EXERCISE for c in excon.get("/api/crises").json())


def test_a_real_feed_refuses_exercise_traffic(tmp_path: Path, clock: ManualClock) -> None:
    exercise = Marking.releasable(Classification.SECRET, "USA", ["JPN"], exercise=True)
    real = Marking.releasable(Classification.SECRET, "USA", ["JPN"])

    class Item:
        def __init__(self, marking: Marking) -> None:
            self.marking = marking

    assert release_to_feed(Feed.EXERCISE, [Item(exercise), Item(real)])
    assert release_to_feed(Feed.REAL, [Item(real)])
    with pytest.raises(PermissionDenied, match="exercise traffic"):
        release_to_feed(Feed.REAL, [Item(real), Item(exercise)])

    gen = build_service(settings_for(tmp_path, real_egress=True), clock=clock)  # type: ignore[arg-type]
    service = next(gen)
    assert create(service).status_code == 201
    admin = service.client("admin")
    real_one = admin.post(
        "/api/crises",
        {
            "name": "Real",
            "structure": "us-japan-2025",
            "situation": "gray-zone",
            "exercise": False,
            "marking": real.to_json(),
        },
    ).json()["id"]  # the service chooses crisis ids
    assert admin.get(f"/api/exports/crises/{EXERCISE}.json").status_code == 403
    assert admin.get(f"/api/exports/crises/{EXERCISE}.geojson").status_code == 403
    assert admin.get(f"/api/exports/crises/{real_one}.json").status_code == 200
    with pytest.raises(StopIteration):
        next(gen)


def test_nothing_of_an_exercise_is_linked_to_a_real_crisis(service: Service, clock: ManualClock) -> None:
    assert create(service).status_code == 201
    excon = service.client("excon")
    excon.post(f"/api/exercises/{EXERCISE}/clock", {"action": "start", "speed": 3600})
    clock.advance(seconds=3)
    exercises(service).deliver_due()
    iii_mef = service.add_user("iii-mef-op", "USA", "iii-mef", "operator")
    request = iii_mef.post(f"/api/exercises/{EXERCISE}/injects/004/file", {}).json()["request"]
    real = Marking.releasable(Classification.SECRET, "USA", ["JPN"])
    real_one = (
        service.client("admin")
        .post(
            "/api/crises",
            {
                "name": "Real",
                "structure": "us-japan-2025",
                "situation": "gray-zone",
                "exercise": False,
                "marking": real.to_json(),
            },
        )
        .json()["id"]
    )  # the service chooses crisis ids
    cited = iii_mef.post(
        f"/api/crises/{real_one}/sitreps",
        {"title": "cites the exercise", "refs": [request["id"]], "marking": real.to_json()},
    )
    assert cited.status_code == 422
    assert "never mixes real and exercise" in cited.json()["detail"]


def test_the_review_is_data_and_a_page_for_exercise_control_and_observers(
    service: Service, clock: ManualClock
) -> None:
    assert create(service).status_code == 201
    excon = service.client("excon")
    excon.post(f"/api/exercises/{EXERCISE}/clock", {"action": "start", "speed": 3600})
    clock.advance(seconds=2)
    exercises(service).deliver_due()
    iii_mef = service.add_user("iii-mef-op", "USA", "iii-mef", "operator")
    request = iii_mef.post(f"/api/exercises/{EXERCISE}/injects/004/file", {}).json()["request"]
    clock.advance(seconds=1)
    acted = iii_mef.post(
        f"/api/requests/{request['id']}/steps/file-iii-mef/actions", {"action": "coordinate"}
    )
    assert acted.status_code == 200, acted.text

    data = excon.get(f"/api/exercises/{EXERCISE}/aar", params={"replications": 200})
    assert data.status_code == 200, data.text
    review = data.json()
    (first,) = [s for s in review["steps"] if s["step"] == "file-iii-mef"]
    assert first["measured_h"] == pytest.approx(1.0), "filed at H+2, coordinated at H+3"
    assert 0 <= first["percentile"] <= 1
    assert {p["step"] for p in review["paths"] if p["request"] == "combat-ops-from-japan"} == {
        "decision",
        "effect",
    }
    page = service.client("us-observer").get(
        f"/api/exercises/{EXERCISE}/aar.html", params={"replications": 200}
    )
    assert page.status_code == 200
    assert "EXERCISE//UNCLASSIFIED//REL TO USA, JPN" in page.text
    assert iii_mef.get(f"/api/exercises/{EXERCISE}/aar").status_code == 403
