"""Intelligence through the API: sensors of two nations, fused pictures per audience, release decisions.

A U.S. radar marked NOFORN and a Japanese patrol ship releasable to the U.S. both see the same ships. The
U.S. user's picture fuses both; the Japanese user's picture, its GeoJSON and KML exports and its live
stream carry only what the Japanese ship reported, and the U.S. radar answers 404 to Japan exactly like
a sensor that does not exist. A U.S. disclosure officer then releases the radar's reports from a time
on, with a reason; only then does the Japanese picture take them. A tearline releases a sanitized copy
of a U.S. report, and the original stays hidden.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from tests.service.conftest import UNCLASS_BOTH, Service

from kizuna.access import Classification, Marking

US_NOFORN = Marking.national(Classification.SECRET, "USA").to_json()
JP_REL_US = Marking.releasable(Classification.SECRET, "JPN", ["USA"]).to_json()
US_REL_JP = Marking.releasable(Classification.SECRET, "USA", ["JPN"]).to_json()
SHIPS = [(25.70, 123.50), (25.75, 123.55), (25.80, 123.45)]
START = datetime(2027, 4, 6, 5, 0, tzinfo=UTC)


@pytest.fixture
def crisis(service: Service) -> str:
    service.add_user("us-disclosure", "USA", "usfj", "disclosure-officer")
    service.add_user("jp-disclosure", "JPN", "jp-mod", "disclosure-officer")
    answer = service.client("admin").post(
        "/api/crises",
        json={
            "name": "Senkaku gray zone",
            "structure": "us-japan-2025",
            "situation": "gray-zone",
            "exercise": False,
            "marking": {"level": "secret", "owner": "USA", "rel_to": ["JPN"]},
        },
        key="senkaku",
    )
    assert answer.status_code == 201, answer.text
    crisis: str = answer.json()["id"]  # the service chooses crisis ids
    return crisis


def _scan(second: int, sigma: float) -> dict[str, object]:
    time = START + timedelta(seconds=second)
    return {
        "time": time.isoformat(),
        "reports": [
            {"lat": lat + 0.0002 * second, "lon": lon, "sigma_m": [sigma, sigma, 20.0], "kind": "a-u-S"}
            for lat, lon in SHIPS
        ],
    }


def _register(service: Service, crisis: str) -> tuple[str, str]:
    """Register the U.S. NOFORN radar and the Japanese ship releasable to the U.S.; return their ids."""
    radar = service.client("usfj-op").post(
        f"/api/crises/{crisis}/sensors",
        json={"name": "U.S. radar", "kind": "radar", "marking": US_NOFORN},
        key="radar",
    )
    assert radar.status_code == 201, radar.text
    ship = service.client("jp-mod-op").post(
        f"/api/crises/{crisis}/sensors",
        json={"name": "JCG ship", "kind": "patrol-ship", "marking": JP_REL_US},
    )
    assert ship.status_code == 201, ship.text
    return radar.json()["id"], ship.json()["id"]


def _file_both(service: Service, radar: str, ship: str) -> None:
    """File the U.S. radar's scans (even seconds) and the Japanese ship's (odd), in time order."""
    for second in range(20):
        user, sensor, sigma = ("usfj-op", radar, 80.0) if second % 2 == 0 else ("jp-mod-op", ship, 50.0)
        answer = service.client(user).post(f"/api/intel/sensors/{sensor}/scans", json=_scan(second, sigma))
        assert answer.status_code == 201, answer.text


def _sensors_of(picture: dict[str, object]) -> set[str]:
    return {c["sensor"] for t in picture["tracks"] for c in t["contributions"]}  # type: ignore[attr-defined,index]


def test_each_nation_reads_a_picture_fused_from_what_it_may_see(service: Service, crisis: str) -> None:
    us, jp = service.client("usfj-op"), service.client("jp-mod-op")
    radar, ship = _register(service, crisis)
    # The service chose the ids; registering again with the same key is the same registration.
    again = us.post(
        f"/api/crises/{crisis}/sensors",
        json={"name": "U.S. radar", "kind": "radar", "marking": US_NOFORN},
        key="radar",
    )
    assert (again.status_code, again.json()["id"]) == (201, radar)
    _file_both(service, radar, ship)

    us_picture = us.get(f"/api/crises/{crisis}/tracks").json()
    jp_picture = jp.get(f"/api/crises/{crisis}/tracks").json()
    assert len(us_picture["tracks"]) == len(jp_picture["tracks"]) == 3
    assert _sensors_of(us_picture) == {radar, ship}
    assert _sensors_of(jp_picture) == {ship}
    assert jp_picture["version"] == 10
    assert us_picture["version"] == 20
    assert all("JPN" in t["marking"]["rel_to"] for t in jp_picture["tracks"])
    assert all(t["marking"]["noforn"] for t in us_picture["tracks"])  # fused with the NOFORN radar

    # The U.S. radar does not exist for Japan, in every answer.
    missing = jp.get("/api/intel/sensors/no-such-sensor").json()["detail"]
    hidden = jp.get(f"/api/intel/sensors/{radar}")
    assert hidden.status_code == 404
    assert hidden.json()["detail"].replace(radar, "X") == missing.replace("no-such-sensor", "X")
    assert [s["id"] for s in jp.get("/api/intel/sensors").json()] == [ship]
    assert jp.post(f"/api/intel/sensors/{radar}/scans", json=_scan(30, 50.0)).status_code == 404
    geojson = jp.get(f"/api/exports/crises/{crisis}/tracks.geojson").json()
    assert radar not in json.dumps(geojson)
    assert {f["properties"]["kind"] for f in geojson["features"]} >= {"track", "trail", "site"}
    track = next(f for f in geojson["features"] if f["properties"]["kind"] == "track")
    assert track["properties"]["sidc"] == "SUSP-----------"
    kml = jp.get(f"/api/exports/crises/{crisis}/tracks.kml")
    assert kml.status_code == 200
    assert radar.encode() not in kml.content
    assert b"<Placemark" in kml.content
    stream = jp.get(f"/api/crises/{crisis}/tracks/stream", params={"max_events": 1})
    assert radar.encode() not in stream.content
    assert b"event: picture" in stream.content

    # A Japanese user may not ask for the U.S. audience's picture.
    assert jp.get(f"/api/crises/{crisis}/tracks", params={"audience": "USA@secret"}).status_code == 403
    detail = jp.get(f"/api/crises/{crisis}/tracks/{jp_picture['tracks'][0]['id']}").json()
    assert [c["sensor"] for c in detail["contributions"]] == [ship]


def test_only_a_disclosure_officer_of_the_owner_releases_and_says_why(service: Service, crisis: str) -> None:
    us, jp = service.client("usfj-op"), service.client("jp-mod-op")
    radar, ship = _register(service, crisis)
    _file_both(service, radar, ship)
    before = jp.get(f"/api/crises/{crisis}/tracks").json()

    release = {
        "marking": US_REL_JP,
        "start": (START + timedelta(seconds=10)).isoformat(),
        "reason": "BMD cueing",
    }
    assert us.post(f"/api/intel/sensors/{radar}/releases", json=release).status_code == 403  # an operator
    jp_officer = service.client("jp-disclosure")
    assert jp_officer.post(f"/api/intel/sensors/{radar}/releases", json=release).status_code == 404
    officer = service.client("us-disclosure")
    no_reason = officer.post(f"/api/intel/sensors/{radar}/releases", json={**release, "reason": " "})
    assert no_reason.status_code == 422
    decided = officer.post(f"/api/intel/sensors/{radar}/releases", json=release)
    assert decided.status_code == 201, decided.text
    assert decided.json()["decision"]["officer"]["user"] == "us-disclosure"

    after = jp.get(f"/api/crises/{crisis}/tracks").json()
    assert _sensors_of(after) == {ship, radar}
    assert after["version"] == before["version"] + 5  # the radar's five scans from second 10 on
    assert jp.get(f"/api/intel/sensors/{radar}").json()["releases"][0]["marking"]["rel_to"] == ["JPN", "USA"]
    assert jp.get("/api/intel/releases").json() == []  # the decision record stays with the U.S.
    assert len(us.get("/api/intel/releases").json()) == 1


def test_a_tearline_releases_a_sanitized_copy_and_the_original_stays_hidden(
    service: Service, crisis: str
) -> None:
    us, jp = service.client("usfj-op"), service.client("jp-mod-op")
    filed = us.post(
        f"/api/crises/{crisis}/intel-reports",
        json={
            "title": "Source reporting on PLA ships",
            "text": "From a sensitive source: three ships sail at dawn.",
            "reliability": "B",
            "credibility": "2",
            "marking": US_NOFORN,
            "place": {"lat": 25.7, "lon": 123.5, "radius_m": 20000, "name": "near Uotsuri-shima"},
        },
    )
    assert filed.status_code == 201, filed.text
    original = filed.json()["report"]
    assert filed.json()["grading"] == "B2"
    assert jp.get(f"/api/intel/reports/{original['id']}").status_code == 404

    tearline = service.client("us-disclosure").post(
        f"/api/intel/reports/{original['id']}/tearlines",
        json={
            "title": "PLA ships expected near the Senkakus",
            "text": "Three ships expected at dawn.",
            "marking": US_REL_JP,
            "reason": "warning to the ally; source removed",
        },
    )
    assert tearline.status_code == 201, tearline.text
    seen = jp.get("/api/intel/reports").json()
    assert [r["report"]["title"] for r in seen] == ["PLA ships expected near the Senkakus"]
    assert seen[0]["report"]["tearline_of"] is None  # Japan is not told which report it came from
    assert "sensitive source" not in json.dumps(seen)
    us_view = us.get(f"/api/intel/reports/{tearline.json()['report']['id']}").json()
    assert us_view["report"]["tearline_of"] == original["id"]


def test_filing_checks_the_nation_role_and_input(service: Service, crisis: str) -> None:
    us, jp = service.client("usfj-op"), service.client("jp-mod-op")
    radar = us.post(
        f"/api/crises/{crisis}/sensors",
        json={"name": "U.S. radar", "kind": "radar", "marking": US_REL_JP},
    ).json()["id"]
    assert jp.post(f"/api/intel/sensors/{radar}/scans", json=_scan(0, 50.0)).status_code == 403
    observer = service.client("us-observer")
    assert observer.post(f"/api/intel/sensors/{radar}/scans", json=_scan(0, 50.0)).status_code == 403
    bad = {"time": START.isoformat(), "reports": [{"lat": 95, "lon": 123, "sigma_m": [1, 1, 1]}]}
    answer = us.post(f"/api/intel/sensors/{radar}/scans", json=bad)
    assert answer.status_code == 422
    assert "lat" in answer.text
    no_sigma = {"time": START.isoformat(), "reports": [{"lat": 25, "lon": 123}]}
    assert "exactly one of sigma_m" in us.post(f"/api/intel/sensors/{radar}/scans", json=no_sigma).text
    named = us.post(
        f"/api/crises/{crisis}/sensors",
        json={"id": radar, "name": "again", "kind": "radar", "marking": US_REL_JP},
    )
    assert named.status_code == 422  # the service chooses ids: none tells whether it is taken
    assert "the service chooses sensor ids" in named.text
    foreign = jp.post(
        f"/api/crises/{crisis}/sensors",
        json={"name": "x", "kind": "radar", "marking": US_REL_JP},
    )
    assert foreign.status_code == 422  # marked as another nation's
    assert UNCLASS_BOTH.owner == "USA"


def test_an_idempotency_key_is_one_write_of_one_user(service: Service, crisis: str) -> None:
    """A retry answers what the first write made; the same key for another write is refused."""
    us = service.client("usfj-op")
    report = {
        "title": "Ships at dawn",
        "text": "Three ships sail at dawn.",
        "reliability": "B",
        "credibility": "2",
        "marking": US_REL_JP,
    }
    first = us.post(f"/api/crises/{crisis}/intel-reports", json=report, key="ir-1")
    assert first.status_code == 201, first.text
    again = us.post(f"/api/crises/{crisis}/intel-reports", json=report, key="ir-1")
    assert again.status_code == 201, again.text
    assert again.json()["report"]["id"] == first.json()["report"]["id"]
    assert len(us.get("/api/intel/reports").json()) == 1

    other = us.post(f"/api/crises/{crisis}/intel-reports", json=report | {"title": "Other"}, key="ir-1")
    assert other.status_code == 422
    assert "already used for a different write" in other.text
    sensor = {"name": "U.S. radar", "kind": "radar", "marking": US_REL_JP}
    assert us.post(f"/api/crises/{crisis}/sensors", json=sensor, key="ir-1").status_code == 422
    sitrep = {"title": "t", "refs": [], "marking": UNCLASS_BOTH.to_json()}
    assert us.post(f"/api/crises/{crisis}/sitreps", json=sitrep, key="sr-1").status_code == 201
    assert us.post(f"/api/crises/{crisis}/sensors", json=sensor, key="sr-1").status_code == 422
    # Another user's key of the same name is theirs.
    jp = service.client("jp-mod-op")
    mine = {"name": "JCG ship", "kind": "patrol-ship", "marking": JP_REL_US}
    assert jp.post(f"/api/crises/{crisis}/sensors", json=mine, key="ir-1").status_code == 201
