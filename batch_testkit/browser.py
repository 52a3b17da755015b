"""Drive a system Chromium through Playwright's Python API, and sign in to the dashboard.

Playwright's own browser builds cannot be downloaded here, so this launches the Chromium
named by `BATCH_TEST_CHROMIUM`, else the first `chromium` or `chromium-browser` on PATH
(Debian's package); Playwright gives each launch a fresh temporary profile.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, Playwright, expect

CHROMIUM_SETTING = "BATCH_TEST_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_executable() -> str:
    """The browser to launch: `BATCH_TEST_CHROMIUM`, else Chromium from PATH; says how to get one."""
    named = os.environ.get(CHROMIUM_SETTING)
    if named:
        found = shutil.which(named)
        if found is None:
            raise RuntimeError(f"{CHROMIUM_SETTING}={named} is not an executable")
        return found
    for name in CHROMIUM_NAMES:
        if found := shutil.which(name):
            return found
    raise RuntimeError(
        f"no Chromium on PATH (looked for {', '.join(CHROMIUM_NAMES)}): run scripts/ensure-system-tools.sh "
        f"(Debian: apt-get install chromium) or set {CHROMIUM_SETTING} to a Chromium executable"
    )


@contextmanager
def chromium(playwright: Playwright) -> Iterator[Browser]:
    """A headless Chromium, closed on the way out whatever happened."""
    browser = playwright.chromium.launch(
        executable_path=chromium_executable(), headless=True, args=CHROMIUM_ARGS
    )
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
