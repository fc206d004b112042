"""The `inv dev` command line, through the real invoke Program (in-process) and `inv` (subprocess)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from multistack.cli.words import DevCommand, parse_words
from multistack.cli.program import build_program
from multistack.errors import StackError
from multistack.model.stack import load_stack

ROOT = Path(__file__).resolve().parents[2]


def run_cli(argv: list[str]) -> int:
    try:
        build_program().run(["multistack", *argv], exit=True)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def stack(minimal_stack):
    return load_stack(minimal_stack)


@pytest.mark.parametrize("words, all_flag, expected", [
    ([], False, DevCommand("start", 0)),
    (["2"], False, DevCommand("start", 2)),
    (["1", "start"], False, DevCommand("start", 1)),
    (["stop", "1"], False, DevCommand("stop", 1)),
    (["stop"], True, DevCommand("stop", None, True)),
    (["stop", "all"], False, DevCommand("stop", None, True)),
    (["all", "status"], False, DevCommand("status", None, True)),
    (["1", "project-name"], False, DevCommand("project-name", 1)),
])
def test_words(stack, words, all_flag, expected):
    assert parse_words(words, all_flag, stack) == expected


@pytest.mark.parametrize("words, all_flag, message", [
    (["9"], False, "instance 9 is out of range 0-5"),
    (["abc"], False, "unknown action or instance 'abc'"),
    (["05"], False, "instance '05' has a leading zero"),
    (["1", "2"], False, "two instances given"),
    (["start", "stop"], False, "two actions given"),
    (["start"], True, "`start` does not take --all"),
    (["1", "stop", "x"], False, "too many arguments"),
    (["1", "stop"], True, "both instance 1 and all given"),
])
def test_bad_words(stack, words, all_flag, message):
    with pytest.raises(StackError, match=message):
        parse_words(words, all_flag, stack)


def test_default_instance_from_use_and_env(minimal_stack, monkeypatch, capsys):
    assert run_cli(["dev.use", "3"]) == 0
    assert run_cli(["dev", "project-name"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "demo-dev-3"
    monkeypatch.setenv("MULTISTACK_INSTANCE", "4")
    assert run_cli(["dev", "project-name"]) == 0
    assert capsys.readouterr().out.strip() == "demo-dev-4"
    monkeypatch.delenv("MULTISTACK_INSTANCE")
    assert run_cli(["dev.use", "--clear"]) == 0
    assert run_cli(["dev", "project-name"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "demo-dev-0"


def test_ports_json_and_second_task_on_the_line(minimal_stack, capsys):
    assert run_cli(["dev", "2", "ports", "--json", "dev", "3", "project-name"]) == 0
    out = capsys.readouterr().out
    ports, name = out.rsplit("}", 1)
    assert json.loads(ports + "}") == {"web": 8200, "db": 5632, "api": 3200}
    assert name.strip() == "demo-dev-3"


def test_info_json(minimal_stack, capsys):
    assert run_cli(["dev", "1", "info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["project_name"] == "demo-dev-1"
    assert data["apps"] == ["demo-api-1"]  # issue 13: <project>-<app>-<N>
    assert data["initialised"] is False


def test_init_then_dry_start_prints_exact_commands(minimal_stack, capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no pm2 on PATH: the dry run still shows `pm2`
    assert run_cli(["dev", "1", "init"]) == 0
    capsys.readouterr()
    assert run_cli(["--dry", "dev", "1", "start"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "compose" in line or "pm2" in line]
    root = minimal_stack.parent
    assert lines[0].endswith(
        f"docker compose -p demo-dev-1 -f {root}/compose.yml -f {root}/.instances/instance-1/docker-compose.override.yml "
        "up -d --remove-orphans --wait --wait-timeout 300")  # no ANSI codes when not a terminal
    assert f"pm2 startOrRestart {root}/.instances/instance-1/pm2.config.cjs --update-env" in lines[1]


def test_dry_start_writes_nothing(minimal_stack, capsys):
    assert run_cli(["--dry", "dev", "2", "start"]) == 0
    out = capsys.readouterr().out
    assert "would  create  instance-2/docker-compose.override.yml" in out
    assert not (minimal_stack.parent / ".instances").exists()


def test_dry_stop_all_lists_every_existing_instance(minimal_stack, capsys):
    assert run_cli(["dev", "1", "init", "dev", "2", "init"]) == 0
    capsys.readouterr()
    assert run_cli(["--dry", "dev", "stop", "--all"]) == 0
    out = capsys.readouterr().out
    assert "pm2 stop '/^(demo\\-api\\-1|demo\\-api\\-2)$/'" in out
    assert "docker compose -p demo-dev-1" in out and "docker compose -p demo-dev-2" in out
    assert "--profile '*' down --remove-orphans" in out
    assert "stop --all: 2 ok, 0 failed" in out


@pytest.mark.parametrize("argv, code, message", [
    (["dev", "99"], 2, "error: instance 99 is out of range 0-5"),
    (["dev", "x1"], 2, "error: unknown action or instance 'x1'"),
    (["dev", "start", "--all"], 2, "error: `start` does not take --all"),
    (["dev", "1", "clean"], 2, "error: clean of instance 1 needs confirmation"),
])
def test_errors_are_one_line(minimal_stack, capsys, argv, code, message, monkeypatch):
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    assert run_cli(argv) == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(message)


def test_real_inv_parses_and_reports(minimal_stack):
    (minimal_stack.parent / "tasks.py").write_text("from multistack.cli import namespace\nns = namespace()\n")
    inv = Path(sys.executable).parent / "inv"
    ok = subprocess.run([str(inv), "dev", "5", "ports", "--json"], cwd=minimal_stack.parent,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {"web": 8500, "db": 5932, "api": 3500}
    bad = subprocess.run([str(inv), "dev", "7"], cwd=minimal_stack.parent, capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: instance 7 is out of range 0-5 (fix: use 0-5, or widen `instances:` in stack.yaml)"
    assert "Traceback" not in bad.stderr


def test_tail_must_be_a_number(minimal_stack, capsys):
    assert run_cli(["dev", "1", "logs", "--tail", "abc"]) == 2
    assert capsys.readouterr().err.strip() == "error: --tail 'abc' is not a number of lines (fix: give a whole number, e.g. --tail 50)"
