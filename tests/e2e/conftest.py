"""End-to-end fixtures: the real CLI against the real Docker engine and PM2.

Every test gets its own copy of ``tests/e2e/stack`` in ``tmp_path`` under a
compose project name nobody else uses (``e2e<random>``), its own PM2 daemon
(``PM2_HOME`` in ``tmp_path``), and a teardown that removes, even when the test
failed, every container, volume and network labelled with that project and
kills that PM2 daemon. Ports 18000-19999 belong to these tests.

On a machine without Docker, the compose plugin, PM2 or the test image the
tests are skipped with the missing piece named; in CI (``CI=true``), where
``scripts/setup-engines.sh`` installs all of it first, a missing piece fails
them instead: a skipped suite there would hide a broken setup.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

HERE = Path(__file__).resolve().parent
STACK_SOURCE = HERE / "stack"
REPO = HERE.parents[1]
TEST_IMAGE = "multistack-test/busybox:1"
PROJECT_LABEL = "com.docker.compose.project"
#: Base ports of the test stack (stack.yaml); instance N adds N * STRIDE.
BASE_PORTS = {"web": 18000, "store": 18001, "api": 18002, "admin": 18003}
STRIDE = 100
#: Environment variables of the caller that would change what the CLI does.
SCRUBBED_ENV = ("MULTISTACK_INSTANCE", "MULTISTACK_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_FILE",
                "COMPOSE_PROFILES", "COMPOSE_ENV_FILES", "PM2_HOME")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is marked ``e2e`` (select with ``-m e2e``, skip with ``-m 'not e2e'``)."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing(what: str) -> None:
    """Skip on a developer's machine; fail in CI, where setup-engines.sh must have provided it."""
    message = f"{what} (install with scripts/setup-engines.sh, as root)"
    if in_ci():
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)


def _quiet(argv: list[str], env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(argv, 127, "", str(exc))


def pm2_binary() -> str | None:
    local = REPO / "node_modules" / ".bin" / "pm2"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("pm2")


@dataclass(frozen=True)
class Machine:
    """What the e2e tests run on, checked once per session."""

    docker: str
    pm2: str


@pytest.fixture(scope="session")
def machine() -> Machine:
    docker = shutil.which("docker")
    if not docker:
        missing("the docker command is not installed")
    info = _quiet([docker, "info", "--format", "{{.ServerVersion}}"], timeout=20)
    if info.returncode != 0 or not info.stdout.strip():
        reason = (info.stderr.strip().splitlines() or ["no answer"])[-1]
        missing(f"`docker info` failed: no Docker engine ({reason})")
    version = _quiet([docker, "compose", "version", "--short"])
    if version.returncode != 0 or not version.stdout.strip().lstrip("v").startswith("2."):
        missing(f"the Docker Compose v2 plugin is missing (`docker compose version`: {version.stdout.strip() or version.stderr.strip()})")
    pm2 = pm2_binary()
    if not pm2:
        missing("PM2 is not installed (node_modules/.bin/pm2 or pm2 on PATH)")
    if _quiet([docker, "image", "inspect", TEST_IMAGE]).returncode != 0:
        missing(f"the test image {TEST_IMAGE} is missing (scripts/build-test-images.sh)")
    if not shutil.which("python3"):
        missing("python3 is not on PATH (the test stack's PM2 apps run it)")
    return Machine(docker, pm2)


@dataclass
class Result:
    argv: list[str]
    rc: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return f"$ {' '.join(self.argv)}\n(exit {self.rc})\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


@dataclass
class E2EStack:
    """One test's copy of the test stack, its PM2 daemon, and ways to look at both from outside."""

    root: Path
    project: str
    pm2_home: Path
    machine: Machine
    env: dict[str, str] = field(default_factory=dict)

    # --- acting -------------------------------------------------------------
    def inv(self, *words: str, timeout: float = 120, check: bool = False) -> Result:
        """``inv WORDS...`` in the stack's folder, as a user would type it (stdin: not a terminal)."""
        argv = [sys.executable, "-m", "invoke", *words]
        try:
            done = subprocess.run(argv, cwd=self.root, env=self.env, capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"`inv {' '.join(words)}` did not finish in {timeout}s:\n{exc.stdout}\n{exc.stderr}")
        result = Result(["inv", *words], done.returncode, done.stdout, done.stderr)
        if check and result.rc != 0:
            pytest.fail(f"command failed:\n{result}", pytrace=False)
        return result

    def docker(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _quiet([self.machine.docker, *args], env=self.env, timeout=60)

    def pm2(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _quiet([self.machine.pm2, *args], env=self.env, timeout=60)

    # --- names ----------------------------------------------------------------
    def project_name(self, n: int) -> str:
        return f"{self.project}-dev-{n}"

    def port(self, service: str, n: int) -> int:
        return BASE_PORTS[service] + n * STRIDE

    def instance_dir(self, n: int) -> Path:
        return self.root / ".instances" / f"instance-{n}"

    def ours(self, project: str) -> bool:
        return project.startswith(f"{self.project}-dev-")

    # --- looking from outside ---------------------------------------------------
    def containers(self, n: int | None = None) -> list[dict[str, str]]:
        """Containers (running or not) of this test's projects, or of instance ``n``."""
        fmt = ('{"project":{{json (.Label "com.docker.compose.project")}},"service":{{json (.Label '
               '"com.docker.compose.service")}},"name":{{json .Names}},"state":{{json .State}}}')
        done = self.docker("ps", "-a", "--filter", f"label={PROJECT_LABEL}", "--format", fmt)
        assert done.returncode == 0, done.stderr
        rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        return [r for r in rows if self.ours(r["project"]) and (n is None or r["project"] == self.project_name(n))]

    def volumes(self) -> dict[str, str]:
        """Volume name -> project, for this test's projects."""
        done = self.docker("volume", "ls", "--filter", f"label={PROJECT_LABEL}",
                           "--format", '{{.Name}} {{.Label "com.docker.compose.project"}}')
        assert done.returncode == 0, done.stderr
        pairs = (line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
        return {name: project for name, project in pairs if self.ours(project)}

    def networks(self) -> list[str]:
        done = self.docker("network", "ls", "--filter", f"label={PROJECT_LABEL}",
                           "--format", '{{.Name}} {{.Label "com.docker.compose.project"}}')
        assert done.returncode == 0, done.stderr
        pairs = (line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
        return [name for name, project in pairs if self.ours(project)]

    def apps(self) -> dict[str, str]:
        """PM2 app name -> status, from this test's daemon."""
        done = self.pm2("jlist")
        assert done.returncode == 0, done.stderr
        # One line of JSON, after any notice PM2 prints first (daemon spawned, out of date).
        arrays = [line for line in done.stdout.splitlines() if line.startswith("[") and not line.startswith("[PM2")]
        return {p["name"]: p["pm2_env"]["status"] for p in json.loads(arrays[-1] if arrays else "[]")}

    def fetch(self, port: int, timeout: float = 3) -> str | None:
        """The body served on 127.0.0.1:port, or None when nothing answers."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=timeout) as response:
                return response.read().decode().strip()
        except (urllib.error.URLError, OSError):
            return None

    def listening(self, port: int) -> bool:
        with socket.socket() as sock:
            sock.settimeout(1)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    # --- cleaning up --------------------------------------------------------------
    def remove_everything(self) -> None:
        """Remove every container, volume and network of this test's projects; kill its PM2 daemon.

        Best effort on every step: it runs after failed tests too.
        """
        names = [c["name"] for c in self.containers()]
        if names:
            self.docker("rm", "-f", "-v", *names)
        volumes = list(self.volumes())
        if volumes:
            self.docker("volume", "rm", "-f", *volumes)
        networks = self.networks()
        if networks:
            self.docker("network", "rm", *networks)
        if any(self.pm2_home.iterdir()):
            self.pm2("kill")


def copy_stack(dest: Path, project: str) -> Path:
    """The test stack in ``dest`` under compose project prefix ``project``."""
    shutil.copytree(STACK_SOURCE, dest, ignore=shutil.ignore_patterns(".instances", "__pycache__"))
    stack_file = dest / "stack.yaml"
    text = stack_file.read_text()
    assert "\nproject: e2e\n" in text
    stack_file.write_text(text.replace("\nproject: e2e\n", f"\nproject: {project}\n"))
    return dest


def cli_env(pm2_home: Path, pm2: str) -> dict[str, str]:
    """The caller's environment without multistack/compose selectors, with our PM2 daemon and PM2 on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env["PM2_HOME"] = str(pm2_home)
    env["PATH"] = os.pathsep.join([str(Path(pm2).parent), str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


@pytest.fixture
def e2e(machine: Machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[E2EStack]:
    """A fresh copy of the test stack with its own project name and PM2 daemon; all removed afterwards."""
    project = f"e2e{secrets.token_hex(3)}"
    root = copy_stack(tmp_path / "stack", project)
    # A short path: PM2's unix sockets live here (108-byte limit on their paths).
    pm2_home = tmp_path / "pm2"
    pm2_home.mkdir()
    env = cli_env(pm2_home, machine.pm2)
    for key in SCRUBBED_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PM2_HOME", str(pm2_home))  # for in-process calls (multistack.locks...) and our probes
    stack = E2EStack(root, project, pm2_home, machine, env)
    try:
        yield stack
    finally:
        stack.remove_everything()
