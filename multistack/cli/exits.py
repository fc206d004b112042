"""The one place errors become what the user sees: one line on stderr and a documented exit code.

Every task body is wrapped by :func:`user_errors` (apply it under :func:`task`):
a :class:`StackError` becomes ``error: ... (fix: ...)`` with its own code, and a
failed engine command becomes one line naming it with exit 1 (its own output was
already shown). Anything else is a bug and keeps its traceback. The codes are
documented in docs/exit-codes.md. ``multistack.cli.program`` builds the program;
the task modules import this module, not that one (no import cycle).
"""
from __future__ import annotations

import functools
import shlex
from typing import Any, Callable, TypeVar

import invoke
from invoke import Exit, Task
from invoke.exceptions import UnexpectedExit

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


def exit_for(exc: BaseException) -> Exit | None:
    """The one mapping from an error to what the user sees and the exit code (docs/exit-codes.md).

    A :class:`StackError` is its own line and code; a failed engine command is one line naming
    it and exit 1 (``EXIT_FAILED``), never the engine's own code (17 would mean nothing
    documented). Anything else is a bug: None, and it keeps its traceback.
    """
    if isinstance(exc, StackError):
        return Exit(exc.line(), code=exc.exit_code)
    if isinstance(exc, UnexpectedExit):
        result = exc.result
        command = result.command if isinstance(result.command, str) else shlex.join(result.command)
        return Exit(f"error: command failed with exit code {result.exited}: {command}", code=EXIT_FAILED)
    return None


def user_errors(func: F) -> F:
    """Wrap a task body so that its errors go through :func:`exit_for`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (StackError, UnexpectedExit) as exc:
            mapped = exit_for(exc)
            assert mapped is not None
            raise mapped from None

    return wrapper  # type: ignore[return-value]
