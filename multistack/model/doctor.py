"""The ``doctor:`` section of stack.yaml: bind-mounted files to create, checks to ignore (pure).

``doctor: {bind_files: {path: template-or-empty}, ignore: [check...]}``.
The names ``ignore`` accepts are the doctor's checks, so the table of checks
lives here, where the section is validated; :mod:`multistack.act.doctor`
runs them in this order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from multistack.model.reader import Node, kind

#: Every check, in the order findings are listed; the names ``doctor.ignore`` accepts.
CHECKS: dict[str, str] = {
    "compose": "Docker Compose v2 is installed and new enough for the override's !override/!reset tags",
    "engine": "the Docker engine answers",
    "pm2": "PM2 is installed (stacks with apps)",
    "container-name": "no fixed container_name shared by every instance",
    "uncovered-port": "no host port published by the base files that no declared service covers",
    "host-network": "no service in the host's network namespace",
    "bind-mount": "every bind-mount source exists (a missing one becomes a directory)",
    "env-file": "every env_file a compose service reads exists",
    "external-network": "every external network exists",
    "shared-network": "no network with a fixed name shared by every instance",
    "shared-alias": "no alias on a network that instances share",
    "shared-volume": "no volume with a fixed name shared by every instance",
    "build-image": "no locally built image tag shared by every instance",
    "image": "every image is on the engine, or may be pulled (not `pull_policy: never`)",
    "address-pools": "the engine has network address pools for every instance",
    "aio-max-nr": "fs.aio-max-nr leaves room for the async I/O every Redpanda instance reserves",
    "port-taken": "every host port of instance N is free",
}


@dataclass(frozen=True)
class DoctorSettings:
    """What the user told the doctor: files to pre-create before ``up``, checks to stay quiet about."""

    bind_files: tuple[tuple[str, str | None], ...] = ()  # path -> template (None: an empty file)
    ignore: tuple[str, ...] = ()


def parse_doctor(raw: Any, file: str) -> DoctorSettings:
    """Validate the raw value of ``doctor:`` (None: the defaults); ``file`` names stack.yaml in errors."""
    node = Node(raw, "doctor", file)
    files = node.child("bind_files")
    pairs = []
    for path, template in files.items():
        if not path or path.startswith("~"):
            files.fail("must be a path relative to the stack's folder (or absolute)", path)
        if template is not None and not isinstance(template, str):
            files.fail(f"must be a template file or empty (an empty file), got {kind(template)}", path,
                       "write `path: path/to/template` or `path: ''`")
        pairs.append((path, template or None))
    ignore = node.strings("ignore")
    for name in ignore:
        if name not in CHECKS:
            node.fail(f"unknown check {name!r}", "ignore", f"checks: {', '.join(CHECKS)}")
    node.done()
    return DoctorSettings(tuple(pairs), ignore)
