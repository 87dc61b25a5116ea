"""`kizuna bench web`: how fast the console is usable, and how fast an action reaches another browser.

The demo is served on a loopback port (uvicorn in a thread, cheap password hashes) and driven by
Debian's chromium through Playwright, two signed-in users in separate browser contexts:

- Time to a usable crisis overview, from the navigation's start to the later of DOMContentLoaded (the
  board, the queue and the timeline are server-rendered, so they are there then) and the map drawn with
  every symbol (`kizuna:map-ready`), read from the page's own performance timeline. Cold: a new context
  with an empty cache each time; warm: reloads in one context. Reference in the same run: the sign-in
  page (the HTTP, CSS and font floor), cold and warm.
- Command to appearance: the U.S. operator files a situation report with the overview's form; the
  delay until the Japanese approver's overview shows it (its live region re-rendered), p50 and p95 over
  `actions` actions, beside the delay until the event reached that browser's stream (the floor).

Goals: overview usable in under 1.5 s; update p95 under 1 s.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from kizuna.access import Passwords
from kizuna.service import create_app
from kizuna.service.demo import CRISIS, DEMO_PASSWORD, seed_demo
from kizuna.settings import Settings
from kizuna.web.browser import launch
from kizuna.web.liveserver import serve_in_thread

GOAL_USABLE_MS = 1500.0
GOAL_UPDATE_P95_MS = 1000.0

_USABLE = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const ready = performance.getEntriesByName('kizuna:map-ready')[0];
  return Math.max(nav.domContentLoadedEventEnd, ready ? ready.startTime : 0);
}"""
_LOADED = "() => performance.getEntriesByType('navigation')[0].loadEventEnd"
_WATCH = """() => {
  window.__seen = {}; window.__streamed = {};
  new MutationObserver(() => {
    for (const h of document.querySelectorAll('#sitreps h3')) {
      const title = h.textContent.trim().split(' ').pop();
      if (title.startsWith('bench-') && !(title in window.__seen)) window.__seen[title] = Date.now();
    }
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
  document.addEventListener('kizuna:event', (e) => {
    const m = /"title":"(bench-[0-9]+)"/.exec(e.detail.data || '');
    if (m && !(m[1] in window.__streamed)) window.__streamed[m[1]] = Date.now();
  });
}"""


def _cookie(base: str, user: str) -> dict[str, Any]:
    with httpx.Client(base_url=base) as client:
        client.post("/api/auth/login", json={"username": user, "password": DEMO_PASSWORD}).raise_for_status()
        value = client.cookies["kizuna_session"]
    return {"name": "kizuna_session", "value": value, "url": base}


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(ordered[-1], 1),
    }


Say = Callable[[str, float], None]
VIEWPORT = {"width": 1440, "height": 1000}


def _cold(
    browser: Any, base: str, cookie: dict[str, Any], loads: int, say: Say
) -> tuple[list[float], list[float]]:
    """Overview and sign-in page, each in a new context (empty cache) every time."""
    usable: list[float] = []
    reference: list[float] = []
    for i in range(loads):
        say("cold loads", 0.05 + 0.2 * i / loads)
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.goto(f"{base}/login")
        page.wait_for_load_state("load")
        reference.append(float(page.evaluate(_LOADED)))
        context.close()
        context = browser.new_context(viewport=VIEWPORT)
        context.add_cookies([cookie])
        page = context.new_page()
        page.goto(f"{base}/crises/{CRISIS}")
        page.wait_for_selector("#map[data-ready=true]")
        usable.append(float(page.evaluate(_USABLE)))
        context.close()
    return usable, reference


def _warm(page: Any, base: str, loads: int, say: Say) -> tuple[list[float], list[float]]:
    """Overview and sign-in page again in one context (its cache warm)."""
    usable: list[float] = []
    reference: list[float] = []
    overview = f"{base}/crises/{CRISIS}"
    page.goto(overview)
    page.wait_for_selector("#map[data-ready=true]")
    for i in range(loads):
        say("warm loads", 0.25 + 0.15 * i / loads)
        page.reload()
        page.wait_for_selector("#map[data-ready=true]")
        usable.append(float(page.evaluate(_USABLE)))
        page.goto(f"{base}/login?next=/")
        page.wait_for_load_state("load")
        reference.append(float(page.evaluate(_LOADED)))
        page.goto(overview)
        page.wait_for_selector("#map[data-ready=true]")
    return usable, reference


_SEND = """() => {
  const t = Date.now();
  document.querySelector('#file-sitrep button[type=submit]').click();
  return t;
}"""


def _updates(page: Any, watcher: Any, actions: int, say: Say) -> tuple[list[float], list[float]]:
    """File a report in one browser; time its appearance (and its stream event) in the other."""
    watcher.wait_for_selector("#live-status[data-state=live]")
    watcher.evaluate(_WATCH)
    page.click("#file-sitrep summary")
    appeared: list[float] = []
    streamed: list[float] = []
    for i in range(actions):
        say("actions", 0.4 + 0.6 * i / actions)
        title = f"bench-{i}"
        page.fill("#sr-title", title)
        sent = float(page.evaluate(_SEND))
        watcher.wait_for_function(f"() => '{title}' in window.__seen", timeout=30_000)
        seen = watcher.evaluate(f"() => [window.__seen['{title}'], window.__streamed['{title}'] || null]")
        appeared.append(seen[0] - sent)
        if seen[1] is not None:
            streamed.append(seen[1] - sent)
        page.wait_for_selector("#file-sitrep .result.ok")
        page.evaluate("() => document.querySelector('#file-sitrep .form-result').replaceChildren()")
    return appeared, streamed


def run(*, actions: int = 100, loads: int = 5, progress: Say | None = None) -> dict[str, Any]:
    """Serve the demo, drive two browsers, and return the figures (milliseconds)."""
    from playwright.sync_api import sync_playwright  # a dev dependency: imported only when run

    def say(what: str, done: float) -> None:
        if progress is not None:
            progress(what, done)

    with tempfile.TemporaryDirectory(prefix="kizuna-bench-web-") as root:
        say("seeding the demo", 0.0)
        settings = Settings(
            data_dir=Path(root),
            database_url=f"sqlite:///{Path(root) / 'demo.db'}",
            sqlite_synchronous="NORMAL",
        )
        app = create_app(settings, passwords=Passwords.fast())
        seed_demo(app.state.runtime)
        with serve_in_thread(app) as base, sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                us_cookie, jp_cookie = _cookie(base, "us-operator"), _cookie(base, "jp-cabinet-approver")
                cold, cold_ref = _cold(browser, base, us_cookie, loads, say)
                context = browser.new_context(viewport=VIEWPORT)
                context.add_cookies([us_cookie])
                page = context.new_page()
                warm, warm_ref = _warm(page, base, loads, say)
                watcher_context = browser.new_context(viewport=VIEWPORT)
                watcher_context.add_cookies([jp_cookie])
                watcher = watcher_context.new_page()
                watcher.goto(f"{base}/crises/{CRISIS}")
                appeared, streamed = _updates(page, watcher, actions, say)
            finally:
                browser.close()
    figures: dict[str, Any] = {
        "setup": {"actions": actions, "loads": loads},
        "overview_cold": _quantiles(cold),
        "overview_warm": _quantiles(warm),
        "reference_sign_in_cold": _quantiles(cold_ref),
        "reference_sign_in_warm": _quantiles(warm_ref),
        "update_appearance": _quantiles(appeared),
        "reference_stream_delivery": _quantiles(streamed),
    }
    figures["goals"] = {
        "overview_usable_ms": GOAL_USABLE_MS,
        "update_p95_ms": GOAL_UPDATE_P95_MS,
        "overview_cold_met": figures["overview_cold"]["p50_ms"] < GOAL_USABLE_MS,
        "overview_warm_met": figures["overview_warm"]["p50_ms"] < GOAL_USABLE_MS,
        "update_met": figures["update_appearance"]["p95_ms"] < GOAL_UPDATE_P95_MS,
    }
    say("done", 1.0)
    return figures
