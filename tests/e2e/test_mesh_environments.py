"""Two mesh environments of one stack side by side on the real engine, and each going down on its own.

The e2e test mesh made side by side (tests/e2e/mesh_environments.py: project
``<stack>-mesh-{{ environment }}``, staging on 37101-37107, production on
37201-37207) is copied into tmp_path under a stack name nobody else uses; the
teardown removes every container, volume and network of both projects, even
after a failure. Everything is checked from outside: HTTP on the published
ports, `docker ps`, `docker volume ls`, `docker network ls`.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import jsonschema
import pytest

from tests.e2e.conftest import missing
from tests.e2e.mesh_environments import PORTS, make_side_by_side

SCHEMA = Path(__file__).resolve().parents[2] / "multistack" / "schema" / "output" / "mesh.ps.json"
TEST_IMAGE = "multistack-test/busybox:1"
PROJECT_LABEL = "com.docker.compose.project"
ENVS = ("staging", "production")
SERVICES = {"db", "pool-app", "pool-iam", "gateway", "iam", "metrics", "cache"}
#: The caller's variables that would change what compose reads.
SCRUBBED = ("MULTISTACK_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_FILE", "COMPOSE_PROFILES", "COMPOSE_ENV_FILES",
            "ENVIRONMENT", "DB_PORT", "GATEWAY_PORT", "MESH_DOMAIN")


def _quiet(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(list(argv), 127, "", str(exc))


@pytest.fixture(scope="module")
def docker() -> str:
    found = shutil.which("docker")
    if not found:
        missing("the docker command is not installed")
    info = _quiet(found, "info", "--format", "{{.ServerVersion}}", timeout=20)
    if info.returncode != 0 or not info.stdout.strip():
        missing(f"no Docker engine: {(info.stderr.strip().splitlines() or ['no answer'])[-1]}")
    version = _quiet(found, "compose", "version", "--short")
    if version.returncode != 0 or not version.stdout.strip().lstrip("v").startswith("2."):
        missing("the Docker Compose v2 plugin is missing")
    if _quiet(found, "image", "inspect", TEST_IMAGE).returncode != 0:
        missing(f"the test image {TEST_IMAGE} is missing (scripts/build-test-images.sh)")
    return found


@dataclass
class SideBySide:
    root: Path
    stack: str  # stack.yaml's project; the environments' projects are <stack>-mesh-<env>
    docker: str
    env: dict[str, str]

    def project(self, environment: str) -> str:
        return f"{self.stack}-mesh-{environment}"

    def inv(self, *words: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``inv WORDS`` in the stack's folder, stdin not a terminal, as a script would run it."""
        done = subprocess.run([sys.executable, "-m", "invoke", *words], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        if check and done.returncode != 0:
            pytest.fail(f"`inv {' '.join(words)}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}",
                        pytrace=False)
        return done

    def _ours(self, *what: str) -> dict[str, str]:
        """Name -> project, for objects of this test's two projects (one query, by label)."""
        fmt = '{{.Names}} {{.Label "com.docker.compose.project"}}' if what[0] == "ps" else \
            '{{.Name}} {{.Label "com.docker.compose.project"}}'
        done = _quiet(self.docker, *what, "--filter", f"label={PROJECT_LABEL}", "--format", fmt)
        assert done.returncode == 0, done.stderr
        pairs = (line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
        mine = {self.project(e) for e in ENVS}
        return {name: project for name, project in pairs if project in mine}

    def running(self) -> dict[str, set[str]]:
        """Environment -> services with a running container, from one `docker ps`."""
        done = _quiet(self.docker, "ps", "--filter", f"label={PROJECT_LABEL}", "--format",
                      '{{.Label "com.docker.compose.project"}} {{.Label "com.docker.compose.service"}}')
        assert done.returncode == 0, done.stderr
        out: dict[str, set[str]] = {e: set() for e in ENVS}
        for line in done.stdout.splitlines():
            project, _, service = line.partition(" ")
            for e in ENVS:
                if project == self.project(e):
                    out[e].add(service)
        return out

    def containers(self) -> dict[str, str]:
        return self._ours("ps", "-a")

    def volumes(self) -> dict[str, str]:
        return self._ours("volume", "ls")

    def networks(self) -> dict[str, str]:
        return self._ours("network", "ls")

    def fetch(self, environment: str, service: str, path: str = "/") -> str | None:
        url = f"http://127.0.0.1:{PORTS[environment][service]}{path}"
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                return response.read().decode().strip()
        except (urllib.error.URLError, OSError):
            return None

    def remove_everything(self) -> None:
        """Best effort, after failures too: every container, volume and network of both projects."""
        names = list(self.containers())
        if names:
            _quiet(self.docker, "rm", "-f", "-v", *names)
        volumes = list(self.volumes())
        if volumes:
            _quiet(self.docker, "volume", "rm", "-f", *volumes)
        networks = list(self.networks())
        if networks:
            _quiet(self.docker, "network", "rm", *networks)


@pytest.fixture
def mesh(docker: str, tmp_path: Path) -> Iterator[SideBySide]:
    stack = f"e2eenv{secrets.token_hex(3)}"
    root = make_side_by_side(tmp_path / "stack", stack)
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    handle = SideBySide(root, stack, docker, env)
    try:
        yield handle
    finally:
        handle.remove_everything()


def test_two_environments_run_side_by_side_and_go_down_independently(mesh: SideBySide):
    # Both environments up, each creating only its own env file.
    for environment in ENVS:
        up = mesh.inv("mesh.up", "--env", environment)
        assert f"create  env/.env.{environment} from env/{environment}.env.example" in up.stdout
        assert f"mesh {mesh.project(environment)} ({environment}): up:" in up.stdout
    assert sorted(p.name for p in (mesh.root / "env").glob(".env*")) == [".env.production", ".env.staging"]
    assert mesh.running() == {"staging": SERVICES, "production": SERVICES}

    # Both answer on their own host ports, each with its own environment's values.
    for environment in ENVS:
        for service in SERVICES:
            assert mesh.fetch(environment, service) == f"{service} default {environment}"

    # Distinct projects, volumes and networks, by name.
    assert set(mesh.containers().values()) == {mesh.project(e) for e in ENVS}
    assert mesh.volumes() == {f"{mesh.project(e)}_dbdata": mesh.project(e) for e in ENVS}
    assert mesh.networks() == {f"{mesh.project(e)}_default": mesh.project(e) for e in ENVS}

    # Status of every environment at once, in the documented shape.
    ps = json.loads(mesh.inv("mesh.ps", "--json").stdout)
    jsonschema.validate(ps, json.loads(SCHEMA.read_text()))
    assert [(e["environment"], e["project"]) for e in ps["environments"]] == [
        (e, mesh.project(e)) for e in ENVS]
    for entry in ps["environments"]:
        assert {r["service"]: r["state"] for r in entry["services"]} == {s: "running" for s in SERVICES}

    # A port of staging given to production is refused before anything changes.
    env_file = mesh.root / "env" / ".env.production"
    text = env_file.read_text()
    env_file.write_text(text.replace("GATEWAY_PORT=37204", "GATEWAY_PORT=37104"))
    refused = mesh.inv("mesh.up", "--env", "production", "--profile", "mesh", check=False)
    assert refused.returncode == 2, refused.stderr
    assert (f"host port 37104 of gateway (GATEWAY_PORT=37104 in env/.env.production) is published by "
            f"{mesh.project('staging')} (environment staging, service gateway)") in refused.stderr
    env_file.write_text(text)
    assert mesh.fetch("production", "gateway") == "gateway default production"

    # init-data of staging writes staging's volume only.
    mesh.inv("mesh.init-data", "--env", "staging")
    assert (mesh.fetch("staging", "db", "/init.txt") or "").startswith("seeded ")
    assert mesh.fetch("production", "db", "/init.txt") is None

    # Several environments: down without --env refuses to guess.
    refused = mesh.inv("mesh.down", check=False)
    assert refused.returncode == 2 and "pass --env staging|production" in refused.stderr

    # Down staging: production still answers; staging's volume is kept.
    mesh.inv("mesh.down", "--env", "staging")
    assert mesh.running() == {"staging": set(), "production": SERVICES}
    assert mesh.fetch("staging", "db") is None and mesh.fetch("production", "db") == "db default production"
    assert set(mesh.volumes()) == {f"{mesh.project(e)}_dbdata" for e in ENVS}

    # Reset staging: --volumes asks first, then removes only staging's volume.
    refused = mesh.inv("mesh.down", "--env", "staging", "--volumes", check=False)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    mesh.inv("mesh.down", "--env", "staging", "--volumes", "--yes")
    assert mesh.volumes() == {f"{mesh.project('production')}_dbdata": mesh.project("production")}
    assert mesh.networks() == {f"{mesh.project('production')}_default": mesh.project("production")}
    assert mesh.fetch("production", "gateway") == "gateway default production"

    # Staging comes back empty beside production (its data was reset).
    mesh.inv("mesh.up", "--env", "staging", "--profile", "db")
    assert mesh.fetch("staging", "db", "/init.txt") is None
    assert mesh.running()["production"] == SERVICES

    # Production's own file gone: down --env still takes it down by project name, volumes too.
    env_file.unlink()
    mesh.inv("mesh.down", "--env", "production", "--volumes", "--yes")
    assert mesh.running() == {"staging": {"db", "pool-app", "pool-iam"}, "production": set()}
    assert set(mesh.volumes()) == {f"{mesh.project('staging')}_dbdata"}
    mesh.inv("mesh.down", "--env", "staging", "--volumes", "--yes")
    assert mesh.containers() == {} and mesh.volumes() == {} and mesh.networks() == {}
