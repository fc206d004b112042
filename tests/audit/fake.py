"""A fake engine behind the real program: invoke's local runner replaced by a recorder.

``build_program().run([...])`` goes through every layer (argv parsing, the task,
the action, the argv builders, ``c.run``); only the last step, the process, is
answered from a table. Fake ``docker``/``pm2`` executables on PATH make tool
discovery (``shutil.which``) find them; they exit 97 if anything ever runs them.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Callable, Union

import pytest
from invoke import Result
from invoke.exceptions import UnexpectedExit
from invoke.runners import Runner

from multistack.cli.program import build_program

Answer = Union[Result, Callable[[str], Result]]


class FakeEngine:
    """Every command the program runs, in order, answered by the first matching rule."""

    def __init__(self) -> None:
        self.commands: list[str] = []
        self.rules: list[tuple[re.Pattern[str], Answer]] = []
        self.networks: dict[str, str] = {}  # name -> inspect answer, for the stateful network rules
        self.hooks: list[Callable[[str], None]] = []
        self.killed: list[str] = []  # commands started in the background (asynchronous) and then killed

    def answer(self, pattern: str, result: Answer) -> None:
        """Answer commands matching ``pattern`` (searched); later rules win over earlier ones."""
        self.rules.insert(0, (re.compile(pattern), result))

    def handle(self, command: str, kwargs: dict[str, Any], dry: bool) -> Any:
        """Record ``command``; answer it (``--dry``: print it, as invoke does, and succeed)."""
        self.commands.append(command)
        for hook in self.hooks:
            hook(command)
        if kwargs.get("asynchronous") and not dry:
            return _Started(self, command)
        if dry:
            print(command)
            return Result(command=command)
        for pattern, answer in [*self.rules, *self._defaults()]:
            if pattern.search(command):
                result = answer(command) if callable(answer) else answer
                result = Result(stdout=result.stdout, stderr=result.stderr, exited=result.exited, command=command)
                if result.exited and not kwargs.get("warn"):
                    raise UnexpectedExit(result)
                return result
        return Result(command=command)

    def _defaults(self) -> list[tuple[re.Pattern[str], Answer]]:
        return [
            (re.compile(r"compose version --short$"), Result("2.40.3\n")),
            (re.compile(r"docker info "), Result("20.10.24\n")),
            (re.compile(r"docker ps -a "), Result("")),
            (re.compile(r"pm2 jlist$"), Result("[]\n")),
            (re.compile(r"docker network inspect (\S+)"), self._inspect),
            (re.compile(r"docker network create .*?(\S+)$"), self._create),
            (re.compile(r"docker network rm (\S+)"), self._remove),
        ]

    def _inspect(self, command: str) -> Result:
        name = command.split()[-1] if "--format" not in command else _network_name(command)
        if name in self.networks:
            return Result(self.networks[name])
        return Result(exited=1, stderr=f"Error: No such network: {name}")

    def _create(self, command: str) -> Result:
        self.networks[command.split()[-1]] = '{"dev.multistack.shared-network":"true"} 0\n'
        return Result("0123abcd\n")

    def _remove(self, command: str) -> Result:
        self.networks.pop(command.split()[-1], None)
        return Result("")

    def matching(self, pattern: str) -> list[str]:
        return [cmd for cmd in self.commands if re.search(pattern, cmd)]


class _Started:
    """What ``c.run(..., asynchronous=True)`` gives back: a promise whose runner can be killed."""

    def __init__(self, engine: FakeEngine, command: str) -> None:
        self.runner = self
        self._engine, self._command = engine, command

    def kill(self) -> None:
        self._engine.killed.append(self._command)

    def join(self) -> Result:
        return Result(command=self._command)


def _network_name(command: str) -> str:
    words = command.split()
    return words[words.index("inspect") + 1]


def install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeEngine:
    """Make the program's ``c.run`` answer from a :class:`FakeEngine`; fake tools on PATH."""
    engine = FakeEngine()

    class Recorded(Runner):
        def run(self, command: str, **kwargs: Any) -> Result:
            dry = bool(kwargs.get("dry", self.context.config.run.dry))
            return engine.handle(command, kwargs, dry)

    import invoke.config

    monkeypatch.setattr(invoke.config, "Local", Recorded)
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("docker", "pm2"):
        path = bin_dir / tool
        path.write_text("#!/bin/sh\necho 'fake tool: the recorder should have answered' >&2\nexit 97\n")
        path.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin")
    return engine


def run_program(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``multistack ARGV`` in this process: (exit code, stdout, stderr)."""
    try:
        build_program().run(["multistack", *argv], exit=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    """The fake engine installed; every host port free and answering (no real process behind them).

    Import it into a test module (``from tests.audit.fake import engine``) to use it there.
    """
    from multistack.io import hostports

    monkeypatch.setattr(hostports, "is_free", lambda port, host="127.0.0.1": True)
    monkeypatch.setattr(hostports, "accepts", lambda port, host="127.0.0.1", timeout=0.5: True)
    return install(monkeypatch, tmp_path)
