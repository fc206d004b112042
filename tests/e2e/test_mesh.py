"""The mesh on the real engine: `inv mesh.up --profile X` starts only X's services, `mesh.down` removes them.

The test mesh (tests/e2e/mesh: busybox services per profile on the local
test image, ports 28701-28707 on 127.0.0.1) is copied into tmp_path under a
compose project name nobody else uses; the teardown removes every container,
volume and network labelled with it, even after a failure. Everything is
checked from outside: `docker ps`, `docker volume ls`, HTTP on the published
ports. Without Docker, Compose v2 or the test image the tests are skipped,
naming the missing piece; with CI=true they fail instead.
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

import pytest

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "mesh"
TEST_IMAGE = "multistack-test/busybox:1"
PROJECT_LABEL = "com.docker.compose.project"
PORTS = {"db": 28701, "pool-app": 28702, "pool-iam": 28703, "gateway": 28704, "iam": 28705,
         "metrics": 28706, "cache": 28707}
PROFILES = {"db": {"db", "pool-app", "pool-iam"}, "mesh": {"gateway", "iam"}, "telemetry": {"metrics"},
            "apps": {"cache"}}
#: The caller's variables that would change what compose reads.
SCRUBBED = ("MULTISTACK_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_FILE", "COMPOSE_PROFILES", "COMPOSE_ENV_FILES",
            "ENVIRONMENT", "DB_PORT", "MESH_DOMAIN")


def _missing(what: str) -> None:
    message = f"{what} (install with scripts/setup-engines.sh and scripts/build-test-images.sh, as root)"
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)


def _quiet(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(list(argv), 127, "", str(exc))


@pytest.fixture(scope="module")
def docker() -> str:
    found = shutil.which("docker")
    if not found:
        _missing("the docker command is not installed")
    info = _quiet(found, "info", "--format", "{{.ServerVersion}}", timeout=20)
    if info.returncode != 0 or not info.stdout.strip():
        _missing(f"no Docker engine: {(info.stderr.strip().splitlines() or ['no answer'])[-1]}")
    version = _quiet(found, "compose", "version", "--short")
    if version.returncode != 0 or not version.stdout.strip().lstrip("v").startswith("2."):
        _missing("the Docker Compose v2 plugin is missing")
    if _quiet(found, "image", "inspect", TEST_IMAGE).returncode != 0:
        _missing(f"the test image {TEST_IMAGE} is missing")
    return found


@dataclass
class Mesh:
    root: Path
    project: str  # the mesh's compose project
    docker: str
    env: dict[str, str]

    def inv(self, *words: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``inv WORDS`` in the stack's folder, stdin not a terminal, as a script would run it."""
        done = subprocess.run([sys.executable, "-m", "invoke", *words], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        if check and done.returncode != 0:
            pytest.fail(f"`inv {' '.join(words)}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}",
                        pytrace=False)
        return done

    def _labelled(self, *what: str) -> list[str]:
        done = _quiet(self.docker, *what, "--filter", f"label={PROJECT_LABEL}={self.project}",
                      "--format", "{{.Names}}" if what[0] == "ps" else "{{.Name}}")
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    def running(self) -> set[str]:
        """Services with a running container, from `docker ps` by project label."""
        done = _quiet(self.docker, "ps", "--filter", f"label={PROJECT_LABEL}={self.project}",
                      "--format", '{{.Label "com.docker.compose.service"}}')
        assert done.returncode == 0, done.stderr
        return set(done.stdout.split())

    def containers(self) -> list[str]:
        return self._labelled("ps", "-a")

    def volumes(self) -> list[str]:
        return self._labelled("volume", "ls")

    def networks(self) -> list[str]:
        return self._labelled("network", "ls")

    def fetch(self, service: str, path: str = "/") -> str | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORTS[service]}{path}", timeout=3) as response:
                return response.read().decode().strip()
        except (urllib.error.URLError, OSError):
            return None

    def remove_everything(self) -> None:
        """Best effort, after failures too: every container, volume and network of the project."""
        names = self.containers()
        if names:
            _quiet(self.docker, "rm", "-f", "-v", *names)
        volumes = self.volumes()
        if volumes:
            _quiet(self.docker, "volume", "rm", "-f", *volumes)
        networks = self.networks()
        if networks:
            _quiet(self.docker, "network", "rm", *networks)


@pytest.fixture
def mesh(docker: str, tmp_path: Path) -> Iterator[Mesh]:
    stack = f"e2emesh{secrets.token_hex(3)}"
    root = tmp_path / "stack"
    shutil.copytree(SOURCE, root, ignore=shutil.ignore_patterns(".env", ".env.bak"))
    stack_file = root / "stack.yaml"
    text = stack_file.read_text()
    assert "\nproject: e2emesh\n" in text
    stack_file.write_text(text.replace("\nproject: e2emesh\n", f"\nproject: {stack}\n"))
    (root / "tasks.py").write_text("from multistack.cli import namespace\n\nns = namespace()\n")
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    handle = Mesh(root, f"{stack}-mesh", docker, env)
    try:
        yield handle
    finally:
        handle.remove_everything()


def test_profiles_start_and_stop_only_their_services(mesh: Mesh):
    # No env file, not a terminal, no --env: refused, nothing created.
    refused = mesh.inv("mesh.up", "--profile", "db", check=False)
    assert refused.returncode == 2 and "no --env given" in refused.stderr
    assert mesh.containers() == []

    # db: the three db services, healthy in order; the env file made from the template.
    up = mesh.inv("mesh.up", "--profile", "db", "--env", "local")
    assert "create  env/.env from env/local.env.example" in up.stdout
    assert mesh.running() == PROFILES["db"]
    # Base file, default override and the local override (with the env file's values) all applied.
    assert mesh.fetch("db") == "db default local"
    assert mesh.fetch("gateway") is None

    # mesh: added beside db (iam's dependency on pool-iam crosses profiles: required: false).
    mesh.inv("mesh.up", "--profile", "mesh")
    assert mesh.running() == PROFILES["db"] | PROFILES["mesh"]
    assert mesh.fetch("iam") == "iam default local"

    ps = json.loads(mesh.inv("mesh.ps", "--json").stdout)
    states = {row["service"]: (row["profile"], row["state"], row["health"]) for row in ps["services"]}
    assert ps["environment"] == "local"
    assert states["gateway"] == ("mesh", "running", "healthy")
    assert states["metrics"] == ("telemetry", "absent", "")

    # init-data: idempotent, run twice, same result.
    first = mesh.inv("mesh.init-data").stdout
    second = mesh.inv("mesh.init-data").stdout
    seeded = mesh.fetch("db", "/init.txt")
    assert seeded and seeded.startswith("seeded ") and seeded in first and seeded in second

    # down one profile: only its services go.
    mesh.inv("mesh.down", "--profile", "mesh")
    assert mesh.running() == PROFILES["db"]
    assert mesh.fetch("gateway") is None and mesh.fetch("db") == "db default local"

    # several profiles at once, then no --profile: every profile (stack.yaml's default_profile is all).
    mesh.inv("mesh.up", "--profile", "apps,telemetry")
    assert mesh.running() == PROFILES["db"] | PROFILES["apps"] | PROFILES["telemetry"]
    mesh.inv("mesh.up")
    assert mesh.running() == set().union(*PROFILES.values())

    # down: every container of every profile, and the network; volumes stay.
    mesh.inv("mesh.down")
    assert mesh.containers() == [] and mesh.networks() == []
    assert mesh.volumes() == [f"{mesh.project}_dbdata"]

    # The data survived; --volumes asks first (--yes for scripts).
    mesh.inv("mesh.up", "--profile", "db")
    assert mesh.fetch("db", "/init.txt") == seeded
    refused = mesh.inv("mesh.down", "--volumes", check=False)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert mesh.running() == PROFILES["db"]

    # Without the env file, commands that need it say so, and down still removes
    # everything, volumes included, by project name (compose finds it by label).
    (mesh.root / "env" / ".env").unlink()
    logs = mesh.inv("mesh.logs", "db", check=False)
    assert logs.returncode == 2 and "no active env file env/.env" in logs.stderr
    mesh.inv("mesh.down", "--volumes", "--yes")
    assert mesh.containers() == [] and mesh.volumes() == [] and mesh.networks() == []
