"""The ``multistack`` program: ``inv`` in the stack's folder, as a console script.

Errors become one line and an exit code in :mod:`multistack.cli.exits` (``exit_for``,
``user_errors``, ``task``), re-exported here.
"""
from __future__ import annotations

from typing import Callable

from invoke import Collection, Program

from multistack import __version__
from multistack.cli.exits import HelpKeepingTask, exit_for, install_exit_flush, task, user_errors

__all__ = ["HelpKeepingTask", "build_program", "exit_for", "main", "task", "user_errors"]


def build_program(namespace: Collection | None = None) -> Program:
    """A ``multistack`` program equivalent to ``inv`` in the stack's folder."""
    from multistack.cli import argv
    from multistack.cli.collections import namespace as build_namespace

    program = Program(namespace=namespace or build_namespace(), name="multistack", binary="multistack",
                      version=__version__)
    argv.install(program)
    return program


def main(argv: list[str] | None = None) -> None:
    """``multistack ...``: the stack's tasks; ``multistack completion SHELL`` and ``multistack mcp``
    are read before invoke parses anything (they are programs of their own, not tasks)."""
    import sys

    words = sys.argv[1:] if argv is None else argv
    install_exit_flush()  # invoke's own output (--list, --help) to a closed pipe: quiet, exit 141
    if words[:1] == ["mcp"]:
        from multistack.cli.mcp import serve

        serve(words[1:])
        return
    if words[:1] in (["completion"], ["--print-completion-script"]):
        _outside_invoke(lambda: print_completion(words[1:]))
        return
    build_program().run(None if argv is None else ["multistack", *words])


def _outside_invoke(action: Callable[[], None]) -> None:
    """What invoke's ``Program.run`` does with a user error's exit: its line on stderr, its code."""
    import sys

    from invoke.exceptions import Exit

    try:
        action()
    except Exit as exc:
        if exc.message:
            print(exc.message, file=sys.stderr)
        sys.exit(exc.code)


@user_errors
def print_completion(words: list[str]) -> None:
    """``multistack completion bash|zsh``: multistack's script (invoke's own does not know positionals)."""
    from multistack.cli.completion import script
    from multistack.errors import StackError

    if len(words) != 1:
        raise StackError("which shell?", "use `multistack completion bash` or `multistack completion zsh`")
    print(script(words[0]), end="")
