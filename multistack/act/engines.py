"""Reaching the stack's SSH engines before a command uses them (docs/engines.md, "Over SSH").

An engine whose ``docker_host`` is ``ssh://...`` (or whose docker context's endpoint
is) gets, for this run, the local socket :mod:`multistack.io.ssh` forwards to it
(:attr:`Engine.tunnel`): every docker and compose command built for it afterwards
says ``--host unix://<socket>`` (plan/compose.py), one SSH connection carrying them
all. Only the engines a command needs are opened: ``inv dev 1 start`` on the local
engine never waits for a remote one.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Iterable

from invoke import Context

from multistack.errors import EngineError
from multistack.model.engines import SSH_SCHEME, Engine
from multistack.model.stack import Stack


def reached(c: Context, stack: Stack, names: Iterable[str] | None = None, strict: bool = True) -> Stack:
    """``stack`` with its SSH engines (those in ``names``; None: all) carrying their opened socket.

    ``strict``: an SSH failure is the command's error (one engine was asked for). Otherwise
    (``--all``) it is printed, and the engine is left unopened: its commands then fail as an
    unreachable engine does, and the other engines go on.
    """
    if not stack.engines_declared:
        return stack
    wanted = None if names is None else set(names)
    engines = []
    for engine in stack.engines:
        if wanted is not None and engine.name not in wanted or engine.tunnel:
            engines.append(engine)
            continue
        engines.append(_reach(c, stack, engine, strict))
    return replace(stack, engines=tuple(engines))


#: ``inv dev`` actions that read the plan only (act/info.py): no engine, no SSH connection.
PLAN_ONLY = ("info", "ports", "project-name", "init")


def reached_for(c: Context, stack: Stack, action: str, instance: int | None) -> Stack:
    """The engines an ``inv dev`` action needs: none (:data:`PLAN_ONLY`), instance N's, or every
    one (``--all``, not strict)."""
    if action in PLAN_ONLY or not stack.engines_declared:
        return stack
    if instance is None:
        return reached(c, stack, strict=False)
    return reached(c, stack, [stack.engine_for(instance).name])


def ssh_url(engine: Engine) -> str | None:
    """The engine's ``ssh://`` URL: its ``docker_host``, or its context's endpoint (docker's store, no process)."""
    if engine.ssh:
        return engine.docker_host
    if engine.context is None:
        return None
    from multistack.io.ssh import context_host

    url = context_host(engine.context) or ""
    return url if url.startswith(SSH_SCHEME) else None


def _reach(c: Context, stack: Stack, engine: Engine, strict: bool) -> Engine:
    from multistack.io.ssh import open_tunnel, parse_target

    url = ssh_url(engine)
    if url is None:
        return engine
    try:
        target = parse_target(url, _path(stack, engine.ssh_key), _path(stack, engine.known_hosts))
        return replace(engine, tunnel=open_tunnel(c, target, engine.name))
    except EngineError as exc:
        if strict:
            raise
        print(exc.line(), file=sys.stderr)
        return engine


def _path(stack: Stack, value: str | None) -> str | None:
    """A file named in stack.yaml: ``~`` expanded, relative to the stack's folder."""
    if value is None:
        return None
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else stack.root / path)


def use_system_engine(c: Context, stack: Stack, engine_name: str | None) -> None:
    """A system with ``engine:``: every docker and compose command of this run goes to that engine.

    A system's commands carry no engine flag (its members, network and ``docker ps`` are one
    engine's, whichever docker selects), so the engine is selected the way docker itself reads
    it, by ``DOCKER_HOST`` (an SSH engine: its forwarded socket, opened now) or ``DOCKER_CONTEXT``
    in this process's environment, which every command it runs inherits. ``--dry`` says so.
    """
    import os

    from multistack.errors import StackError
    from multistack.io.shell import for_real

    if engine_name is None:
        return
    if engine_name not in {e.name for e in stack.engines}:
        names = ", ".join(e.name for e in stack.engines)
        raise StackError(f"{stack.path.name}: a system's engine {engine_name!r} is not an engine that holds instances "
                         f"(engines: {names})", "name one of engines:, and give that engine slots")
    engine = next(e for e in reached(c, stack, [engine_name]).engines if e.name == engine_name)
    if engine.local:
        return
    flags = engine.flags()
    key, value = ("DOCKER_CONTEXT", flags[1]) if flags[0] == "--context" else ("DOCKER_HOST", flags[1])
    for_real(c, lambda: None, dry=f"# engine {engine.name}: {key}={value} for the commands below")
    os.environ.pop("DOCKER_HOST" if key == "DOCKER_CONTEXT" else "DOCKER_CONTEXT", None)
    os.environ[key] = value


def systems_rows(c: Context, stack: Stack) -> list[dict[str, str]] | None:
    """The compose containers of every engine a system runs on (the default one, and each
    ``engine:`` of ``systems:``), one ``docker ps`` each; None when one does not answer.

    ``system.list`` counts running members from these: a system on an SSH engine is asked there.
    """
    from multistack.io.shell import probe
    from multistack.io.status import parse_containers
    from multistack.plan.compose import DockerCli

    names = {s.engine for s in stack.systems.values() if s.engine}
    known = {e.name: e for e in reached(c, stack, names, strict=False).engines} if names else {}
    engines = [None, *(known[n] for n in sorted(names) if n in known and not known[n].local)]
    rows: list[dict[str, str]] = []
    for engine in engines:
        result = probe(c, DockerCli.on(engine).ps_all())
        if not result.ok:
            return None
        rows += parse_containers(result.stdout)
    return rows
