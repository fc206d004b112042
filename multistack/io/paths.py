"""Containment: every path multistack writes or removes is a real folder or file where it belongs.

An instance's folder is ``<stack>/.instances/instance-N``. If ``.instances``, the
instance folder or a generated file were a symlink, a write would land in
another instance (or anywhere on the machine), and ``clean`` would ``down -v``
and remove someone else's data. So every writer, generate, clean, the locks, the
mode file and the systems' and mesh's writes ask here first:

    instances_root(stack)           # <stack>/.instances: no component a symlink, a folder if there
    instance_folder(stack, n, ...)  # .instances/instance-N: real, inside the root, owned by instance N
    contained(path, root)           # path under root with no symlinked component, folders above it
    file_target(path)               # path is not a symlink or a folder (a file may go there)
    os_failure(exc, path, doing)    # an OSError while writing or removing: one line naming the file

Refusals are :class:`ConflictError` (exit 4: something on the machine is in the way).
The stack's own root may be reached through a symlink (the user's choice): the
checks start below it.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from multistack.errors import ConflictError, StackError
from multistack.io.manifest import ManifestDamaged, ManifestEdited, read_manifest  # the one manifest parser
from multistack.model.stack import Stack

MANIFEST = "instance.json"


def _shown(path: Path, root: Path | None = None) -> str:
    """The path as the user knows it: relative to the stack's root when it is inside."""
    for base in (root, Path.cwd()) if root is not None else (Path.cwd(),):
        try:
            return str(path.relative_to(base))
        except ValueError:
            continue
    return str(path)


def _check_component(path: Path, shown: str, want_dir: bool) -> bool:
    """Refuse a symlink, or the wrong kind of thing; True when ``path`` exists."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    except NotADirectoryError:
        raise ConflictError(f"{shown}: a file stands where a folder belongs on its path",
                            f"move the file away (mv {shown} {shown}.old), then rerun") from None
    if stat.S_ISLNK(info.st_mode):
        raise ConflictError(f"{shown} is a symlink (to {os.readlink(path)}); multistack never writes or removes "
                            "through one", f"remove the link (rm {shown}) and rerun: multistack creates a real folder")
    if want_dir and not stat.S_ISDIR(info.st_mode):
        raise ConflictError(f"{shown} is a file where a folder belongs",
                            f"move it away (mv {shown} {shown}.old), then rerun")
    if not want_dir and stat.S_ISDIR(info.st_mode):
        raise ConflictError(f"{shown} is a folder where a file belongs",
                            f"move it away (mv {shown} {shown}.old), then rerun")
    return True


def contained(path: Path, root: Path, *, is_dir: bool = False) -> Path:
    """``path``, after checking it lies under ``root`` with no symlinked component on the way.

    Every component between ``root`` and ``path`` must be a real folder where it exists;
    ``path`` itself a real folder (``is_dir``) or not a folder (a file may go there).
    """
    base = root.resolve()
    relative = _relative_to(Path(os.path.normpath(path if path.is_absolute() else base / path)),
                            (Path(os.path.normpath(os.path.abspath(root))), base))
    if relative is None or ".." in relative.parts:
        raise ConflictError(f"{path} is outside {root}", "report this: multistack only writes inside the stack")
    current = base
    parts = relative.parts
    for index, part in enumerate(parts):
        current = current / part
        last = index == len(parts) - 1
        if not _check_component(current, _shown(current, base), want_dir=is_dir or not last):
            break
    return base / relative


def _relative_to(path: Path, roots: tuple[Path, ...]) -> Path | None:
    """``path`` below the first of ``roots`` it lies under (the root as given, or resolved)."""
    for root in roots:
        try:
            return path.relative_to(root)
        except ValueError:
            continue
    return None


def file_target(path: Path, root: Path | None = None) -> Path:
    """``path`` is no symlink and no folder: a file may be (re)written there."""
    _check_component(path, _shown(path, root), want_dir=False)
    return path


def instances_root(stack: Stack) -> Path:
    """``<stack>/.instances``, real folders all the way (it may not exist yet)."""
    root = stack.root.resolve()
    return contained(root / stack.instances_dir, root, is_dir=True)


def instance_folder(stack: Stack, n: int, *, create: bool = False, project: str | None = None) -> Path:
    """``.instances/instance-N``: a real folder inside the instances root, owned by instance ``n``.

    Owned: its ``instance.json`` (when there and readable) names instance ``n`` and
    ``project`` (this stack's compose project for ``n``). ``create`` makes the
    folders (real ones) when missing.
    """
    base = instances_root(stack)
    folder = contained(base / f"instance-{n}", stack.root.resolve(), is_dir=True)
    check_owner(folder, n, project or stack.compose_project(n), stack.root.resolve())
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise os_failure(exc, folder, "create", stack.root.resolve()) from None
    return folder


def check_owner(folder: Path, n: int, project: str, root: Path | None = None) -> None:
    """Refuse a folder whose manifest names another instance or project (copied or moved in)."""
    manifest = folder / MANIFEST
    if os.path.islink(manifest):
        file_target(manifest, root)
    if not manifest.is_file():
        return  # none yet; a folder in its place: the writer names it where it writes
    try:
        found = read_manifest(manifest)
    except ManifestEdited as exc:
        found = exc.manifest  # edited by hand, but it still says whose folder this is
    except ManifestDamaged:
        return  # reported as damaged (exit 2, the fix) where the command reads it; never as foreign
    if found is None:
        return
    owner = (found.instance, found.project_name)
    if owner != (n, project):
        shown = _shown(folder, root)
        raise ConflictError(f"{shown} belongs to instance {owner[0]} of project {owner[1]} "
                            f"(its {MANIFEST}), not instance {n} of {project}",
                            f"move the folder away (mv {shown} {shown}.foreign) and rerun")


def os_failure(exc: OSError, path: Path, doing: str = "write", root: Path | None = None) -> StackError:
    """One line for an OSError while writing or removing ``path``, with the fix for its cause."""
    shown = _shown(path, root)
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        fix = f"free space on the disk that holds {shown} (df -h {path.parent}), then rerun"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = f"make {path.parent} writable (chmod u+w {path.parent}), then rerun"
    elif exc.errno in (errno.ENOTDIR, errno.EISDIR, errno.EEXIST):
        fix = f"move what stands at {shown} away, then rerun"
    else:
        fix = "fix the file system problem named, then rerun"
    return ConflictError(f"cannot {doing} {shown}: {reason}", fix)


def real_folder(path: Path, root: Path) -> Path:
    """``path`` under ``root`` made a real folder (created when missing), never through a symlink."""
    contained(path, root, is_dir=True)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_failure(exc, path, "create", root) from None
    return path


def instance_file(stack: Stack, n: int, name: str, project: str | None = None) -> Path:
    """A file of instance ``n``'s folder (the mode file, a log): the folder checked, the file no link."""
    folder = instance_folder(stack, n, project=project)
    return file_target(folder / name, stack.root.resolve())
