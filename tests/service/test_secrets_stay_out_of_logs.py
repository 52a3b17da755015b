"""A real `batch-service` process: whatever callers send, no key or token reaches its log."""

from __future__ import annotations

import httpx

from batch_testkit.keys import ALICE, ALICE_KEY, bearer
from batch_testkit.servers import BatchService


def test_keys_and_tokens_never_reach_the_server_log_or_metrics(batch_server: BatchService) -> None:
    with httpx.Client(base_url=batch_server.url, timeout=10) as client:
        job = client.post("/v1/jobs", json={"name": "quiet", "duration_seconds": 0.1}, headers=ALICE).json()
        attempts = [
            bearer("wrong-key-that-is-long-and-unique"),
            bearer(job["logs_token"]),
            bearer("bjl_forged-token-value"),
        ]
        for headers in attempts:
            assert client.get("/v1/jobs", headers=headers).status_code == 401
        client.get(f"/v1/jobs/{job['id']}/logs", headers=bearer(job["logs_token"]))
        client.post("/v1/jobs", json={"name": 1}, headers=ALICE)
        metrics = client.get("/metrics").text
    log = batch_server.server.log()
    assert "POST /v1/jobs" in log  # the access log is on, so the check below means something
    for secret in (
        ALICE_KEY,
        "wrong-key-that-is-long-and-unique",
        job["logs_token"],
        "forged-token",
    ):
        assert secret not in log
        assert secret not in metrics
