"""End to end: instances' networks take the fixed subnets of stack.yaml's ``networks:`` pool.

Checked from outside with ``docker network inspect``: the engine holds the
subnets the plan gives, and a network already on instance 1's subnet makes
``inv dev 1 start`` refuse (exit 4) naming it, with nothing started. Host ports
33000-33999 only (the test stack's ports moved there); the pool is a random /24
in 10.214-250.x (out of the way of bench/scale.py's 10.212.0.0/16), in /28s.
"""
from __future__ import annotations

import json
import secrets

import pytest

from multistack.io.compose_files import read_stack_files
from multistack.model.stack import load_stack
from multistack.plan.instance import plan_instance
from multistack.plan.subnets import instance_subnets
from tests.e2e.conftest import E2EStack

BASE = 33000  # the test stack's 18000-18003 moved here; stride 100, instances 0-9: 33000-33903


@pytest.fixture
def pooled(e2e: E2EStack) -> E2EStack:
    """The e2e stack on ports 33000+ with a ``networks:`` pool of its own."""
    replacements = {name: [] for name in ("stack.yaml", "compose.yml", "api.env", "admin.env")}
    for offset in range(4):
        old, new = 18000 + offset, BASE + offset
        replacements["stack.yaml"].append((f"port: {old}", f"port: {new}"))
        replacements["compose.yml"].append((f'"{old}:', f'"{new}:'))
        replacements["api.env"].append((f"PORT={old}", f"PORT={new}"))
        replacements["admin.env"].append((f"PORT={old}", f"PORT={new}"))
    for name, pairs in replacements.items():
        path = e2e.root / name
        text = path.read_text()
        for old, new in pairs:
            text = text.replace(old, new)
        path.write_text(text)
    pool = f"10.{214 + secrets.randbelow(37)}.{secrets.randbelow(256)}.0/24"
    with (e2e.root / "stack.yaml").open("a") as stack:
        stack.write(f"\nnetworks: {{pool: {pool}, size: 28}}\n")
    return e2e


def planned_subnets(stack: E2EStack, n: int) -> dict[str, str]:
    loaded = load_stack(stack.root / "stack.yaml")
    return {name: str(net) for name, net in instance_subnets(loaded, n, read_stack_files(loaded).compose).items()}


def engine_subnets(stack: E2EStack, network: str) -> list[str]:
    done = stack.docker("network", "inspect", network)
    assert done.returncode == 0, done.stderr
    return [c["Subnet"] for c in json.loads(done.stdout)[0]["IPAM"]["Config"]]


def test_two_instances_get_their_declared_subnets_on_the_engine(pooled: E2EStack):
    expected = {n: planned_subnets(pooled, n) for n in (1, 2)}
    assert expected[1]["default"] != expected[2]["default"]
    for n in (1, 2):
        pooled.inv("dev", str(n), "start", timeout=180, check=True)
    for n in (1, 2):
        assert engine_subnets(pooled, f"{pooled.project_name(n)}_default") == [expected[n]["default"]]
        assert pooled.fetch(BASE + n * 100) == f"web {n}"  # the instance answers on its subnet
    for n in (1, 2):
        pooled.inv("dev", str(n), "stop", timeout=120, check=True)


def test_a_network_on_instance_1s_subnet_makes_start_refuse_naming_it(pooled: E2EStack):
    subnet = planned_subnets(pooled, 1)["default"]
    blocker = f"{pooled.project}-blocker"
    made = pooled.docker("network", "create", "--subnet", subnet, blocker)
    assert made.returncode == 0, made.stderr
    try:
        result = pooled.inv("dev", "1", "start", timeout=120)
        assert result.rc == 4, str(result)
        assert blocker in result.stderr and subnet in result.stderr, str(result)
        assert result.stderr.startswith("error: instance 1 cannot start: network default"), str(result)
        assert pooled.containers(1) == []
        assert pooled.apps() == {}
        assert not pooled.listening(BASE + 100) and not pooled.listening(BASE + 102)
        assert not (pooled.instance_dir(1) / "instance.json").exists()  # refused before writing
        loaded = load_stack(pooled.root / "stack.yaml")
        assert not any(name in pooled.apps() for name in plan_instance(loaded, 1).app_names)
    finally:
        pooled.docker("network", "rm", blocker)
