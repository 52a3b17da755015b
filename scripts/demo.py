"""The whole story on one machine, then everything it started is stopped.

1. `batch-service` on a fresh SQLite file with a freshly generated key;
2. `python main.py --name hello`: the Flyte task, run locally, its connector in process;
3. the job's log lines, paged from the batch API;
4. `c0` (Flyte's connector server) and `python -m batch_testkit.drive`: the same task over
   gRPC, as the Flyte platform would run it.

Run it with `make demo`. It starts its servers with the test kit's helpers (`batch_testkit`),
as the tests do.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from batch_testkit.processes import base_env
from batch_testkit.servers import run_batch_service, run_connector_server

ROOT = Path(__file__).resolve().parent.parent


def say(text: str) -> None:
    print(f"\n\033[1m==> {text}\033[0m", flush=True)


def print_job_logs(url: str, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    newest = httpx.get(f"{url}/v1/jobs", params={"limit": 1}, headers=headers).json()["jobs"][0]
    job = httpx.get(f"{url}/v1/jobs/{newest['id']}", headers=headers).json()  # lists carry summaries
    print(f"job {job['id']}: {job['state']}, outputs {job['outputs']}")
    token = None
    while True:
        params = {"limit": 100, **({"page_token": token} if token else {})}
        page = httpx.get(f"{url}/v1/jobs/{job['id']}/logs", params=params, headers=headers).json()
        for line in page["lines"]:
            print(f"  {line['seq']:>3} {line['timestamp']} {line['level']:<5} {line['message']}")
        token = page["next_page_token"]
        if token is None:
            return


def main() -> int:
    key = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="batch-demo-") as tmp:
        workdir = Path(tmp)
        say("starting batch-service on a fresh SQLite file with a generated demo key")
        with run_batch_service(workdir, api_keys=f"demo:{key}") as service:
            print(f"batch API at {service.url} (docs: {service.url}/docs), database {service.database_url}")
            client_env = base_env({"BATCH_API_URL": service.url, "BATCH_API_KEY": key})

            say("python main.py --name hello   (the Flyte task, run locally through the connector)")
            subprocess.run(
                [sys.executable, "main.py", "--name", "hello"], cwd=ROOT, env=client_env, check=True
            )

            say("the job's log, paged from the batch API")
            print_job_logs(service.url, key)

            say("c0 + python -m batch_testkit.drive   (the same task over gRPC, as Flyte runs it)")
            with run_connector_server(workdir, api_url=service.url, api_key=key) as connector:
                drive = [sys.executable, "-m", "batch_testkit.drive", "--connector", connector.address]
                subprocess.run([*drive, "--name", "hello-grpc"], cwd=ROOT, env=client_env, check=True)
    say("done: every process this demo started has been stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
