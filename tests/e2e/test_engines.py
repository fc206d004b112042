"""Instances on two real Docker engines of one machine (``engines:`` in stack.yaml).

The second engine is a ``dockerd`` of its own (socket, data root, exec root, bridge),
registered as the docker context ``multistack-e2e-2`` by scripts/second-engine.sh,
started once for this module and torn down after it. Instance 1 runs on the default
engine, instance 2 on the second one; a test checks from outside what a user would:
each port answers with its own instance, each engine holds only its own containers,
``status --all`` names both engines, ``stop --all`` stops both. A third "engine" whose
socket does not exist shows that an unreachable engine is reported without failing
the others. Ports 21000-21999 on 127.0.0.1 belong to these tests.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import textwrap
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.e2e.conftest import SCRUBBED_ENV, TEST_IMAGE, missing

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "second-engine.sh"
CONTEXT = "multistack-e2e-2"
BASE_PORT = 21000
STRIDE = 100
PROJECT_LABEL = "com.docker.compose.project"

COMPOSE = """\
# busybox httpd serving the instance number; init: httpd as PID 1 ignores SIGTERM.
services:
  web:
    image: multistack-test/busybox:1
    pull_policy: never
    init: true
    command: ["sh", "-c", "mkdir -p /www && echo \\"web ${MULTISTACK_INSTANCE:?no instance env}\\" > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: ["21000:8080"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "-", "http://127.0.0.1:8080/"]
      interval: 1s
      timeout: 2s
      retries: 30
"""

STACK = """\
project: {project}
instances: 0-9
stride: 100
compose:
  files: [compose.yml]
  env_files: [instance.env]
services:
  web: {{port: 21000, compose: web, container_port: 8080, url: "http://{{{{ host }}}}:{{{{ port }}}}/"}}
engines:
  local: {{slots: 0-1}}
  second: {{context: {context}, host: localhost, host_ip: 127.0.0.1, slots: 2-5}}
  gone: {{docker_host: "unix://{gone}", host: localhost, host_ip: 127.0.0.1, slots: 6-9}}
"""


def _run(argv: list[str], env: dict[str, str] | None = None, timeout: float = 60, cwd: Path | None = None
         ) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(argv, 127, "", str(exc))


@pytest.fixture(scope="module")
def second_engine() -> Iterator[str]:
    """A second dockerd registered as context ``multistack-e2e-2``; stopped and removed afterwards."""
    docker = shutil.which("docker")
    if not docker:
        missing("the docker command is not installed")
    if _run([docker, "info", "--format", "{{.ServerVersion}}"], timeout=20).returncode != 0:
        missing("`docker info` failed: no Docker engine")
    if not _run([docker, "compose", "version", "--short"]).stdout.strip().lstrip("v").startswith("2."):
        missing("the Docker Compose v2 plugin is missing")
    if _run([docker, "image", "inspect", TEST_IMAGE]).returncode != 0:
        missing(f"the test image {TEST_IMAGE} is missing (scripts/build-test-images.sh)")
    if os.geteuid() != 0 or not shutil.which("dockerd") or not shutil.which("ip"):
        missing("a second engine needs root, dockerd and ip (iproute2)")
    if _run([docker, "context", "inspect", CONTEXT]).returncode == 0:
        pytest.fail(f"docker context {CONTEXT} exists already: another run, or a leftover "
                    f"(scripts/second-engine.sh stop DIR removes it)", pytrace=False)
    folder = tempfile.mkdtemp(prefix="mse2-", dir="/tmp")  # short: unix socket paths under it
    started = _run([str(SCRIPT), "start", folder], timeout=120)
    try:
        if started.returncode != 0:
            pytest.fail(f"scripts/second-engine.sh start failed:\n{started.stdout}{started.stderr}", pytrace=False)
        yield folder
    finally:
        _run([str(SCRIPT), "stop", folder], timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Placed:
    root: Path
    project: str
    env: dict[str, str]

    def inv(self, *words: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return _run([sys.executable, "-m", "invoke", *words], env=self.env, timeout=timeout, cwd=self.root)

    def containers(self, *context: str) -> list[dict[str, str]]:
        """This test's containers on the default engine, or on ``--context NAME``."""
        fmt = '{"project":{{json (.Label "com.docker.compose.project")}},"name":{{json .Names}},"state":{{json .State}}}'
        done = _run(["docker", *context, "ps", "-a", "--filter", f"label={PROJECT_LABEL}", "--format", fmt])
        assert done.returncode == 0, done.stderr
        rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        return [r for r in rows if r["project"].startswith(f"{self.project}-dev-")]

    def remove_everything(self) -> None:
        for context in ((), ("--context", CONTEXT)):
            for kind in ("container", "network", "volume"):
                listing = _run(["docker", *context, kind, "ls", *(["-a"] if kind == "container" else []), "-q",
                                "--filter", f"label={PROJECT_LABEL}"])
                ids = listing.stdout.split()
                names = []
                for item in ids:
                    label = _run(["docker", *context, kind, "inspect", "--format",
                                  f'{{{{index .{"Config." if kind == "container" else ""}Labels "{PROJECT_LABEL}"}}}}', item])
                    if label.stdout.strip().startswith(f"{self.project}-dev-"):
                        names.append(item)
                if names:
                    _run(["docker", *context, kind, "rm", *(["-f", "-v"] if kind == "container" else []), *names])


def fetch(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as response:
            return response.read().decode().strip()
    except (urllib.error.URLError, OSError):
        return None


@pytest.fixture
def placed(second_engine: str, tmp_path: Path) -> Iterator[Placed]:
    project = f"eng{secrets.token_hex(3)}"
    root = tmp_path / "stack"
    root.mkdir()
    (root / "compose.yml").write_text(COMPOSE)
    (root / "stack.yaml").write_text(STACK.format(project=project, context=CONTEXT,
                                                  gone=f"{second_engine}/gone/docker.sock"))
    (root / "tasks.py").write_text(textwrap.dedent("""\
        from multistack.cli import namespace

        ns = namespace()
    """))
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV and k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    stack = Placed(root, project, env)
    try:
        yield stack
    finally:
        stack.remove_everything()


def test_instances_on_two_engines_then_status_and_stop_all(placed):
    one = placed.inv("dev", "1", "start")
    assert one.returncode == 0, one.stdout + one.stderr
    two = placed.inv("dev", "2", "start")
    assert two.returncode == 0, two.stdout + two.stderr
    assert f"on engine second (context {CONTEXT}, host localhost)" in two.stdout
    assert "http://localhost:21200/" in two.stdout and "on engine local" in one.stdout

    # Each port answers on this machine with its own instance, whichever engine publishes it.
    assert fetch(BASE_PORT + 1 * STRIDE) == "web 1"
    assert fetch(BASE_PORT + 2 * STRIDE) == "web 2"
    # Each engine holds only its own instance's containers.
    assert {c["project"] for c in placed.containers()} == {f"{placed.project}-dev-1"}
    assert {c["project"] for c in placed.containers("--context", CONTEXT)} == {f"{placed.project}-dev-2"}

    status = placed.inv("dev", "status", "--all", "--json")
    assert status.returncode == 3, status.stdout + status.stderr  # the `gone` engine does not answer
    assert "error: engine gone unreachable: " in status.stderr
    states = {s["instance"]: s for s in json.loads(status.stdout)}
    assert {n: (s["engine"], s["healthy"]) for n, s in states.items()} == {1: ("local", True), 2: ("second", True)}

    stopped = placed.inv("dev", "stop", "--all")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "stop --all: 2 ok, 0 failed" in stopped.stdout
    assert placed.containers() == [] and placed.containers("--context", CONTEXT) == []
    assert fetch(BASE_PORT + 1 * STRIDE) is None and fetch(BASE_PORT + 2 * STRIDE) is None


def test_an_unreachable_engine_fails_only_its_own_instances(placed):
    started = placed.inv("dev", "2", "start")
    assert started.returncode == 0, started.stdout + started.stderr
    init = placed.inv("dev", "7", "init")  # on `gone`: its folder makes it known to --all
    assert init.returncode == 0, init.stdout + init.stderr

    refused = placed.inv("dev", "7", "start")
    assert refused.returncode == 3 and "error: engine gone unreachable: " in refused.stderr, refused.stderr

    status = placed.inv("dev", "status", "--all", "--json")
    assert status.returncode == 3
    states = {s["instance"]: s for s in json.loads(status.stdout)}
    assert states[2]["healthy"] and "engine_error" not in states[2]
    assert states[7]["engine_error"].startswith("engine gone unreachable: ")

    stopped = placed.inv("dev", "stop", "--all")
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    assert "stop --all: 1 ok, 1 failed (instances 7)" in stopped.stdout
    assert "[7] error: engine gone unreachable: " in stopped.stderr
    assert placed.containers("--context", CONTEXT) == []
