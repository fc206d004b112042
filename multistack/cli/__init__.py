"""The command line: invoke collections, optional positionals, and the one place
that turns errors into one line and an exit code.

A stack's ``tasks.py`` needs only ``from multistack.cli import namespace; ns = namespace()``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from invoke import Collection


def namespace() -> Collection:
    """The root namespace: ``dev`` (instances), ``mesh``, ``system`` and ``doctor``."""
    from multistack.cli.collections import namespace as build

    return build()
