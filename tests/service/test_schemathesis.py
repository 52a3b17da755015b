"""Schemathesis fuzzes a real server from its own /openapi.json: no 5xx, and every answer
matches the documented statuses, content types and schemas."""

from __future__ import annotations

import subprocess
from pathlib import Path

from batch_testkit.keys import ALICE, ALICE_KEY
from batch_testkit.servers import BIN_DIR, BatchService

# positive_data_acceptance: page tokens are opaque, so a schema-valid string can still be a
#   bad token (400), as the contract requires.
# allow_header_conformance: Starlette's 405 names only the first route matching a path
#   (POST for /v1/jobs, which also takes GET); a framework limit, not ours to patch.
EXCLUDED = "positive_data_acceptance,allow_header_conformance"


def test_fuzzing_the_openapi_schema_finds_no_server_error_or_drift(
    batch_server: BatchService, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            str(BIN_DIR / "st"),
            "run",
            f"{batch_server.url}/openapi.json",
            "--header",
            f"Authorization: {ALICE['Authorization']}",
            "--checks",
            "all",
            "--exclude-checks",
            EXCLUDED,
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            "25",
            "--workers",
            "1",  # CPython 3.11.7 can raise "AST constructor recursion depth mismatch" with threads
        ],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert ALICE_KEY not in batch_server.server.log()
