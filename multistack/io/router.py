"""The shared router's folder on this machine: where it is, its lock, its files.

One folder for every stack of the user (``$MULTISTACK_ROUTER_HOME``, else
``$XDG_STATE_HOME/multistack/router``, else ``~/.local/state/multistack/router``):
``routes/*.json`` (one per stack), ``config/haproxy.cfg`` (assembled from them)
and ``compose.yml`` (the router's compose project). Every change happens under
``router.lock``, so two stacks starting at the same moment never lose each
other's routes; each file is replaced by a rename (io.writer.atomic_write), and nothing is
written, read as ours or removed through a symlink below the folder (:func:`inside`, exit 4).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from multistack.errors import ConflictError
from multistack.io.paths import contained, os_failure
from multistack.io.writer import atomic_write

#: Selects another router folder (and so another router: tests, or a second set of stacks).
HOME_VAR = "MULTISTACK_ROUTER_HOME"
LOCK_FILE = "router.lock"
#: How long a command waits for another's change of the router (each takes well under a second,
#: but a first start pulls the image, up to a minute).
LOCK_TIMEOUT = 120.0


def default_home() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "multistack" / "router"


def router_home() -> tuple[Path, bool]:
    """The router's folder, and whether it is the default one (the default project name goes with it)."""
    chosen = os.environ.get(HOME_VAR)
    if chosen:
        return Path(chosen).expanduser().absolute(), False
    return default_home(), True


@contextmanager
def router_lock(home: Path) -> Iterator[None]:
    """Hold the router's lock, waiting for another command's change to finish."""
    from filelock import FileLock, Timeout

    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_failure(exc, home, "create") from None
    path = inside(home, LOCK_FILE)  # never through a symlink: filelock would truncate its target
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=LOCK_TIMEOUT)
    except OSError as exc:
        raise os_failure(exc, path, "lock") from None
    except Timeout:
        raise ConflictError(f"the router's folder {home} stayed locked for {LOCK_TIMEOUT:g}s",
                            f"wait for the other multistack command to finish, or remove {path}"
                            " if none runs") from None
    try:
        yield
    finally:
        lock.release()


def inside(home: Path, *parts: str, is_dir: bool = False) -> Path:
    """``home/parts...`` with no symlink on the way and the right kind of thing there (exit 4 otherwise).

    The home itself may be reached through a symlink (the user's choice, as a stack's root may); below
    it, a linked ``routes/`` or ``config/`` would send the router's writes somewhere else.
    """
    try:
        contained(home.joinpath(*parts), home, is_dir=is_dir)
    except ConflictError as exc:  # it names the path below the home: say which home
        raise ConflictError(f"the router's folder {home}: {exc.message}", f"in {home}: {exc.hint}") from None
    return home.joinpath(*parts)


def read_texts(home: Path, folder: str, suffix: str = ".json") -> tuple[dict[str, str], list[str]]:
    """Every ``*.json`` of ``home/folder`` by name (none when it does not exist), and the names of
    those that cannot be read (not UTF-8, a folder): another stack's damaged file must not stop this one."""
    path = inside(home, folder, is_dir=True)
    if not path.is_dir():
        return {}, []
    texts: dict[str, str] = {}
    unreadable: list[str] = []
    for entry in sorted(path.iterdir()):
        if entry.name.endswith(suffix) and not entry.name.startswith("."):
            text = None if entry.is_symlink() or entry.is_dir() else read_text(entry)
            if text is None:
                unreadable.append(entry.name)
            else:
                texts[entry.name] = text
    return texts, unreadable


def read_text(path: Path) -> str | None:
    """A file the router wrote, or None if it is not there or not text any more (a damaged file is
    rewritten, not refused: multistack generates it). A folder in its place: one line, exit 4."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise os_failure(exc, path, "read") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def write_if_changed(home: Path, rel: str, text: str) -> bool:
    """Write ``home/rel`` (atomically, never through a symlink) unless it already says ``text``;
    whether it was written."""
    path = inside(home, rel)
    if read_text(path) == text:
        return False
    atomic_write(path, text)
    return True


def remove(home: Path, rel: str) -> bool:
    """Remove ``home/rel`` (never through a symlinked folder); whether it was there."""
    path = inside(home, rel)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise os_failure(exc, path, "remove") from None
    return True


def stack_exists(path: str) -> bool:
    """Whether a route file's stack is still on this disk (a removed checkout's routes are dropped)."""
    return Path(path).is_file()
