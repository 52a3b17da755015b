"""A task that runs on the batch job connector.

    python main.py --name hello                              # this script
    flyte run --local main.py my_batch_job --name hello      # the CLI, locally
    flyte run main.py my_batch_job --name hello              # the CLI, on your cluster

With a Flyte config (./config.yaml, .flyte/config.yaml, FLYTECTL_CONFIG, ~/.flyte/…) this
script runs on that cluster, through the deployed connector. Without one it runs locally:
the connector runs in this process and calls the batch service at BATCH_API_URL (default
http://127.0.0.1:8080) with the key in BATCH_API_KEY. `flyte run` needs `--local` to do the
same; without it the CLI wants a config (`--project` and `--domain`).
"""

import argparse
import logging
import sys
from pathlib import Path

import flyte
from flyte.config import get_config_file

from my_connector.task import BatchJobConfig, BatchJobTask

my_batch_job = BatchJobTask(
    name="my_batch_job",
    plugin_config=BatchJobConfig(timeout_seconds=60),
    inputs={"name": str},
    outputs={"result": str},
)

flyte.TaskEnvironment.from_task("batch-job-env", my_batch_job)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run my_batch_job, remotely if a Flyte config is found.")
    parser.add_argument("--name", default="hello", help="the task's `name` input")
    args = parser.parse_args()

    remote = get_config_file(None) is not None
    if remote:
        flyte.init_from_config(root_dir=Path(__file__).parent)
    else:
        # A failed local task is reported below in one line that says what to do; the SDK
        # would also log it with a traceback at ERROR, so only its CRITICAL lines show.
        flyte.init(log_level=logging.CRITICAL)
    try:
        run = flyte.run(my_batch_job, name=args.name)
        if remote:
            print(run.url)
            run.wait()
        print(run.outputs()[0])
    except Exception as error:  # the connector's message names the cause and the fix
        sys.exit(f"main.py: {error}")
