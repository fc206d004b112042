"""Asking the machine what runs: one ``docker ps`` per engine and one ``pm2 jlist``, raw.

``inv dev status --all``, ``stop --all`` and the claims fold these answers into instance
states (:func:`multistack.act.lifecycle.query_engines`); the dashboard (act/dashboard.py)
also needs, from the very same answers, the mesh's and the systems' containers and the
apps' CPU and memory. Both ask here, so the queries exist once: every instance together,
never one query per instance.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from invoke import Context

from multistack.io import pm2home
from multistack.io.shell import for_real, probe, workers
from multistack.io.status import parse_containers, parse_jlist
from multistack.io.tools import Engines, last_line
from multistack.model.engines import Engine
from multistack.model.stack import Stack
from multistack.plan import pm2
from multistack.plan.compose import DockerCli


@dataclass
class Observed:
    """The raw answers: every container of the asked engines (``parse_containers`` rows, all
    compose projects), every PM2 app (``pm2 jlist`` entries, ``monit`` included), the engines
    that did not answer (name -> their last stderr line) and how many processes it took."""

    containers: list[dict[str, str]]
    processes: list[dict[str, Any]]
    unreachable: dict[str, str]
    engine_calls: int
    pm2_calls: int


def ask_engines(c: Context, engines: Engines, asked: Sequence[Engine], apps: bool) -> Observed:
    """``docker ps -a`` on each of ``asked`` (in parallel), then ``pm2 jlist`` when ``apps`` and a
    PM2 daemon runs (none asked, none spawned without one; ``--dry``: the query is shown)."""
    containers: list[dict[str, str]] = []
    unreachable: dict[str, str] = {}
    for engine, result in _ask_each(c, engines, list(asked)):
        if result.ok:
            containers += parse_containers(result.stdout)
        else:
            unreachable[engine.name] = last_line(result.stderr)
    daemon = apps and pm2_daemon(c)
    processes = _jlist(c, engines) if daemon else []
    return Observed(containers, processes, unreachable, len(asked), 1 if daemon else 0)


def _ask_each(c: Context, engines: Engines, asked: list[Engine]) -> list[tuple[Engine, Any]]:
    """One ``docker ps`` per engine, in parallel threads (``--dry``: one, in a stable order)."""
    def ask(engine: Engine) -> tuple[Engine, Any]:
        return engine, probe(c, DockerCli.on(engine, engines.docker).ps_all())

    threads = workers(c, min(8, len(asked)))
    if threads <= 1:
        return [ask(e) for e in asked]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(ask, asked))


def pm2_daemon(c: Context) -> bool:
    """Whether this PM2_HOME's daemon runs (``--dry``: as if it did, so the query is shown)."""
    return bool(for_real(c, pm2home.daemon_running, dry=lambda: True))


def _jlist(c: Context, engines: Engines) -> list[dict[str, Any]]:
    result = probe(c, pm2.jlist(engines.pm2))
    return parse_jlist(result.stdout) if result.ok else []


def pm2_apps(c: Context, engines: Engines) -> list[dict[str, Any]]:
    """Every app of this PM2_HOME's daemon (``pm2 jlist``); no daemon running: none, and none started
    (``pm2 jlist`` spawns one). ``--dry``: the query is shown."""
    return _jlist(c, engines) if pm2_daemon(c) else []


def namespace_of(stack: Stack) -> Callable[[int], str] | None:
    """The PM2 namespace multistack's own ecosystem gives instance n, which selects its apps (a
    stack's own ecosystem template may set another: then None, and names alone select)."""
    if stack.ecosystem_template is not None:
        return None
    from multistack.plan.namespaces import instance_names

    return lambda n: instance_names(stack, n)[0]
