"""One lock per instance, so two commands on the same instance cannot interleave.

The lock files live in ``.instances/.locks/`` rather than in the instance's
folder, which ``clean`` removes while holding the lock. The holder's pid and
command are written beside the lock to name it in the refusal.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from multistack.errors import ConflictError
from multistack.io.paths import contained
from multistack.model.stack import Stack


def lock_dir(stack: Stack) -> Path:
    return stack.root / stack.instances_dir / ".locks"


@contextmanager
def instance_lock(stack: Stack, n: int, action: str) -> Iterator[None]:
    """Hold instance ``n``'s lock, or refuse at once naming who holds it."""
    with named_lock(stack, f"instance-{n}", f"instance {n}", action):
        yield


@contextmanager
def named_lock(stack: Stack, key: str, label: str, action: str) -> Iterator[None]:
    """Hold the lock ``key`` (``instance-1``, ``system-suite``), or refuse at once naming its holder."""
    from filelock import FileLock, Timeout

    folder = contained(lock_dir(stack), stack.root, is_dir=True)  # never through a symlink (io/paths.py)
    made = [p for p in (folder.parent, folder) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    owner = folder / f"{key}.owner"
    lock = FileLock(str(folder / f"{key}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        try:
            holder = owner.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            holder = "another multistack command"
        raise ConflictError(f"{label} is busy: {holder} holds its lock",
                            "wait for that command to finish, then retry") from None
    failed = True
    try:
        owner.write_text(f"`{action}` (pid {os.getpid()}: {' '.join(sys.argv[1:])[:80]})\n", encoding="utf-8")
        yield
        failed = False
    finally:
        owner.unlink(missing_ok=True)
        lock.release()
        if failed and made:
            _undo(made, folder / f"{key}.lock")


def _undo(made: list[Path], lock_file: Path) -> None:
    """A command that failed on a tree that had no .instances/ leaves none behind.

    Only folders this call created are removed, and only when empty, so the
    lock of a command that started meanwhile is never pulled from under it.
    """
    lock_file.unlink(missing_ok=True)
    for path in reversed(made):
        try:
            path.rmdir()
        except OSError:
            return
