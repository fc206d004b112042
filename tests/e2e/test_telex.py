"""The Telex 3-node mesh (seed 001) end to end: a message from DUN-A reaches NYC-C through LON-B, by name.

tests/e2e/telex is the document's simulation as a multistack system: DUN-A - LON-B -
NYC-C in a line on one shared network, each node its own compose project with its
config (node.json), its volume (`<project>-node-a-data`, the document's
`telex-node-a-data`) and its host port (38823-38825). Each node is busybox `nc`
running tests/e2e/telex/node.sh: `SEND` makes a node send to its peers, `MSG` is kept
in the node's inbox and relayed to its other peers, `INBOX` lists what it received.

Everything is checked from outside: a message sent to DUN-A's host port is then in
LON-B's inbox (route `dun-a`) and NYC-C's (route `dun-a>lon-b`), asked on their own host
ports, so it went A -> B -> C by member name over the shared network (through each
member's gateway). Then the per-member commands on the real engine: `system.logs sim
LON-B --tail 5` (text and --json), `system.restart sim LON-B` (a new start time and pid,
the inbox kept on its volume), `system.exec sim DUN-A -- ping -c1 lon-b` (its exit code),
and `system.down sim --volumes --yes` (the named volumes gone). Each run has its own
project and network names; the teardown removes all of that run's containers, volumes
and networks, after a failure too.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.e2e.conftest import Machine, missing

SOURCE = Path(__file__).resolve().parent / "telex"
SCHEMAS = Path(__file__).resolve().parents[2] / "multistack" / "schema" / "output"
GATEWAY_IMAGE = "multistack-test/haproxy:1"
PROJECT_LABEL = "com.docker.compose.project"
SCRUBBED_ENV = ("MULTISTACK_INSTANCE", "MULTISTACK_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_FILE",
                "COMPOSE_PROFILES", "COMPOSE_ENV_FILES")
#: member -> (callsign, host port, volume letter)
NODES = {"dun-a": ("DUN-A", 38823, "a"), "lon-b": ("LON-B", 38824, "b"), "nyc-c": ("NYC-C", 38825, "c")}


def quiet(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(argv, 127, "", str(exc))


def ask(port: int, line: str, timeout: float = 30) -> str:
    """One line to a node's host port on 127.0.0.1; its whole answer (the node closes after it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(line.encode() + b"\n")
        chunks = []
        while chunk := conn.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def inbox(port: int) -> list[str]:
    lines = ask(port, "INBOX").splitlines()
    assert lines and lines[-1] == "END", lines
    return lines[:-1]


@dataclass
class Telex:
    root: Path
    project: str
    network: str
    docker: str
    env: dict[str, str]

    def inv(self, *words: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "invoke", *words], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def ok(self, *words: str) -> str:
        done = self.inv(*words)
        assert done.returncode == 0, f"inv {' '.join(words)} (exit {done.returncode})\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def container(self, member: str) -> str:
        return f"{self.project}-sim-{member}-node-1"

    def state(self, member: str) -> dict:
        done = quiet([self.docker, "inspect", "-f", "{{json .State}} {{.RestartCount}}", self.container(member)])
        assert done.returncode == 0, done.stderr
        state, _, count = done.stdout.strip().rpartition(" ")
        return {**json.loads(state), "RestartCount": int(count)}

    def ours(self, kind: str) -> list[str]:
        done = quiet([self.docker, kind, "ls", "--format", "{{.Name}}"])
        return [n for n in done.stdout.split() if n.startswith(self.project + "-")]

    def containers(self) -> list[str]:
        done = quiet([self.docker, "ps", "-a", "--filter", f"label={PROJECT_LABEL}", "--format",
                      '{{.Names}} {{.Label "com.docker.compose.project"}}'])
        return [line.split()[0] for line in done.stdout.splitlines()
                if line.split()[-1].startswith(self.project + "-")]

    def remove_everything(self) -> None:
        """Best effort, after failures too: this run's containers, volumes and networks."""
        if self.containers():
            quiet([self.docker, "rm", "-f", "-v", *self.containers()])
        if self.ours("volume"):
            quiet([self.docker, "volume", "rm", "-f", *self.ours("volume")])
        if self.ours("network"):
            quiet([self.docker, "network", "rm", *self.ours("network")])


@pytest.fixture
def telex(machine: Machine, tmp_path: Path) -> Iterator[Telex]:
    if quiet([machine.docker, "image", "inspect", GATEWAY_IMAGE]).returncode != 0:
        missing(f"the test image {GATEWAY_IMAGE} is missing (scripts/build-test-images.sh)")
    project = f"tlx{secrets.token_hex(3)}"
    root = tmp_path / "telex"
    shutil.copytree(SOURCE, root, ignore=shutil.ignore_patterns(".instances", "__pycache__"))
    text = (root / "stack.yaml").read_text()
    assert "\nproject: tlxe2e\n" in text and "network: tlxe2e-net\n" in text
    text = text.replace("\nproject: tlxe2e\n", f"\nproject: {project}\n")
    (root / "stack.yaml").write_text(text.replace("network: tlxe2e-net\n", f"network: {project}-net\n"))
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    state = Telex(root, project, f"{project}-net", machine.docker, env)
    try:
        yield state
    finally:
        state.remove_everything()


def test_a_message_goes_a_to_b_to_c_by_name_and_each_member_answers_its_commands(telex: Telex) -> None:
    up = telex.ok("system.up", "sim")
    assert f"network {telex.network}: created" in up

    # The volumes carry the exact names of the document (telex-node-a-data), per run.
    assert sorted(telex.ours("volume")) == [f"{telex.project}-node-{v}-data" for _, _, v in NODES.values()]
    ps = json.loads(telex.ok("system.ps", "sim", "--json"))
    validate(ps, "system.ps")
    assert [(m["callsign"], m["running"], m["peers"], m["volumes"]) for m in ps["members"]] == [
        (callsign, True, peers, {"data": f"{telex.project}-node-{v}-data"})
        for (callsign, _, v), peers in zip(NODES.values(), (["LON-B"], ["DUN-A", "NYC-C"], ["LON-B"]))]

    # A message sent to DUN-A from outside goes to LON-B, which relays it to NYC-C: by name.
    answer = ask(NODES["dun-a"][1], "SEND hello-from-dun-a")
    assert answer.startswith("SENT") and "ACK lon-b" in answer and "ACK nyc-c" in answer, answer
    assert inbox(NODES["dun-a"][1]) == []
    assert inbox(NODES["lon-b"][1]) == ["dun-a hello-from-dun-a"]
    assert inbox(NODES["nyc-c"][1]) == ["dun-a>lon-b hello-from-dun-a"]
    # And back: NYC-C's message reaches DUN-A through LON-B.
    assert "ACK dun-a" in ask(NODES["nyc-c"][1], "SEND hello-from-nyc-c")
    assert inbox(NODES["dun-a"][1]) == ["nyc-c>lon-b hello-from-nyc-c"]

    # Logs of one member, as the document writes it (LON-B): its own lines only, the last 5.
    logs = telex.ok("system.logs", "sim", "LON-B", "--tail", "5")
    node_lines = [line for line in logs.splitlines() if line.startswith("node-")]
    assert 0 < len(node_lines) <= 5 and len(logs.splitlines()) <= 10, logs  # 5 a service: node and gateway
    assert any("LON-B <- nyc-c: hello-from-nyc-c" in line for line in node_lines), logs
    assert "DUN-A" not in logs.replace("dun-a", "")
    data = json.loads(telex.ok("system.logs", "sim", "lon-b", "--tail", "5", "--json"))
    validate(data, "system.logs")
    assert [m["callsign"] for m in data["members"]] == ["LON-B"]
    texts = [line["text"] for line in data["members"][0]["lines"] if line["service"] == "node"]
    assert any("LON-B <- nyc-c: hello-from-nyc-c" in t for t in texts) and len(texts) <= 5, data
    every = json.loads(telex.ok("system.logs", "sim", "--json"))
    assert [m["callsign"] for m in every["members"]] == ["DUN-A", "LON-B", "NYC-C"]
    assert any("NYC-C <- lon-b: hello-from-dun-a" in line["text"] for line in every["members"][2]["lines"])

    # Restart one member: LON-B's node starts again (new start time and pid); the others do not.
    before = {m: telex.state(m) for m in NODES}
    time.sleep(1.1)  # StartedAt has sub-second precision, but be sure it moves
    restarted = telex.ok("system.restart", "sim", "LON-B")
    assert "system sim: restarted LON-B" in restarted
    after = {m: telex.state(m) for m in NODES}
    assert after["lon-b"]["Running"] and after["lon-b"]["StartedAt"] != before["lon-b"]["StartedAt"]
    assert after["lon-b"]["Pid"] != before["lon-b"]["Pid"]
    assert after["lon-b"]["RestartCount"] == before["lon-b"]["RestartCount"]  # a restart by hand, not a crash
    for other in ("dun-a", "nyc-c"):
        assert after[other]["StartedAt"] == before[other]["StartedAt"], other
    wait_answers(NODES["lon-b"][1])
    assert inbox(NODES["lon-b"][1]) == ["dun-a hello-from-dun-a", "nyc-c hello-from-nyc-c"]  # kept on its volume

    # exec into a member: ping another by name over the shared network; the command's exit code is ours.
    ping = telex.inv("system.exec", "sim", "DUN-A", "--", "ping", "-c1", "lon-b")
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert "1 packets received" in ping.stdout, ping.stdout
    quoted = telex.inv("system.exec", "sim", "nyc-c", "--", "sh", "-c", "echo \"$MULTISTACK_CALLSIGN\" two words; exit 3")
    assert (quoted.returncode, quoted.stdout.strip()) == (3, "NYC-C two words"), quoted.stdout + quoted.stderr
    unknown = telex.inv("system.exec", "sim", "DUN-A", "--", "ping", "-c1", "-W1", "no-such-member")
    assert unknown.returncode != 0

    # down --volumes needs --yes off a terminal; with it, every member and its named volume are gone.
    refused = telex.inv("system.down", "sim", "--volumes")
    assert refused.returncode == 2 and "rerun with --yes" in refused.stderr
    assert len(telex.containers()) == 6  # nothing was taken down
    down = telex.ok("system.down", "sim", "--volumes", "--yes")
    assert "system sim: down" in down
    assert telex.containers() == [] and telex.ours("volume") == [] and telex.network not in telex.ours("network")


def wait_answers(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if ask(port, "PING", timeout=3).strip() == "PONG":
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"port {port} does not answer"
        time.sleep(0.3)


def validate(data: object, command: str) -> None:
    import jsonschema

    schema = json.loads((SCHEMAS / f"{command}.json").read_text())
    jsonschema.validate(data, schema)
