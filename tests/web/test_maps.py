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
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.web.conftest import SCREENSHOTS, Demo, sign_in

from kizuna.access import Classification, Marking
from kizuna.authority import load_frameworks
from kizuna.intel import FusedTrack
from kizuna.model import load_plan, load_structure
from kizuna.planning.assign import solve_plan
from kizuna.web.pages.plans import plan_marking, unit_sidc
from kizuna.web.pages.tracks import track_sidc

#: The U.S.-only radar and the aircraft released to Japan (ids and names unique to this module).
# The service chooses sensor ids: the `sensors` fixture fills in "id" from its answers.
RADAR: dict[str, str] = {"name": "Cmap test radar NF-7731", "kind": "radar"}
AIRCRAFT: dict[str, str] = {"name": "Cmap test patrol aircraft", "kind": "patrol-aircraft"}
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
            body = {"name": sensor["name"], "kind": sensor["kind"], "marking": marking}
            answer = us.post(f"/api/crises/{demo.crisis}/sensors", json=body)
            assert answer.status_code == 201, answer.text
            sensor["id"] = answer.json()["id"]


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


def _full_height(page: Any) -> None:
    """Make the window as tall as the page, so a screenshot shows it whole, as on a long screen."""
    page.set_viewport_size({"width": 1440, "height": page.evaluate("document.documentElement.scrollHeight")})


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
        assert sorted(rows.evaluate_all("els => els.map(e => e.dataset.sensor)")) == sorted(
            [AIRCRAFT["id"], RADAR["id"]]  # the ids the service chose
        )
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


# -- plans -------------------------------------------------------------------------------------------------

PLAN = "nansei-2027"
US_ONLY_PLAN = "cmap-us-only-plan"
VARIANT = "cmap-sts-variant"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plan_files(demo: Demo) -> Path:
    """Two plan files in the service's data directory: a U.S.-only copy of the bundled plan, and the
    documented infeasible variant released to both nations."""
    folder = demo.runtime.settings.data_dir / "plans"
    folder.mkdir(exist_ok=True)
    bundled = (ROOT / "src/kizuna/data/plans" / f"{PLAN}.yaml").read_text(encoding="utf-8")
    us_only = bundled.replace(f"id: {PLAN}", f"id: {US_ONLY_PLAN}", 1).replace(
        "marking: {level: unclassified, rel_to: [USA, JPN]}",
        "marking: {level: secret, owner: USA, noforn: true}",
    )
    assert "noforn: true" in us_only
    (folder / f"{US_ONLY_PLAN}.yaml").write_text(us_only, encoding="utf-8")
    variant = (ROOT / "docs/examples/nansei-sts-variant.yaml").read_text(encoding="utf-8")
    variant = variant.replace("id: nansei-sts-variant", f"id: {VARIANT}", 1)
    variant += "\nmarking: {level: confidential, rel_to: [USA, JPN]}\n"
    (folder / f"{VARIANT}.yaml").write_text(variant, encoding="utf-8")
    return folder


def _expected_assignment() -> tuple[int, int, dict[str, int], set[str]]:
    """Solve the bundled plan with the planning layer's own functions: units, missions, rows per phase,
    and the Japanese names of the assigned units that are organizations of the structure."""
    plan = load_plan(PLAN)
    assignment = solve_plan(plan, load_frameworks(*plan.frameworks))
    structure = load_structure(plan.loaded_forces.structure)
    per_phase: dict[str, int] = {}
    for row in assignment.rows:
        per_phase[row.phase] = per_phase.get(row.phase, 0) + 1
    names = {
        str(structure.org_by_id[r.unit].name_ja) for r in assignment.rows if r.unit in structure.org_by_id
    }
    return len(plan.loaded_forces.units), len(plan.mission_by_id), per_phase, names


@pytest.mark.parametrize(("user", "language"), [("us-operator", "en"), ("jp-mod-approver", "ja")])
def test_plan_page_draws_the_bundled_assignment_on_the_map(
    demo: Demo, browser: Any, user: str, language: str
) -> None:
    units, missions, per_phase, names_ja = _expected_assignment()
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = ctx.new_page()
    try:
        sign_in(page, demo.base, user, next_path="/plans")
        if page.get_attribute("html", "lang") != language:
            page.click(".lang-switch button")
            page.wait_for_selector(f"html[lang={language}]")
        page.click(f"tr[data-plan={PLAN}] a")
        page.wait_for_selector("#map[data-ready=true]", timeout=20_000)
        page.wait_for_selector("#map[data-basemap-ready=true]", timeout=20_000)
        # Every unit at its site with its 2525D symbol; every mission area; a line per assignment.
        assert page.get_attribute("#map", "data-units") == str(units)
        assert page.locator("#map .site-symbol[data-org] svg").count() == units
        assert page.locator("#map .mission-marker").count() == missions
        assert page.get_attribute("#map", "data-lines") == str(sum(per_phase.values()))
        assert page.locator("path.assignment-line").count() == sum(per_phase.values())
        # The same assignment as a table, per phase, each carrying the plan's portion mark.
        assert page.locator("tr.unit-row").count() == sum(per_phase.values())
        assert page.locator("table.assignment caption .portion").count() == len(per_phase)
        assert "(U//REL TO JPN, USA)" in page.inner_text("table.assignment caption")
        assert page.locator("#decisions tr[data-decision]").count() == len(load_plan(PLAN).decision_points)
        assert f"kizuna plan simulate {PLAN}" in page.inner_text("#decisions")
        # One phase at a time: its lines only; units with nothing to do in it dimmed.
        phase, count = sorted(per_phase.items())[0]
        page.check(f"#phase-picker input[value={phase}]")
        page.wait_for_selector(f"#map[data-phase={phase}]")
        assert page.locator("path.assignment-line").count() == count
        assert page.locator("#map .site-symbol.idle").count() > 0
        assert page.locator("#map .mission-label").count() == len(load_plan(PLAN).phase_by_id[phase].missions)
        assert page.locator("table.assignment:visible").count() == 1
        _full_height(page)
        page.wait_for_timeout(300)
        _shot(page, f"plan-phase-{language}.png")
        page.set_viewport_size({"width": 1440, "height": 1000})
        page.check("#phase-picker input[value='']")
        if language == "ja":
            assert "割当て" in page.inner_text("#assignment-title")
            assert names_ja
            assert all(name in page.inner_text("#assignment") for name in names_ja), names_ja
        _full_height(page)
        page.wait_for_timeout(400)
        _shot(page, f"plan-map-{language}.png")
        if language == "ja":
            page.click(".lang-switch button")  # leave the user in English
    finally:
        ctx.close()


def test_a_plan_marked_for_one_nation_is_not_there_for_the_other(demo: Demo, plan_files: Path) -> None:
    with demo.login("us-operator") as us, demo.login("jp-mod-approver") as jp:
        assert US_ONLY_PLAN in us.get("/plans").text
        assert us.get(f"/plans/{US_ONLY_PLAN}").status_code == 200
        assert us.get(f"/plans/{US_ONLY_PLAN}/map.json").status_code == 200
        listing = jp.get("/plans").text
        assert US_ONLY_PLAN not in listing
        assert PLAN in listing
        hidden = jp.get(f"/plans/{US_ONLY_PLAN}")
        absent = jp.get("/plans/no-such-plan")
        assert hidden.status_code == absent.status_code == 404
        assert hidden.text.replace(US_ONLY_PLAN, "X") == absent.text.replace("no-such-plan", "X")
        assert jp.get(f"/plans/{US_ONLY_PLAN}/map.json").status_code == 404
        assert "NOFORN" in us.get(f"/plans/{US_ONLY_PLAN}").text.split('id="banner-top"')[1][:200]


def test_an_infeasible_plan_shows_why_and_the_smallest_change(
    demo: Demo, plan_files: Path, browser: Any
) -> None:
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = ctx.new_page()
    try:
        sign_in(page, demo.base, "jp-mod-approver", next_path=f"/plans/{VARIANT}")
        page.wait_for_selector("#map[data-ready=true]", timeout=20_000)
        text = page.inner_text("#infeasible")
        assert "mission bmd-okinawa-sts (sts) needs 3 x bmd" in text
        assert "defensive-positions-need-attack-on-japan" in text
        assert "smallest change that makes the plan feasible" in text
        assert page.locator("tr.unit-row").count() == 0
        assert page.locator("#map .mission-marker").count() > 0  # the missions still have their areas
        assert "(C//REL TO JPN, USA)" in page.inner_text("#infeasible h2")
        _full_height(page)
        page.wait_for_timeout(300)
        _shot(page, "plan-infeasible-en.png")
    finally:
        ctx.close()


def test_map_pages_render_offline(pictured: Demo, plan_files: Path, browser: Any) -> None:
    demo = pictured
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    blocked: list[str] = []

    def guard(route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if host in {"127.0.0.1", "localhost"} or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    ctx.route("**/*", guard)
    page = ctx.new_page()
    missing: list[str] = []
    page.on("response", lambda r: missing.append(f"{r.url} {r.status}") if r.status >= 400 else None)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        sign_in(page, demo.base, "us-operator")
        _wait_tracks(page, 2)
        page.locator(".track-marker").first.dispatch_event("click")
        page.wait_for_selector("#track-detail tr[data-sensor]")
        for path in ("/plans", f"/plans/{PLAN}", f"/plans/{VARIANT}"):
            page.goto(demo.base + path)
            page.wait_for_selector(".plans-table, #map[data-basemap-ready=true]", timeout=20_000)
        assert not blocked, blocked
        assert not missing, missing
        assert not errors, errors
    finally:
        ctx.close()


def test_symbols_and_markings_of_the_map_layers() -> None:
    plan = load_plan(PLAN)
    structure = load_structure(plan.loaded_forces.structure)
    units = plan.loaded_forces.unit_by_id
    # A unit that is an organization of the structure keeps the structure's symbol.
    assert unit_sidc(units["12th-mlr"], structure) == structure.org_by_id["12th-mlr"].symbol.sidc  # type: ignore[union-attr]
    # Others are derived from how they move and what they can do (2525D: set, entity).
    assert unit_sidc(units["msdf-aegis-sasebo"], structure) == "10033000001202030000"  # destroyer
    assert unit_sidc(units["ishigaki-ssm-unit"], structure) == "10031000001307000000"  # missile
    assert unit_sidc(units["kadena-patriot"], structure) == "10031000001301000000"  # air defense
    assert unit_sidc(units["usfj-airlift"], structure) == "10030100001101000000"  # fixed wing
    # The plan's marking, as the console enforces it.
    assert plan_marking(plan) == Marking(level=Classification.UNCLASSIFIED, rel_to=frozenset({"USA", "JPN"}))
    assert plan_marking(plan.model_copy(update={"marking": None})) is None
    # A track's code follows its CoT type, in the exercise context when it is exercise traffic.
    now = datetime.now(UTC)
    track = FusedTrack(
        id="ft-1",
        crisis="c",
        lat=25.0,
        lon=124.0,
        alt_m=5_000.0,
        velocity_m_s=(1.0, 0.0, 0.0),
        speed_m_s=1.0,
        course_deg=90.0,
        sigma_m=(50.0, 50.0, 10.0),
        created_at=now,
        updated_at=now,
        updates=3,
        kind="a-h-S-C",
        contributions=(),
        marking=Marking(level=Classification.SECRET, owner="USA", noforn=True),
        exercise=False,
        trail=(),
    )
    assert track_sidc(track) == "SHSPC----------"
    assert track_sidc(track.model_copy(update={"exercise": True})) == "SKSPC----------"  # faker
    assert track_sidc(track.model_copy(update={"kind": ""})) == "SUAP-----------"  # unknown air by height
