"""app.py deploys both apps: proven on the app specs Flyte's own deploy code builds.

No cluster is reachable, so each test reads what `flyte.deploy(app.connector)` would send,
produced by the SDK itself: its deployment plan, then `apply` in dry-run mode (code bundle,
version, the App IDL of every app in the plan) with the image cache an image build would have
produced, and the image spec its remote image builder would receive.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import flyte
import flyte._initialize
import pytest
from flyte._deploy import apply, plan_deploy
from flyte._internal.image_cache import ImageCache
from flyte._internal.imagebuild.remote_builder import _get_layers_proto
from flyte.app import AppEndpoint
from flyte.app._parameter import SerializableParameter, SerializableParameterCollection
from flyteidl2.app import app_definition_pb2
from flyteidl2.imagebuilder import definition_pb2 as image_definition_pb2

from batch_testkit.processes import base_env

ROOT = Path(__file__).resolve().parents[1]
SERVICE = "batch-service"
CONNECTOR = "batch-job-connector"


@pytest.fixture(scope="module")
def app_module() -> Iterator[ModuleType]:
    """app.py imported as the resolver imports it in a container: module `app`, no BATCH_* set."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("BATCH_")]:
            patch.delenv(name)
        patch.syspath_prepend(str(ROOT))
        yield importlib.import_module("app")


def dry_run_deploy(app: ModuleType) -> dict[str, app_definition_pb2.App]:
    """Every app `flyte.deploy(app.connector)` deploys, by name, as its dry run would send it."""
    plans = plan_deploy(app.connector)
    assert len(plans) == 1, "the connector and the service it depends on must deploy together"
    plan = plans[0]
    built = ImageCache(image_lookup={name: env.image.uri for name, env in plan.envs.items()})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(flyte._initialize, "_init_config", None)  # restored after: no global leaks
        flyte.init(project="demo", domain="development", root_dir=ROOT)
        deployment = asyncio.run(apply(plan, copy_style="loaded_modules", dryrun=True, image_cache=built))
    return {name: env.deployed_app.pb2 for name, env in deployment.envs.items()}


@pytest.fixture(scope="module")
def deployed(app_module: ModuleType) -> dict[str, app_definition_pb2.App]:
    return dry_run_deploy(app_module)


@pytest.fixture
def deployed_with(app_module: ModuleType) -> Iterator[Callable[..., dict[str, app_definition_pb2.App]]]:
    """Deploy app.py as imported with some BATCH_DEPLOY_* set; app.py is re-imported plain afterwards."""

    def deploy(**env: str) -> dict[str, app_definition_pb2.App]:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            return dry_run_deploy(importlib.reload(app_module))

    try:
        yield deploy
    finally:
        importlib.reload(app_module)


def fserve_parameters(app: app_definition_pb2.App) -> dict[str, SerializableParameter]:
    """The parameters the container's `fserve` materializes (into env vars) before the app starts."""
    command = list(app.spec.container.command)
    encoded = command[command.index("--parameters") + 1]
    return {p.name: p for p in SerializableParameterCollection.from_transport(encoded).parameters}


def container_env(app: app_definition_pb2.App) -> dict[str, str]:
    return {pair.key: pair.value for pair in app.spec.container.env}


def secret_env_vars(app: app_definition_pb2.App) -> dict[str, str]:
    return {secret.key: secret.env_var for secret in app.spec.security_context.secrets}


def test_app_module_imports_without_service_settings_or_credentials() -> None:
    # Flyte's resolver imports app.py in both containers, and `python app.py` runs on a laptop:
    # none of them has the service's keys.
    done = subprocess.run(
        [sys.executable, "-c", "import app; print(app.service.name, app.connector.name)"],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [SERVICE, CONNECTOR]


def test_running_app_py_without_a_flyte_config_says_what_to_do(tmp_path: Path) -> None:
    env = base_env({"HOME": str(tmp_path)})  # a bare HOME: no ~/.flyte/config.yaml to find
    for config_variable in ("UCTL_CONFIG", "FLYTECTL_CONFIG"):
        env.pop(config_variable, None)

    done = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "app.py: no Flyte config found, so there is no cluster to deploy to. Create one with",
        "  flyte create config --endpoint <host> --project <project> --domain <domain>",
    ]


def test_deploying_the_connector_deploys_the_service_it_depends_on(
    app_module: ModuleType, deployed: dict[str, app_definition_pb2.App]
) -> None:
    assert app_module.connector.depends_on == [app_module.service]
    assert set(deployed) == {SERVICE, CONNECTOR}
    assert {app.metadata.id.name for app in deployed.values()} == {SERVICE, CONNECTOR}


def test_service_app_runs_the_batch_service_console_script_on_its_port(
    deployed: dict[str, app_definition_pb2.App],
) -> None:
    container = deployed[SERVICE].spec.container
    command = list(container.command)
    assert command[0] == "fserve"  # materializes parameters into env vars, then runs the args
    assert command[command.index("--resolver-args") + 1] == "app:service"
    assert list(container.args) == ["batch-service"]
    assert [(port.container_port, port.name) for port in container.ports] == [(8080, "")]
    env = container_env(deployed[SERVICE])
    assert env["BATCH_HOST"] == "0.0.0.0"
    assert env["BATCH_PORT"] == str(container.ports[0].container_port)
    assert deployed[SERVICE].spec.profile.type == "FastAPI"


def test_on_sqlite_the_service_runs_exactly_one_replica(deployed: dict[str, app_definition_pb2.App]) -> None:
    """The scheduler lives in the process (never zero) and a SQLite file has one process (never two)."""
    replicas = deployed[SERVICE].spec.autoscaling.replicas
    assert (replicas.min, replicas.max) == (1, 1)


def test_on_postgresql_the_platform_scales_the_service_between_one_and_n_replicas(
    deployed: dict[str, app_definition_pb2.App],
    deployed_with: Callable[..., dict[str, app_definition_pb2.App]],
) -> None:
    url = "postgresql+psycopg://batch@db.internal:5432/batch"

    apps = deployed_with(BATCH_DEPLOY_DATABASE_URL=url, BATCH_DEPLOY_MAX_REPLICAS="6")

    replicas = apps[SERVICE].spec.autoscaling.replicas
    assert (replicas.min, replicas.max) == (1, 6)  # leases make several schedulers safe
    assert fserve_parameters(apps[SERVICE])["database_url"].value == url
    # The database decides only the service's replicas.
    assert apps[CONNECTOR].spec.autoscaling == deployed[CONNECTOR].spec.autoscaling


def test_a_public_url_reaches_the_connector_so_log_links_open_the_dashboard(
    deployed: dict[str, app_definition_pb2.App],
    deployed_with: Callable[..., dict[str, app_definition_pb2.App]],
) -> None:
    apps = deployed_with(BATCH_DEPLOY_PUBLIC_URL="https://batch.example.com")

    assert container_env(apps[CONNECTOR])["BATCH_PUBLIC_URL"] == "https://batch.example.com"
    assert "BATCH_PUBLIC_URL" not in container_env(deployed[CONNECTOR])  # unset: links stay API URLs


def test_service_takes_its_keys_from_a_secret_and_its_database_from_a_parameter(
    deployed: dict[str, app_definition_pb2.App],
) -> None:
    app = deployed[SERVICE]
    assert secret_env_vars(app) == {"batch-api-keys": "BATCH_API_KEYS"}
    assert "BATCH_API_KEYS" not in container_env(app)
    database = fserve_parameters(app)["database_url"]
    assert (database.type, database.env_var, database.value) == (
        "string",
        "BATCH_DATABASE_URL",
        "sqlite:///./batch.db",
    )
    assert [(item.name, item.string_value) for item in app.spec.inputs.items] == [
        ("database_url", "sqlite:///./batch.db")
    ]


def test_connector_app_serves_my_connector_over_grpc(deployed: dict[str, app_definition_pb2.App]) -> None:
    app = deployed[CONNECTOR]
    container = app.spec.container
    assert container.command[0] == "fserve"
    assert list(container.args) == [
        "c0",
        "--port",
        "8080",
        "--prometheus_port",
        "9092",
        "--modules",
        "my_connector",
    ]
    assert [(port.container_port, port.name) for port in container.ports] == [(8080, "h2c")]
    assert app.spec.profile.type == "connector"
    assert secret_env_vars(app) == {"batch-api-key": "BATCH_API_KEY"}
    with tarfile.open(app.metadata.code_bundle_uri) as bundle:
        shipped = set(bundle.getnames())
    assert {"app.py", "my_connector/__init__.py", "my_connector/connector.py"} <= shipped


def test_connector_reaches_the_service_through_the_service_apps_endpoint(
    deployed: dict[str, app_definition_pb2.App],
) -> None:
    url = fserve_parameters(deployed[CONNECTOR])["batch_api_url"]
    assert (url.type, url.env_var, url.download) == ("app_endpoint", "BATCH_API_URL", False)
    endpoint = AppEndpoint.model_validate_json(url.value)
    assert endpoint.app_name == deployed[SERVICE].metadata.id.name
    assert endpoint.public is False  # the in-cluster URL
    assert [(item.name, item.string_value) for item in deployed[CONNECTOR].spec.inputs.items] == [
        ("batch_api_url", SERVICE)
    ]


def test_both_apps_run_one_image_that_installs_this_project(
    app_module: ModuleType, deployed: dict[str, app_definition_pb2.App], tmp_path: Path
) -> None:
    assert deployed[SERVICE].spec.container.image == deployed[CONNECTOR].spec.container.image
    spec = _get_layers_proto(app_module.image, tmp_path)
    assert spec.python_version == "3.11"
    assert [layer.WhichOneof("layer") for layer in spec.layers] == ["uv_project"]
    project: image_definition_pb2.UVProject = spec.layers[0].uv_project
    assert "--no-install-project" not in project.options.extra_args  # the project itself, not just its deps
    assert "--extra postgres" in project.options.extra_args

    context = tmp_path / project.pyproject
    pyproject = tomllib.loads((context / "pyproject.toml").read_text())
    assert pyproject == tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = [pyproject["project"]["readme"], "batch_service/__init__.py", "my_connector/__init__.py"]
    assert [name for name in needed if not (context / name).is_file()] == []
    assert not (context / ".venv").exists()
    assert not (context / "tests").exists()
