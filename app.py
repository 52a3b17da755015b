"""Deploy the batch service and its connector as two Flyte apps.

    python app.py                       # deploys the connector and, through depends_on, the service
    flyte deploy app.py connector       # the same through the CLI (`flyte deploy --all app.py` too)

Both apps run one image that installs this project from its pyproject.toml, so they get
exactly what `pip install .` gives. Create the two secrets first: `batch-api-keys` holds the
service's `owner:key,...` list and `batch-api-key` one of those keys, for the connector.

The service runs its own console script, `batch-service`, as it does under docker compose:
settings checked with a readable error, migrations and the scheduler in the app's lifespan,
uvicorn with a graceful shutdown. It is an `AppEnvironment` of type FastAPI rather than a
`FastAPIAppEnvironment`: the latter pickles the live FastAPI object to version the
deployment, and since FastAPI 0.16x an app that includes routers holds a `threading.Lock`
(`_IncludedRouter._effective_routes_lock`), so `flyte deploy` fails with "cannot pickle
'_thread.lock'". (`create_app()` itself reads no settings when built, so that path stays open
once the SDK or FastAPI change.) This module therefore imports nothing from the service.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import flyte
import flyte.app
from flyte.config import get_config_file

PROJECT_DIR = Path(__file__).parent
SERVICE_NAME = "batch-service"
SERVICE_PORT = 8080
# SQLite in the app's working directory: fine for a demo, gone with the replica. For durable
# jobs deploy with BATCH_DEPLOY_DATABASE_URL=postgresql+psycopg://user@host/db. The URL is part
# of the app spec, so keep passwords out of it: libpq reads PGPASSWORD, which a secret can set.
DATABASE_URL = os.environ.get("BATCH_DEPLOY_DATABASE_URL", "sqlite:///./batch.db")
# On PostgreSQL the platform may run up to this many service replicas.
MAX_REPLICAS = int(os.environ.get("BATCH_DEPLOY_MAX_REPLICAS", "4"))
# The service's address as people's browsers reach it (its app's public URL, once deployed):
# set, each task's log link opens that job's page on the dashboard.
PUBLIC_URL = os.environ.get("BATCH_DEPLOY_PUBLIC_URL")


def service_scaling(database_url: str) -> flyte.app.Scaling:
    """Never below one replica: the scheduler runs inside the process, so at zero no job would
    advance. On SQLite exactly one: a SQLite file belongs to one process. On PostgreSQL the
    platform scales between 1 and MAX_REPLICAS: replicas share the queue and claim jobs under
    leases (`SELECT … FOR UPDATE SKIP LOCKED`), so a job runs once, and a lost replica's
    jobs are taken over when its lease runs out."""
    if database_url.startswith("postgresql"):
        return flyte.app.Scaling(replicas=(1, MAX_REPLICAS))
    return flyte.app.Scaling(replicas=(1, 1))


image = (
    flyte.Image.from_debian_base(python_version=(3, 11))
    .with_dockerignore(PROJECT_DIR / ".dockerignore")
    .with_uv_project(
        PROJECT_DIR / "pyproject.toml",
        project_install_mode="install_project",
        extra_args="--extra postgres",
    )
)

service = flyte.app.AppEnvironment(
    name=SERVICE_NAME,
    type="FastAPI",
    description="HTTP batch-job service: jobs, states and paged logs behind API keys.",
    image=image,
    args=["batch-service"],
    port=SERVICE_PORT,
    env_vars={"BATCH_HOST": "0.0.0.0", "BATCH_PORT": str(SERVICE_PORT)},
    resources=flyte.Resources(cpu=1, memory="1Gi"),
    secrets=[flyte.Secret(key="batch-api-keys", as_env_var="BATCH_API_KEYS")],
    parameters=[flyte.app.Parameter(name="database_url", value=DATABASE_URL, env_var="BATCH_DATABASE_URL")],
    links=[flyte.app.Link(path="/docs", title="API docs (OpenAPI)", is_relative=True)],
    scaling=service_scaling(DATABASE_URL),
)

connector = flyte.app.ConnectorEnvironment(
    name="batch-job-connector",
    description="Flyte connector for `batch_job` tasks, backed by the batch service.",
    image=image,
    include=["my_connector"],
    resources=flyte.Resources(cpu=1, memory="1Gi"),
    secrets=[flyte.Secret(key="batch-api-key", as_env_var="BATCH_API_KEY")],
    env_vars={"BATCH_PUBLIC_URL": PUBLIC_URL} if PUBLIC_URL else None,
    # Resolved when the connector starts: the service app's in-cluster URL.
    parameters=[
        flyte.app.Parameter(
            name="batch_api_url", value=flyte.app.AppEndpoint(app_name=SERVICE_NAME), env_var="BATCH_API_URL"
        )
    ],
    depends_on=[service],
)


if __name__ == "__main__":
    if get_config_file(None) is None:
        sys.exit(
            "app.py: no Flyte config found, so there is no cluster to deploy to. Create one with\n"
            "  flyte create config --endpoint <host> --project <project> --domain <domain>"
        )
    flyte.init_from_config(root_dir=PROJECT_DIR)
    for deployment in flyte.deploy(connector):
        for deployed in deployment.envs.values():
            print(deployed.summary_repr())
