"""instance.json: the versioned record of what an instance was generated from.

It holds the instance's ports, names and namespace, and the sha256 of every
source and generated file. The hashes let ``start`` tell a stale instance
(a source changed) from a fresh one without rendering, and tell a file we
wrote from one the user edited by hand.

Those hashes are only worth trusting if the manifest itself is multistack's:
it carries a ``checksum`` of its own text, and it is read through the one
user-file reader (:mod:`multistack.io.userfiles`) and checked strictly. A
damaged one (not UTF-8, ``1e400``, NaN, deep nesting, wrong types) is exit 2,
one edited by hand exit 4, both with the fix ``inv dev N init --force``,
which treats it as absent and keeps the user's copy as a numbered backup.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from multistack.errors import ConflictError, StackError
from multistack.io.userfiles import read_user_text

VERSION = 1


def sha256(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def file_hash(path: Path) -> str | None:
    try:
        return sha256(path.read_bytes())
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None  # not a file there: the writer says which (io/paths.py), not a traceback here


@dataclass(frozen=True)
class Manifest:
    instance: int
    project_name: str
    namespace: str
    database: str
    ports: dict[str, int]
    apps: list[str]
    sources: dict[str, str] = field(default_factory=dict)  # path relative to the stack root -> sha256
    files: dict[str, str] = field(default_factory=dict)  # generated file name -> sha256
    version: int = VERSION

    def to_text(self, checksum: bool = True) -> str:
        """Deterministic JSON: sorted keys, no timestamps, so an unchanged plan is byte-identical.

        ``checksum``: the sha256 of the text without it, last: any edit of the
        data shows (manifests before it had none; they are read if canonical).
        """
        data: dict[str, Any] = {
            "version": self.version,
            "instance": self.instance,
            "project_name": self.project_name,
            "namespace": self.namespace,
            "database": self.database,
            "ports": self.ports,
            "apps": self.apps,
            "sources": dict(sorted(self.sources.items())),
            "files": dict(sorted(self.files.items())),
        }
        if checksum:
            data["checksum"] = sha256(json.dumps(data, indent=2))
        return json.dumps(data, indent=2) + "\n"


#: The fix of a damaged or hand-edited manifest; ``N`` is filled in from the instance folder's name.
DAMAGED_HINT = "run `inv dev {n} init --force` (multistack rewrites it, keeping yours as a .bak) or remove the file"


class ManifestDamaged(StackError):
    """instance.json cannot be read as a manifest (not JSON, not UTF-8, wrong types)."""


class ManifestEdited(ConflictError):
    """instance.json no longer reads as multistack wrote it: someone edited it by hand."""

    manifest: Manifest | None = None  # what it says all the same (whose folder it is: io/paths.check_owner)


def parse_manifest(text: str, where: str, n: str = "N") -> Manifest:
    """The manifest in ``text``; a one-line StackError when it is damaged, newer, or edited by hand.

    Damaged covers everything JSON allows but multistack never writes: a number
    too big for a float (``1e400``), NaN, nesting deep enough to exhaust
    Python's stack, a value of the wrong type. Edited by hand: the data reads,
    but multistack would write it differently (``to_text`` is deterministic),
    so the hashes it records cannot be trusted (exit 4, like a hand-edited file).
    """
    hint = DAMAGED_HINT.format(n=n)
    data = _json(text, where, hint)
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not _is_int(version):
        raise ManifestDamaged(f"{where}: not a multistack manifest", hint)
    if version > VERSION:
        raise StackError(f"{where}: written by a newer multistack (manifest version {version}, this one reads {VERSION})",
                         "upgrade multistack (pip install -U multistack)")
    manifest = _manifest(data, version, where, hint)
    if text != manifest.to_text(checksum="checksum" in data):
        edited = ManifestEdited(f"{where}: edited by hand since multistack wrote it (its recorded hashes cannot be "
                                "trusted)", hint)
        edited.manifest = manifest
        raise edited
    return manifest


def _json(text: str, where: str, hint: str) -> Any:
    def finite(literal: str) -> float:
        value = float(literal)
        if value in (float("inf"), float("-inf")):
            raise ValueError(f"number {literal} is too large")
        return value

    def constant(literal: str) -> float:
        raise ValueError(f"{literal} is not a JSON number")

    try:
        return json.loads(text, parse_float=finite, parse_constant=constant)
    except RecursionError:
        raise ManifestDamaged(f"{where}: manifest is damaged: nested too deeply", hint) from None
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ManifestDamaged(f"{where}: manifest is damaged: {reason}", hint) from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strings(value: Any, values: Any = str) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, values) and not isinstance(v, bool)
                                           for k, v in value.items())


def _manifest(data: dict[str, Any], version: int, where: str, hint: str) -> Manifest:
    """The typed manifest; every field must have exactly the type multistack writes."""
    fields = {"instance": _is_int(data.get("instance")),
              "project_name": isinstance(data.get("project_name"), str),
              "namespace": isinstance(data.get("namespace"), str),
              "database": isinstance(data.get("database", ""), str),
              "ports": _strings(data.get("ports"), int),
              "apps": isinstance(data.get("apps"), list) and all(isinstance(a, str) for a in data["apps"]),
              "sources": _strings(data.get("sources", {})),
              "files": _strings(data.get("files", {})),
              "checksum": isinstance(data.get("checksum", ""), str)}
    wrong = [name for name, ok in fields.items() if not ok]
    if wrong:
        raise ManifestDamaged(f"{where}: manifest is damaged: {', '.join(wrong)} missing or of the wrong type", hint)
    return Manifest(instance=data["instance"], project_name=data["project_name"], namespace=data["namespace"],
                    database=data.get("database", ""), ports=dict(data["ports"]), apps=list(data["apps"]),
                    sources=dict(data.get("sources", {})), files=dict(data.get("files", {})), version=version)


def read_manifest(path: Path, force: bool = False) -> Manifest | None:
    """The manifest at ``path``, None when there is none.

    A damaged or hand-edited manifest is a one-line error; with ``force``
    (``init --force``) it counts as no manifest: every file is then compared
    with no record, so hand edits become conflicts that ``--force`` backs up.
    """
    n = path.parent.name.removeprefix("instance-")
    hint = DAMAGED_HINT.format(n=n)
    try:
        try:
            text = read_user_text(path, str(path), hint=hint, missing_ok=True)
        except StackError as exc:
            if not path.is_file():  # a folder in its place, unreadable: not something --force overwrites
                raise StackError(exc.message, f"remove {path} and run `inv dev {n} init`") from None
            raise ManifestDamaged(exc.message, hint) from None  # not UTF-8
        return parse_manifest(text, str(path), n) if text is not None else None
    except (ManifestDamaged, ManifestEdited):
        if force:
            return None
        raise
