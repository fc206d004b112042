"""Read the user's compose and env files from disk, once each, into values the plan renders from.

The parsing is pure (:mod:`multistack.model.compose_doc`); this is the only
place a compose file is opened. Callers in act/ read the files here and hand
the documents to the pure code that needs them (the override renderer, the
doctor's merged view, the systems checks), so each file is read once per
command however many of them look at it.
"""
from __future__ import annotations

import stat
from pathlib import Path
from typing import Sequence

from multistack.errors import StackError
from multistack.io.userfiles import read_user_text
from multistack.model.compose_doc import ComposeDoc, parse_compose
from multistack.model.sources import SourceFile, StackFiles
from multistack.model.stack import Stack


def read_compose_file(root: Path, rel: str) -> ComposeDoc:
    """One base compose file (``rel`` as listed in stack.yaml, relative to ``root``)."""
    text = read_user_text(root / rel, rel, what="compose file", hint=f"create {rel} or remove it from compose.files")
    return parse_compose(text or "", rel)


def read_compose_files(stack: Stack, files: Sequence[str] | None = None) -> tuple[ComposeDoc, ...]:
    """The stack's compose files (or ``files``, e.g. a system's), in order."""
    return tuple(read_compose_file(stack.root, rel) for rel in (stack.compose_files if files is None else files))


def read_env_file(root: Path, rel: str) -> SourceFile:
    """One env file listed under ``env_files:``, with its permission bits (its copy keeps them)."""
    path = root / rel
    hint = f"create {rel} or remove it from env_files"
    text = read_user_text(path, rel, what="env file", hint=hint) or ""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise StackError(f"cannot read env file {rel}: {exc.strerror}", hint) from None
    return SourceFile(rel, text, mode)


def read_stack_files(stack: Stack) -> StackFiles:
    """Everything :func:`multistack.plan.render.render_instance` reads, read here once."""
    return StackFiles(compose=read_compose_files(stack),
                      env=tuple(read_env_file(stack.root, rel) for rel in stack.env_files))
