"""What ``inv dev N clone --from M`` and ``reset`` copy, create and run, as data (pure).

Isolated mode copies the instance's named volumes: the ones the compose files declare
(``volumes:``), each ``<project>_<key>`` on the engine (compose's naming). The target's
volumes are created first with compose's own labels for the target project
(``com.docker.compose.project``/``.volume``/``.version``), so ``compose up`` adopts them
without "volume already exists but was not created by Docker Compose", and ``clean N``
(``down --volumes``, or the labels) removes them. Never the source's
``com.docker.compose.config-hash``: compose hashes the volume's name into it, so a copied
hash makes the next ``up`` ask "Recreate (data will be lost)?" (seen with Compose 2.40);
without one compose does not compare. One helper container copies every volume
(``cp -a``, ownership and modes kept).

The copied server still names the database after the source instance
(``<project>_instance_M``); with ``clone.database`` the clone renames it to the target's
(``ALTER DATABASE ... RENAME``) once the target's containers are up, before its apps start.

Shared mode copies the instance's database inside the shared server with
``CREATE DATABASE <target> TEMPLATE <source>``: the source is closed to new connections
and its sessions are ended first (PostgreSQL copies a template only when nobody is
connected to it), then opened again whatever happened.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from multistack.model.compose_doc import ComposeDoc
from multistack.plan.compose import PROJECT_LABEL

VOLUME_LABEL = "com.docker.compose.volume"
VERSION_LABEL = "com.docker.compose.version"
#: The label of the helper container (``docker ps --filter label=multistack.clone`` finds one left running).
CLONE_LABEL = "multistack.clone"


@dataclass(frozen=True)
class VolumeSpec:
    """A per-instance named volume the compose files declare: its key, driver and own labels."""

    key: str
    driver: str = "local"
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Skipped:
    """A declared volume that is not the instance's own, and why it is not copied."""

    key: str
    reason: str


@dataclass(frozen=True)
class VolumeCopy:
    """One volume to copy: the source's name, the target's name, and how to create the target."""

    key: str
    source: str
    target: str
    driver: str
    labels: tuple[tuple[str, str], ...]


def declared_volumes(docs: Iterable[ComposeDoc]) -> tuple[list[VolumeSpec], list[Skipped]]:
    """The top-level ``volumes:`` of the compose files (later files win), split into the
    instance's own and the others (external, fixed ``name:``, driver options)."""
    merged: dict[str, dict[str, Any]] = {}
    for doc in docs:
        for key, spec in doc.section("volumes").items():
            merged.setdefault(str(key), {}).update(spec if isinstance(spec, dict) else {})
    own, skipped = [], []
    for key in sorted(merged):
        spec = merged[key]
        if spec.get("external"):
            skipped.append(Skipped(key, "external: not the instance's own"))
        elif spec.get("name"):
            skipped.append(Skipped(key, f"fixed name {spec['name']!r}: one volume for every instance"))
        elif spec.get("driver_opts"):
            skipped.append(Skipped(key, "driver_opts: its data is where the options say, not in the volume"))
        else:
            own.append(VolumeSpec(key, str(spec.get("driver") or "local"), _labels(spec.get("labels"))))
    return own, skipped


def _labels(raw: Any) -> tuple[tuple[str, str], ...]:
    """A volume's ``labels:``, a mapping or a list of ``key=value``, as sorted pairs."""
    if isinstance(raw, dict):
        return tuple(sorted((str(k), "" if v is None else str(v)) for k, v in raw.items()))
    if isinstance(raw, list):
        return tuple(sorted((str(item).partition("=")[0], str(item).partition("=")[2]) for item in raw))
    return ()


def volume_name(project: str, key: str) -> str:
    """Compose's name for volume ``key`` of ``project`` (no ``name:``)."""
    return f"{project}_{key}"


def volume_labels(project: str, spec: VolumeSpec, compose_version: str = "") -> tuple[tuple[str, str], ...]:
    """The labels compose itself gives the volume in ``project`` (no config-hash: see the module)."""
    ours = [(PROJECT_LABEL, project), (VOLUME_LABEL, spec.key)]
    if compose_version:
        ours.append((VERSION_LABEL, compose_version))
    taken = {key for key, _ in ours}
    return tuple(sorted(ours + [(k, v) for k, v in spec.labels if k not in taken]))


def plan_copies(specs: Sequence[VolumeSpec], source_project: str, target_project: str,
                compose_version: str = "", present: set[str] | None = None) -> list[VolumeCopy]:
    """The copies of the source's volumes; ``present``: the source volumes on the engine (None: all,
    as ``--dry`` assumes)."""
    copies = []
    for spec in specs:
        source = volume_name(source_project, spec.key)
        if present is not None and source not in present:
            continue
        copies.append(VolumeCopy(spec.key, source, volume_name(target_project, spec.key), spec.driver,
                                 volume_labels(target_project, spec, compose_version)))
    return copies


def copy_mounts(copies: Sequence[VolumeCopy]) -> list[tuple[str, str, bool]]:
    """Each source read-only at ``/from/I``, each target at ``/to/I``."""
    mounts = []
    for i, copy in enumerate(copies):
        mounts += [(copy.source, f"/from/{i}", True), (copy.target, f"/to/{i}", False)]
    return mounts


def copy_script(copies: Sequence[VolumeCopy]) -> str:
    """``cp -a`` of every volume's content (dot files too), stopping at the first failure."""
    return "set -e; " + "; ".join(f"cp -a /from/{i}/. /to/{i}/" for i in range(len(copies)))


def helper_image(configured: str | None, candidates: Sequence[str], present: set[str] | None) -> str | None:
    """The image of the copy's helper container: ``clone.image``, else the first of the stack's service
    images on the engine (``present``; None under ``--dry``: the first candidate). None: no image."""
    if configured:
        return configured
    for image in dict.fromkeys(candidates):
        if present is None or _tagged(image) in present:
            return image
    return None


def _tagged(image: str) -> str:
    """``redis`` is ``redis:latest`` in ``docker image ls``."""
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last or "@" in last else f"{image}:latest"


# --------------------------------------------------------------------------
# Shared mode: SQL for the database server


def identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def psql_argv(prefix: Sequence[str], statements: Sequence[str], tuples_only: bool = False) -> list[str]:
    """psql with each statement as its own ``-c`` (``CREATE DATABASE`` cannot share a transaction)."""
    argv = [*prefix, "-v", "ON_ERROR_STOP=1"] + (["-tA"] if tuples_only else [])
    for statement in statements:
        argv += ["-c", statement]
    return argv


def database_exists_sql(database: str) -> str:
    """Prints ``1`` when the database exists, nothing when it does not."""
    return f"SELECT 1 FROM pg_database WHERE datname = {literal(database)}"


def template_copy_sql(source: str, target: str) -> list[str]:
    """Close the source, end its sessions, replace the target with a copy of it."""
    return [
        f"ALTER DATABASE {identifier(source)} ALLOW_CONNECTIONS false",
        "SELECT count(pg_terminate_backend(pid)) AS ended FROM pg_stat_activity "
        f"WHERE datname = {literal(source)} AND pid <> pg_backend_pid()",
        f"DROP DATABASE IF EXISTS {identifier(target)} WITH (FORCE)",
        f"CREATE DATABASE {identifier(target)} TEMPLATE {identifier(source)}",
    ]


def rename_sql(source: str, target: str) -> list[str]:
    """Isolated mode: the copied server still holds the source's database; give it the target's name
    (before the target's apps start: only a health check may be connected)."""
    return [
        "SELECT count(pg_terminate_backend(pid)) AS ended FROM pg_stat_activity "
        f"WHERE datname = {literal(source)} AND pid <> pg_backend_pid()",
        f"ALTER DATABASE {identifier(source)} RENAME TO {identifier(target)}",
    ]


def reopen_sql(source: str) -> list[str]:
    """Run after the copy, whether it worked or not."""
    return [f"ALTER DATABASE {identifier(source)} ALLOW_CONNECTIONS true"]
