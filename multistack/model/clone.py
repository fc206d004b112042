"""The ``clone:`` section of stack.yaml: what ``inv dev N clone --from M`` copies with (pure).

::

    clone:
      image: multistack-demo/services:1   # the helper container's image (sh and cp); default: the first
                                          # image of the stack's compose services already on the engine
      database:                           # the server holding the instance's database
        psql: psql -X -U app -d postgres  # its psql, connected to a maintenance database (multistack adds -c SQL;
                                          # each word a template over the target's variables: {{ ports.postgres }})
        run_in: postgres                  # `host` (default) or a compose service: the instance's own in
                                          # isolated mode, the shared infra's in shared mode (compose exec -T)
        step: database                    # shared mode: the provision step that creates the database

Isolated mode copies the volumes, then (with ``database``) renames the copied database to the
target's name; shared mode copies the database with ``CREATE DATABASE ... TEMPLATE`` and needs
``database`` (without it the clone stops with the fix).
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any, Sequence

from multistack.model.names import SERVICE_RE
from multistack.model.provision import HOST
from multistack.model.reader import Node, kind

#: The provision step taken for the database's when ``clone.database.step`` is not given.
DEFAULT_DATABASE_STEP = "database"


@dataclass(frozen=True)
class DatabaseCopy:
    """How a shared-mode clone reaches the database server: psql's argv prefix, and where it runs."""

    psql: tuple[str, ...]
    run_in: str = HOST
    step: str | None = DEFAULT_DATABASE_STEP  # None: no provision step creates the database


@dataclass(frozen=True)
class CloneSettings:
    """What the user told ``clone``: the helper image, and the shared-mode database server."""

    image: str | None = None
    database: DatabaseCopy | None = None


def parse_clone(raw: Any, file: str, compose_files: Sequence[str], steps: Sequence[str]) -> CloneSettings:
    """Validate the raw value of ``clone:`` (None: the defaults). ``steps``: the provision steps' names."""
    node = Node(raw, "clone", file)
    image = node.string("image")
    database = _database(node.child("database"), compose_files, steps) if node.get("database") is not None else None
    node.done()
    return CloneSettings(image, database)


def _database(node: Node, compose_files: Sequence[str], steps: Sequence[str]) -> DatabaseCopy:
    psql = _argv(node, "psql")
    run_in = node.string("run_in", HOST)
    assert run_in is not None
    if run_in != HOST:
        if not SERVICE_RE.fullmatch(run_in):
            node.fail(f"{run_in!r} is neither `host` nor a compose service name", "run_in")
        if not compose_files:
            node.fail(f"runs in compose service {run_in!r} but the stack lists no compose files", "run_in",
                      "use `run_in: host`")
    given = node.string("step")
    if given is not None and given not in steps:
        node.fail(f"{given!r} is not a provision step", "step", f"steps: {', '.join(steps) or 'none'}")
    step = given if given is not None else (DEFAULT_DATABASE_STEP if DEFAULT_DATABASE_STEP in steps else None)
    node.done()
    return DatabaseCopy(psql, run_in, step)


def _argv(node: Node, key: str) -> tuple[str, ...]:
    """A command prefix: a list of arguments, or a string split as a shell would (no shell runs it)."""
    value = node.get(key)
    if isinstance(value, str) and value.strip():
        try:
            words = shlex.split(value)
        except ValueError as exc:
            node.fail(f"cannot be split into arguments: {exc}", key)
        return tuple(words)
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    node.fail(f"must be psql's command (a string or a list of arguments), got {kind(value)}", key,
              "e.g. `psql: psql -X -U postgres -d postgres`")
    return ()
