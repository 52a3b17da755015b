"""A task that runs on the batch job connector.

    python main.py --name hello

With a Flyte config (./config.yaml, .flyte/config.yaml, FLYTECTL_CONFIG, ~/.flyte/…) it
runs on that cluster, through the deployed connector. Without one it runs locally: the
connector runs in this process and calls the batch service at BATCH_API_URL
(default http://127.0.0.1:8080) with the key in BATCH_API_KEY.
"""

import argparse
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
        flyte.init()
    run = flyte.run(my_batch_job, name=args.name)
    if remote:
        print(run.url)
        run.wait()
    print(run.outputs()[0])
