"""Which running things belong to which instance: compose project labels and PM2 names match whole.

Audit: matching the project label with a search instead of a full match (so that
``myshop-dev-1`` counted as instance 1 of project ``shop``) went unnoticed. Another
project's containers must never be stopped, cleaned or reported as ours.
"""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Callable

import pytest
from invoke import Result

from multistack.model.stack import load_stack
from multistack.plan.instance import plan_instance
from tests.audit.fake import FakeEngine, run_program
from tests.conftest import MINIMAL_COMPOSE, MINIMAL_ENV, MINIMAL_STACK

SHOP = MINIMAL_STACK.replace("project: demo\n", "project: shop\n")


def row(project: str, service: str, state: str = "running") -> str:
    return json.dumps({"project": project, "service": service, "name": f"{project}-{service}-1", "state": state,
                       "status": "Up 1 minute", "ports": ""})


# Someone else's projects whose names contain shop's: only shop-dev-2 is ours.
PS = "\n".join([row("myshop-dev-1", "web"), row("shop-dev-1x", "db"), row("shop-dev-2", "web"),
                row("xshop-dev-3", "web")]) + "\n"


def app(stack_file: Path, n: int) -> str:
    """The PM2 name of instance n's app (however the naming scheme spells it)."""
    [name] = plan_instance(load_stack(stack_file), n).app_names
    return name


@pytest.fixture
def shop(make_stack: Callable[..., Path], engine: FakeEngine) -> Path:
    stack = make_stack(SHOP, {"compose.yml": MINIMAL_COMPOSE, "app.env": MINIMAL_ENV})
    one, two = app(stack, 1), app(stack, 2)
    engine.answer(r"docker ps -a ", Result(PS))
    engine.answer(r"pm2 jlist$", Result(json.dumps([{"name": f"my{one}", "pm2_env": {"status": "online"}},
                                                    {"name": f"{one}x", "pm2_env": {"status": "online"}},
                                                    {"name": two, "pm2_env": {"status": "online"}}])))
    return stack


def test_stop_all_stops_only_this_projects_instances(shop: Path, engine: FakeEngine,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_program(["dev", "stop", "--all"], capsys)
    assert code == 0, err
    downs = engine.matching(r" down ")
    assert downs == ["docker compose -p shop-dev-2 --profile '*' down --remove-orphans"]
    [stop] = engine.matching(r"pm2 stop ")
    pattern = re.compile(shlex.split(stop)[-1].strip("/"))
    one = app(shop, 1)
    assert pattern.search(app(shop, 2)) and not any(pattern.search(n) for n in (f"my{one}", f"{one}x", one))


def test_status_of_instance_1_ignores_lookalike_projects(shop: Path, engine: FakeEngine,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert run_program(["dev", "1", "init"], capsys)[0] == 0
    assert run_program(["dev", "2", "init"], capsys)[0] == 0
    code, out, err = run_program(["dev", "status", "--all", "--json"], capsys)
    assert out.strip(), err  # (instance 1 is down: the exit code may say so; the JSON is what is checked)
    states = {entry["instance"]: entry for entry in json.loads(out)}
    assert {k: states[1][k] for k in ("instance", "project_name", "services", "apps", "running", "healthy")} == {
        "instance": 1, "project_name": "shop-dev-1", "services": [], "apps": [], "running": False, "healthy": False}
    assert states[2]["services"] == [{"service": "web", "container": "shop-dev-2-web-1", "state": "running",
                                      "health": "", "ports": ""}]
    assert [a["name"] for a in states[2]["apps"]] == [app(shop, 2)]
    assert states[2]["running"] is True


def test_clean_all_finds_an_instance_by_its_volumes_alone(shop: Path, engine: FakeEngine,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Containers gone, folder gone: its named volumes still say instance 3 existed (and myshop's are not ours)."""
    engine.answer(r"docker ps -a ", Result(""))
    engine.answer(r"pm2 jlist$", Result("[]"))
    engine.answer(r" volume ls --filter label=com.docker.compose.project --format",
                  Result('"shop-dev-3" shop-dev-3_pgdata\n"myshop-dev-4" myshop-dev-4_x\n"shop-dev-3" shop-dev-3_cache\n'))
    engine.answer(r" volume ls --filter label=com.docker.compose.project=shop-dev-3 ",
                  Result("shop-dev-3_pgdata\nshop-dev-3_cache\n"))
    code, out, err = run_program(["dev", "clean", "--all", "--yes"], capsys)
    assert code == 0, err
    assert "clean --all: 1 ok, 0 failed" in out
    acting = [cmd for cmd in engine.commands if not cmd.endswith((" version --short", " jlist"))]
    assert acting[1:] == [
        "docker volume ls --filter label=com.docker.compose.project --format "
        "'{{json (.Label \"com.docker.compose.project\")}} {{.Name}}'",
        "docker compose -p shop-dev-3 --profile '*' down --remove-orphans --volumes",
        "docker volume ls --filter label=com.docker.compose.project=shop-dev-3 --format '{{.Name}}'",
        "docker volume rm shop-dev-3_pgdata shop-dev-3_cache",
    ]
