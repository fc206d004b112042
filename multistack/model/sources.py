"""The user's files a render reads, as values: the planning layer gets them, never opens them.

:mod:`multistack.io.compose_files` reads them from disk (once each per command);
:func:`multistack.plan.render.render_instance` renders from them, so the plan stays
pure and every reader error is raised at the one door that opened the file.
"""
from __future__ import annotations

from dataclasses import dataclass

from multistack.model.compose_doc import ComposeDoc


@dataclass(frozen=True)
class SourceFile:
    """One user file as read: its path as listed in stack.yaml, its text, its permission bits."""

    rel: str
    text: str
    mode: int = 0o644


@dataclass(frozen=True)
class StackFiles:
    """What an instance's render reads: the base compose files and the env files, in stack.yaml order."""

    compose: tuple[ComposeDoc, ...] = ()
    env: tuple[SourceFile, ...] = ()
