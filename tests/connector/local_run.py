"""A tiny program the local-run tests execute: one `BatchJobTask` through `flyte.run`, locally.

It runs in its own process, as a user's script would, so the connector reads its settings
from that process's environment and `flyte.init()` starts from nothing.
"""

from __future__ import annotations

import argparse
import json

import flyte

from my_connector import BatchJobConfig, BatchJobTask

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="hello")
    parser.add_argument("--fail-message")
    parser.add_argument("--duration", type=float, default=0.2, help="the job's duration_seconds")
    parser.add_argument("--timeout", type=int, default=60, help="the job's timeout_seconds")
    parser.add_argument("--api-key-secret", help="name of the secret (an env var, locally) holding the key")
    parser.add_argument(
        "--scenario", type=json.loads, help="the job's scenario, as JSON (a service in test mode)"
    )
    args = parser.parse_args()

    task = BatchJobTask(
        name="local_batch_job",
        plugin_config=BatchJobConfig(
            timeout_seconds=args.timeout,
            duration_seconds=args.duration,
            log_lines=2,
            fail_message=args.fail_message,
            scenario=args.scenario,
        ),
        inputs={"name": str},
        outputs={"result": str},
        api_key=args.api_key_secret,
    )
    flyte.TaskEnvironment.from_task("local-batch-env", task)
    flyte.init()
    print(f"result: {flyte.run(task, name=args.name).outputs()[0]}")
