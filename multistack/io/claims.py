"""Where the claim registry lives, and reading and writing it: under a lock, atomically.

Every worktree of a repository shares one registry, in the repository's common git
folder (what ``git rev-parse --git-common-dir`` answers): ``<common>/multistack/claims.json``.
It is found by reading the files git itself reads (a ``.git`` folder, or a ``.git`` file
``gitdir: ...`` whose folder has a ``commondir``), not by running git: every ``inv dev``
asks it for this checkout's claim, and a read costs a few ``stat`` calls, no process.
Outside git the registry is the stack's own, ``.instances/claims.json``.

Writers hold ``claims.lock`` (filelock, beside the registry) from reading to replacing,
so two agents claiming at the same moment get different numbers; the new text is written
to a temp file, fsynced and renamed over the old one (io/writer.py ``atomic_write``), so a
kill at any moment leaves the old registry or the new one, never half of one. Readers take
no lock and create nothing: a read command never writes the registry or its folder.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from multistack.errors import ConflictError
from multistack.io.paths import contained, instances_root, os_failure
from multistack.io.userfiles import read_user_text
from multistack.io.writer import atomic_write, clean_stale
from multistack.model.claims import Registry, parse_registry, stack_key
from multistack.model.stack import Stack

REGISTRY = "claims.json"
LOCK = "claims.lock"
GIT_FOLDER = "multistack"  # inside the common git folder
#: How long a claim waits for another writer (a claim holds the lock for milliseconds).
LOCK_SECONDS = 15.0


@dataclass(frozen=True)
class Place:
    """This checkout as the registry sees it."""

    checkout: Path  # the checkout's top folder (the worktree); outside git, the stack's folder
    registry: Path  # the claims.json every worktree of the repository shares
    key: str  # this stack's key in it: "<project>:<stack file relative to the checkout>"
    in_git: bool

    @property
    def lock(self) -> Path:
        return self.registry.with_name(LOCK)


def git_dirs(start: Path) -> tuple[Path, Path] | None:
    """``(top folder of the checkout, common git folder)`` of the checkout holding ``start``; None outside git.

    What ``git rev-parse --show-toplevel`` and ``--git-common-dir`` answer (GIT_DIR and
    GIT_COMMON_DIR in the environment are not looked at), read from the files git reads.
    """
    for folder in (start, *start.parents):
        entry = folder / ".git"
        if entry.is_dir():
            return folder, _common(entry)
        if entry.is_file():
            gitdir = _gitdir_of(entry)
            return (folder, _common(gitdir)) if gitdir is not None else None
    return None


def _gitdir_of(entry: Path) -> Path | None:
    """The folder a ``.git`` file points at (``gitdir: /repo/.git/worktrees/wt``)."""
    try:
        text = entry.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    return Path(os.path.realpath(entry.parent / text[len("gitdir:"):].strip()))


def _common(gitdir: Path) -> Path:
    """A linked worktree's git folder names the shared one in its ``commondir`` file."""
    try:
        common = (gitdir / "commondir").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return Path(os.path.realpath(gitdir))
    return Path(os.path.realpath(gitdir / common))


def place_of(stack: Stack) -> Place:
    """Where this checkout's claims of ``stack`` are filed."""
    stack_file = Path(os.path.realpath(stack.path))
    found = git_dirs(stack_file.parent)
    if found is None:
        root = stack_file.parent
        return Place(root, instances_root(stack) / REGISTRY, stack_key(stack.project, stack_file.name), False)
    top, common = found
    relative = stack_file.relative_to(top).as_posix()
    return Place(top, common / GIT_FOLDER / REGISTRY, stack_key(stack.project, relative), True)


def read_registry(place: Place) -> Registry:
    """The registry (empty when there is none yet); takes no lock and writes nothing."""
    text = read_user_text(place.registry, hint=f"move it away (mv {place.registry} {place.registry}.broken)",
                          missing_ok=True)
    return Registry() if text is None else parse_registry(text, str(place.registry))


@contextmanager
def registry_lock(place: Place) -> Iterator[None]:
    """Hold the registry's lock (waiting up to LOCK_SECONDS for another claim to finish)."""
    from filelock import FileLock, Timeout

    folder = _folder(place)
    lock = FileLock(str(place.lock))
    try:
        lock.acquire(timeout=LOCK_SECONDS)
    except Timeout:
        raise ConflictError(f"the claim registry {place.registry} stayed locked for {LOCK_SECONDS:.0f}s",
                            f"wait for the other multistack command to finish, then retry (lock: {folder / LOCK})"
                            ) from None
    try:
        yield
    finally:
        lock.release()


def write_registry(place: Place, registry: Registry) -> bool:
    """Replace the registry atomically; an unchanged one is not rewritten (False). Hold :func:`registry_lock`."""
    text = registry.to_text()
    current = read_user_text(place.registry, missing_ok=True)
    if current == text:
        return False
    clean_stale(place.registry)  # the temp files of writers killed mid-write, beside the registry
    atomic_write(place.registry, text)
    return True


def _folder(place: Place) -> Path:
    """The registry's folder, a real one (created), never through a symlink."""
    folder = place.registry.parent
    root = folder.parent
    contained(folder, root, is_dir=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_failure(exc, folder, "create") from None
    return folder


def checkout_gone(place: Place, checkout: str) -> bool:
    """A claim's checkout is gone: its folder is not there (or, in git, is no checkout any more)."""
    path = Path(checkout)
    if not path.is_dir():
        return True
    return place.in_git and not (path / ".git").exists()


def generated_here(stack: Stack) -> set[int]:
    """The instance numbers this checkout generated (``.instances/instance-N/instance.json``): its own."""
    try:
        entries = list(os.scandir(stack.root / stack.instances_dir))
    except OSError:
        return set()
    found = set()
    for entry in entries:
        number = entry.name[len("instance-"):]
        if entry.name.startswith("instance-") and number.isdigit() and number.isascii() and \
                os.path.isfile(os.path.join(entry.path, "instance.json")):
            found.add(int(number))
    return found
