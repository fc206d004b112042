"""The CLI layer: user errors become one line and an exit code; a ``multistack`` program.

Every task body is wrapped by :func:`user_errors`: a :class:`StackError`
becomes ``error: ... (fix: ...)`` on stderr with its documented exit code,
and a failed engine command becomes one line naming it (its own output was
already shown). Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import functools
import shlex
from typing import Any, Callable, TypeVar

import invoke
from invoke import Collection, Exit, Program, Task
from invoke.exceptions import UnexpectedExit

from multistack import __version__
from multistack.errors import EXIT_FAILED, StackError

F = TypeVar("F", bound=Callable[..., Any])


class HelpKeepingTask(Task):
    """A task whose per-option help survives being parsed more than once.

    invoke's ``Task.get_arguments`` pops each option's help as it builds a
    parser context. multistack builds the contexts once before invoke does
    (``argv.install``), and tests run several programs in one process, so
    without this ``inv --help dev`` would show bare options.
    """

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Any]:
        kept = dict(self.help)
        try:
            return super().get_arguments(ignore_unknown_help)
        finally:
            self.help = kept


def task(*args: Any, **kwargs: Any) -> Any:
    """``invoke.task`` making :class:`HelpKeepingTask` tasks; use it for every multistack task."""
    kwargs.setdefault("klass", HelpKeepingTask)
    return invoke.task(*args, **kwargs)


def user_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except StackError as exc:
            raise Exit(exc.line(), code=exc.exit_code) from None
        except UnexpectedExit as exc:
            result = exc.result
            command = result.command if isinstance(result.command, str) else shlex.join(result.command)
            raise Exit(f"error: command failed with exit code {result.exited}: {command}",
                       code=result.exited or EXIT_FAILED) from None

    return wrapper  # type: ignore[return-value]


def build_program(namespace: Collection | None = None) -> Program:
    """A ``multistack`` program equivalent to ``inv`` in the stack's folder."""
    from multistack.cli import argv
    from multistack.cli.collections import namespace as build_namespace

    program = Program(namespace=namespace or build_namespace(), name="multistack", binary="multistack",
                      version=__version__)
    argv.install(program)
    return program


def main() -> None:
    build_program().run()
