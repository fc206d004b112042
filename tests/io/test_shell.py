"""The one runner: ``--dry`` is decided in io/shell.py, and nothing run beside others reads stdin."""
from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from invoke import Config, Context, Result

from multistack.io import shell
from tests.recording import RecordingContext

PACKAGE = Path(__file__).resolve().parents[2] / "multistack"


def real(dry: bool = False) -> Context:
    return Context(Config(overrides={"run": {"dry": dry}}))


# --------------------------------------------------------------------------
# Dry run, decided once


def test_run_under_dry_prints_the_line_and_runs_nothing(tmp_path, capsys):
    target = tmp_path / "made"
    result = shell.run(real(dry=True), ["touch", str(target)])
    assert result.ok and result.stdout == ""
    assert not target.exists()
    assert f"touch {target}" in capsys.readouterr().out  # invoke's echo (bold on a terminal)


def test_run_for_real_runs(tmp_path):
    target = tmp_path / "made by sh"
    shell.run(real(), ["touch", str(target)], hide=True, background=True)  # pytest's stdin cannot be read
    assert target.exists()
    assert shell.run(real(), ["sh", "-c", "exit 3"], hide=True, warn=True, background=True).exited == 3


def test_probe_is_shown_under_dry_and_query_is_not(capsys):
    shown = shell.probe(real(dry=True), ["sh", "-c", "echo real"])
    assert shown.ok and shown.stdout == ""
    assert "sh -c 'echo real'" in capsys.readouterr().out
    quiet = shell.query(real(dry=True), ["sh", "-c", "echo real"])
    assert quiet.ok and quiet.stdout == "" and capsys.readouterr().out == ""
    assert shell.query(real(), ["sh", "-c", "echo real"]).stdout == "real\n"


def test_for_real_calls_the_action_or_says_what_it_would_do(capsys):
    done: list[str] = []
    assert shell.for_real(real(), lambda: done.append("x") or "did") == "did"
    assert done == ["x"]
    assert shell.for_real(real(dry=True), lambda: done.append("y"), dry="would do y") is None
    assert done == ["x"] and capsys.readouterr().out == "would do y\n"
    assert shell.for_real(real(dry=True), lambda: {"real": 1}, dry=dict) == {}
    assert shell.for_real(real(dry=True), lambda: done.append("z")) is None and done == ["x"]


def test_guard_wait_workers_and_prompts():
    calls: list[str] = []

    class Lock:
        def __enter__(self) -> None:
            calls.append("locked")

        def __exit__(self, *exc: object) -> None:
            calls.append("unlocked")

    with shell.guard(real(), Lock):
        pass
    with shell.guard(real(dry=True), Lock):
        pass
    assert calls == ["locked", "unlocked"]
    assert shell.wait_until(real(dry=True), lambda: False, timeout=60) is True
    assert shell.wait_until(real(), lambda: False, timeout=0, interval=0) is False
    assert (shell.workers(real(), 8), shell.workers(real(dry=True), 8)) == (8, 1)
    assert (shell.assume_yes(real(), False), shell.assume_yes(real(dry=True), False)) == (False, True)


def test_start_under_dry_starts_nothing(tmp_path, capsys):
    target = tmp_path / "bg"
    background = shell.start(real(dry=True), ["touch", str(target)])
    background.stop()  # nothing to stop
    assert not target.exists() and f"touch {target}" in capsys.readouterr().out


def test_act_and_cli_never_ask_whether_this_is_a_dry_run():
    offenders = [f"{path.relative_to(PACKAGE)}:{n}"
                 for folder in ("act", "cli") for path in sorted((PACKAGE / folder).rglob("*.py"))
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if "is_dry" in line or "config.run.dry" in line or "pretending" in line]
    assert offenders == []


# --------------------------------------------------------------------------
# No stdin for commands that run beside others


def stdin_of(c: RecordingContext) -> list[tuple[str, object]]:
    return [(call.args[0], call.kwargs.get("in_stream", "terminal")) for call in c.run.call_args_list]


def test_streams_or_a_worker_thread_mean_no_stdin():
    c = RecordingContext(run=Result(""), repeat=True)
    shell.run(c, ["true"])  # the main thread, the terminal's own streams: stdin stays (prompts, exec)
    shell.run(c, ["true"], out_stream=object())
    shell.run(c, ["true"], background=True)
    worker = threading.Thread(target=lambda: shell.run(c, ["true"]))
    worker.start()
    worker.join()
    assert [stdin for _, stdin in stdin_of(c)] == ["terminal", False, False, False]


SHARED = """\
project: shop
instances: 0-5
mode: shared
compose: {files: [compose.yml]}
services:
  db: {port: 5432, compose: db, container_port: 5432}
  api: {port: 47400}
apps:
  api: {command: node server.js}
provision:
  database:
    exists: psql -tAc "SELECT 1 FROM pg_database WHERE datname = '{{ database }}'"
    create: createdb {{ database }}
    teardown: dropdb --if-exists {{ database }}
  scratch:
    run_in: db
    create: mkdir -p /scratch/{{ namespace }}
    teardown: rm -rf /scratch/{{ namespace }}
"""


def test_clean_all_in_shared_mode_gives_no_command_the_terminal(make_stack, monkeypatch):
    """``clean --all`` runs instances side by side: a command reading stdin there would fight the others
    for the terminal (and leave it in character mode). Every command it runs gets ``in_stream=False``."""
    from multistack.act import lifecycle
    from multistack.io.tools import Engines
    from multistack.model.stack import load_stack

    stack = load_stack(make_stack(SHARED, {"compose.yml": "services:\n  db: {image: postgres}\n"}))
    for n in (1, 2, 3):
        (stack.root / ".instances" / f"instance-{n}").mkdir(parents=True)
    monkeypatch.setattr(lifecycle, "_engines", lambda c, stack, **kwargs: Engines())
    c = RecordingContext(run={re.compile(r"pm2 jlist"): Result('[{"name": "api-2", "pm2_env": {"status": "online"}}]'),
                              re.compile(r".*psql -tAc"): Result("1\n"), re.compile(r".*"): Result("")}, repeat=True)
    lifecycle.dispatch(c, stack, lifecycle.DevCommand("clean", None, all_instances=True), yes=True)
    ran = stdin_of(c)
    assert any("dropdb --if-exists shop_instance_2" in cmd for cmd, _ in ran)  # the teardown did run
    assert any("exec -T db sh -c 'rm -rf" in cmd for cmd, _ in ran)
    assert [cmd for cmd, stdin in ran if stdin is not False] == []
