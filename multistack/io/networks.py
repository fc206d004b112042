"""What networks an engine has, with their subnets: two processes, however many networks.

``docker network ls -q`` then one ``docker network inspect ID...`` for all of
them (not one inspect per network: an engine with 100 instances has 100+
networks). The JSON is handed back as data; what it means (which subnets,
whose project, what overlaps) is decided in :mod:`multistack.plan.subnets`.
"""
from __future__ import annotations

import json
from typing import Any, Sequence

from invoke import Context

from multistack.io.shell import probe


def list_argv(docker: Sequence[str]) -> list[str]:
    """``docker`` is the engine's docker with its flags (``DockerCli.args()``)."""
    return [*docker, "network", "ls", "--quiet", "--no-trunc"]


def inspect_argv(docker: Sequence[str], ids: Sequence[str]) -> list[str]:
    return [*docker, "network", "inspect", *ids]


def engine_networks(c: Context, docker: Sequence[str]) -> list[Any] | None:
    """Every network of the engine as ``docker network inspect`` says it; None when the engine did not answer.

    A network removed between the two calls makes inspect fail for it only
    (it still prints the others and exits 1): what it printed is kept.
    """
    listing = probe(c, list_argv(docker))
    if not listing.ok:
        return None
    ids = [line.strip() for line in (listing.stdout or "").splitlines() if line.strip()]
    if not ids:
        return []
    result = probe(c, inspect_argv(docker, ids))
    text = (result.stdout or "").strip()
    if not text:
        return None if not result.ok else []
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, list) else None
