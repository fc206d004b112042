"""Keep the shared router in step with the running instances (docs/hostnames.md).

``start``, ``stop`` and ``clean`` of any instance of a stack with ``router:`` end
with :func:`sync_routes`: under the router's lock, the stack's route file gets
(or loses) the instance's hostnames, the router's config is assembled from
every stack's route file and written if it changed, and then the router is
started (first route on the machine), reloaded in place (routes changed) or
stopped (no route left). A stack without ``router:`` never gets here.

The router's port is checked before a start like the instance's own ports
(:func:`check_port`, called from the start's preflight).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Mapping, TextIO

from invoke import Context
from invoke.exceptions import UnexpectedExit

from multistack.errors import CommandFailed, ConflictError
from multistack.io.router import (
    inside, read_text, read_texts, remove, router_home, router_lock, stack_exists, write_if_changed,
)
from multistack.io.shell import for_real, guard, query, run
from multistack.io.tools import Engines, last_line
from multistack.plan.compose import DockerCli
from multistack.plan.hostnames import instance_routes
from multistack.plan.instance import Instance
from multistack.plan.router import (
    COMPOSE_FILE, CONFIG_DIR, CONFIG_FILE, ROUTES_DIR, Assembly, RouteFile, RouterCommands, assemble, compose_text,
    empty_routes, haproxy_config, listen_address, parse_route_file, project_name, route_file_name,
    route_file_text, with_instance,
)


def sync_routes(c: Context, inst: Instance, engines: Engines | None, *, serving: bool,
                out: TextIO | None = None, err: TextIO | None = None) -> None:
    """Give the router instance ``inst``'s hostnames (``serving``) or take them away, then start,
    reload or stop the router as the routes of every stack now need. Nothing without ``router:``."""
    if inst.stack.router is None:
        return
    home, default = router_home()
    routes = instance_routes(inst) if serving else {}
    project = project_name(home, default)
    try:
        with guard(c, lambda: router_lock(home)):
            _converge(c, inst, routes, home, project, engines or Engines(), out, err)
    except UnexpectedExit as exc:  # the instance itself is fine: say so, and what failed
        state = "is running" if serving else "is stopped"
        raise CommandFailed(f"instance {inst.n} {state}, but the router (compose project {project}) failed: "
                            f"{last_line(exc.result.stderr)}",
                            f"see `docker compose -p {project} logs`; the instance's ports answer meanwhile") from None


def _converge(c: Context, inst: Instance, routes: Mapping[str, str], home: Path, project: str, engines: Engines,
              out: TextIO | None, err: TextIO | None) -> None:
    """Assess (every route file, the router's state), then act: write what changed, run what is needed."""
    stack = inst.stack
    mine = route_file_name(stack)
    files, gone = _route_files(home, mine, err)
    for name in gone:  # a removed checkout's routes: nobody is left to take them away
        rel = f"{ROUTES_DIR}/{name}"
        for_real(c, lambda: remove(home, rel), dry=lambda: print(f"would remove {home / rel}", file=out or sys.stdout))
    before = files.get(mine, empty_routes(stack))
    files[mine] = with_instance(before, stack, inst.n, routes)
    _save_routes(c, home, f"{ROUTES_DIR}/{mine}", files[mine], out)
    assembly = assemble(files)
    for clash in assembly.clashes:
        print(f"note: router: hostname claimed by two stacks, the first one kept: {clash}", file=err or sys.stderr)
    # --dry asks no engine: a router is taken to run when its compose file exists (it was started once)
    up = for_real(c, lambda: _running(c, project, engines), dry=lambda: inside(home, COMPOSE_FILE).is_file())
    _follow(c, assembly, bool(up), home, project, engines, out)


def _follow(c: Context, assembly: Assembly, up: bool, home: Path, project: str, engines: Engines,
            out: TextIO | None) -> None:
    """The router follows the routes: stopped when none is left, started or reloaded when they changed."""
    if not assembly.routes:
        if up:
            run(c, RouterCommands.at(project, home / COMPOSE_FILE, _with_compose(c, engines)).down(), hide=True)
            _say(c, "router stopped: no instance of any stack has a hostname now", out)
        return
    config_dir = inside(home, CONFIG_DIR, is_dir=True)
    config_changed = _write(c, home, f"{CONFIG_DIR}/{CONFIG_FILE}", haproxy_config(assembly), out)
    compose_changed = _write(c, home, COMPOSE_FILE, compose_text(project, str(assembly.image), config_dir), out)
    if up and not (compose_changed or config_changed):
        return
    commands = RouterCommands.at(project, home / COMPOSE_FILE, _with_compose(c, engines))
    if not up or compose_changed:
        run(c, commands.up(), hide=True)
        _say(c, f"router started on {', '.join(assembly.listen)} (compose project {project})", out)
    else:
        run(c, commands.reload(), hide=True)
        _say(c, f"router reloaded: {len(assembly.routes)} hostname{'s' if len(assembly.routes) != 1 else ''}", out)


def _say(c: Context, line: str, out: TextIO | None) -> None:
    """What the router did (``--dry`` showed the command instead: nothing was done)."""
    for_real(c, lambda: print(line, file=out or sys.stdout))


def _route_files(home: Path, mine: str, err: TextIO | None) -> tuple[dict[str, RouteFile], list[str]]:
    """Every stack's readable route file by name, and the names of those whose stack file is gone.

    A file that cannot be read (truncated, not JSON, not UTF-8, a link) is left alone with a note;
    this stack's own is then written afresh from its running instances as this command sees them.
    """
    files: dict[str, RouteFile] = {}
    gone = []
    inside(home, ROUTES_DIR, mine)  # this stack's own a link or a folder: refused before anything is said
    texts, unreadable = read_texts(home, ROUTES_DIR)
    damaged = unreadable + [name for name, text in texts.items() if parse_route_file(text) is None]
    for name in sorted(damaged):
        what = ("damaged: this stack's routes are written afresh" if name == mine
                else "not a route file this multistack reads: ignored")
        print(f"note: router: {home / ROUTES_DIR / name} is {what}", file=err or sys.stderr)
    for name, text in texts.items():
        parsed = parse_route_file(text)
        if parsed is None:
            continue
        if name == mine or stack_exists(parsed.stack):
            files[name] = parsed
        else:
            print(f"note: router: {parsed.stack} is gone: its hostnames are dropped", file=err or sys.stderr)
            gone.append(name)
    return files, gone


def _save_routes(c: Context, home: Path, rel: str, routes: RouteFile, out: TextIO | None) -> None:
    """The stack's route file, or none once it routes nothing (``--dry``: what would change)."""
    if routes.instances:
        _write(c, home, rel, route_file_text(routes), out)
    elif inside(home, rel).is_file():
        for_real(c, lambda: remove(home, rel), dry=lambda: print(f"would remove {home / rel}", file=out or sys.stdout))


def _write(c: Context, home: Path, rel: str, text: str, out: TextIO | None) -> bool:
    """Write ``home/rel`` if its text changed; under ``--dry`` say so and write nothing. Whether it changed."""
    def say() -> bool:
        changed = read_text(inside(home, rel)) != text
        if changed:
            print(f"would write {home / rel}", file=out or sys.stdout)
        return changed

    return bool(for_real(c, lambda: write_if_changed(home, rel, text), dry=say))


def _with_compose(c: Context, engines: Engines) -> Engines:
    """The caller's tools, with compose found if it did not look (a start of an unchanged instance
    needs no compose of its own; the router does)."""
    if engines.compose_version:
        return engines
    from multistack.io.tools import detect_compose_and_engine

    return detect_compose_and_engine(c)


def _running(c: Context, project: str, engines: Engines) -> bool:
    """The router's container runs (one ``docker ps`` of its project)."""
    result = query(c, DockerCli.on(None, engines.docker).ps_project(project, "{{.State}}"))
    return result.ok and "running" in result.stdout.split()


def check_port(inst: Instance) -> None:
    """The router's port is free, or held by the router itself (its config binds it): before a start.

    Called where the instance's own ports are checked, so a start that could not get its
    hostnames is refused before anything starts.
    """
    from multistack.io.hostports import taken_ports

    settings = inst.stack.router
    if settings is None:
        return
    home, _ = router_home()
    taken = taken_ports({"router": settings.port}, settings.bind)
    if not taken:
        return
    config = read_text(inside(home, CONFIG_DIR, CONFIG_FILE)) or ""
    holder = taken[0].holder
    if f"    bind {listen_address(settings)}\n" in config and (holder is None or holder.startswith("haproxy")):
        return  # the router answers there already
    raise ConflictError(f"instance {inst.n} cannot start: {taken[0].describe()}",
                        "stop what holds it, or give the router another port (router: {port: N} in "
                        f"{inst.stack.path.name})")
