"""Systems end to end: `inv system.*` as a subprocess on the real engine, checked from outside.

Two systems share one network: `trio` (NODE-A - NODE-B - NODE-C in a line) and
`solo` (node-d). Each member's `rest` (busybox httpd) serves its own name, its
`mq` (httpd on 1883) stands for an internal broker; the gateways are the HAProxy
test image. The test checks what a user would: a member reaches another by
name through its gateway, the internal `mq` is not reachable across members,
the overlays are served and then reset, and `down` removes the members and,
once nothing uses it, the shared network.

Each run copies tests/e2e/systems into tmp_path with a project and network
name of its own; the teardown removes every container, volume and network of
that run, even after a failure. Ports 38000-38999 on 127.0.0.1.
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

SOURCE = Path(__file__).resolve().parent / "systems"
IMAGES = ("multistack-test/busybox:1", "multistack-test/haproxy:1")
PROJECT_LABEL = "com.docker.compose.project"
SCRUBBED_ENV = ("MULTISTACK_INSTANCE", "MULTISTACK_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_FILE",
                "COMPOSE_PROFILES", "COMPOSE_ENV_FILES")
TRIO = {"node-a": 38080, "node-b": 38090, "node-c": 38100}


def _quiet(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(argv, 127, "", str(exc))


def missing(what: str) -> None:
    """Skip on a developer's machine; fail in CI, where the engine must be there."""
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true but {what}", pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="module")
def docker() -> str:
    binary = shutil.which("docker")
    if not binary:
        missing("the docker command is not installed")
    info = _quiet([binary, "info", "--format", "{{.ServerVersion}}"], timeout=20)
    if info.returncode != 0 or not info.stdout.strip():
        missing(f"no Docker engine: {(info.stderr.strip().splitlines() or ['no answer'])[-1]}")
    version = _quiet([binary, "compose", "version", "--short"])
    if version.returncode != 0 or not version.stdout.strip().lstrip("v").startswith("2."):
        missing("the Docker Compose v2 plugin is missing")
    for image in IMAGES:
        if _quiet([binary, "image", "inspect", image]).returncode != 0:
            missing(f"the test image {image} is missing (scripts/build-test-images.sh)")
    return binary


@dataclass
class Run:
    """One run's copy of the systems test stack, and ways to look at it from outside."""

    root: Path
    project: str
    network: str
    docker: str
    env: dict[str, str]

    def inv(self, *words: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "invoke", *words], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return done

    def ok(self, *words: str) -> str:
        done = self.inv(*words)
        assert done.returncode == 0, f"inv {' '.join(words)} (exit {done.returncode})\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def member(self, system: str, name: str) -> str:
        return f"{self.project}-{system}-{name}"

    def exec(self, system: str, member: str, *argv: str) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in the member's ``rest`` container (on its project network and the shared one)."""
        return _quiet([self.docker, "exec", f"{self.member(system, member)}-rest-1", *argv], timeout=30)

    def fetch_inside(self, system: str, member: str, url: str) -> str:
        # busybox's `wget -T` crashes in the test image; `timeout` bounds it instead.
        done = self.exec(system, member, "timeout", "10", "wget", "-q", "-O", "-", url)
        assert done.returncode == 0, f"{member}: wget {url}: exit {done.returncode} {done.stderr}"
        return done.stdout.strip()

    def containers(self) -> list[dict[str, str]]:
        fmt = '{"project":{{json (.Label "com.docker.compose.project")}},"name":{{json .Names}},"state":{{json .State}}}'
        done = _quiet([self.docker, "ps", "-a", "--filter", f"label={PROJECT_LABEL}", "--format", fmt])
        assert done.returncode == 0, done.stderr
        rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        return [r for r in rows if r["project"].startswith(self.project + "-")]

    def volumes(self) -> list[str]:
        done = _quiet([self.docker, "volume", "ls", "--format", "{{.Name}}"])
        return [v for v in done.stdout.split() if v.startswith(self.project + "-")]

    def networks(self) -> list[str]:
        done = _quiet([self.docker, "network", "ls", "--format", "{{.Name}}"])
        return [n for n in done.stdout.split() if n.startswith(self.project + "-")]

    def remove_everything(self) -> None:
        """Best effort, after failures too: this run's containers, volumes and networks."""
        names = [c["name"] for c in self.containers()]
        if names:
            _quiet([self.docker, "rm", "-f", "-v", *names])
        if self.volumes():
            _quiet([self.docker, "volume", "rm", "-f", *self.volumes()])
        if self.networks():
            _quiet([self.docker, "network", "rm", *self.networks()])


def http_get(port: int, path: str = "/") -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.read().decode().strip()
    except (urllib.error.URLError, OSError):
        return None


@pytest.fixture
def run(docker: str, tmp_path: Path) -> Iterator[Run]:
    project = f"mse{secrets.token_hex(3)}"
    network = f"{project}-net"
    root = tmp_path / "stack"
    shutil.copytree(SOURCE, root, ignore=shutil.ignore_patterns(".instances", "__pycache__"))
    text = (root / "stack.yaml").read_text()
    assert "\nproject: mste2e\n" in text and "network: mste2e-net\n" in text
    text = text.replace("\nproject: mste2e\n", f"\nproject: {project}\n")
    (root / "stack.yaml").write_text(text.replace("network: mste2e-net\n", f"network: {network}\n"))
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    state = Run(root, project, network, docker, env)
    try:
        yield state
    finally:
        state.remove_everything()


def test_members_reach_each_other_by_name_through_their_gateways(run: Run) -> None:
    up = run.ok("system.up", "trio")
    assert f"network {run.network}: created" in up
    assert "node-b:80, node-b:1883" in up
    run.ok("system.up", "solo")

    # Each member answers by its name on the shared network, through its gateway, with its own content:
    # DNS round-robin between members (or a gateway reaching another member's `rest`) would show here.
    for source, target in (("node-a", "node-b"), ("node-c", "node-a"), ("node-b", "node-c")):
        for _ in range(3):
            assert run.fetch_inside("trio", source, f"http://{target}/") == target
    assert run.fetch_inside("solo", "node-d", "http://node-b/") == "node-b"  # another system, same network
    assert run.fetch_inside("trio", "node-a", "http://node-d/") == "node-d"
    # The gateway forwards 1883 to the member's mq...
    assert run.fetch_inside("trio", "node-a", "http://node-b:1883/") == "mq of node-b"
    # ...but mq itself is private to its member: its own name is its own mq,
    assert run.fetch_inside("trio", "node-a", "http://mq:1883/") == "mq of node-a"
    # another member's mq has no name here,
    for name in (f"{run.member('trio', 'node-b')}-mq-1", f"mq.{run.member('trio', 'node-b')}_appnet"):
        assert run.exec("trio", "node-a", "nslookup", name).returncode != 0, name
    # is not on the shared network,
    mq_nets = _quiet([run.docker, "inspect", "-f", "{{json .NetworkSettings.Networks}}",
                      f"{run.member('trio', 'node-b')}-mq-1"])
    assert list(json.loads(mq_nets.stdout)) == [f"{run.member('trio', 'node-b')}_appnet"]
    # and its address does not answer from another member.
    ip = json.loads(mq_nets.stdout)[f"{run.member('trio', 'node-b')}_appnet"]["IPAddress"]
    assert run.exec("trio", "node-a", "nc", "-w", "2", ip, "1883").returncode != 0
    assert run.exec("trio", "node-b", "nc", "-w", "2", ip, "1883").returncode == 0  # a control: it listens

    # Host ports per slot, and the overlays mounted into rest (pre-created files, not directories).
    for member, port in TRIO.items():
        assert http_get(port) == member
    node_b = json.loads(http_get(TRIO["node-b"], "/node.json") or "{}")
    assert node_b == {"node_id": 2, "callsign": "NODE-B", "name": "node-b", "system": "trio", "listen_port": 80,
                      "peers": ["node-a:80", "node-c:80"], "standalone": False}
    assert run.fetch_inside("trio", "node-a", "http://node-c/peers.txt").splitlines() == [
        "# NODE-C (edge) in system trio", "PEER_1=http://node-b:80/ NODE-B"]

    status = json.loads(run.ok("system.ps", "trio", "--json"))
    assert [(m["callsign"], m["running"], sorted(s["service"] for s in m["services"])) for m in status["members"]] == [
        (name, True, ["gateway", "mq", "rest"]) for name in ("NODE-A", "NODE-B", "NODE-C")]
    assert sorted(run.volumes()) == [f"{run.member('trio', m)}_data" for m in TRIO]  # one per node; solo has none

    # Down: the members go, the overlays become standalone, the network stays while solo uses it.
    down = run.ok("system.down", "trio", "--volumes", "--yes")
    assert f"network {run.network}: kept" in down
    assert {c["project"] for c in run.containers()} == {run.member("solo", "node-d")}
    assert run.volumes() == []
    assert run.network in run.networks()
    folder = run.root / ".instances" / "system-trio"
    assert json.loads((folder / "node-b" / "node.json").read_text())["peers"] == []
    assert (folder / "node-b" / "peers.txt").read_text() == "# NODE-B runs alone: no peers.\n"
    for port in TRIO.values():
        assert http_get(port) is None
    assert json.loads(run.ok("system.list", "--json"))[0]["running"] == 0

    down = run.ok("system.down", "solo", "--volumes", "--yes")
    assert f"network {run.network}: removed" in down
    assert run.containers() == [] and run.volumes() == [] and run.networks() == []


def test_a_member_runs_alone_after_down(run: Run) -> None:
    """After `system.down`, the member's own files (no shared network) still start it, with the standalone overlays."""
    run.ok("system.up", "solo")
    run.ok("system.down", "solo")
    assert run.networks() == []
    member = run.root / ".instances" / "system-solo" / "node-d"
    project = run.member("solo", "node-d")
    base = ["docker", "compose", "-p", project, "-f", str(run.root / "compose.yml"),
            "-f", str(member / "docker-compose.member.yml"), "--env-file", str(member / "member.env")]
    done = _quiet([*base, "up", "-d", "--wait"], timeout=90)
    assert done.returncode == 0, done.stderr
    try:
        assert http_get(38130) == "node-d"
    finally:
        assert _quiet([*base, "down", "--volumes"], timeout=90).returncode == 0
