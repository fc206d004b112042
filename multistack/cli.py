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

from invoke import Collection, Exit, Program
from invoke.exceptions import UnexpectedExit

from . import __version__
from .errors import EXIT_FAILED, StackError

F = TypeVar("F", bound=Callable[..., Any])


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
    from . import argv
    from .tasks import namespace as build_namespace

    program = Program(namespace=namespace or build_namespace(), name="multistack", binary="multistack",
                      version=__version__)
    argv.install(program)
    return program


def main() -> None:
    build_program().run()
