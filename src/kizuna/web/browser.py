"""Debian's chromium, as the browser tests and `kizuna bench web` start it through Playwright.

Playwright's own browser download is not used: the project installs Debian's `chromium` (scripts/test)
and points Playwright at it. The flags keep a headless browser from reaching anything off the machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class BrowserMissing(RuntimeError):
    """Chromium or Playwright is not installed (scripts/test installs both)."""


def launch(playwright: Any) -> Any:
    """Launch Debian's chromium with Playwright (a `sync_playwright()` instance)."""
    if not CHROMIUM.exists():
        raise BrowserMissing(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
