"""``inv --dry`` writes nothing, for every task: the tree is byte for byte as it was.

Parametrised over the tasks the real namespace lists (``inv --list``), so a new
task is covered as soon as it exists: each runs bare, and with the arguments
below that reach its writing steps, on a copy of the example stack and of the
e2e systems stack. Under ``--dry`` no engine command runs (io/shell.py), so this
touches no engine; a refusal (exit 2, 3...) is fine, a traceback or a written,
removed or re-moded file is not.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from multistack.cli import namespace
from multistack.cli.program import build_program
from tests.catalogue import snapshot

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ("stack.yaml", "compose", "env", "apps", "tasks.py")
SYSTEMS = ROOT / "tests" / "e2e" / "systems"

#: Arguments that reach each task's writes (beyond the bare task). Keyed by task name.
VARIANTS: dict[str, list[list[str]]] = {
    "dev.run": [["1", "init"], ["1", "start"], ["1", "start", "--shared"], ["1", "init", "--force"],
                ["1", "clean", "--yes"], ["clean", "--all", "--yes"], ["stop", "--all"], ["1", "restart"],
                ["1", "stop"], ["1", "logs"], ["1", "status"], ["1", "info"]],
    "dev.use": [["3"], ["--clear"]],
    "dev.infra-up": [[]],
    "dev.infra-down": [["--volumes", "--yes"]],
    "mesh.up": [["--env", "local"], ["--env", "local", "--profile", "db"]],
    "mesh.env": [["local"], ["local", "--force"]],
    "mesh.down": [["--volumes", "--yes"]],
    "mesh.init-data": [[]],
    "system.up": [["suite"], ["sim"], ["trio"]],
    "system.down": [["suite"], ["trio"]],
    "system.graph": [["suite"], ["trio"]],
    "doctor": [["1"]],
}


def _tasks() -> list[str]:
    return sorted(namespace().task_names)


def _invocations() -> list[tuple[str, list[str]]]:
    found = []
    for name in _tasks():
        for extra in [[]] + [v for v in VARIANTS.get(name, []) if v]:
            found.append((name, extra))
    return found


def _example(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in EXAMPLE:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name)
    return dest


def _systems(dest: Path) -> Path:
    shutil.copytree(SYSTEMS, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".instances", "__pycache__"))
    return dest


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        build_program().run(["multistack", "--dry", *argv], exit=True)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize("stack", ["example", "systems"])
@pytest.mark.parametrize(("task", "extra"), _invocations(), ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_dry_writes_nothing(task: str, extra: list[str], stack: str, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    root = (_example if stack == "example" else _systems)(tmp_path / "stack")
    for name in ("MULTISTACK_FILE", "MULTISTACK_INSTANCE", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(root)
    monkeypatch.setattr(sys, "stdin", None)  # nobody answers a prompt
    before = snapshot(root)
    argv = ([task] if task != "dev.run" else ["dev"]) + extra
    code, output = _run(argv, capsys)
    assert "Traceback" not in output, output
    assert snapshot(root) == before, (code, output)
    assert code in (0, 1, 2, 3, 4, 5, 6), (code, output)


def test_every_listed_task_is_covered() -> None:
    """The parametrisation comes from the namespace itself; the variants name only tasks that exist."""
    tasks = set(_tasks())
    assert {"dev.run", "dev.use", "mesh.up", "system.up"} <= tasks
    assert set(VARIANTS) <= tasks, set(VARIANTS) - tasks


def test_dry_use_then_state_is_unchanged_on_a_used_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """With a default already set and an instance generated, `--dry dev.use 4` and `--dry dev.use --clear`
    still change nothing (the bug: .default-instance was written under --dry)."""
    root = _example(tmp_path / "stack")
    monkeypatch.chdir(root)
    monkeypatch.delenv("MULTISTACK_INSTANCE", raising=False)
    assert _run(["dev.use", "2"], capsys)[0] == 0
    assert _run(["dev", "2", "init"], capsys)[0] == 0
    before = snapshot(root)
    for argv in (["dev.use", "4"], ["dev.use", "--clear"], ["dev", "2", "clean", "--yes"], ["dev", "2", "init", "--force"]):
        code, output = _run(argv, capsys)
        assert code == 0 and "Traceback" not in output, output
        assert snapshot(root) == before, argv
