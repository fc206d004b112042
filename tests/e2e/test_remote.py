"""Instances and a system on a remote-like Docker engine reached only over SSH (issue 18).

scripts/remote-engine.sh starts a second dockerd and an sshd in a mount namespace of
their own in which /tmp, /work, /home and /root are empty: the engine does not see this
machine's checkout or the pytest folders, as a real remote host would not. It is reached
only as ``ssh://root@127.0.0.1:2290`` with its own key and known_hosts (given in
``engines:``), sshd keeping its default ``MaxSessions 10``. The tests check from outside:

- the engine is remote-like: a plain bind mount of the instance's generated
  ``instance.env`` arrives there as an empty directory, while the system's generated
  files, carried in the compose model (``configs:``), arrive intact (``cat`` inside);
- an instance of 14 services starts there over SSH (more than MaxSessions) and answers
  on its port, its PM2 app runs here and reaches it; ``status --all`` and ``stop --all``
  span the local and the remote engine; ``inv doctor`` warns of its bind mount;
- an SSH docker context (``context:``) goes through the same forwarded socket;
- a system with gateways and overlays runs there: each member answers on its port,
  reaches the others by name through their gateways, and its overlays are intact;
- a misconfigured SSH engine is one line naming what is wrong (host key, auth, refused).

Host ports 48000-48999 on 127.0.0.1 and SSH port 2290 belong to these tests; the engine
is started and removed here (it needs root, as CI runs).
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.e2e.conftest import SCRUBBED_ENV, TEST_IMAGE, missing, pm2_binary

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "remote-engine.sh"
NAME = "mse2e-rem"
SSH_PORT = 2290
REFUSED_PORT = 2291  # nothing listens there
PROJECT_LABEL = "com.docker.compose.project"
EXTRA_SERVICES = 12  # web + probe + 12: 14 services, more than sshd's MaxSessions (10)

WEB = """\
  web:
    image: multistack-test/busybox:1
    pull_policy: never
    init: true
    command: ["sh", "-c", "mkdir -p /www && echo \\"web ${MULTISTACK_INSTANCE:?no env}\\" > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: ["48000:8080"]
  probe:
    image: multistack-test/busybox:1
    pull_policy: never
    init: true
    command: ["sleep", "3600"]
    env_file:
      - .instances/instance-${MULTISTACK_INSTANCE}/instance.env
    volumes:
      # A plain bind mount of a local generated file: on a remote engine, an empty directory.
      - ./.instances/instance-${MULTISTACK_INSTANCE}/instance.env:/probe/instance.env:ro
"""
FILLER = """\
  s{i:02d}:
    image: multistack-test/busybox:1
    pull_policy: never
    init: true
    command: ["sleep", "3600"]
"""

SYSTEM_COMPOSE = """\
services:
  rest:
    image: multistack-test/busybox:1
    pull_policy: never
    init: true
    command: ["sh", "-c", "mkdir -p /www && echo \\"$${MULTISTACK_MEMBER:-alone}\\" > /www/index.html && exec httpd -f -p 80 -h /www"]
    networks: [appnet]
networks:
  appnet: {}
"""

PEERS = """\
{% if standalone %}
# {{ callsign }} alone
{% else %}
# {{ callsign }} costs $5 in {{ system }}
{% for peer in peers %}
PEER={{ peer.address }}
{% endfor %}
{% endif %}
"""

#: A PM2 app (on this machine) that answers with what the remote engine's web answers it.
RELAY = """\
import os, signal, sys, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        with urllib.request.urlopen(os.environ["WEB_URL"], timeout=5) as answer:
            body = b"relay got " + answer.read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
HTTPServer(("127.0.0.1", int(os.environ["MULTISTACK_PORT_RELAY"])), Handler).serve_forever()
"""

STACK = """\
project: {project}
instances: 0-3
stride: 100
compose:
  files: [compose.yml]
  env_files: [instance.env]
services:
  web: {{port: 48000, compose: web, container_port: 8080}}
  relay: {{port: 48001}}
env:
  WEB_URL: "http://{{{{ host }}}}:{{{{ ports.web }}}}/"
apps:
  relay:
    command: python3 relay.py
    env_files: [instance.env]
engines:
  local: {{slots: 0-1}}
  remote: {{docker_host: "ssh://root@127.0.0.1:{port}", ssh_key: "{key}", known_hosts: "{known}",
           host: localhost, host_ip: 127.0.0.1, slots: 2-3}}
systems:
  ring:
    engine: remote
    compose_files: [system.yml]
    network: {project}-net
    project_network: appnet
    shared_services: [rest]
    stride: 10
    ports:
      http: {{port: 48500, service: rest, container_port: 80}}
    gateway:
      image: multistack-test/haproxy:1
      pull_policy: never
      forward: ["80:rest:80"]
    topology: {{shape: line, port: http}}
    overlays:
      node.json: {{template: system-node.json.j2, mounts: {{rest: /www/node.json}}}}
      peers.txt: {{template: peers.txt.j2, mounts: {{rest: /www/peers.txt}}}}
    members:
      NODE-A: {{slot: 0}}
      NODE-B: {{slot: 1}}
"""


def _run(argv: list[str], env: dict[str, str] | None = None, timeout: float = 60, cwd: Path | None = None
         ) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(argv, 127, "", str(exc))


@dataclass(frozen=True)
class Remote:
    sock: str  # the engine's own socket, for the test's checks only (the CLI goes through SSH)
    key: str
    known_hosts: str

    def docker(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return _run(["docker", "-H", f"unix://{self.sock}", *argv], timeout=timeout)


@pytest.fixture(scope="module")
def remote() -> Iterator[Remote]:
    """The remote-like engine on 127.0.0.1:2290; stopped and its folder removed afterwards."""
    if not shutil.which("docker") or _run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=20).returncode:
        missing("no Docker engine")
    if _run(["docker", "image", "inspect", TEST_IMAGE]).returncode != 0:
        missing(f"the test image {TEST_IMAGE} is missing (scripts/build-test-images.sh)")
    if os.geteuid() != 0 or not Path("/usr/sbin/sshd").exists() or not shutil.which("ssh") or not shutil.which("unshare"):
        missing("a remote-like engine needs root, sshd (openssh-server), ssh and unshare")
    started = _run([str(SCRIPT), "start", NAME, str(SSH_PORT)], timeout=180)
    try:
        if started.returncode != 0:
            pytest.fail(f"scripts/remote-engine.sh start failed:\n{started.stdout}{started.stderr}", pytrace=False)
        lines = dict(line.split("=", 1) for line in _run([str(SCRIPT), "env", NAME]).stdout.split())
        yield Remote(lines["SOCK"], lines["KEY"], lines["KNOWN_HOSTS"])
    finally:
        _run([str(SCRIPT), "stop", NAME], timeout=120)
        for folder in (f"/var/lib/multistack-remote/{NAME}", f"/run/multistack-remote/{NAME}"):
            shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Stack:
    root: Path
    project: str
    env: dict[str, str]
    remote: Remote

    def inv(self, *words: str, timeout: float = 240, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        return _run([sys.executable, "-m", "invoke", *words], env={**self.env, **(env or {})}, timeout=timeout,
                    cwd=self.root)

    def remote_containers(self, project: str) -> list[dict[str, str]]:
        done = self.remote.docker("ps", "-a", "--filter", f"label={PROJECT_LABEL}={project}", "--format", "{{json .}}")
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def local_containers(self) -> list[str]:
        done = _run(["docker", "ps", "-a", "--filter", f"label={PROJECT_LABEL}", "--format",
                     '{{.Label "com.docker.compose.project"}}'])
        return [p for p in done.stdout.split() if p.startswith(self.project)]


def _cleanup(docker: list[str], prefix: str) -> None:
    """Every container, volume and network of this test's projects on one engine."""
    listed = _run([*docker, "ps", "-aq", "--filter", f"label={PROJECT_LABEL}", "--format",
                   '{{.ID}} {{.Label "com.docker.compose.project"}}']).stdout.split("\n")
    ids = [line.split()[0] for line in listed if len(line.split()) == 2 and line.split()[1].startswith(prefix)]
    if ids:
        _run([*docker, "rm", "-f", "-v", *ids], timeout=120)
    for kind in ("volume", "network"):
        names = [n for n in _run([*docker, kind, "ls", "--format", "{{.Name}}"]).stdout.split() if n.startswith(prefix)]
        if names:
            _run([*docker, kind, "rm", *names], timeout=60)


@pytest.fixture
def stack(tmp_path: Path, remote: Remote) -> Iterator[Stack]:
    project = f"e2er{secrets.token_hex(3)}"
    root = tmp_path / "stack"
    root.mkdir()
    services = WEB + "".join(FILLER.format(i=i) for i in range(1, EXTRA_SERVICES + 1))
    (root / "compose.yml").write_text("services:\n" + services)
    (root / "system.yml").write_text(SYSTEM_COMPOSE)
    (root / "peers.txt.j2").write_text(PEERS)
    (root / "relay.py").write_text(RELAY)
    (root / "instance.env").write_text("")
    (root / "tasks.py").write_text("from multistack.cli import namespace\n\nns = namespace()\n")
    (root / "stack.yaml").write_text(STACK.format(project=project, port=SSH_PORT, key=remote.key,
                                                  known=remote.known_hosts))
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV and not k.startswith("DOCKER_")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    pm2 = pm2_binary()
    if pm2 is None:
        missing("PM2 (node_modules/.bin/pm2)")
    assert pm2 is not None
    run = Path(tempfile.mkdtemp(prefix="ms18-", dir="/tmp"))  # short: unix socket paths under it
    env["XDG_RUNTIME_DIR"] = str(run)  # this test's own SSH master and forwarded socket
    env["PM2_HOME"] = str(run / "pm2")  # this test's own PM2 daemon
    env["PATH"] = os.pathsep.join([str(Path(pm2).parent), env["PATH"]])
    made = Stack(root, project, env, remote)
    try:
        yield made
    finally:
        made.inv("system.down", "ring", timeout=120)
        made.inv("dev", "stop", "--all", timeout=120)
        _cleanup(["docker", "-H", f"unix://{remote.sock}"], project)
        _cleanup(["docker"], project)
        _run([pm2, "kill"], env=env, timeout=60)
        for control in (run / "multistack-ssh").glob("*.ctl"):
            _run(["ssh", "-o", f"ControlPath={control}", "-O", "exit", "x"], timeout=20)
        shutil.rmtree(run, ignore_errors=True)


def _get(port: int, path: str = "/", attempts: int = 40) -> str:
    last: Exception | None = None
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                return response.read().decode()
        except (urllib.error.URLError, OSError) as exc:
            last = exc
            time.sleep(0.5)
    raise AssertionError(f"127.0.0.1:{port}{path} did not answer: {last}")


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"{done.args}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


def test_instances_on_both_engines_over_ssh(stack: Stack) -> None:
    """14 services over SSH (MaxSessions 10), status/stop --all over both engines, the bind mount's empty directory."""
    _ok(stack.inv("dev", "1", "start"))
    # The doctor warns first: instance 2's bind mount names a path of the remote engine's machine.
    doctor = json.loads(_ok(stack.inv("doctor", "2", "--json")))
    assert any("instance 2 runs on engine remote" in f["message"] for f in doctor["findings"]), doctor
    started = stack.inv("dev", "2", "start")
    _ok(started)
    assert "MaxSessions" not in started.stderr
    assert _get(48100).strip() == "web 1" and _get(48200).strip() == "web 2"
    # The PM2 app of instance 2 runs here and reaches the remote engine's published port.
    assert _get(48201).strip() == "relay got web 2"
    remote = stack.remote_containers(f"{stack.project}-dev-2")
    assert len(remote) == EXTRA_SERVICES + 2 and all(c["State"] == "running" for c in remote)
    assert set(stack.local_containers()) == {f"{stack.project}-dev-1"}, "instance 2 runs on the remote engine only"

    # Remote-like: the generated instance.env, bind-mounted as a plain path, is an empty directory there...
    probe = f"{stack.project}-dev-2-probe-1"
    inside = stack.remote.docker("exec", probe, "sh", "-c", "test -d /probe/instance.env && ls -A /probe/instance.env")
    assert inside.returncode == 0 and inside.stdout == "", inside
    # ...while the same file read by compose on this machine (env_file) reaches the container intact.
    env = _ok(stack.remote.docker("exec", probe, "sh", "-c", "echo $MULTISTACK_INSTANCE $MULTISTACK_ENGINE"))
    assert env.split() == ["2", "remote"]

    info = json.loads(_ok(stack.inv("dev", "2", "info", "--json")))
    assert info["engine"]["name"] == "remote" and info["engine"]["docker_host"] == f"ssh://root@127.0.0.1:{SSH_PORT}"
    text = _ok(stack.inv("dev", "2", "info"))
    assert "remote (docker host ssh://root@127.0.0.1:2290, over SSH" in text and "containers on engine remote" in text

    status = json.loads(_ok(stack.inv("dev", "status", "--all", "--json")))
    rows = {row["instance"]: row for row in status}
    assert rows[1]["engine"] == "local" and rows[2]["engine"] == "remote" and "engine_error" not in rows[2]
    assert len([s for s in rows[2]["services"] if s["state"] == "running"]) == EXTRA_SERVICES + 2, rows[2]
    assert [s["state"] for s in rows[1]["services"]] == ["running"] * (EXTRA_SERVICES + 2)

    _ok(stack.inv("dev", "stop", "--all"))
    assert not [c for c in stack.remote_containers(f"{stack.project}-dev-2") if c["State"] == "running"]
    with pytest.raises(AssertionError, match="did not answer"):
        _get(48201, attempts=2)  # the PM2 app stopped too
    running = _run(["docker", "ps", "--filter", f"label={PROJECT_LABEL}={stack.project}-dev-1", "-q"]).stdout
    assert running.strip() == ""


def test_system_with_gateways_and_overlays_on_the_remote_engine(stack: Stack) -> None:
    """The system's generated files travel in the compose model: intact inside the remote containers."""
    _ok(stack.inv("system.up", "ring"))  # engine: remote
    a, b = f"{stack.project}-ring-node-a", f"{stack.project}-ring-node-b"
    assert len(stack.remote_containers(a)) == 2 and len(stack.remote_containers(b)) == 2  # rest + gateway
    assert not stack.local_containers()
    assert _get(48500).strip() == "node-a" and _get(48510).strip() == "node-b"
    # Overlays, carried as configs: intact (a `$` in the text included), not an empty directory.
    peers = _ok(stack.remote.docker("exec", f"{a}-rest-1", "cat", "/www/peers.txt"))
    assert peers == "# NODE-A costs $5 in ring\nPEER=node-b\n"
    node = json.loads(_ok(stack.remote.docker("exec", f"{b}-rest-1", "cat", "/www/node.json")))
    assert node["callsign"] == "NODE-B" and node["peers"] == ["node-a:80"]
    # The gateway's haproxy.cfg arrived too: node-a reaches node-b by name through it.
    fetched = stack.remote.docker("exec", f"{a}-rest-1", "timeout", "10", "wget", "-q", "-O", "-", "http://node-b/")
    assert fetched.stdout.strip() == "node-b", fetched
    # A changed overlay reaches the running member: compose alone would keep the old container.
    (stack.root / "peers.txt.j2").write_text(PEERS.replace("costs $5", "costs $6"))
    _ok(stack.inv("system.up", "ring"))
    peers = _ok(stack.remote.docker("exec", f"{a}-rest-1", "cat", "/www/peers.txt"))
    assert peers == "# NODE-A costs $6 in ring\nPEER=node-b\n"
    [ring] = json.loads(_ok(stack.inv("system.list", "--json")))
    assert ring["name"] == "ring" and ring["running"] == 2  # asked on the system's engine
    listed = json.loads(_ok(stack.inv("system.ps", "ring", "--json")))
    assert "node-a" in json.dumps(listed) and "gateway" in json.dumps(listed)
    _ok(stack.inv("system.down", "ring"))
    assert not stack.remote_containers(a) and not stack.remote_containers(b)


@pytest.mark.parametrize("case", ["unknown-host-key", "wrong-key", "refused"])
def test_misconfigured_ssh_is_one_line(stack: Stack, tmp_path: Path, case: str) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    wrong_key = tmp_path / "wrong_key"
    _ok(_run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong_key)]))
    key, known, port = stack.remote.key, stack.remote.known_hosts, SSH_PORT
    if case == "unknown-host-key":
        known = str(empty)
    elif case == "wrong-key":
        key = str(wrong_key)
    else:
        port = REFUSED_PORT
    (stack.root / "stack.yaml").write_text(STACK.format(project=stack.project, port=port, key=key, known=known))
    done = stack.inv("dev", "2", "start")
    assert done.returncode == 3, done
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: engine remote unreachable over SSH"), lines
    expected = {"unknown-host-key": "host key is unknown", "wrong-key": "authentication refused",
                "refused": "connection refused"}[case]
    assert expected in lines[0] and "(fix: " in lines[0]
    assert not stack.remote_containers(f"{stack.project}-dev-2")


def test_an_ssh_docker_context_goes_through_the_same_connection(stack: Stack) -> None:
    """``context:`` whose endpoint is ssh://: found in docker's context store, reached through the tunnel."""
    context = f"{stack.project}-ctx"
    created = _run(["docker", "context", "create", context, "--docker", f"host=ssh://root@127.0.0.1:{SSH_PORT}"])
    try:
        _ok(created)
        text = STACK.format(project=stack.project, port=SSH_PORT, key=stack.remote.key, known=stack.remote.known_hosts)
        ctx = (f'  ctx: {{context: {context}, ssh_key: "{stack.remote.key}", known_hosts: "{stack.remote.known_hosts}", '
               "host: localhost, host_ip: 127.0.0.1, slots: 3}\n")
        (stack.root / "stack.yaml").write_text(text.replace("slots: 2-3}", "slots: 2}").replace("\nsystems:", "\n" + ctx + "systems:", 1))
        dry = _ok(stack.inv("--dry", "dev", "3", "start"))
        assert "docker --host unix://" in dry and f"--context {context}" not in dry and "-l root -- 127.0.0.1" in dry
        _ok(stack.inv("dev", "3", "start"))
        assert _get(48300).strip() == "web 3"
        assert len(stack.remote_containers(f"{stack.project}-dev-3")) == EXTRA_SERVICES + 2
        assert not [p for p in stack.local_containers() if p.endswith("-dev-3")]
        _ok(stack.inv("dev", "3", "stop"))
    finally:
        _run(["docker", "context", "rm", "-f", context])
