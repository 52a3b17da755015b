"""`batch-service` and `python -m batch_service`: start from settings, or refuse and say why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from batch_testkit.processes import ServerProcess, base_env, free_port, http_ready
from batch_testkit.servers import BIN_DIR


def test_it_refuses_to_start_without_keys_and_says_why(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN_DIR / "batch-service")],
        env=base_env({"BATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "BATCH_API_KEYS" in result.stderr
    assert "BATCH_ALLOW_ANONYMOUS" in result.stderr
    assert not (tmp_path / "x.db").exists()


def test_a_bad_key_list_is_refused_without_echoing_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN_DIR / "batch-service")],
        env=base_env({"BATCH_API_KEYS": "alice:fine,supersecretwithoutowner"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "entry 2" in result.stderr
    assert "supersecretwithoutowner" not in result.stderr + result.stdout


def test_python_dash_m_serves_on_the_port_given_as_a_flag(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = ServerProcess(
        name="python -m batch_service",
        command=[sys.executable, "-m", "batch_service", "--port", str(port)],
        env=base_env({"BATCH_API_KEYS": "alice:k", "BATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"}),
        log_path=tmp_path / "m.log",
        is_ready=http_ready(f"{url}/readyz"),
    )
    server.start()
    try:
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{url}/docs").status_code == 200
        assert httpx.get(f"{url}/openapi.json").json()["info"]["title"] == "Batch service"
    finally:
        server.stop()
