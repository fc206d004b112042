"""The ``multistack`` program: ``inv`` in the stack's folder, as a console script.

Errors become one line and an exit code in :mod:`multistack.cli.exits` (``exit_for``,
``user_errors``, ``task``), re-exported here.
"""
from __future__ import annotations

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


def main() -> None:
    install_exit_flush()  # invoke's own output (--list, --help) to a closed pipe: quiet, exit 141
    build_program().run()
