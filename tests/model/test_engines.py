"""Instances on several Docker engines (``engines:``): validation, per-engine ports, the exact
commands (``--context``/``--host`` under ``--dry``), one ``docker ps`` per engine, and an
unreachable engine reported without failing the others."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any, Callable

import pytest
from invoke import Config, Result

from multistack.plan import compose
from multistack.io import hostports
from multistack.act import lifecycle
from multistack.cli.words import parse_words
from multistack.errors import CommandFailed, EngineError, StackError
from multistack.plan.instance import plan_instance
from multistack.io.tools import Engines
from multistack.plan.compose import ComposeCli
from multistack.model.engines import Engine
from multistack.model.stack import load_stack
from tests.recording import RecordingContext

COMPOSE = """\
services:
  web:
    image: multistack-test/busybox:1
    ports: ["8000:8080"]
"""

STACK_HEAD = """\
project: demo
instances: 0-9
compose: {files: [compose.yml]}
services:
  web: {port: 8000, compose: web, container_port: 8080, url: "http://{{ host }}:{{ port }}/"}
"""
STACK_TAIL = """\
env:
  WEB_URL: "http://{{ host }}:{{ ports.web }}"
"""
STACK = STACK_HEAD + STACK_TAIL

ENGINES = """\
engines:
  local: {slots: 0-4}
  big: {context: bigbox, host: bigbox.lan, slots: 5-9}
"""

PS_LOCAL = '{"project":"demo-dev-1","service":"web","name":"demo-dev-1-web-1","state":"running","status":"Up 2 seconds (healthy)","ports":"127.0.0.1:8100->8080/tcp"}\n'
PS_BIG = '{"project":"demo-dev-6","service":"web","name":"demo-dev-6-web-1","state":"running","status":"Up 2 seconds (healthy)","ports":"0.0.0.0:8600->8080/tcp"}\n'
DOWN = "Cannot connect to the Docker daemon at unix:///tmp/gone/docker.sock. Is the docker daemon running?\n"


def context(answers: dict[str, Result] | None = None, dry: bool = False) -> RecordingContext:
    table: dict[Any, Any] = {re.compile(f"^(?:{k})"): v for k, v in (answers or {}).items()}
    table.setdefault(re.compile(r"docker compose version --short$"), Result("2.40.3\n"))
    table.setdefault(re.compile(r"docker (--context \S+ )?info "), Result("20.10.24\n"))
    table.setdefault(re.compile(r"docker ps -a "), Result(PS_LOCAL))
    table.setdefault(re.compile(r"docker --context bigbox ps -a "), Result(PS_BIG))
    table[re.compile(".*")] = Result("")
    return RecordingContext(config=Config(overrides={"run": {"dry": dry}}), run=table, repeat=True)


@pytest.fixture
def placed(make_stack: Callable[..., Path], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("multistack.io.tools.shutil.which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(hostports, "is_free", lambda port, host="127.0.0.1": True)
    return load_stack(make_stack(STACK + ENGINES, {"compose.yml": COMPOSE}))


def dev(c: Any, stack: Any, words: str, **options: Any) -> None:
    split = words.split()
    command = parse_words([w for w in split if w != "--all"], "--all" in split, stack)
    lifecycle.dispatch(c, stack, command, **options)


def load(make_stack: Callable[..., Path], engines: str, extra: str = ""):
    return load_stack(make_stack(STACK_HEAD + extra + STACK_TAIL + engines, {"compose.yml": COMPOSE}))


# --------------------------------------------------------------------------
# Validation (pure)


def test_no_engines_section_is_one_default_engine_for_every_slot(make_stack):
    stack = load(make_stack, "")
    (engine,) = stack.engines
    assert engine == Engine("local", host_ip="127.0.0.1", slots=tuple(range(10)))
    assert engine.local and engine.flags() == ()
    assert ComposeCli.on(engine).prefix() == ["docker", "compose"]


def test_engines_hold_their_slots_and_unlisted_instances_stay_local(make_stack):
    stack = load(make_stack, "engines:\n  big: {context: bigbox, host: bigbox.lan, slots: [5, '7-8']}\n")
    big, local = stack.engines
    assert (big.name, big.slots, big.host, big.host_ip) == ("big", (5, 7, 8), "bigbox.lan", "0.0.0.0")
    assert (local.name, local.slots, local.local) == ("local", (0, 1, 2, 3, 4, 6, 9), True)
    assert stack.engine_for(7) == big and stack.engine_for(6) == local
    assert {e.name: ns for e, ns in stack.by_engine([1, 5, 6]).items()} == {"big": [5], "local": [1, 6]}


def test_an_engine_without_slots_takes_the_rest_and_docker_host_gives_the_host(make_stack):
    stack = load(make_stack, "engines:\n  ci: {docker_host: 'ssh://dev@ci.lan', slots: 0-1}\n"
                             "  big: {context: bigbox, host: bigbox.lan}\n")
    ci, big = stack.engines
    assert ci.host == "ci.lan" and ci.flags() == ("--host", "ssh://dev@ci.lan")
    assert big.slots == tuple(range(2, 10))
    standalone = Engines(compose=("docker-compose",), compose_plugin=False)
    assert ComposeCli.on(ci, standalone).prefix() == ["env", "DOCKER_HOST=ssh://dev@ci.lan", "docker-compose"]
    assert ComposeCli.on(big).prefix() == ["docker", "--context", "bigbox", "compose"]


@pytest.mark.parametrize("engines, message", [
    ("engines:\n  a: {slots: 0-5}\n  b: {context: x, host: x.lan, slots: 5-9}\n",
     "engines.b.slots: instance 5 is in the slots of both engine a and engine b"),
    ("engines:\n  big: {context: bigbox, host: h, slot: 5}\n", "engines.big: unknown key 'slot'"),
    ("engines:\n  big: {context: bigbox, slots: 5}\n", "engines.big.host: missing 'host'"),
    ("engines:\n  big: {context: b, docker_host: 'tcp://b:2376', host: b}\n", "engines.big: give `context` or `docker_host`, not both"),
    ("engines:\n  big: {docker_host: 'bigbox:2376'}\n", "engines.big.docker_host: 'bigbox:2376' is not a Docker host URL"),
    ("engines:\n  big: {docker_host: 'tcp://[::1:2376'}\n",
     "engines.big.docker_host: 'tcp://[::1:2376' is not a Docker host URL"),
    ("engines:\n  big: {context: b, host: b, slots: 12}\n", "engines.big.slots: instance 12 is outside instances 0-9"),
    ("engines:\n  big: {context: b, host: b, slots: 7-5}\n", "engines.big.slots: range '7-5' ends before it starts"),
    ("engines:\n  a: {context: a, host: a}\n  b: {context: b, host: b}\n", "engines: engines a and b both leave out `slots`"),
    ("engines:\n  local: {slots: 0-4}\n  big: {context: b, host: b, slots: 5-8}\n", "engines: instances 9 are on no engine"),
    ("engines: {}\n", "engines: must name at least one engine"),
    ("engines:\n  Big: {context: b, host: b}\n", "engines.Big: engine names are lowercase"),
])
def test_bad_engines_are_refused_with_their_key_path(make_stack, engines, message):
    with pytest.raises(StackError) as info:
        load(make_stack, engines)
    assert f"stack.yaml: {message}" in info.value.message


def test_ports_must_be_unique_per_engine_not_across_engines(make_stack):
    # stride 50: web of instance 2 lands on 8100, the port of api of instance 0.
    services = "  api: {port: 8100, compose: web, container_port: 8081}\nstride: 50\n"
    with pytest.raises(StackError, match="port 8100 is used by api of instance 0 and by web of instance 2$"):
        load(make_stack, "", services)
    with pytest.raises(StackError, match="port 8100 is used by api of instance 0 and by web of instance 2 on this machine"):
        load(make_stack, "engines:\n  big: {context: b, host: b, slots: 5-9}\n", services)
    # N and N + 2 always on different engines: the same port on two engines is fine...
    load(make_stack, "engines:\n  big: {context: b, host: b, slots: [2, 3, 6, 7]}\n", services)
    # ...but not twice on one of them.
    with pytest.raises(StackError, match="by api of instance 2 and by web of instance 4 on engine big"):
        load(make_stack, "engines:\n  big: {context: b, host: b, slots: 2-9}\n", services)


def test_pm2_ports_stay_unique_on_this_machine_whatever_the_engine(make_stack):
    apps = "  api: {port: 8100}\nstride: 50\napps:\n  api: {command: python3 -m http.server}\n"
    with pytest.raises(StackError, match="by api of instance 0 and by web of instance 2 on this machine"):
        load(make_stack, "engines:\n  big: {context: b, host: b, slots: [0]}\n", apps)


# --------------------------------------------------------------------------
# Generated files and printed URLs


def test_remote_instance_publishes_on_its_engine_and_env_points_at_its_host(placed):
    from multistack.io.compose_files import read_stack_files
    from multistack.plan.render import render_instance

    docs = read_stack_files(placed)
    six = render_instance(plan_instance(placed, 6), docs)
    assert '"0.0.0.0:8600:8080"' in six["docker-compose.override.yml"].text
    env = six["instance.env"].text
    assert "MULTISTACK_ENGINE=big\nMULTISTACK_HOST=bigbox.lan\n" in env and "WEB_URL=http://bigbox.lan:8600" in env
    one = render_instance(plan_instance(placed, 1), docs)
    assert '"127.0.0.1:8100:8080"' in one["docker-compose.override.yml"].text
    assert "MULTISTACK_HOST=localhost" in one["instance.env"].text


def test_without_engines_the_env_is_unchanged(make_stack):
    from multistack.io.compose_files import read_stack_files
    from multistack.plan.render import render_instance

    stack = load(make_stack, "")
    env = render_instance(plan_instance(stack, 1), read_stack_files(stack))["instance.env"].text
    assert "MULTISTACK_HOST" not in env and "MULTISTACK_ENGINE" not in env and "WEB_URL=http://localhost:8100" in env


def test_urls_use_the_engines_host(placed):
    from multistack.act import info

    table = info.ports_table(plan_instance(placed, 6))
    assert table.splitlines()[0] == "instance 6 (demo-dev-6) on engine big (context bigbox, host bigbox.lan)"
    assert "http://bigbox.lan:8600/" in table
    assert "http://localhost:8100/" in info.ports_table(plan_instance(placed, 1))


# --------------------------------------------------------------------------
# Commands


def test_dry_start_shows_the_context_on_every_compose_command(placed, capsys):
    c = context(dry=True)
    dev(c, placed, "6 start")
    up = [cmd for cmd in c.commands if " up " in cmd]
    assert up and all(cmd.startswith("docker --context bigbox compose -p demo-dev-6 ") for cmd in up)
    c = context(dry=True)
    dev(c, placed, "1 start")
    assert [cmd for cmd in c.commands if " up " in cmd][0].startswith("docker compose -p demo-dev-1 ")


def test_stop_of_a_remote_instance_checks_and_downs_on_its_engine(placed):
    c = context()
    dev(c, placed, "6 stop")
    assert c.commands[0] == "docker compose version --short"
    assert c.commands[1] == "docker --context bigbox info --format '{{.ServerVersion}}'"
    assert c.commands[2] == "docker --context bigbox compose -p demo-dev-6 --profile '*' down --remove-orphans"
    assert len(c.commands) == 3


def test_status_all_one_query_per_engine_names_each_engine(placed, capsys):
    c = context()
    dev(c, placed, "status --all", json=True)
    ps = [cmd for cmd in c.commands if " ps -a " in cmd]
    assert sorted(ps) == sorted([shlex.join(compose.ps_all(["docker"])),
                                 shlex.join(compose.ps_all(["docker", "--context", "bigbox"]))])
    assert len(c.commands) == 2  # nothing else: no per-instance query
    data = {d["instance"]: d for d in json.loads(capsys.readouterr().out)}
    assert (data[1]["engine"], data[1]["healthy"]) == ("local", True)
    assert (data[6]["engine"], data[6]["healthy"]) == ("big", True)


def test_status_without_engines_has_no_engine_field(make_stack, monkeypatch, capsys):
    monkeypatch.setattr("multistack.io.tools.shutil.which", lambda name: f"/usr/bin/{name}")
    stack = load(make_stack, "")
    dev(context(), stack, "status --all", json=True)
    (one,) = json.loads(capsys.readouterr().out)
    assert "engine" not in one and "engine_error" not in one


def test_status_all_reports_an_unreachable_engine_and_still_shows_the_others(placed, capsys):
    c = context({r"docker --context bigbox ps": Result("", stderr=DOWN, exited=1)})
    (placed.instance_dir(7)).mkdir(parents=True)  # known from its folder, on the engine that is down
    with pytest.raises(EngineError, match="engine big unreachable: Cannot connect") as info:
        dev(c, placed, "status --all", json=True)
    assert info.value.exit_code == 3
    data = {d["instance"]: d for d in json.loads(capsys.readouterr().out)}
    assert data[1]["healthy"] and "engine_error" not in data[1]
    assert data[7]["engine"] == "big" and data[7]["engine_error"].startswith("engine big unreachable")


def test_stop_all_stops_the_reachable_engines_and_fails_only_the_unreachable_ones(placed, capsys):
    for n in (1, 6):
        dev(context(), placed, f"{n} init")
    c = context({r"docker --context bigbox ps": Result("", stderr=DOWN, exited=1)})
    with pytest.raises(CommandFailed, match="stop --all failed for some instances"):
        dev(c, placed, "stop --all")
    downs = [cmd for cmd in c.commands if " down " in cmd]
    assert len(downs) == 1 and downs[0].startswith("docker compose -p demo-dev-1 ")
    captured = capsys.readouterr()
    assert "stop --all: 1 ok, 1 failed (instances 6)" in captured.out
    assert "[6] error: engine big unreachable: Cannot connect" in captured.err
    assert captured.err.startswith("error: engine big unreachable: Cannot connect")


def test_start_asks_only_its_own_engine(placed, monkeypatch):
    monkeypatch.setattr(hostports, "accepts", lambda port, host="127.0.0.1", timeout=0.5: True)
    c = context({r"docker ps": Result("", stderr=DOWN, exited=1)})  # the default engine is down: irrelevant to 6
    dev(c, placed, "6 start")
    polls = [cmd for cmd in c.commands if "label=com.docker.compose.project=demo-dev-6 " in cmd]  # start's progress
    assert polls and all(cmd.startswith("docker --context bigbox ps -a ") for cmd in polls)
    assert [cmd for cmd in c.commands if " ps -a " in cmd and cmd not in polls] == [
        shlex.join(compose.ps_all(["docker", "--context", "bigbox"]))]
    assert any(cmd.startswith("docker --context bigbox compose -p demo-dev-6 ") and " up " in cmd for cmd in c.commands)
