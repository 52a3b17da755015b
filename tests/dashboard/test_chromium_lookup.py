"""Which Chromium the browser tests launch: the one a setting names, else one from PATH."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_testkit.browser import CHROMIUM_SETTING, chromium_executable


def fake_browser(folder: Path, name: str) -> Path:
    folder.mkdir(exist_ok=True)
    executable = folder / name
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    return executable


def test_the_setting_names_the_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    named = fake_browser(tmp_path / "opt", "my-chrome")
    monkeypatch.setenv("PATH", str(fake_browser(tmp_path / "bin", "chromium").parent))
    monkeypatch.setenv(CHROMIUM_SETTING, str(named))
    assert chromium_executable() == str(named)


def test_a_setting_that_names_no_executable_is_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CHROMIUM_SETTING, str(tmp_path / "absent"))
    with pytest.raises(RuntimeError, match=f"{CHROMIUM_SETTING}=.*absent is not an executable"):
        chromium_executable()


def test_without_the_setting_chromium_is_found_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = fake_browser(tmp_path / "bin", "chromium-browser")
    monkeypatch.delenv(CHROMIUM_SETTING, raising=False)
    monkeypatch.setenv("PATH", str(browser.parent))
    assert chromium_executable() == str(browser)


def test_without_any_chromium_the_error_says_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CHROMIUM_SETTING, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError) as error:
        chromium_executable()
    assert "scripts/ensure-system-tools.sh" in str(error.value)
    assert CHROMIUM_SETTING in str(error.value)
