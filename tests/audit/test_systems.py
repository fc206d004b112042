"""`inv system.up`: one command per system at a time, and a failed start leaves nothing behind.

Audit: removing the system lock, and a rollback that left the shared network it had
just created, both went unnoticed.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
from filelock import FileLock, Timeout
from invoke import Result

from multistack.io.locks import lock_dir
from multistack.model.stack import load_stack
from tests.audit.fake import FakeEngine, run_program

COMPOSE = """\
services:
  rest:
    image: multistack-test/busybox:1
    ports: ["8080:80"]
    networks: [appnet]
networks:
  appnet: {}
"""

STACK = """\
project: acme
compose:
  files: [compose.yml]
systems:
  duo:
    compose_files: [compose.yml]
    project_network: appnet
    ports:
      http: {port: 18080, service: rest, container_port: 80}
    gateway:
      forward: ["80:rest:80"]
    members:
      left: {slot: 1}
      right: {slot: 2}
"""


@pytest.fixture
def duo(make_stack: Callable[..., Path], engine: FakeEngine, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("multistack.io.hostports.taken_ports", lambda ports, host="127.0.0.1": [])
    return make_stack(STACK, {"compose.yml": COMPOSE})


def system_lock(stack_file: Path) -> Path:
    return lock_dir(load_stack(stack_file)) / "system-duo.lock"


def test_up_holds_the_system_lock_while_it_starts_members(duo: Path, engine: FakeEngine,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    held: list[bool] = []

    def probe_lock(command: str) -> None:
        if " up -d " in command:
            try:
                FileLock(str(system_lock(duo))).acquire(timeout=0).lock.release()
                held.append(False)
            except Timeout:
                held.append(True)

    engine.hooks.append(probe_lock)
    code, _, err = run_program(["system.up", "duo"], capsys)
    assert code == 0, err
    assert held == [True, True]
    FileLock(str(system_lock(duo))).acquire(timeout=0).lock.release()  # and released after


def test_up_refuses_while_another_command_holds_the_lock(duo: Path, engine: FakeEngine,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    lock = system_lock(duo)
    lock.parent.mkdir(parents=True)
    (lock.parent / "system-duo.owner").write_text("`system.down` (pid 4242: system.down duo)\n")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from filelock import FileLock; lock = FileLock(sys.argv[1]); lock.acquire(); "
        "print('held', flush=True); time.sleep(60)"), str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        code, _, err = run_program(["system.up", "duo"], capsys)
    finally:
        holder.kill()
        holder.wait()
    assert code == 4
    assert "system duo is busy: `system.down` (pid 4242: system.down duo) holds its lock" in err
    assert not engine.matching(r" up -d | network create ")


def test_a_failed_member_takes_down_the_others_and_the_network_it_created(duo: Path, engine: FakeEngine,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    engine.answer(r"-p acme-duo-right .* up -d", Result(exited=1, stderr="boom"))
    code, out, err = run_program(["system.up", "duo"], capsys)
    assert code == 1
    assert "right did not start" in err
    assert {cmd.split()[3] for cmd in engine.matching(r" down ")} == {"acme-duo-left", "acme-duo-right"}
    assert engine.matching(r"network create ") and engine.matching(r"network rm meshnet$")
    assert engine.networks == {}  # nothing left on the engine
    assert "network meshnet: removed" in out


def test_a_failed_member_keeps_a_network_that_was_there_before(duo: Path, engine: FakeEngine,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    engine.networks["meshnet"] = '{"dev.multistack.shared-network":"true"} 3\n'  # another system's containers on it
    engine.answer(r"-p acme-duo-right .* up -d", Result(exited=1, stderr="boom"))
    code, out, err = run_program(["system.up", "duo"], capsys)
    assert code == 1
    assert not engine.matching(r"network create ") and not engine.matching(r"network rm ")
    assert "meshnet" in engine.networks


def test_the_example_sim_nodes_are_on_the_shared_network_they_dial_peers_on(compose_bin: str, tmp_path: Path) -> None:
    """Audit (issue 14.4): `sim`'s node was only on its private network, so `lon-b:8024` did not resolve
    from a node, and no test noticed: the real `docker compose config` of each member shows where it is."""
    import json
    import os
    from dataclasses import replace

    from multistack.act.systems import compose_args, get_system, plan_system, render_system
    from multistack.io.writer import atomic_write

    root = Path(__file__).resolve().parents[2]
    stack = replace(load_stack(root / "stack.yaml"), instances_dir=str(tmp_path / "instances"))
    plan = plan_system(stack, get_system(stack, "sim"))
    for name, f in render_system(plan).items():
        atomic_write(plan.dir / name, f.text, f.mode)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "DOCKER_CONFIG": "/nonexistent-docker-config"}
    for mp in plan.members:
        done = subprocess.run([compose_bin, *compose_args(plan, mp)[2:], "config", "--format", "json"],
                              capture_output=True, text=True, timeout=60, env=env)
        assert done.returncode == 0, done.stderr
        node = json.loads(done.stdout)["services"]["node"]
        assert set(node["networks"]) == {"default", "meshnet"}, mp.callsign
        peers = json.loads((mp.dir / "node.json").read_text())["peers"]
        assert peers and all(peer.split(":")[0] in {m.name for m in plan.members} for peer in peers)
