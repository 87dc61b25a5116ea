"""Fixtures of the console's tests: the demo served on a loopback port, and Debian's chromium.

`demo` starts one service per test process (per pytest-xdist worker) on a fresh SQLite file with the
demo seeded (cheap password hashes), served by uvicorn from a thread so a real browser can load it.
`browser` launches Debian's /usr/bin/chromium through Playwright (its own browser download is not
used). Tests that change the demo's state make their own requests, so they do not depend on order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from kizuna.access import Passwords
from kizuna.service import Runtime, create_app
from kizuna.service.demo import CRISIS, DEMO_PASSWORD, DemoInfo, seed_demo
from kizuna.settings import Settings
from kizuna.web.browser import BrowserMissing, launch
from kizuna.web.liveserver import serve_in_thread

SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
#: The U.S.-only situation report the demo files: no Japanese user may ever receive it.
US_ONLY_TITLE = "U.S. force posture (U.S. eyes only)"
US_ONLY_TEXT = "This NOFORN report is never shown to a Japanese user"


class Session(httpx.Client):
    """An httpx client already signed in; usable in a `with` block (which closes it)."""

    def __enter__(self) -> Session:
        return self


@dataclass
class Demo:
    """The demo service: its base URL, runtime and what was seeded."""

    base: str
    runtime: Runtime
    info: DemoInfo

    @property
    def crisis(self) -> str:
        """The demo crisis's id."""
        return CRISIS

    def login(self, user_id: str) -> Session:
        """Return an httpx client with a browser session of `user_id` (cookie + CSRF header)."""
        client = Session(base_url=self.base, follow_redirects=False)
        answer = client.post("/api/auth/login", json={"username": user_id, "password": DEMO_PASSWORD})
        answer.raise_for_status()
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return client

    def us_only_sitrep(self) -> str:
        """Return the id of the demo's U.S.-only situation report."""
        return next(s.id for s in self.runtime.coordinator.view.sitreps.values() if s.title == US_ONLY_TITLE)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """Serve the seeded demo on a loopback port for this test process."""
    root = tmp_path_factory.mktemp("web-demo")
    settings = Settings(
        data_dir=root, database_url=f"sqlite:///{root / 'demo.db'}", sqlite_synchronous="NORMAL"
    )
    app = create_app(settings, passwords=Passwords.fast())
    runtime: Runtime = app.state.runtime
    info = seed_demo(runtime)
    with serve_in_thread(app) as base:
        yield Demo(base=base, runtime=runtime, info=info)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Launch Debian's chromium through Playwright for this test process."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            launched = launch(playwright)
        except BrowserMissing as error:
            pytest.fail(str(error))
        yield launched
        launched.close()


def sign_in(page: Any, base: str, user_id: str, *, next_path: str = "/") -> None:
    """Sign in through the console's form, as a person would."""
    page.goto(f"{base}/login?next={next_path}")
    page.fill("#username", user_id)
    page.fill("#password", DEMO_PASSWORD)
    page.click("form.login-form button[type=submit]")
    page.wait_for_load_state("domcontentloaded")
