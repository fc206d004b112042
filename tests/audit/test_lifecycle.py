"""`inv dev N restart` and `inv dev N clean`, seen from the commands they run and the disk they leave.

Audit: a restart that only started (never stopped) and a clean that removed the
whole ``.instances/`` (every other instance's files with it) both went unnoticed.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from invoke import Result

from multistack.model.stack import load_stack
from multistack.plan.instance import plan_instance
from tests.audit.fake import FakeEngine, run_program

def test_restart_stops_then_starts(minimal_stack: Path, engine: FakeEngine,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    [name] = plan_instance(load_stack(minimal_stack), 1).app_names
    engine.answer(r"pm2 jlist$", Result(json.dumps([{"name": name, "pm2_env": {"status": "online"}}])))
    code, _, err = run_program(["dev", "1", "restart"], capsys)
    assert code == 0, err
    acting = [cmd for cmd in engine.commands if not any(
        probe in cmd for probe in (" version --short", "docker info ", "docker ps -a ", " jlist"))]
    root = minimal_stack.parent
    folder = root / ".instances" / "instance-1"
    assert len(acting) == 4, acting
    assert acting[0] == f"{root}/fakebin/pm2 stop '/^({re.escape(name)})$/'"
    assert acting[1] == "docker compose -p demo-dev-1 --profile '*' down --remove-orphans"
    assert acting[2].startswith(f"docker compose -p demo-dev-1 -f {root}/compose.yml -f "
                                f"{folder}/docker-compose.override.yml up -d --remove-orphans --wait")
    assert acting[3] == f"{root}/fakebin/pm2 startOrRestart {folder}/pm2.config.cjs --update-env"


def test_clean_of_one_instance_leaves_the_others(minimal_stack: Path, engine: FakeEngine,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = minimal_stack.parent
    for n in ("1", "2"):
        assert run_program(["dev", n, "init"], capsys)[0] == 0
    instances = root / ".instances"
    (instances / "notes.txt").write_text("mine\n")
    second = {p.relative_to(instances): p.read_bytes() for p in (instances / "instance-2").rglob("*") if p.is_file()}
    code, out, err = run_program(["dev", "1", "clean", "--yes"], capsys)
    assert code == 0, err
    assert not (instances / "instance-1").exists()
    assert f"removed {instances / 'instance-1'}" in out
    assert (instances / "notes.txt").read_text() == "mine\n"
    assert {p.relative_to(instances): p.read_bytes() for p in (instances / "instance-2").rglob("*")
            if p.is_file()} == second
    [down] = engine.matching(r" down ")
    assert down.startswith("docker compose -p demo-dev-1 ") and down.endswith(" down --remove-orphans --volumes")
    assert "demo-dev-2" not in " ".join(engine.commands)
