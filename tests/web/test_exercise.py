"""Exercises in the console (issue 12's "Done when"), in Debian's chromium and over HTTP.

An exercise designer imports the bundled example MSEL in the console (a broken copy first: every bad
row is listed, nothing is imported), starts the clock, and a Japanese player watching their inbox in
another browser sees the injects arrive without a reload; the player files the designation the inject
asks for and carries it along its path in Japanese, in the browser, while bots play the U.S. cells
through the API; an observer writes an observation tied to an objective; the exercise time runs in
every page's top bar; and the after-action review renders, with its workbook and PDF. A U.S.-only
exercise never reaches a Japanese user's browser (DOM, responses and stream). Screenshots go to
out/screenshots/exercise-*.png.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import SCREENSHOTS, Demo, sign_in

from kizuna.access import Classification, Marking, Passwords
from kizuna.coordination import RequestStatus
from kizuna.exercise.players import PlayerConfig
from kizuna.model.scenario import load_scenario
from kizuna.service import Runtime, create_app
from kizuna.service.demo import seed_demo
from kizuna.service.exercise_runner import bot_users, play_against, played_organizations
from kizuna.settings import Settings
from kizuna.web.liveserver import serve_in_thread

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "taiwan-contingency-msel.csv"
STRUCTURE = "us-japan-2025"
EXERCISE = "ys-cex"
LIVE_TIMEOUT_MS = 8_000  # generous on a loaded 2-core machine; the page follows the stream
#: The Japanese player of the story and the demo's member of each Japanese organization.
PLAYER = "jp-cabinet-secretariat-staff"
US_ONLY_NAME = "U.S.-only drill (NOFORN) kestrel"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """A demo service of this module's own (its exercises stay out of the other pages' tests)."""
    root = tmp_path_factory.mktemp("web-exercise")
    settings = Settings(
        data_dir=root, database_url=f"sqlite:///{root / 'demo.db'}", sqlite_synchronous="NORMAL"
    )
    app = create_app(settings, passwords=Passwords.fast())
    runtime: Runtime = app.state.runtime
    info = seed_demo(runtime)
    with serve_in_thread(app) as base:
        yield Demo(base=base, runtime=runtime, info=info)


def _broken_msel(folder: Path) -> Path:
    """The example MSEL with three bad rows: a duplicate serial, an unknown organization, a bad time."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    bad = {
        "003,D+0 07:00": "002,D+0 07:00",  # serial 002 twice
        "005,D+0 07:00,U.S. ships ask for refuelling once the basic plan is adopted,EXCON,usfj,": (
            "005,D+0 07:00,U.S. ships ask for refuelling once the basic plan is adopted,EXCON,usfj-nowhere,"
        ),
        "102,D+0 17:00": "102,someday",
    }
    for k, line in enumerate(lines):
        for old, new in bad.items():
            if line.startswith(old):
                lines[k] = new + line[len(old) :]
    assert sum(new in "\n".join(lines) for new in bad.values()) == len(bad)
    path = folder / "broken-msel.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _shot(page: Any, name: str) -> None:
    """A screenshot of the whole page, so the bottom banner sits at the bottom as on a screen."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1440, "height": min(max(height, 900), 4000)})
    page.wait_for_timeout(200)
    page.screenshot(path=str(SCREENSHOTS / f"exercise-{name}.png"))
    page.set_viewport_size({"width": 1440, "height": 1000})


def _axe(page: Any, where: str) -> None:
    page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")
    result = json.loads(
        page.evaluate("async () => JSON.stringify(await axe.run(document, {resultTypes: ['violations']}))")
    )
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert not bad, f"{where}: {bad}"


def _context(browser: Any) -> tuple[Any, Any]:
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    return ctx, ctx.new_page()


def _japanese(page: Any) -> None:
    if page.get_attribute("html", "lang") != "ja":
        page.click(".lang-switch button")
        page.wait_for_selector("html[lang=ja]")


@dataclass
class Bots:
    """Bots playing the U.S. cells in a thread, through the public API, until an exercise hour."""

    thread: threading.Thread
    result: list[Any]
    errors: list[BaseException]

    def join(self) -> Any:
        self.thread.join(timeout=120)
        assert not self.thread.is_alive(), "the bots did not stop"
        if self.errors:
            raise self.errors[0]
        return self.result[0]


def _us_bots(service: Demo, until_h: float) -> Bots:
    runtime = service.runtime
    structure = runtime.coordinator.law.structure(STRUCTURE)
    scenario = load_scenario("taiwan-contingency")
    usa = next(n.id for n in structure.nations if n.code == "USA")
    orgs = [
        o
        for o in played_organizations(scenario, STRUCTURE, runtime, ["all"])
        if structure.org(o).nation == usa
    ]
    orgs += [o for o in ("usfj", "iii-mef") if o not in orgs]  # the MSEL's U.S. recipients
    tokens = bot_users(runtime, STRUCTURE, orgs)
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(
                play_against(service.base, EXERCISE, tokens, config=PlayerConfig(seed=3), until_h=until_h)
            )
        except BaseException as error:  # handed to the test's thread by join()
            errors.append(error)

    thread = threading.Thread(target=run, name="us-bots", daemon=True)
    thread.start()
    return Bots(thread, result, errors)


def _member(service: Demo, org: str) -> str:
    """The demo's member of an organization who acts on its steps."""
    users = {u.id: u for u in service.runtime.directory.users()}
    for candidate in (f"{org}-staff", f"{org}-jpn"):
        if candidate in users:
            return candidate
    named = [u.id for u in users.values() if u.organization == org and u.role.value == "approver"]
    assert named, f"no demo member of {org}"
    return named[0]


def test_an_exercise_designer_runs_the_bundled_msel_while_a_japanese_player_and_us_bots_play(
    service: Demo, browser: Any, tmp_path: Path
) -> None:
    excon_ctx, excon = _context(browser)
    player_ctx, player = _context(browser)
    errors: list[str] = []
    for page in (excon, player):
        page.on("pageerror", lambda e: errors.append(str(e)))
    bots: Bots | None = None
    try:
        # The designer imports a broken copy first: every bad row is listed, nothing is imported.
        sign_in(excon, service.base, "excon", next_path="/exercises")
        excon.wait_for_selector("#create-exercise form")
        excon.fill("#cx-id", EXERCISE)
        excon.fill("#cx-name", "Yama Sakura (console)")
        excon.select_option("#cx-scenario", "taiwan-contingency")
        excon.select_option("#cx-structure", STRUCTURE)
        excon.select_option("#cx-situation", "gray-zone")
        excon.set_input_files("#cx-msel", str(_broken_msel(tmp_path)))
        excon.click("#create-exercise button[type=submit]")
        excon.wait_for_selector("#create-exercise .problems")
        problems = excon.inner_text("#create-exercise .problems")
        assert "broken-msel.csv" in problems
        assert "usfj-nowhere" in problems
        assert "someday" in problems
        assert "002" in problems
        assert excon.locator("#create-exercise .problem").count() >= 3
        assert EXERCISE not in service.runtime.coordinator.view.crises
        _shot(excon, "msel-errors-en")

        # Then the bundled example: the exercise is created with every row of the MSEL.
        excon.set_input_files("#cx-msel", str(EXAMPLE))
        excon.click("#create-exercise button[type=submit]")
        excon.wait_for_selector("#create-exercise .result.ok a")
        excon.wait_for_selector(f"#exercise-{EXERCISE}", timeout=LIVE_TIMEOUT_MS)
        state = service.runtime.coordinator.view.crises[EXERCISE]
        assert state.exercise
        assert state.marking.rel_to >= {"USA", "JPN"}
        _shot(excon, "list-en")

        # A Japanese player opens their inbox before the clock starts: nothing has arrived.
        sign_in(player, service.base, PLAYER, next_path=f"/exercises/{EXERCISE}")
        _japanese(player)
        player.wait_for_selector("#inbox .empty")
        player.wait_for_selector("#live-status[data-state=live]")
        assert player.inner_text("#slot-clock .exclock-state") == "未開始"
        player.evaluate("window.__kizunaSameDocument = true")

        # Exercise control starts the clock at 60x: the injects of H+0 reach the player's inbox live.
        excon.click(f"#exercise-{EXERCISE} a")
        excon.wait_for_selector("#clock-panel")
        excon.select_option("#clock-speed", "60")
        excon.click("#clock-start")
        excon.wait_for_selector("#clock-panel .result.ok")
        player.wait_for_selector("#inbox-002", timeout=LIVE_TIMEOUT_MS)
        player.wait_for_selector("#inbox-001")
        assert player.evaluate("window.__kizunaSameDocument === true"), "the inbox was reloaded"
        assert player.get_attribute("#slot-clock [data-exercise-clock]", "data-running") == "true"
        _shot(player, "inbox-ja")

        # The exercise time runs on in the top bar of every page, here the player's.
        first = player.inner_text("#slot-clock .exclock-hours")
        for _ in range(40):  # the page's policy forbids eval, so poll instead of wait_for_function
            if player.inner_text("#slot-clock .exclock-hours") != first:
                break
            player.wait_for_timeout(250)
        assert player.inner_text("#slot-clock .exclock-hours") != first, "the exercise time stood still"

        # Bots play the U.S. cells through the API; exercise control runs the clock at 3600x.
        bots = _us_bots(service, until_h=40)
        excon.select_option("#clock-speed", "3600")
        excon.click("#clock-set-speed")
        excon.wait_for_selector("#clock-panel .result.ok")

        # The player files the designation the inject asks for and carries it along its path in the
        # browser, as the member of each Japanese organization on the way.
        player.click("#inbox-002 button.file-inject")
        # The inject now names the request that answered it (the live refresh replaces the button).
        answered = "#inbox-002 .inject-answered a[data-request]"
        player.wait_for_selector(answered, timeout=LIVE_TIMEOUT_MS)
        request_path = player.get_attribute(answered, "href")
        assert request_path is not None
        request_id = request_path.rsplit("/", 1)[1]
        designation = service.runtime.coordinator.view.requests[request_id]
        assert designation.crisis == EXERCISE
        assert designation.marking.exercise
        player.goto(service.base + request_path)
        current = PLAYER
        for step in designation.path.order():
            member = _member(service, step.organization)
            if member != current:
                player.context.clear_cookies()
                sign_in(player, service.base, member, next_path=request_path)
                current = member
            _japanese(player)
            button = player.locator(f"button[data-step='{step.id}']").first
            button.wait_for(timeout=LIVE_TIMEOUT_MS)
            button.click()
            player.wait_for_selector(f"tr#step-{step.id}[data-status=done]", timeout=LIVE_TIMEOUT_MS)
        assert service.runtime.coordinator.view.requests[request_id].status in {
            RequestStatus.DECIDED,
            RequestStatus.EXECUTED,
        }
        _shot(player, "request-ja")

        # Exercise control sees the MSEL board fill with deliveries and the answers to them.
        excon.wait_for_selector("#inject-002[data-delivered=true]")
        excon.wait_for_selector("#inject-004[data-delivered=true]", timeout=20_000)
        excon.wait_for_selector("#inject-004 a[href^='/requests/']", timeout=20_000)  # a bot filed it
        _shot(excon, "control-en")

        # An observer writes a time-stamped observation tied to an objective.
        observer_ctx, observer = _context(browser)
        try:
            sign_in(observer, service.base, "jp-observer", next_path=f"/exercises/{EXERCISE}")
            _japanese(observer)
            observer.select_option("#ob-objective", index=0)
            objective = observer.eval_on_selector("#ob-objective", "e => e.value")
            assert objective.startswith("OBJ-1")
            observer.fill("#ob-text", "内閣官房は重要影響事態の認定を速やかに提案した。")
            observer.select_option("#ob-rating", "met")
            observer.click("#observe-form button[type=submit]")
            observer.wait_for_selector("#observations .observation", timeout=LIVE_TIMEOUT_MS)
            stamp = observer.inner_text("#observations .observation time")
            assert stamp.startswith("D+")
            assert "H+" in stamp
            _shot(observer, "observations-ja")
            _axe(observer, "exercise page (ja, observer)")
        finally:
            observer_ctx.close()

        # Exercise control jumps past the bots' last hour and pauses; the bots stop.
        excon.fill("#clock-to", "H+44")
        excon.click("#clock-jump")
        excon.wait_for_selector("#clock-panel .result.ok")
        team = bots.join()
        bots = None
        assert team.actions > 0, "the bots took no step"
        assert team.filings > 0, "the bots filed nothing"
        excon.click("#clock-pause")
        excon.wait_for_selector("#slot-clock .exclock-state[data-state=paused]", timeout=LIVE_TIMEOUT_MS)
        _axe(excon, "exercise page (en, exercise control)")

        # The after-action review renders, with links to its workbook and PDF.
        excon.goto(f"{service.base}/exercises/{EXERCISE}/aar?replications=200")
        excon.wait_for_selector("#aar-paths table", timeout=120_000)
        paths = excon.inner_text("#aar-paths")
        assert "designate-iis" in paths
        assert "combat-ops-from-japan" in paths
        assert "OBJ-1" in excon.inner_text("#aar-observations")
        for link in ("#aar-xlsx", "#aar-pdf"):
            href = excon.get_attribute(link, "href")
            assert href is not None
            answer = excon.request.get(service.base + href, timeout=180_000)
            assert answer.status == 200, href
            assert answer.body()[:4] in {b"PK\x03\x04", b"%PDF"}
        _shot(excon, "aar-en")
        _axe(excon, "after-action review (en)")
        assert not errors, errors
    finally:
        if bots is not None:  # never leave the bots running: move the clock past their last hour
            with contextlib.suppress(Exception):
                _jump_past(service, 1000)
                bots.join()
        excon_ctx.close()
        player_ctx.close()


def _jump_past(service: Demo, hours: float) -> None:
    """Jump the story's clock to H+`hours` through the API (the bots stop past their last hour)."""
    from datetime import datetime, timedelta

    with service.login("excon") as client:
        start = datetime.fromisoformat(client.get(f"/api/exercises/{EXERCISE}").json()["start"])
        to = (start + timedelta(hours=hours)).isoformat()
        client.post(f"/api/exercises/{EXERCISE}/clock", json={"action": "jump", "to": to}).raise_for_status()


def test_a_us_only_exercise_never_reaches_a_japanese_user(service: Demo, browser: Any) -> None:
    noforn = Marking.national(Classification.SECRET, "USA", exercise=True)
    with service.login("excon") as excon:
        created = excon.post(
            "/api/exercises",
            json={
                "id": "us-only-drill",
                "name": US_ONLY_NAME,
                "scenario": "taiwan-contingency",
                "structure": STRUCTURE,
                "marking": noforn.to_json(),
                "msel": [
                    {
                        "serial": "K1",
                        "time": "2027-04-06T05:00:00+09:00",
                        "event": "kestrel inject for U.S. eyes",
                        "to": ["usfj"],
                    }
                ],
            },
        )
        assert created.status_code == 201, created.text
    ctx, page = _context(browser)
    bodies: list[str] = []
    streamed: list[str] = []

    def keep(response: Any) -> None:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return
        with contextlib.suppress(Exception):
            bodies.append(response.text())

    page.on("response", keep)

    def keep_event(detail: str) -> None:  # a Python function: Playwright cannot expose a builtin
        streamed.append(detail)

    page.expose_function("__kizunaKeep", keep_event)
    page.add_init_script(
        "document.addEventListener('kizuna:event', e => window.__kizunaKeep(JSON.stringify(e.detail)))"
    )
    try:
        sign_in(page, service.base, "jp-mod-approver", next_path="/exercises")
        page.wait_for_selector("#live-status[data-state=live]")
        # While the Japanese user watches, the U.S.-only exercise's clock starts and an inject is added.
        with service.login("excon") as excon:
            excon.post(
                "/api/exercises/us-only-drill/clock", json={"action": "start", "speed": 3600}
            ).raise_for_status()
            excon.post(
                "/api/exercises/us-only-drill/injects",
                json={"serial": "K2", "event": "kestrel ad hoc", "to": ["usfj"]},
            ).raise_for_status()
        with service.login("us-operator") as us:  # the U.S. player sees it: it exists
            assert us.get("/api/exercises/us-only-drill/inbox").status_code == 200
        page.wait_for_timeout(1500)  # time for the stream to bring anything it (wrongly) would
        paths = ["/exercises", f"/crises/{service.crisis}", "/law", f"/structures/{STRUCTURE}"]
        if EXERCISE in service.runtime.coordinator.view.crises:
            paths += [f"/exercises/{EXERCISE}"]
        for path in paths:
            page.goto(service.base + path)
            page.wait_for_load_state("load")
            html = page.content()
            assert "kestrel" not in html, path
            assert "us-only-drill" not in html, path
        missing = page.goto(f"{service.base}/exercises/us-only-drill")
        assert missing is not None
        assert missing.status == 404
        received = "\n".join(bodies + streamed)
        assert received
        assert "kestrel" not in received
        assert "us-only-drill" not in received
    finally:
        ctx.close()
    with service.login("excon") as excon:
        excon.post("/api/exercises/us-only-drill/clock", json={"action": "pause"}).raise_for_status()


def _drill(service: Demo, exercise_id: str) -> None:
    """Create an exercise of the scenario's own MSEL through the API, unless it exists."""
    if exercise_id in service.runtime.coordinator.view.crises:
        return
    shared = Marking.releasable(Classification.SECRET, "USA", ["JPN"], exercise=True)
    with service.login("excon") as excon:
        body = {
            "id": exercise_id,
            "name": f"Drill {exercise_id}",
            "scenario": "taiwan-contingency",
            "structure": STRUCTURE,
            "marking": shared.to_json(),
        }
        excon.post("/api/exercises", json=body).raise_for_status()


def test_exercise_forms_need_the_token_and_the_white_cell(service: Demo) -> None:
    _drill(service, "forms-drill")
    forms = [
        ("/exercises", {"id": "x", "name": "x", "scenario": "taiwan-contingency"}),
        ("/exercises/forms-drill/clock", {"action": "start"}),
        ("/exercises/forms-drill/injects", {"serial": "Z", "event": "x", "to": "usfj"}),
        ("/exercises/forms-drill/injects/001/file", {}),
        ("/exercises/forms-drill/observations", {"objective": "x", "text": "x"}),
    ]
    with service.login("excon") as client:
        client.headers.pop("X-CSRF-Token")
        for path, data in forms:
            assert client.post(path, data=data).status_code == 403, path
    with service.login("us-operator") as player:
        player.headers["HX-Request"] = "true"
        for path, data in forms[:3]:
            refused = player.post(path, data=data)
            assert refused.status_code == 200, path
            assert "result error" in refused.text, path
        assert player.get("/exercises/forms-drill/aar").status_code == 403
    exercise = service.runtime.coordinator.view.crises["forms-drill"]
    assert exercise.exercise
    with service.login("excon") as client:  # nothing above changed the clock
        assert client.get("/api/exercises/forms-drill/clock").json()["state"]["started"] is False


def test_every_page_names_the_exercise_time_of_an_exercise_the_user_may_see(service: Demo) -> None:
    _drill(service, "clock-drill")
    with service.login("jp-mod-approver") as client:
        pages = ["/exercises", f"/crises/{service.crisis}", "/law", f"/structures/{STRUCTURE}"]
        for path in pages:
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert "data-exercise-clock" in answer.text, path
            assert 'class="exclock-tag">EXERCISE<' in answer.text, path
        drill = client.get("/exercises/clock-drill").text
    assert 'data-exercise="clock-drill"' in drill  # the page's own exercise is the one shown
    assert "D+0 05:00" in drill


def test_an_uploaded_msel_that_is_not_a_spreadsheet_is_refused_by_name(service: Demo) -> None:
    with service.login("excon") as client:
        client.headers["HX-Request"] = "true"
        answer = client.post(
            "/exercises",
            data={"id": "nope", "name": "nope", "scenario": "taiwan-contingency", "structure": STRUCTURE},
            files={"msel": ("notes.txt", b"serial,time\n", "text/plain")},
        )
    assert answer.status_code == 200
    assert "result error problems" in answer.text
    assert "notes.txt" in answer.text
    assert ".xlsx or .csv" in answer.text
    assert "nope" not in service.runtime.coordinator.view.crises


def test_exercise_pages_have_no_inline_script_and_load_nothing_from_elsewhere(service: Demo) -> None:
    from tests.web.test_console import _Scripts

    _drill(service, "forms-drill")
    pages = {
        "excon": ["/exercises", "/exercises/forms-drill", "/exercises/forms-drill/aar"],
        "us-operator": ["/exercises/forms-drill"],
        "jp-observer": ["/exercises/forms-drill"],
    }
    for user, paths in pages.items():
        with service.login(user) as client:
            for path in paths:
                answer = client.get(path)
                assert answer.status_code == 200, (user, path)
                parser = _Scripts()
                parser.feed(answer.text)
                assert not parser.inline, (path, parser.inline)
                assert not parser.handlers, (path, parser.handlers)
                assert "EXERCISE" in answer.text.split("</header>", 1)[0], path  # banner and clock
                for source in re.findall(r'(?:src|href)="(https?://[^"]+)"', answer.text):
                    assert source.startswith(service.base), f"{path} loads {source} from elsewhere"
