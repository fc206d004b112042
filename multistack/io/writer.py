"""Apply a rendered plan to disk: compare, then write only what changed, atomically.

Each generated file ends in one of four states, printed per file:
``create`` (new), ``identical`` (untouched, not even its mtime), ``update``
(we wrote the old copy and the inputs changed), ``conflict`` (someone edited
our file by hand). A conflict writes nothing unless ``force``, which keeps the
user's copy as ``<file>.bak`` first.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Protocol

from multistack.errors import ConflictError
from multistack.io.manifest import file_hash, sha256


class GeneratedFile(Protocol):
    """What the writer needs of a rendered file (:class:`multistack.plan.render.GeneratedFile`):
    io never imports the plan, so it names the shape, not the class."""

    @property
    def text(self) -> str: ...

    @property
    def mode(self) -> int: ...


@dataclass(frozen=True)
class FileAction:
    name: str
    state: str  # create | identical | update | conflict
    backup: str | None = None

    def line(self) -> str:
        extra = f" (your edited copy kept as {self.backup})" if self.backup else ""
        return f"{self.state:>9}  {self.name}{extra}"


def atomic_write(path: Path, data: str | bytes, mode: int = 0o644, *, exclusive: bool = False) -> bool:
    """Write via a temp file in the same folder and rename: readers never see half a file.

    ``exclusive``: never over an existing file (the temp file is hard-linked
    into place); answers False, writing nothing, when one is already there.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if exclusive:
            return _link_new(tmp, path)
        os.replace(tmp, path)
        return True
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _link_new(tmp: str, path: Path) -> bool:
    """Hard-link ``tmp`` to ``path`` unless something is there; the temp name goes either way."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    return True


def plan_writes(folder: Path, files: dict[str, GeneratedFile], recorded: Mapping[str, str]) -> list[FileAction]:
    """Decide each file's state without writing anything.

    ``recorded``: name -> sha256 of what multistack last wrote (a manifest's ``files``),
    which tells an update of our own file from a hand edit.
    """
    actions = []
    for name in sorted(files):
        on_disk = file_hash(folder / name)
        new = sha256(files[name].text)
        if on_disk is None:
            state = "create"
        elif on_disk == new:
            state = "identical" if _mode_ok(folder / name, files[name].mode) else "update"
        elif recorded.get(name) == on_disk:
            state = "update"
        else:
            state = "conflict"
        actions.append(FileAction(name, state))
    return actions


def _mode_ok(path: Path, mode: int) -> bool:
    return (path.stat().st_mode & 0o777) == mode


def apply_writes(folder: Path, files: dict[str, GeneratedFile], actions: list[FileAction],
                 force: bool = False) -> list[FileAction]:
    """Write what changed. Conflicts refuse the whole set unless ``force``."""
    conflicts = [a.name for a in actions if a.state == "conflict"]
    if conflicts and not force:
        raise ConflictError(f"{folder.name}: edited by hand since multistack wrote it: {', '.join(conflicts)}",
                            "move your changes into stack.yaml or the source files, or rerun with --force "
                            "(your copies are kept as .bak)")
    done = []
    for action in actions:
        target = folder / action.name
        if action.state == "identical":
            done.append(action)
            continue
        if action.state == "conflict":
            backup = target.with_name(target.name + ".bak")
            atomic_write(backup, target.read_bytes(), target.stat().st_mode & 0o777)
            action = FileAction(action.name, action.state, backup.name)
        atomic_write(target, files[action.name].text, files[action.name].mode)
        done.append(action)
    return done
