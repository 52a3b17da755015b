"""Drive Debian's Chromium through Playwright's Python API, and sign in to the dashboard.

Playwright's own browser builds cannot be downloaded here, so this always launches the
system `chromium` package; Playwright gives each launch a fresh temporary profile.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright, expect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium(playwright: Playwright) -> Iterator[Browser]:
    """A headless Chromium, closed on the way out whatever happened."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium chromium-driver")
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


def sign_in(page: Page, base_url: str, key: str, path: str = "/ui") -> None:
    """Open `path` and enter `key` the way a person would; wait until the content shows."""
    page.goto(base_url + path)
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#content")).to_be_visible()
