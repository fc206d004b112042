"""SSH engines in ``engines:``: ``ssh_key``/``known_hosts``, the forwarded socket replacing
``--host ssh://...`` on every command once the tool opened it, only the engines a command needs
opened, and an SSH failure under ``--all`` reported without stopping the other engines."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest
from invoke import Config, Result

from multistack.act import lifecycle
from multistack.act.engines import reached, reached_for, ssh_url
from multistack.cli.words import parse_words
from multistack.errors import EngineError, StackError
from multistack.io import hostports, ssh
from multistack.io.tools import Engines
from multistack.model.engines import Engine
from multistack.model.stack import load_stack
from multistack.plan.compose import ComposeCli, DockerCli
from tests.recording import RecordingContext

COMPOSE = """\
services:
  web:
    image: multistack-test/busybox:1
    ports: ["8000:8080"]
"""

STACK = """\
project: demo
instances: 0-9
compose: {files: [compose.yml]}
services:
  web: {port: 8000, compose: web, container_port: 8080}
engines:
  local: {slots: 0-4}
  far: {docker_host: "ssh://dev@far.lan:2222", ssh_key: keys/far, known_hosts: ~/kh, slots: 5-9}
"""

DENIED = "dev@far.lan: Permission denied (publickey).\n"


def context(answers: dict[str, Result] | None = None, dry: bool = False) -> RecordingContext:
    table: dict[Any, Any] = {re.compile(f"^(?:{k})"): v for k, v in (answers or {}).items()}
    table.setdefault(re.compile(r"docker compose version --short$"), Result("2.40.3\n"))
    table.setdefault(re.compile(r"ssh .*docker context inspect"), Result("unix:///run/far/docker.sock\n"))
    table[re.compile(".*")] = Result("")
    return RecordingContext(config=Config(overrides={"run": {"dry": dry}}), run=table, repeat=True)


@pytest.fixture
def far(make_stack: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr("multistack.io.tools.shutil.which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(hostports, "is_free", lambda port, host="127.0.0.1": True)
    monkeypatch.setattr(hostports, "accepts", lambda port, host="127.0.0.1", timeout=0.5: True)
    monkeypatch.setattr(ssh, "runtime_path", lambda: tmp_path / "sockets")
    return load_stack(make_stack(STACK, {"compose.yml": COMPOSE}))


def dev(c: Any, stack: Any, words: str, **options: Any) -> None:
    split = words.split()
    command = parse_words([w for w in split if w != "--all"], "--all" in split, stack)
    lifecycle.dispatch(c, stack, command, **options)


def test_ssh_key_and_known_hosts_are_read_and_only_for_ssh(far, make_stack):
    engine = far.engine_for(7)
    assert (engine.ssh, engine.ssh_key, engine.known_hosts, engine.tunnel) == (True, "keys/far", "~/kh", None)
    assert engine.flags() == ("--host", "ssh://dev@far.lan:2222")  # until the tool opened its socket
    assert "over SSH" in engine.describe() and engine.to_json()["ssh"] is True
    bad = STACK.replace('docker_host: "ssh://dev@far.lan:2222"', 'docker_host: "tcp://far.lan:2376"')
    with pytest.raises(StackError, match=r"engines.far.ssh_key: `ssh_key` and `known_hosts` are for an SSH engine"):
        load_stack(make_stack(bad, {"compose.yml": COMPOSE}))


def test_a_tunnel_becomes_the_engine_s_host_flag_for_plugin_and_standalone():
    engine = Engine("far", docker_host="ssh://dev@far", tunnel="/run/s/x.sock")
    assert engine.flags() == ("--host", "unix:///run/s/x.sock")
    assert DockerCli.on(engine).ps_all()[:3] == ["docker", "--host", "unix:///run/s/x.sock"]
    assert ComposeCli.on(engine).prefix() == ["docker", "--host", "unix:///run/s/x.sock", "compose"]
    standalone = Engines(compose=("docker-compose",), compose_plugin=False)
    assert ComposeCli.on(engine, standalone).prefix() == ["env", "DOCKER_HOST=unix:///run/s/x.sock", "docker-compose"]


def test_start_on_the_ssh_engine_opens_one_connection_then_every_command_uses_its_socket(far, tmp_path):
    c = context()
    dev(c, far, "7 start")
    master = [i for i, cmd in enumerate(c.commands) if cmd.startswith("ssh ") and " -fN " in cmd]
    assert len(master) == 1 and master[0] == 0, c.commands[:3]
    assert f"-i {far.root / 'keys/far'} " in c.commands[0]
    assert f"UserKnownHostsFile={Path('~/kh').expanduser()} " in c.commands[0]
    sock = f"unix://{tmp_path / 'sockets'}/"
    engine_cmds = [cmd for cmd in c.commands if cmd.startswith("docker ") and "version" not in cmd]
    assert engine_cmds and all(cmd.startswith(f"docker --host {sock}") for cmd in engine_cmds), engine_cmds
    assert any(" compose -p demo-dev-7 " in cmd and " up " in cmd for cmd in engine_cmds)
    assert not any("ssh://" in cmd for cmd in c.commands if cmd.startswith("docker "))


def test_a_local_instance_never_opens_the_ssh_engine(far):
    c = context()
    dev(c, far, "1 start")
    assert not [cmd for cmd in c.commands if cmd.startswith("ssh ")]


@pytest.mark.parametrize("action", ["info", "ports", "project-name"])
def test_plan_only_actions_open_nothing(far, action, capsys):
    c = context()
    dev(c, far, f"7 {action}")
    assert not [cmd for cmd in c.commands if cmd.startswith("ssh ")]


def test_a_refused_ssh_engine_is_one_line_and_nothing_runs(far):
    c = context({r"ssh .*-fN": Result(stderr=DENIED, exited=255)})
    with pytest.raises(EngineError) as info:
        dev(c, far, "7 start")
    assert "engine far unreachable over SSH (ssh://dev@far.lan:2222): authentication refused" in info.value.line()
    assert info.value.exit_code == 3
    assert not [cmd for cmd in c.commands if " up " in cmd]


def test_status_all_reports_the_ssh_failure_and_shows_the_local_engine(far, capsys):
    far.instance_dir(7).mkdir(parents=True)
    ps_local = ('{"project":"demo-dev-1","service":"web","name":"demo-dev-1-web-1","state":"running",'
                '"status":"Up 2 seconds","ports":"127.0.0.1:8100->8080/tcp"}\n')
    c = context({r"ssh .*-fN": Result(stderr=DENIED, exited=255), r"docker ps -a ": Result(ps_local),
                 r"docker --host ssh://": Result(stderr="dial failed\n", exited=1)})
    with pytest.raises(EngineError):
        dev(c, far, "status --all", json=True)
    captured = capsys.readouterr()
    assert captured.err.splitlines()[0].startswith("error: engine far unreachable over SSH")
    data = {d["instance"]: d for d in json.loads(captured.out)}
    assert data[1]["engine"] == "local" and "engine_error" not in data[1]
    assert data[7]["engine"] == "far" and "engine_error" in data[7]


def test_reached_opens_only_the_named_engines(far):
    c = context()
    assert reached(c, far, ["local"]).engine_for(7).tunnel is None and not c.commands
    opened = reached_for(c, far, "status", 7)
    assert opened.engine_for(7).tunnel and opened.engine_for(1).tunnel is None
    assert reached_for(context(), far, "info", 7).engine_for(7).tunnel is None


def test_an_ssh_context_is_found_in_docker_s_store(monkeypatch):
    monkeypatch.setattr(ssh, "context_host", lambda name: {"far": "ssh://me@far", "tcp": "tcp://x:2376"}.get(name))
    assert ssh_url(Engine("a", context="far", host="far")) == "ssh://me@far"
    assert ssh_url(Engine("b", context="tcp", host="x")) is None
    assert ssh_url(Engine("c", docker_host="ssh://u@h")) == "ssh://u@h"
    assert ssh_url(Engine("local")) is None


BIND_COMPOSE = COMPOSE + """\
    volumes:
      - ./conf/app.conf:/etc/app.conf:ro
"""


@pytest.mark.parametrize("n, warned", [(7, True), (1, False)])
def test_start_warns_of_a_bind_mount_only_on_a_remote_engine(make_stack, monkeypatch, tmp_path, capsys, n, warned):
    monkeypatch.setattr("multistack.io.tools.shutil.which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(hostports, "is_free", lambda port, host="127.0.0.1": True)
    monkeypatch.setattr(hostports, "accepts", lambda port, host="127.0.0.1", timeout=0.5: True)
    monkeypatch.setattr(ssh, "runtime_path", lambda: tmp_path / "sockets")
    stack = load_stack(make_stack(STACK, {"compose.yml": BIND_COMPOSE, "conf/app.conf": "x=1\n"}))
    dev(context(), stack, f"{n} start")
    out = capsys.readouterr()
    text = out.out + out.err
    assert (f"instance {n} runs on engine far" in text) is warned, text
    if warned:
        assert "conf/app.conf (web)" in text and "configs:" in text


def test_a_system_on_an_ssh_engine_selects_it_for_the_run(far, monkeypatch):
    from multistack.act.engines import use_system_engine

    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("DOCKER_CONTEXT", "elsewhere")
    c = context()
    use_system_engine(c, far, "far")
    import os

    assert os.environ["DOCKER_HOST"].startswith("unix://") and os.environ["DOCKER_HOST"].endswith(".sock")
    assert "DOCKER_CONTEXT" not in os.environ  # one selection, never two that disagree
    assert any(" -fN " in cmd for cmd in c.commands)
    with pytest.raises(StackError, match="a system's engine 'nowhere' is not an engine that holds instances"):
        use_system_engine(context(), far, "nowhere")
    before = dict(os.environ)
    use_system_engine(context(), far, None)
    use_system_engine(context(), far, "local")
    assert dict(os.environ) == before
