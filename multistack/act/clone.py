"""Clone and reset an instance's data: ``inv dev N clone --from M`` and ``inv dev N reset`` (docs/clone.md).

Assess, then act. Both refuse a running target unless ``--force`` (which stops it
first), hold the target's lock (taken by :func:`multistack.act.lifecycle.dispatch`)
and, for a clone, the source's too: taken here without waiting, so ``clone 1 -> 3``
and ``clone 3 -> 1`` run at once fail fast (exit 4) instead of waiting on each other.

- Isolated mode: the source's running containers are stopped for the copy (a
  database copied while it writes is not a database) and started again afterwards,
  whatever happened; the target's volumes are replaced by copies made in one helper
  container (plan/clone.py says which volumes, labels and image); then the target
  starts. ``reset`` removes the target's volumes and creates them again, empty.
- Shared mode: the database is copied inside the shared server with ``CREATE DATABASE
  ... TEMPLATE``; the other provision steps (bucket, Temporal namespace...) are torn
  down and created again for the target, empty: they are recreated, not copied, and
  the output says so. ``reset`` runs the target's teardown, then its provision.

Every command goes through io/shell.py: ``--dry`` prints them and changes nothing.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable

from invoke import Context

from multistack.errors import CommandFailed, ConflictError, StackError
from multistack.io.shell import for_real, guard, probe, query, run
from multistack.plan.clone import (CLONE_LABEL, VolumeCopy, VolumeSpec, copy_mounts, copy_script,
                                   database_exists_sql, declared_volumes, helper_image, plan_copies, psql_argv,
                                   rename_sql, reopen_sql, template_copy_sql, volume_labels, volume_name)
from multistack.plan.compose import PROJECT_LABEL, ComposeProject, DockerCli
from multistack.plan.instance import Instance

if TYPE_CHECKING:
    from multistack.act.options import Options
    from multistack.io.status import InstanceState
    from multistack.io.tools import Engines
    from multistack.model.compose_doc import ComposeDoc
    from multistack.model.provision import Step


@dataclass(frozen=True)
class Lifecycle:
    """The lifecycle actions clone and reset run, handed over by :mod:`multistack.act.lifecycle`
    (which imports this module: importing it back would be a cycle)."""

    query_state: Callable[..., dict[int, InstanceState]]
    stop: Callable[..., None]
    start: Callable[..., None]
    ensure_generated: Callable[..., list[str]]


def clone(c: Context, inst: Instance, opts: Options, life: Lifecycle) -> None:
    """``inv dev N clone --from M``: N gets a copy of M's data, then starts."""
    from multistack.act.shared import instance_plan
    from multistack.io.locks import instance_lock

    assert opts.source is not None  # cli/dev.py requires --from for clone
    source = instance_plan(inst.stack, opts.source)
    _check_pair(inst, source)
    with guard(c, lambda: instance_lock(inst.stack, source.n, f"clone --from {source.n} (source of {inst.n})")):
        if inst.mode == "shared":
            _clone_database(c, inst, source, opts, life)
        else:
            _clone_volumes(c, inst, source, opts, life)


def reset(c: Context, inst: Instance, opts: Options, life: Lifecycle) -> None:
    """``inv dev N reset``: N's data back to empty; other instances untouched."""
    if inst.mode == "shared":
        _reset_shared(c, inst, opts, life)
    else:
        _reset_volumes(c, inst, opts, life)


# --------------------------------------------------------------------------
# Checks


def _check_pair(target: Instance, source: Instance) -> None:
    """Refuse what cannot be cloned, before anything is asked or locked."""
    n, m = target.n, source.n
    if m == n:
        raise StackError(f"cannot clone instance {n} onto itself", f"copy from another instance: `inv dev {n} clone --from M`")
    if source.engine.name != target.engine.name:
        raise StackError(f"instance {m} runs on engine {source.engine.name}, instance {n} on {target.engine.name}: "
                         "clone copies volumes within one engine",
                         f"clone from an instance on engine {target.engine.name} (engines: in {target.stack.path.name})")
    if source.mode != target.mode:
        raise StackError(f"instance {m} is in {source.mode} mode, instance {n} in {target.mode} mode: "
                         "clone copies between instances of one mode",
                         f"start instance {n} with `--{source.mode}` first, or clone from an instance in {target.mode} mode")


def _engines(c: Context, inst: Instance) -> Engines:
    from multistack.io.tools import detect

    stack = inst.stack
    return detect(c, stack.root, need_compose=bool(stack.compose_files), need_pm2=bool(stack.apps),
                  need_engine=bool(stack.compose_files) and not stack.engines_declared)


def _states(c: Context, life: Lifecycle, engines: Engines, *instances: Instance) -> dict[int, InstanceState]:
    """One ``docker ps`` (the instances' engine) and one ``pm2 jlist`` for all of them; ``--dry``: nothing known."""
    stack = instances[0].stack
    on = {"on": [instances[0].engine]} if stack.engines_declared else {}
    return for_real(c, lambda: life.query_state(c, stack, engines, {i.n for i in instances}, **on), dry=dict) or {}


def _clear_target(c: Context, life: Lifecycle, inst: Instance, state: InstanceState | None, opts: Options,
                  engines: Engines, verb: str) -> bool:
    """Refuse a running target without ``--force``; with it, stop the target (and remove leftover
    containers, which would hold its volumes). Returns whether it was running (it is started again).
    ``--dry --force``: the stop is shown, as if it ran."""
    from multistack.act.options import Options as Plain

    running = for_real(c, lambda: state is not None and state.running, dry=lambda: opts.force)
    leftovers = for_real(c, lambda: state is not None and bool(state.services), dry=lambda: False)
    if running and not opts.force:
        what = "replace" if verb == "clone" else "empty"
        raise ConflictError(f"instance {inst.n} is running: {verb} would {what} its data under it",
                            f"stop it first (`inv dev {inst.n} stop`), or rerun with --force to stop it, "
                            f"{verb} and start it again")
    if running or leftovers:
        life.stop(c, inst, Plain(), engines=engines)
    return bool(running)


def _start(c: Context, life: Lifecycle, inst: Instance, opts: Options) -> None:
    from multistack.act.options import Options as Plain

    life.start(c, inst, Plain(wait_timeout=opts.wait_timeout))


def _say(line: str) -> None:
    from multistack.plan.masking import mask_text

    print(mask_text(line), file=sys.stdout)


# --------------------------------------------------------------------------
# Isolated mode: volumes


def _own_volumes(inst: Instance) -> tuple[list[VolumeSpec], list[str], tuple[ComposeDoc, ...]]:
    """The per-instance volumes the compose files declare, what is not copied (said), and the files."""
    from multistack.io.compose_files import read_compose_files

    docs = read_compose_files(inst.stack)
    specs, skipped = declared_volumes(docs)
    notes = [f"volume {s.key} not copied ({s.reason})" for s in skipped]
    if not specs:
        raise StackError(f"the compose files of {inst.stack.path.name} declare no named volume of an instance's "
                         "own: there is no data to clone or reset",
                         "declare the services' data as named volumes (top-level `volumes:`)")
    return specs, notes, docs


def _existing_volumes(c: Context, docker: DockerCli, project: str) -> list[str]:
    """The volumes labelled with ``project`` (``--dry``: none asked, none known)."""
    result = query(c, docker.volumes_of(project))
    return sorted(result.stdout.split()) if result.ok else []


def _clone_volumes(c: Context, inst: Instance, source: Instance, opts: Options, life: Lifecycle) -> None:
    specs, notes, docs = _own_volumes(inst)
    engines = _engines(c, inst)
    docker = DockerCli.on(inst.engine, engines.docker)
    states = _states(c, life, engines, inst, source)
    present = for_real(c, lambda: set(_existing_volumes(c, docker, source.project_name)), dry=lambda: None)
    copies = plan_copies(specs, source.project_name, inst.project_name, engines.compose_version, present)
    if not copies:
        names = ", ".join(volume_name(source.project_name, s.key) for s in specs)
        raise StackError(f"instance {source.n} has no data to clone: none of its volumes ({names}) exists",
                         f"start it once (`inv dev {source.n} start`), or clone from another instance")
    image = _helper_image(c, inst, docker, docs)
    _clear_target(c, life, inst, states.get(inst.n), opts, engines, "clone")
    _remove_volumes(c, docker, inst)
    running = _running_containers(states.get(source.n))
    for_real(c, lambda: None, dry=f"would stop instance {source.n}'s running containers for the copy "
                                  "(`docker stop`), and start them again after it")
    if running:
        run(c, docker.stop_containers(running))
    try:
        _copy(c, inst, docker, image, copies)
    finally:
        if running:
            run(c, docker.start_containers(running))
    verb = for_real(c, lambda: "copied", dry=lambda: "would copy")
    _say(f"instance {inst.n}: {verb} {len(copies)} volume{'s' if len(copies) != 1 else ''} of instance {source.n} "
         f"({', '.join(cp.key for cp in copies)}) in a helper container of {image}")
    for note in notes + [f"volume {s.key}: instance {source.n} has none (created empty on start)"
                         for s in specs if s.key not in {cp.key for cp in copies}]:
        _say(f"  note: {note}")
    if inst.stack.clone.database is not None:
        _containers_up(c, life, inst, engines, opts)
        _rename_database(c, inst, engines, source)
    else:
        _say(f"  note: a database in the copy, if any, keeps instance {source.n}'s name ({source.database}); "
             f"with clone.database in {inst.stack.path.name} clone renames it to {inst.database}")
    _start(c, life, inst, opts)


def _containers_up(c: Context, life: Lifecycle, inst: Instance, engines: Engines, opts: Options) -> None:
    """The target's files and containers, before its apps: its database is renamed in between
    (``start`` then finds the containers up and its files unchanged, and starts the apps)."""
    from multistack.act.options import Options as Plain

    life.ensure_generated(c, inst, Plain())
    timeout = opts.wait_timeout or inst.stack.start.wait_timeout
    result = run(c, ComposeProject.for_instance(inst, engines).up(wait_timeout=timeout), hide=True, warn=True)
    if result.failed:
        print(result.stderr, end="", file=sys.stderr)
        raise CommandFailed(f"instance {inst.n}: its containers did not come up after the copy "
                            f"(exit {result.exited}); its copied volumes are kept",
                            f"compose's output is above; fix and run `inv dev {inst.n} start`")


def _rename_database(c: Context, inst: Instance, engines: Engines, source: Instance) -> None:
    """The copied server holds the source's database: rename it to the target's (none there: say so)."""
    if not for_real(c, lambda: _database_exists(c, inst, engines, source.database), dry=lambda: True):
        _say(f"  note: instance {inst.n}'s copied server has no database {source.database}: nothing renamed")
        return
    _psql(c, inst, engines, rename_sql(source.database, inst.database))
    verb = for_real(c, lambda: "renamed", dry=lambda: "would rename")
    _say(f"instance {inst.n}: {verb} the copied database {source.database} to {inst.database}")


def _running_containers(state: InstanceState | None) -> list[str]:
    return sorted(s.container for s in state.services if s.state == "running") if state else []


def _helper_image(c: Context, inst: Instance, docker: DockerCli, docs: tuple[ComposeDoc, ...]) -> str:
    """``clone.image``, else the first service image already on the engine (never pulled)."""
    from multistack.model.compose_doc import base_services

    candidates = [str(spec["image"]) for spec in base_services(docs).values() if spec.get("image")]
    configured = inst.stack.clone.image
    present = None if configured else for_real(c, lambda: _images(c, docker), dry=lambda: None)
    image = helper_image(configured, candidates, present)
    if image is None:
        raise StackError("no image to copy volumes with: none of the stack's service images is on the engine",
                         f"set `clone: {{image: IMAGE}}` in {inst.stack.path.name} to an image with sh and cp "
                         "that is on the engine (it is never pulled)")
    return image


def _images(c: Context, docker: DockerCli) -> set[str] | None:
    """Every ``REPOSITORY:TAG`` on the engine (None when it did not answer: the first candidate is tried)."""
    result = probe(c, docker.image_names())
    return set(result.stdout.split()) if result.ok else None


def _copy(c: Context, inst: Instance, docker: DockerCli, image: str, copies: list[VolumeCopy]) -> None:
    """Create the target's volumes with compose's labels, copy into them; on failure remove them again
    (the target is then empty, never half copied)."""
    created: list[str] = []
    try:
        for copy in copies:
            run(c, docker.volume_create(copy.target, copy.labels, copy.driver), hide="stdout")
            created.append(copy.target)
        result = run(c, docker.run_helper(image, copy_mounts(copies), copy_script(copies),
                                          f"{CLONE_LABEL}={inst.project_name}"), warn=True)
        if result.failed:
            raise CommandFailed(f"instance {inst.n}: the copy failed in a helper container of {image} "
                                f"(exit {result.exited}); instance {inst.n}'s volumes were removed again",
                                f"its output is above; an image without sh and cp cannot copy: set `clone: "
                                f"{{image: IMAGE}}` in {inst.stack.path.name}")
    except BaseException:
        if created:
            run(c, docker.volume_rm(created), warn=True, hide=True)
        raise


def _remove_volumes(c: Context, docker: DockerCli, inst: Instance) -> None:
    """Every volume labelled with the target's project (its containers are gone: ``_clear_target``)."""
    names = for_real(c, lambda: _existing_volumes(c, docker, inst.project_name), dry=lambda: [])
    for_real(c, lambda: None, dry=f"would remove instance {inst.n}'s volumes, if it has any "
                                  f"(label {PROJECT_LABEL}={inst.project_name})")
    if names:
        run(c, docker.volume_rm(names), hide="stdout")


def _reset_volumes(c: Context, inst: Instance, opts: Options, life: Lifecycle) -> None:
    specs, notes, _ = _own_volumes(inst)
    engines = _engines(c, inst)
    docker = DockerCli.on(inst.engine, engines.docker)
    states = _states(c, life, engines, inst)
    was_running = _clear_target(c, life, inst, states.get(inst.n), opts, engines, "reset")
    _remove_volumes(c, docker, inst)
    for spec in specs:
        run(c, docker.volume_create(volume_name(inst.project_name, spec.key),
                                    volume_labels(inst.project_name, spec, engines.compose_version), spec.driver),
            hide="stdout")
    verb = for_real(c, lambda: "reset", dry=lambda: "would reset")
    _say(f"instance {inst.n}: {verb}: volumes {', '.join(s.key for s in specs)} empty")
    for note in notes:
        _say(f"  note: {note}")
    if was_running:
        _start(c, life, inst, opts)


# --------------------------------------------------------------------------
# Shared mode: the database, and the other provisioned resources


def _clone_database(c: Context, inst: Instance, source: Instance, opts: Options, life: Lifecycle) -> None:
    settings = inst.stack.clone.database
    if settings is None:
        raise StackError("a shared-mode clone copies the database inside the shared server, and "
                         f"{inst.stack.path.name} does not say how to reach it (clone.database.psql)",
                         "add `clone: {database: {psql: psql -X -U USER -d postgres, run_in: SERVICE}}` "
                         "(docs/clone.md)")
    engines = _engines(c, inst)
    if not for_real(c, lambda: _database_exists(c, inst, engines, source.database), dry=lambda: True):
        raise StackError(f"instance {source.n} has no database {source.database} to clone",
                         f"start it once (`inv dev {source.n} start`), or clone from another instance")
    states = _states(c, life, engines, inst)
    _clear_target(c, life, inst, states.get(inst.n), opts, engines, "clone")
    others = tuple(step for step in inst.stack.provision if step.name != settings.step)
    if others:
        from multistack.act.shared import teardown

        teardown(c, _with_steps(inst, others), engines.compose)  # recreated empty by the start below
    try:
        _psql(c, inst, engines, template_copy_sql(source.database, inst.database))
    finally:
        _psql(c, inst, engines, reopen_sql(source.database), warn=True)
    verb = for_real(c, lambda: "copied", dry=lambda: "would copy")
    _say(f"instance {inst.n}: {verb} database {source.database} of instance {source.n} into {inst.database} "
         "(CREATE DATABASE ... TEMPLATE)")
    recreated = ", ".join(step.name for step in others)
    _say(f"  note: not copied, recreated empty for instance {inst.n}: "
         + (f"provision steps {recreated}; " if recreated else "")
         + f"Redis keys (prefix {inst.namespace}:), buckets, Temporal namespaces and MQTT topics of its namespace")
    _start(c, life, inst, opts)


def _with_steps(inst: Instance, steps: tuple[Step, ...]) -> Instance:
    """``inst`` whose stack provisions only ``steps`` (shared.teardown/provision run a stack's steps)."""
    return replace(inst, stack=replace(inst.stack, provision=steps))


def _psql_command(inst: Instance, engines: Engines, statements: list[str], tuples_only: bool = False) -> list[str]:
    from multistack.act.shared import shared_compose
    from multistack.model.provision import HOST

    from multistack.plan.templating import render_string

    settings = inst.stack.clone.database
    assert settings is not None
    variables = inst.variables()
    where = f"{inst.stack.path.name}: clone.database.psql"
    argv = psql_argv([render_string(word, variables, where) for word in settings.psql], statements, tuples_only)
    if settings.run_in == HOST:
        return argv
    if inst.mode == "shared":
        return shared_compose(inst.stack, engines.compose).exec(settings.run_in, argv)
    return ComposeProject.for_instance(inst, engines).exec(settings.run_in, argv)  # the instance's own server


def _psql(c: Context, inst: Instance, engines: Engines, statements: list[str], warn: bool = False) -> None:
    result = run(c, _psql_command(inst, engines, statements), warn=True, hide="stdout")
    if result.failed and not warn:
        raise CommandFailed(f"instance {inst.n}: psql failed (exit {result.exited}); instance {inst.n}'s database "
                            "may be missing or misnamed", "its output is above; fix it and rerun the clone")


def _database_exists(c: Context, inst: Instance, engines: Engines, database: str) -> bool:
    result = probe(c, _psql_command(inst, engines, [database_exists_sql(database)], tuples_only=True))
    if not result.ok:
        from multistack.io.tools import last_line

        where = "the shared database server" if inst.mode == "shared" else f"instance {inst.n}'s database server"
        raise CommandFailed(f"cannot ask {where} whether {database} exists: {last_line(result.stderr)}",
                            "is it up (shared mode: `inv dev.infra-up`)? check clone.database in stack.yaml")
    return bool(result.stdout.strip())


def _reset_shared(c: Context, inst: Instance, opts: Options, life: Lifecycle) -> None:
    from multistack.act.shared import provision, teardown

    engines = _engines(c, inst)
    states = _states(c, life, engines, inst)
    was_running = _clear_target(c, life, inst, states.get(inst.n), opts, engines, "reset")
    teardown(c, inst, engines.compose)
    if was_running:
        _start(c, life, inst, opts)  # provisions again, then starts the apps
    else:
        provision(c, inst, engines.compose)
