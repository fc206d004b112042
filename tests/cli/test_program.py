"""One place maps errors to exit codes (docs/exit-codes.md): a failed engine command is exit 1."""
from __future__ import annotations

import io

import pytest
from invoke import Collection, Context, Result
from invoke.exceptions import UnexpectedExit

from multistack.cli.program import build_program, exit_for, task, user_errors
from multistack.errors import EXIT_CONFLICT, EXIT_ENGINE, EXIT_FAILED, ConflictError, EngineError, StackError

COMPOSE = """\
project: demo
instances: 0-3
compose: {files: [compose.yml]}
services:
  web: {port: 8000, compose: web, container_port: 80}
"""


def run_program(argv: list[str], capsys: pytest.CaptureFixture[str], namespace: Collection | None = None
                ) -> tuple[int, str, str]:
    try:
        build_program(namespace).run(["multistack", *argv], exit=True)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_user_errors_keep_their_code_and_line():
    mapped = exit_for(ConflictError("instance 1 is locked", "wait"))
    assert mapped is not None and mapped.code == EXIT_CONFLICT
    assert mapped.message == "error: instance 1 is locked (fix: wait)"
    assert exit_for(EngineError("Docker engine not reachable: x")).code == EXIT_ENGINE  # type: ignore[union-attr]
    assert exit_for(StackError("bad")).code == 2  # type: ignore[union-attr]


def test_a_failed_engine_command_is_exit_1_never_its_own_code():
    failed = UnexpectedExit(Result(command="docker compose -p demo-dev-1 up -d --wait", exited=17))
    mapped = exit_for(failed)
    assert mapped is not None and mapped.code == EXIT_FAILED == 1
    assert mapped.message == "error: command failed with exit code 17: docker compose -p demo-dev-1 up -d --wait"


def test_anything_else_is_a_bug_and_keeps_its_traceback():
    assert exit_for(KeyError("x")) is None

    @user_errors
    def broken() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        broken()


def test_a_task_whose_command_exits_17_makes_the_program_exit_1(capsys, monkeypatch):
    from multistack.io.shell import run

    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    @task
    @user_errors
    def fail(c: Context) -> None:
        run(c, ["sh", "-c", "exit 17"], hide=True)

    code, _out, err = run_program(["fail"], capsys, Collection(fail))
    assert code == EXIT_FAILED
    assert err.strip() == "error: command failed with exit code 17: sh -c 'exit 17'"


def test_inv_dev_stop_whose_compose_down_exits_17_exits_1(make_stack, capsys, monkeypatch):
    """The real `dev` collection: compose is a stand-in that exits 17 (no engine is touched)."""
    from multistack.act import lifecycle
    from multistack.io.tools import Engines

    make_stack(COMPOSE, {"compose.yml": "services:\n  web: {image: busybox}\n"})
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    failing = Engines(compose=("sh", "-c", "exit 17", "compose"), compose_plugin=False)
    monkeypatch.setattr(lifecycle, "_engines", lambda c, stack, **kwargs: failing)
    code, _out, err = run_program(["dev", "1", "stop"], capsys)
    assert code == EXIT_FAILED
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: command failed with exit code 17: sh -c 'exit 17' compose -p demo-dev-1")
