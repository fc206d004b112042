"""instance.json: the versioned record of what an instance was generated from.

It holds the instance's ports, names and namespace, and the sha256 of every
source and generated file. The hashes let ``start`` tell a stale instance
(a source changed) from a fresh one without rendering, and tell a file we
wrote from one the user edited by hand.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from multistack.errors import StackError

VERSION = 1


def sha256(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def file_hash(path: Path) -> str | None:
    try:
        return sha256(path.read_bytes())
    except FileNotFoundError:
        return None


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

    def to_text(self) -> str:
        """Deterministic JSON: sorted keys, no timestamps, so an unchanged plan is byte-identical."""
        data = {
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
        return json.dumps(data, indent=2) + "\n"


def parse_manifest(text: str, where: str) -> Manifest:
    try:
        data: Any = json.loads(text)
        version = data["version"]
    except (ValueError, KeyError, TypeError):
        raise StackError(f"{where}: not a multistack manifest", "remove the instance folder and run `inv dev N init`") from None
    if not isinstance(version, int) or version > VERSION:
        raise StackError(f"{where}: written by a newer multistack (manifest version {version}, this one reads {VERSION})",
                         "upgrade multistack (pip install -U multistack)")
    try:
        return Manifest(
            instance=int(data["instance"]), project_name=str(data["project_name"]),
            namespace=str(data["namespace"]), database=str(data.get("database", "")),
            ports={str(k): int(v) for k, v in data["ports"].items()}, apps=[str(a) for a in data["apps"]],
            sources=dict(data.get("sources", {})), files=dict(data.get("files", {})), version=version,
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise StackError(f"{where}: manifest is damaged", "remove the instance folder and run `inv dev N init`") from None


def read_manifest(path: Path) -> Manifest | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return parse_manifest(text, str(path))
