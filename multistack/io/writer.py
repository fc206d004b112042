"""Apply a rendered plan to disk: compare, then write only what changed, all or nothing.

Each generated file ends in one of four states, printed per file:
``create`` (new), ``identical`` (untouched, not even its mtime), ``update``
(we wrote the old copy and the inputs changed), ``conflict`` (someone edited
our file by hand). A conflict writes nothing unless ``force``, which keeps the
user's copy as ``<file>.bak`` first (then ``.bak.1``, ``.bak.2``...: never over an earlier backup).

All or nothing: :func:`apply_writes` first writes every changed file (and the
manifest) into a staging folder beside the instance's, ``.instances/.instance-N.staging-<pid>``
(same file system, each file fsynced), then renames them into place with the
manifest LAST, keeping a hard link to each replaced file until the switch is
done. An OSError while staging leaves the instance folder untouched; one while
switching puts the replaced files back. A kill in between leaves the old
manifest, so the next run sees the instance as stale and regenerates; the
staging folder of the dead process (its manifest names the hashes it was
switching in) tells the conflict check that those files are ours, not hand
edits, and is then removed (:func:`clean_stale`), as are ``.*.tmp`` files of
dead processes. Every OSError becomes one line naming the file (io/paths.py).
"""
from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Protocol

from multistack.errors import ConflictError
from multistack.io.manifest import file_hash, sha256
from multistack.io.paths import contained, file_target, os_failure


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


def _write_synced(path: str | Path, payload: bytes, mode: int, flags: int = os.O_CREAT | os.O_EXCL) -> None:
    """Write ``payload`` to a new file with plain os calls, fsynced (one place a fault test can reach)."""
    fd = os.open(path, os.O_WRONLY | flags, mode)
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, mode)


def _temp_name(path: Path) -> Path:
    """``.<name>.<pid>.<random>.tmp`` beside ``path``: the pid tells a dead writer's leftover."""
    return path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")


def atomic_write(path: Path, data: str | bytes, mode: int = 0o644, *, exclusive: bool = False) -> bool:
    """Write via a temp file in the same folder and rename: readers never see half a file.

    ``exclusive``: never over an existing file (the temp file is hard-linked
    into place); answers False, writing nothing, when one is already there.
    Never through a symlink or over a folder; an OSError is one line naming the file.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if not exclusive:
        file_target(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if exclusive:
            raise
        raise os_failure(exc, path.parent, "create") from None
    tmp = _temp_name(path)
    try:
        _write_synced(tmp, payload, mode)
        if exclusive:
            return _link_new(str(tmp), path)
        os.replace(tmp, path)
        return True
    except OSError as exc:
        _discard(tmp)
        if exclusive:
            raise
        raise os_failure(exc, path) from None
    except BaseException:
        _discard(tmp)
        raise


def _discard(path: Path | str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _link_new(tmp: str, path: Path) -> bool:
    """Hard-link ``tmp`` to ``path`` unless something is there; the temp name goes either way."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    return True


def backup_name(target: Path) -> Path:
    """The first free one of ``<file>.bak``, ``<file>.bak.1``, ``<file>.bak.2``...: an earlier backup is never replaced."""
    candidate = target.with_name(target.name + ".bak")
    number = 0
    while candidate.exists() or candidate.is_symlink():
        number += 1
        candidate = target.with_name(f"{target.name}.bak.{number}")
    return candidate


def keep_backup(target: Path) -> Path:
    """Copy the user's ``target`` to the next free backup name (written exclusively: never over another file)."""
    data, mode = target.read_bytes(), target.stat().st_mode & 0o777
    while True:
        backup = backup_name(target)
        if atomic_write(backup, data, mode, exclusive=True):
            return backup


def plan_writes(folder: Path, files: dict[str, GeneratedFile], recorded: Mapping[str, str],
                pending: Mapping[str, str] | None = None) -> list[FileAction]:
    """Decide each file's state without writing anything.

    ``recorded``: name -> sha256 of what multistack last wrote (a manifest's ``files``),
    which tells an update of our own file from a hand edit. ``pending``: the same for a
    switch a killed run left half done (:func:`clean_stale`): those files are ours too.
    """
    actions = []
    for name in sorted(files):
        path = contained(folder / name, folder)  # no symlink below the folder, no folder in a file's place
        on_disk = file_hash(path)
        new = sha256(files[name].text)
        if on_disk is None:
            state = "create"
        elif on_disk == new:
            state = "identical" if _mode_ok(path, files[name].mode) else "update"
        elif on_disk in (recorded.get(name), (pending or {}).get(name)):
            state = "update"
        else:
            state = "conflict"
        actions.append(FileAction(name, state))
    return actions


def _mode_ok(path: Path, mode: int) -> bool:
    return (path.stat().st_mode & 0o777) == mode


def apply_writes(folder: Path, files: dict[str, GeneratedFile], actions: list[FileAction],
                 force: bool = False, last: tuple[str, str] | None = None) -> list[FileAction]:
    """Write what changed, all or nothing. Conflicts refuse the whole set unless ``force``.

    ``last``: (name, text) written after every other file (the manifest, whose hashes decide
    freshness); it is written even when no file changed.
    """
    conflicts = [a.name for a in actions if a.state == "conflict"]
    if conflicts and not force:
        raise ConflictError(f"{folder.name}: edited by hand since multistack wrote it: {', '.join(conflicts)}",
                            "move your changes into stack.yaml or the source files, or rerun with --force "
                            "(your copies are kept as .bak)")
    done = []
    writes: list[tuple[str, bytes, int]] = []
    for action in actions:
        target = folder / action.name
        if action.state == "identical":
            done.append(action)
            continue
        if action.state == "conflict":
            backup = keep_backup(target)
            action = FileAction(action.name, action.state, backup.name)
        writes.append((action.name, files[action.name].text.encode("utf-8"), files[action.name].mode))
        done.append(action)
    if last is not None:
        writes.append((last[0], last[1].encode("utf-8"), 0o644))
    if writes:
        switch_in(folder, writes)
    return done


def staging_folder(folder: Path) -> Path:
    """Where this process stages ``folder``'s files: a sibling, on the same file system."""
    return folder.with_name(f".{folder.name}.staging-{os.getpid()}")


def switch_in(folder: Path, writes: list[tuple[str, bytes, int]]) -> None:
    """Stage every write, fsync, then rename them into ``folder`` in order (the last one last).

    An OSError leaves ``folder`` as it was: while staging nothing in it was touched;
    while switching, each file already switched is put back from its hard link.
    """
    contained(folder, folder.parent, is_dir=True)  # the folder itself no symlink (a system's too)
    staging = staging_folder(folder)
    created = not folder.exists()
    try:
        _make_folder(folder)
        _make_folder(staging, fresh=True)
        for name, payload, mode in writes:
            _stage(folder, staging, name, payload, mode)
        try:
            _fsync_folder(staging)
        except OSError as exc:
            raise os_failure(exc, folder) from None
        _switch(folder, staging, [name for name, _payload, _mode in writes])
    except BaseException:
        if created:  # a new instance that failed leaves no empty folder behind
            _remove_empty(folder)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _make_folder(path: Path, fresh: bool = False) -> None:
    """``path`` as a folder (its parents too); ``fresh``: empty, made anew (a staging folder)."""
    try:
        if fresh:
            _remove(path)
        path.mkdir(parents=True, exist_ok=not fresh)
    except OSError as exc:
        raise os_failure(exc, path, "create") from None


def _stage(folder: Path, staging: Path, name: str, payload: bytes, mode: int) -> None:
    try:
        if "/" in name:  # a system member's file: <member>/<file>
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
        _write_synced(staging / name, payload, mode)
    except OSError as exc:
        raise os_failure(exc, folder / name) from None


def _switch(folder: Path, staging: Path, names: list[str]) -> None:
    """Rename each staged file over its target; on an OSError put back what was replaced."""
    switched: list[tuple[str, bool]] = []  # name, whether an old copy was kept
    current = names[0]
    try:
        for current in names:
            target = folder / current
            if "/" in current:
                target.parent.mkdir(parents=True, exist_ok=True)
            kept = _keep_old(target, staging / f"{current}.old")
            os.replace(staging / current, target)
            switched.append((current, kept))
        _fsync_folder(folder)
    except OSError as exc:
        _undo_switch(folder, staging, switched)
        raise os_failure(exc, folder / current) from None


def _keep_old(target: Path, keep: Path) -> bool:
    """A hard link to the file about to be replaced, to put it back if the switch fails."""
    try:
        os.link(target, keep)
    except FileNotFoundError:
        return False
    return True


def _undo_switch(folder: Path, staging: Path, switched: list[tuple[str, bool]]) -> None:
    for name, kept in reversed(switched):
        try:
            if kept:
                os.replace(staging / f"{name}.old", folder / name)
            else:
                os.unlink(folder / name)
        except OSError:
            pass  # the next run sees the old manifest: stale, regenerated


def _fsync_folder(path: Path) -> None:
    """Make the renames in ``path`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_STAGING = re.compile(r"\.(?P<name>.+)\.staging-(?P<pid>\d+)")
_TEMP = re.compile(r"\..+\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp")
_OLD_TEMP = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.tmp")  # tempfile.mkstemp's, before the pid was in the name


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: alive
    return True


def clean_stale(folder: Path) -> dict[str, str]:
    """Remove what dead writers left: their staging folders of ``folder``, their ``.*.tmp`` files.

    Answers the file hashes a dead run's staged manifest was switching in, so a
    half-switched file is recognised as ours (``plan_writes(pending=...)``).
    """
    pending: dict[str, str] = {}
    parent = folder.parent
    try:
        siblings = list(os.scandir(parent))
    except OSError:
        return pending
    for entry in siblings:
        match = _STAGING.fullmatch(entry.name)
        if match and match["name"] == folder.name and not _alive(int(match["pid"])):
            pending.update(_staged_hashes(Path(entry.path)))
            _remove(Path(entry.path))
    for place in (folder, parent):
        for path in _dead_temps(place):
            _discard(path)
    return pending


def _dead_temps(place: Path) -> list[Path]:
    try:
        entries = list(os.scandir(place))
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.is_file(follow_symlinks=False):
            continue
        match = _TEMP.fullmatch(entry.name)
        if match and not _alive(int(match["pid"])) or not match and _OLD_TEMP.fullmatch(entry.name):
            found.append(Path(entry.path))
    return found


def _staged_hashes(staging: Path, manifest: str = "instance.json") -> dict[str, str]:
    try:
        data = json.loads((staging / manifest).read_bytes())
        files = data["files"]
        return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return {}


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        _discard(path)
    else:
        shutil.rmtree(path, ignore_errors=True)
