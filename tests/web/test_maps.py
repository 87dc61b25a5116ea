"""The console's map layers in a real browser (Debian's chromium, driven by Playwright).

Tracks: a U.S. NOFORN radar and a U.S. patrol aircraft released to Japan report two targets into the
demo crisis through the API. The U.S. operator's overview draws both fused tracks with their 2525
symbols and trails, and follows new scans without a reload; the track both sensors see lists both
contributions with their portion marks. A Japanese user's overview draws only the track the aircraft
saw, its detail lists the aircraft alone, and nothing the U.S.-only radar contributed (its track's id,
the radar's id and name) is in the Japanese DOM or in any response the Japanese browser receives.

Plans: the plan page draws the bundled nansei-2027 assignment (units with their symbols at their sites,
mission areas, assignment lines) beside the assignment table and the decision points; a plan marked
for one nation is not there for the other; an infeasible plan shows its explanation. Every page
renders with every non-loopback request blocked, and each is photographed in both languages.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.web.conftest import SCREENSHOTS, Demo, sign_in

#: The U.S.-only radar and the aircraft released to Japan (ids and names unique to this module).
RADAR = {"id": "cmap-us-radar", "name": "Cmap test radar NF-7731", "kind": "radar"}
AIRCRAFT = {"id": "cmap-us-p8", "name": "Cmap test patrol aircraft", "kind": "patrol-aircraft"}
NOFORN = {"level": "secret", "owner": "USA", "noforn": True, "exercise": True}
REL_JPN = {"level": "secret", "owner": "USA", "rel_to": ["USA", "JPN"], "exercise": True}
#: Two targets: a hostile ship only the radar sees, a neutral ship both sensors see.
T0 = datetime.now(UTC)
HOSTILE = {"lat": 24.30, "lon": 123.40, "v_lat": 0.002, "v_lon": 0.001, "kind": "a-h-S-C"}
NEUTRAL = {"lat": 25.10, "lon": 124.60, "v_lat": -0.001, "v_lon": 0.002, "kind": "a-n-S"}


def _at(target: dict[str, Any], moment: datetime, kind: bool) -> dict[str, Any]:
    dt = (moment - T0).total_seconds() / 60  # degrees per minute: a fast ship, so trails are visible
    report: dict[str, Any] = {
        "lat": target["lat"] + target["v_lat"] * dt,
        "lon": target["lon"] + target["v_lon"] * dt,
        "sigma_m": [60.0, 60.0, 10.0],
    }
    if kind:
        report["kind"] = target["kind"]
    return report


@pytest.fixture(scope="module")
def sensors(demo: Demo) -> None:
    """Register the two U.S. sensors in the demo crisis (once for the module)."""
    with demo.login("us-operator") as us:
        for sensor, marking in ((RADAR, NOFORN), (AIRCRAFT, REL_JPN)):
            answer = us.post(f"/api/crises/{demo.crisis}/sensors", json={**sensor, "marking": marking})
            assert answer.status_code in {201, 409}, answer.text


def file_scans(demo: Demo, rounds: int = 4, *, step_s: float = 2.0) -> None:
    """File `rounds` scans of each sensor, the last one now: enough to confirm both tracks."""
    now = datetime.now(UTC)
    with demo.login("us-operator") as us:
        for k in range(rounds):
            moment = now - timedelta(seconds=step_s * (rounds - 1 - k))
            scans = {
                RADAR["id"]: [_at(HOSTILE, moment, True), _at(NEUTRAL, moment, True)],
                AIRCRAFT["id"]: [_at(NEUTRAL, moment, False)],
            }
            for sensor, reports in scans.items():
                answer = us.post(
                    f"/api/intel/sensors/{sensor}/scans",
                    json={"time": moment.isoformat(), "reports": reports},
                )
                assert answer.status_code == 201, answer.text


@pytest.fixture
def pictured(demo: Demo, sensors: None) -> Demo:
    """The demo with both targets tracked now."""
    file_scans(demo)
    return demo


def _recording(page: Any) -> list[str]:
    """Collect the body of every response the page receives (streams as far as they came)."""
    bodies: list[str] = []

    def keep(response: Any) -> None:
        with contextlib.suppress(Exception):  # a stream still open, a navigation cancelled
            if "event-stream" not in (response.headers.get("content-type") or ""):
                bodies.append(response.url + "\n" + response.text())

    page.on("response", keep)
    return bodies


def _wait_tracks(page: Any, count: int) -> None:
    page.wait_for_selector("#map[data-ready=true]", timeout=20_000)
    page.wait_for_selector(f"#map[data-tracks='{count}']", timeout=15_000)


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def _us_only_track(demo: Demo) -> str:
    with demo.login("us-operator") as us:
        tracks = us.get(f"/api/crises/{demo.crisis}/tracks").json()["tracks"]
    only = [t for t in tracks if {c["sensor"] for c in t["contributions"]} == {RADAR["id"]}]
    assert len(only) == 1, tracks
    return str(only[0]["id"])


def test_us_map_shows_tracks_with_symbols_trails_and_live_updates(pictured: Demo, browser: Any) -> None:
    demo = pictured
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = ctx.new_page()
    try:
        sign_in(page, demo.base, "us-operator")
        _wait_tracks(page, 2)
        hidden = _us_only_track(demo)
        markers = page.locator(".track-marker")
        assert markers.count() == 2
        # Each carries its 2525 symbol: milsymbol's SVG, from the exercise-context code of its CoT type.
        sidcs = sorted(markers.evaluate_all("els => els.map(e => e.dataset.sidc)"))
        assert sidcs == ["SKSPC----------", "SLSP-----------"]  # exercise hostile (faker), neutral
        assert page.locator(".track-marker svg").count() == 2
        assert page.locator(f".track-marker[data-track='{hidden}']").count() == 1
        # Trails: a line per track through its past positions.
        assert page.locator("path.track-trail").count() == 2
        # The banner covers the U.S.-only track.
        assert "NOFORN" in page.inner_text("#banner-top")
        # Live: new scans move the tracks without a reload.
        page.evaluate("window.__sameDocument = true")
        version = int(page.get_attribute("#map", "data-tracks-version") or 0)
        file_scans(demo, rounds=2)
        for _ in range(150):  # the page's policy forbids evaluating strings, so poll from here
            if int(page.get_attribute("#map", "data-tracks-version") or 0) >= version + 4:
                break
            page.wait_for_timeout(100)
        else:
            pytest.fail("the tracks did not follow the new scans")
        assert page.evaluate("window.__sameDocument === true")
        # The detail of the track both sensors see lists both, with their portion marks.
        shared = page.locator(".track-marker[data-affiliation=n]")
        shared.click()
        page.wait_for_selector("#track-detail tr[data-sensor]")
        rows = page.locator("#track-detail tr[data-sensor]")
        assert sorted(rows.evaluate_all("els => els.map(e => e.dataset.sensor)")) == [
            AIRCRAFT["id"],
            RADAR["id"],
        ]
        marks = page.inner_text("#track-detail table")
        assert "(S//NF)" in marks
        assert "(S//REL TO USA, JPN)" in marks
        page.wait_for_timeout(500)
        _shot(page, "tracks-en.png")
    finally:
        ctx.close()


def test_japanese_map_never_receives_the_us_only_track(pictured: Demo, browser: Any) -> None:
    demo = pictured
    hidden = _us_only_track(demo)
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = ctx.new_page()
    bodies = _recording(page)
    streamed: list[str] = []
    page.on(
        "response",
        lambda r: streamed.append(r.url) if "event-stream" in (r.headers.get("content-type") or "") else None,
    )
    try:
        sign_in(page, demo.base, "jp-mod-approver")
        if page.get_attribute("html", "lang") != "ja":
            page.click(".lang-switch button")
            page.wait_for_selector("html[lang=ja]")
        _wait_tracks(page, 1)
        assert page.locator(".track-marker").count() == 1
        # The aircraft classifies nothing: the neutral identity came from the U.S.-only radar alone.
        assert page.locator(".track-marker").get_attribute("data-affiliation") == "u"
        page.locator(".track-marker").click()
        page.wait_for_selector("#track-detail tr[data-sensor]")
        rows = page.locator("#track-detail tr[data-sensor]")
        assert rows.evaluate_all("els => els.map(e => e.dataset.sensor)") == [AIRCRAFT["id"]]
        assert "(S//REL TO USA, JPN)" in page.inner_text("#track-detail table")
        assert "融合航跡" in page.inner_text("#track-count")
        # The stream itself (the browser's is left open), read to its first picture as the same user.
        with demo.login("jp-mod-approver") as jp:
            first = jp.get(f"/api/crises/{demo.crisis}/tracks/stream", params={"max_events": 1}).text
        file_scans(demo, rounds=2)
        page.wait_for_timeout(2_500)  # the layer fetches itself again after the new pictures
        _shot(page, "tracks-ja.png")
        dom = page.content()
        for secret in (hidden, RADAR["id"], RADAR["name"], "SKSPC"):
            assert secret not in dom, secret
            assert secret not in first, secret
            for body in bodies:
                assert secret not in body, (secret, body[:200])
        assert any("/tracks.json" in b.split("\n", 1)[0] for b in bodies)
        assert any("/tracks/stream" in url for url in streamed)
        page.click(".lang-switch button")  # leave the user in English
    finally:
        ctx.close()
