"""The console over HTTP: who may see which page, the CSRF token on every form, the security headers,
the message catalogs, the per-user language, the markings on a page, and the offline API docs."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.web.conftest import US_ONLY_TITLE, Demo

from kizuna.access import Classification, Marking, User, can_see
from kizuna.coordination import Action, StepStatus, TaskingStatus
from kizuna.coordination.events import EVENT_TYPES
from kizuna.model import OrgKind, RelationKind
from kizuna.model.diff import ChangeKind
from kizuna.planning import StepKind
from kizuna.service.demo import DEMO_PASSWORD, STRUCTURE
from kizuna.web import markings
from kizuna.web.i18n import MESSAGES, Translator, catalog
from kizuna.web.security import CSP

WEB = Path(__file__).resolve().parents[2] / "src" / "kizuna" / "web"


def _pages(demo: Demo) -> list[str]:
    requests = [r.id for r in demo.runtime.coordinator.view.requests.values() if r.crisis == demo.crisis]
    return [
        f"/crises/{demo.crisis}",
        *[f"/requests/{r}" for r in requests[:3]],
        f"/structures/{STRUCTURE}",
        "/law",
    ]


class _Scripts(HTMLParser):
    """Collects inline scripts and inline event handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        self.handlers += [f"{tag}[{k}]" for k in names if k.startswith("on")]
        self.handlers += [
            f"{tag}[{k}]" for k, v in names.items() if v and v.strip().lower().startswith("javascript:")
        ]
        self._in_script = tag == "script" and "src" not in names

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data.strip()[:60])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def test_every_page_has_no_inline_script_and_a_strict_policy(demo: Demo) -> None:
    with demo.login("us-approver") as client:
        for path in [*_pages(demo), "/docs", "/redoc"]:
            answer = client.get(path)
            assert answer.status_code == 200, path
            policy = answer.headers["content-security-policy"]
            assert policy == CSP
            assert "script-src 'self'" in policy
            assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
            assert answer.headers["x-frame-options"] == "DENY"
            parser = _Scripts()
            parser.feed(answer.text)
            assert not parser.inline, (path, parser.inline)
            assert not parser.handlers, (path, parser.handlers)
            for source in re.findall(r'(?:src|href)="(https?://[^"]+)"', answer.text):
                assert source.startswith(demo.base), f"{path} loads {source} from elsewhere"
        assert "content-security-policy" in client.get("/api/health").headers


def test_pages_send_strangers_to_sign_in_and_back(demo: Demo) -> None:
    with httpx.Client(base_url=demo.base) as anonymous:
        answer = anonymous.get(f"/crises/{demo.crisis}")
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/login?next=%2Fcrises%2F{demo.crisis}"
        htmx = anonymous.get(f"/crises/{demo.crisis}", headers={"HX-Request": "true"})
        assert htmx.status_code == 204
        assert htmx.headers["HX-Redirect"].startswith("/login?next=")
        assert anonymous.get(f"/crises/{demo.crisis}/map.json").status_code == 303
        form = anonymous.get("/login")
        assert form.status_code == 200
        assert "EXERCISE" not in form.text  # the sign-in page shows the system's banner, no crisis data
        assert 'class="banner marking-unclassified"' in form.text
        # Signing in through the form goes back where the visitor was going.
        signed = anonymous.post(
            "/login", data={"username": "us-operator", "password": DEMO_PASSWORD, "next": "/law"}
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == "/law"
        assert "httponly" in signed.headers["set-cookie"].lower()
        assert "samesite=strict" in signed.headers["set-cookie"].lower()
        assert anonymous.get("/law").status_code == 200


def test_sign_in_refuses_bad_passwords_and_foreign_redirects(demo: Demo) -> None:
    with httpx.Client(base_url=demo.base) as client:
        bad = client.post(
            "/login", data={"username": "us-operator", "password": "wrong-password", "next": "/"}
        )
        assert bad.status_code == 401
        assert "Sign-in failed" in bad.text
        assert "kizuna_session" not in bad.headers.get("set-cookie", "")
        for target in ("//elsewhere.example/x", "https://elsewhere.example/", "javascript:alert(1)"):
            answer = client.post(
                "/login", data={"username": "us-operator", "password": DEMO_PASSWORD, "next": target}
            )
            assert answer.headers["location"] == "/", target


def test_the_form_and_the_api_share_one_login(demo: Demo) -> None:
    from kizuna.service import credentials
    from kizuna.service.routers import auth
    from kizuna.web.pages import login

    assert login.log_in is credentials.log_in
    assert auth.log_in is credentials.log_in


def test_an_expired_session_ends_on_the_sign_in_page_saying_so(demo: Demo) -> None:
    from sqlalchemy import update

    from kizuna.access.credentials import digest
    from kizuna.access.directory import sessions_table

    with demo.login("us-observer") as client:
        session_id = client.cookies["kizuna_session"]
        with demo.runtime.store.engine.begin() as connection:
            connection.execute(
                update(sessions_table)
                .where(sessions_table.c.session_hash == digest(session_id))
                .values(expires_at=demo.runtime.clock().replace(year=2000))
            )
        demo.runtime.credentials.forget_session(session_id)
        answer = client.get(f"/crises/{demo.crisis}")
        assert answer.status_code == 303
        assert answer.headers["location"].endswith("&reason=expired")
        assert "Your session has ended" in client.get(answer.headers["location"]).text


def test_every_state_change_needs_the_csrf_token(demo: Demo) -> None:
    request = next(r for r in demo.runtime.coordinator.view.requests.values() if r.ready_steps())
    step = request.ready_steps()[0]
    forms = [
        (f"/requests/{request.id}/steps/{step.id}", {"action": "coordinate"}),
        (f"/requests/{request.id}/withdraw", {"reason": "x"}),
        (f"/crises/{demo.crisis}/requests", {"name": "x"}),
        (f"/crises/{demo.crisis}/sitreps", {"title": "x"}),
        (f"/crises/{demo.crisis}/taskings", {"unit": "iii-mef", "task": "x"}),
        ("/taskings/t-none/status", {"status": "acknowledged"}),
        ("/preferences", {"language": "ja"}),
        ("/logout", {}),
    ]
    with demo.login("us-approver") as client:
        token = client.headers.pop("X-CSRF-Token")
        for path, data in forms:
            refused = client.post(path, data=data)
            assert refused.status_code == 403, path
            wrong = client.post(path, data={**data, "csrf_token": "0" * 64})
            assert wrong.status_code == 403, path
        assert demo.runtime.coordinator.view.requests[request.id].version == request.version
        accepted = client.post("/preferences", data={"language": "en", "csrf_token": token})
        assert accepted.status_code == 303


def test_an_action_posted_by_htmx_answers_with_its_result_and_a_refresh(demo: Demo) -> None:
    us = demo.login("us-operator")
    marking = {"level": "secret", "owner": "USA", "rel_to": ["USA", "JPN"], "exercise": True}
    filed = us.post(
        f"/api/crises/{demo.crisis}/requests",
        json={
            "name": "htmx",
            "actor": "us-forces",
            "activity": "supply",
            "executor": "iii-mef",
            "marking": marking,
        },
    )
    assert filed.status_code == 201, filed.text
    request_id = filed.json()["request"]["id"]
    step = filed.json()["ready"][0]
    done = us.post(
        f"/requests/{request_id}/steps/{step}", data={"action": "coordinate"}, headers={"HX-Request": "true"}
    )
    assert done.status_code == 200
    assert done.headers["HX-Trigger"] == "kizuna-changed"
    assert 'class="result ok"' in done.text
    again = us.post(
        f"/requests/{request_id}/steps/{step}", data={"action": "coordinate"}, headers={"HX-Request": "true"}
    )
    assert 'class="result error"' in again.text
    assert "already" in again.text  # the coordinator's own words: who won
    assert "HX-Trigger" not in again.headers
    plain = us.post(
        f"/requests/{request_id}/withdraw",
        data={"reason": "test"},
        headers={"Referer": f"{demo.base}/requests/{request_id}"},
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == f"/requests/{request_id}"
    us.close()


def test_a_user_is_offered_only_markings_they_could_see_and_cannot_file_above(demo: Demo) -> None:
    user = User(
        id="jp-conf-op",
        name="Confidential operator",
        nation="JPN",
        organization="jp-mod",
        role="operator",
        clearance=Classification.CONFIDENTIAL,
    )
    demo.runtime.directory.add(user, DEMO_PASSWORD)
    with demo.login("jp-conf-op") as client:
        page = client.get(f"/crises/{demo.crisis}").text
        assert 'value="unclassified"' in page
        assert 'value="confidential"' in page
        assert 'value="secret"' not in page
        refused = client.post(
            f"/crises/{demo.crisis}/sitreps",
            data={"title": "too high", "level": "secret", "rel_to": ["USA", "JPN"]},
            headers={"HX-Request": "true"},
        )
        assert 'class="result error"' in refused.text
        assert not [s for s in demo.runtime.coordinator.view.sitreps.values() if s.title == "too high"]
        filed = client.post(
            f"/crises/{demo.crisis}/sitreps",
            data={"title": "JPN only", "level": "confidential", "noforn": "1"},
            headers={"HX-Request": "true"},
        )
        assert 'class="result ok"' in filed.text
        mine = next(s for s in demo.runtime.coordinator.view.sitreps.values() if s.title == "JPN only")
        assert mine.marking.noforn
        assert mine.marking.rel_to == {
            "JPN"
        }  # joined with the U.S.-owned crisis's marking, Japan's eyes only
    with demo.login("us-approver") as american:
        assert "JPN only" not in american.get(f"/crises/{demo.crisis}").text


def test_observers_get_no_forms_and_no_action_buttons(demo: Demo) -> None:
    with demo.login("jp-observer") as client:
        for path in _pages(demo):
            html = client.get(path).text
            assert "data-action=" not in html, path
            assert 'id="file-request"' not in html, path
            assert US_ONLY_TITLE not in html


def test_the_page_banner_carries_the_highest_marking_on_the_page(demo: Demo) -> None:
    with demo.login("us-approver") as american, demo.login("jp-mod-approver") as japanese:
        us_page = american.get(f"/crises/{demo.crisis}").text
        assert re.search(
            r'id="banner-top" class="banner marking-secret"[^>]*>EXERCISE//SECRET//NOFORN<', us_page
        )
        jp_page = japanese.get(f"/crises/{demo.crisis}").text
        assert "NOFORN" not in jp_page.split('id="banner-top"')[1].split("</div>")[0]
        assert 'id="banner-bottom" class="banner marking-secret"' in jp_page
        law = japanese.get("/law").text
        assert re.search(
            r'id="banner-top" class="banner marking-unclassified"[^>]*>EXERCISE//', law
        )  # exercise on every page


levels = st.sampled_from(list(Classification))
nations = st.frozensets(st.sampled_from(["USA", "JPN", "AUS", "PHL", "KOR"]), max_size=5)


@st.composite
def marking_values(draw: st.DrawFn) -> Marking:
    owner = draw(st.sampled_from(["USA", "JPN", "AUS", "PHL", "KOR"]))
    if draw(st.booleans()):
        return Marking.national(draw(levels), owner, exercise=draw(st.booleans()))
    return Marking.releasable(draw(levels), owner, draw(nations), exercise=draw(st.booleans()))


@given(st.lists(marking_values(), min_size=1, max_size=6))
def test_a_page_marking_is_never_lower_than_anything_on_the_page(parts: list[Marking]) -> None:
    page = markings.page_marking(parts)
    for part in parts:  # levels and release compared across worlds: a page may show both
        assert page.model_copy(update={"exercise": part.exercise}).at_least_as_restrictive_as(part)
    assert page.exercise == all(part.exercise for part in parts)
    for nation in ("USA", "JPN", "AUS", "PHL", "KOR"):
        reader = User(
            id="r",
            name="r",
            nation=nation,
            organization="x",
            role="observer",
            clearance=Classification.TOP_SECRET,
        )
        if can_see(reader, page):
            assert all(can_see(reader, part) for part in parts)
    text = markings.portion(page)
    assert text.startswith("(")
    assert text.endswith(")")


def test_portion_marks_read_as_staff_write_them() -> None:
    assert markings.portion(Marking.national(Classification.SECRET, "USA")) == "(S//NF)"
    assert (
        markings.portion(Marking.releasable(Classification.SECRET, "USA", ["JPN", "AUS"]))
        == "(S//REL TO USA, AUS, JPN)"
    )
    assert markings.portion(Marking.releasable(Classification.UNCLASSIFIED, "JPN", [])) == "(U)"
    assert markings.banner(markings.PUBLIC, "USA", exercise_active=True) == "EXERCISE//UNCLASSIFIED"


def test_the_catalogs_name_every_message_in_both_languages() -> None:
    en, ja = catalog("en"), catalog("ja")
    assert set(en) <= set(ja), sorted(set(en) - set(ja))
    assert not [k for k in ja if k not in en and not k.startswith("term.")]
    for key, text in en.items():
        fields = set(re.findall(r"{(\w+)}", text))
        assert fields == set(re.findall(r"{(\w+)}", ja[key])), key
        assert key == key.lower(), key  # keyed by meaning, never by English text
        assert " " not in key, key
    used: set[str] = set()
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.py")]:
        used |= set(re.findall(r"""\bt\(\s*['"]([a-z0-9.-]+)['"]""", path.read_text(encoding="utf-8")))
    missing = sorted(k for k in used if k not in en and not k.endswith((".", "-")))
    assert not missing, missing
    families = {
        "role": ["operator", "approver", "observer", "exercise-control", "admin"],
        "kind": [k.value for k in StepKind],
        "status": [s.value for s in StepStatus],
        "action": [a.value for a in Action],
        "result": [a.value for a in Action] + [f"tasking-{s.value}" for s in TaskingStatus],
        "tasking": [s.value for s in TaskingStatus]
        + [f"to-{s.value}" for s in TaskingStatus if s.value != "issued"],
        "request": ["filed", "in-progress", "decided", "executed", "denied", "withdrawn", "prohibited"],
        "outcome": ["permitted", "requires-approval", "prohibited"],
        "relation": [k.value for k in RelationKind],
        "org": [f"kind-{k.value}" for k in OrgKind],
        "change": [c.value for c in ChangeKind],
        "event": [
            e.model_fields["type"].default
            for e in EVENT_TYPES
            if e.model_fields["type"].default.startswith(("request", "step"))
        ],
    }
    for family, members in families.items():
        for member in members:
            assert f"{family}.{member}" in en, f"{family}.{member}"
    assert json.loads((MESSAGES / "en.json").read_text(encoding="utf-8")) == en


def test_the_law_vocabulary_has_japanese_names(demo: Demo) -> None:
    frameworks = demo.runtime.coordinator.law.frameworks
    t = Translator("ja")
    for section in ("situations", "actors", "activities", "locations", "flags", "supported", "approvals"):
        for word, term in getattr(frameworks, section).items():
            assert t.term(word, term) != term.name, f"{section}: {word}"


def test_the_language_is_remembered_per_user_on_the_server(demo: Demo) -> None:
    with demo.login("jp-mofa-staff") as first:
        assert '<html lang="en">' in first.get("/law").text
        first.post("/preferences", data={"language": "ja", "time_zone": "Asia/Tokyo", "back": "/law"})
        assert '<html lang="ja">' in first.get("/law").text
    with demo.login("jp-mofa-staff") as second:  # another browser, another session
        page = second.get("/law").text
        assert '<html lang="ja">' in page
        assert "法制度の参照" in page
        second.post("/preferences", data={"language": "xx"})  # an unknown language changes nothing
        assert '<html lang="ja">' in second.get("/law").text
        second.post("/preferences", data={"language": "en"})
    with demo.login("jp-nsc-staff") as other:
        assert '<html lang="en">' in other.get("/law").text  # per user, not per machine


def test_times_are_shown_in_the_users_zone_and_organizations_local_time(demo: Demo) -> None:
    with demo.login("us-approver") as client:
        request = next(
            r
            for r in demo.runtime.coordinator.view.requests.values()
            if r.spec.activity == "combat-operations-from-japan"
        )
        page = client.get(f"/requests/{request.id}").text
        assert "Times in Asia/Tokyo" in page  # USFJ sits at Yokota
        route = client.get("/structures/us-japan-2015/route?a=iii-mef&b=gsdf").text
        assert "Pacific/Honolulu" in route
        assert "Clock change" in route
        assert re.search(r"[−-]19 h", route)


def test_the_map_layers_name_every_site_and_symbol(demo: Demo) -> None:
    structure = demo.runtime.coordinator.law.structure(STRUCTURE)
    with demo.login("jp-observer") as client:
        data = client.get(f"/crises/{demo.crisis}/map.json").json()
    assert {s["id"] for s in data["sites"]} == {s.id for s in structure.sites}
    shown = {o["id"]: o for s in data["sites"] for o in s["orgs"] if o["id"]}
    for org in structure.organizations:
        if org.site:
            assert shown[org.id]["sidc"][2] == "1"  # exercise context
            assert shown[org.id]["sidc"][3:] == org.symbol.sidc[3:]
    assert any(not s["theatre"] for s in data["sites"])  # Hawaii and Washington are listed beside the map


def test_a_missing_object_is_a_page_for_people_and_json_for_programs(demo: Demo) -> None:
    with demo.login("jp-observer") as client:
        secret = demo.us_only_sitrep()
        page = client.get(f"/requests/{secret}")
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        api = client.get(f"/api/sitreps/{secret}")
        assert api.status_code == 404
        assert api.json()["error"] == "NotFound"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_are_served_from_the_package(demo: Demo, path: str) -> None:
    with httpx.Client(base_url=demo.base) as client:
        page = client.get(path)
        assert page.status_code == 200
        scripts = re.findall(r'<script src="([^"]+)"', page.text)
        assert scripts
        for script in scripts:
            assert script.startswith("/static/"), script
            assert client.get(script).status_code == 200


def test_the_demo_tells_a_newcomer_where_to_go_and_who_to_be(demo: Demo) -> None:
    from kizuna.service.demo import login_lines

    lines = list(login_lines(demo.info, "http://127.0.0.1:8000"))
    assert "  Open the console:    http://127.0.0.1:8000/" in lines
    assert any("sign in as us-operator" in line for line in lines)
    assert all(len(line) <= 80 for line in lines[1:3])
