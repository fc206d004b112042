"""`inv dev N logs`: one PM2 target for all of the instance's apps, and --tail reaching both tools.

Audit: a `pm2 logs` given bare names (`pm2 logs a-1 b-1` streams only `a-1`) and a
--tail fixed at 50 both went unnoticed.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Callable

import pytest

from multistack.model.stack import load_stack
from multistack.plan.instance import plan_instance
from tests.audit.fake import FakeEngine, run_program
from tests.conftest import MINIMAL_COMPOSE

TWO_APPS = """\
project: demo
instances: 0-5
compose:
  files: [compose.yml]
services:
  web: {port: 8000, compose: web, container_port: 8080}
  db: {port: 5432, compose: db, container_port: 5432}
  api: {port: 3000}
  admin: {port: 3001}
apps:
  api:
    command: python3 -m http.server
  admin:
    command: python3 -m http.server
"""


@pytest.fixture
def two_apps(make_stack: Callable[..., Path]) -> Path:
    return make_stack(TWO_APPS, {"compose.yml": MINIMAL_COMPOSE})


def pm2_logs(engine: FakeEngine) -> list[str]:
    [command] = engine.matching(r"pm2 logs ")
    words = shlex.split(command)
    return words[words.index("logs") + 1:]


def test_pm2_logs_gets_one_anchored_regex_for_every_app(two_apps: Path, engine: FakeEngine,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    stack = load_stack(two_apps)
    mine = plan_instance(stack, 2).app_names
    assert len(mine) == 2
    others = [*plan_instance(stack, 1).app_names, *plan_instance(stack, 0).app_names]
    lookalikes = [f"x{mine[0]}", f"{mine[0]}-old", f"{mine[1]}0", mine[1].replace("-2", "-20")]
    code, _, err = run_program(["dev", "2", "logs"], capsys)
    assert code == 0, err
    target, *rest = pm2_logs(engine)
    assert rest == ["--lines", "50", "--nostream"]  # one target: every other word is an option
    assert target.startswith("/") and target.endswith("/")
    pattern = re.compile(target[1:-1])
    assert all(pattern.search(name) for name in mine)
    for other in [*others, *lookalikes]:
        assert not pattern.search(other), other  # anchored: another instance's app is not streamed


def test_tail_reaches_compose_and_pm2(minimal_stack: Path, engine: FakeEngine,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_program(["dev", "1", "logs", "--tail", "7"], capsys)
    assert code == 0, err
    [compose] = engine.matching(r"docker compose .* logs ")
    assert compose.endswith(" logs --no-color --tail 7")
    assert pm2_logs(engine)[1:] == ["--lines", "7", "--nostream"]



def test_follow_streams_compose_in_the_background_and_pm2_in_front(minimal_stack: Path, engine: FakeEngine,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_program(["dev", "1", "logs", "--follow", "--tail", "3"], capsys)
    assert code == 0, err
    assert pm2_logs(engine)[1:] == ["--lines", "3"]  # streams: no --nostream
    [compose] = engine.matching(r"docker compose .* logs ")
    assert compose.endswith(" logs --no-color --follow --tail 3")
    assert engine.killed == [compose]  # stopped when pm2's stream ends
    assert engine.commands.index(compose) < engine.commands.index(engine.matching(r"pm2 logs ")[0])


def test_logs_without_tail_show_fifty_lines_of_each(minimal_stack: Path, engine: FakeEngine,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_program(["dev", "1", "logs"], capsys)
    assert code == 0, err
    [compose] = engine.matching(r"docker compose .* logs ")
    root = minimal_stack.parent
    assert compose == (f"docker compose -p demo-dev-1 -f {root}/compose.yml -f "
                       f"{root}/.instances/instance-1/docker-compose.override.yml logs --no-color")
    assert pm2_logs(engine)[1:] == ["--lines", "50", "--nostream"]
