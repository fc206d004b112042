"""The instance actions behind ``inv dev``: plan with the pure core, then act through ``c.run``.

Read actions (info, ports, project-name, status, logs) take no lock; actions
that change an instance (init, start, stop, restart, clean) hold its lock.
``--all`` discovers instances from ``.instances/`` and from the engine's
project labels, queries the engines once, then works on instances in parallel.
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from typing import Any, Callable, TextIO

from invoke import Context
from invoke.exceptions import UnexpectedExit

from multistack.plan.compose import ComposeProject, DockerCli
from multistack.plan import pm2
from multistack.io import pm2home
from multistack.io.tools import Engines, detect, engine_problem, engine_unreachable
from multistack.errors import CommandFailed, ConflictError, EngineError, StackError
from multistack.act.shared import instance_plan
from multistack.act.networks import check_subnets
from multistack.plan.instance import Instance
from multistack.plan.masking import mask_json, mask_text
from multistack.plan.render import GeneratedFile
from multistack.act.options import DevCommand, Options
from multistack.act.parallel import fan_out, finish
from multistack.act.observe import ask_engines, namespace_of, pm2_apps
from multistack.model.engines import Engine
from multistack.model.names import is_number
from multistack.io.paths import instance_folder, os_failure
from multistack.io.shell import assume_yes, for_real, guard, probe, query, run, start as start_command, workers
from multistack.model.stack import Stack
from multistack.io.status import InstanceState, collect, held_services, parse_jlist, render_state
from multistack.act.options import ACTIONS, ALL_ACTIONS, DEFAULT_ACTION  # noqa: F401  (cli/words.py imports them here)

#: An instance's generated files in memory, by name (multistack.plan.render).
Rendered = dict[str, GeneratedFile]
READ_ACTIONS = ("info", "ports", "project-name", "status", "logs")


def dispatch(c: Context, stack: Stack, command: DevCommand, **options: Any) -> None:
    from multistack.act.engines import reached_for

    opts = Options(**options)
    stack = reached_for(c, stack, command.action, command.instance)  # SSH engines: their one connection, opened now
    if command.all_instances:
        ALL_HANDLERS[command.action](c, stack, opts)
        return
    assert command.instance is not None
    from multistack.act import claims  # this checkout's claim: a first start claims, another's N warns

    command = claims.settle(c, stack, command, opts, lambda: query_engines(
        c, stack, _engines(c, stack, engine=False, compose_cli=False))[0])
    inst = instance_plan(stack, command.instance, opts.mode)
    if command.action in ("init", "start", "restart", "info", "clone"):
        from multistack.plan.namespaces import check_stack

        check_stack(stack)  # every namespace safe and unique before any name is handed out
    handler = HANDLERS[command.action]
    if command.action in READ_ACTIONS:
        handler(c, inst, opts)
        return
    if command.action in ("init", "start", "restart", "clean", "clone", "reset"):
        from multistack.act.generate import own_folder

        own_folder(inst)  # a symlinked or foreign folder is refused before anything is written or run
    with _locked(c, stack, inst.n, command.action):
        handler(c, inst, opts)


# --------------------------------------------------------------------------
# Read actions


# --------------------------------------------------------------------------
# Generation


def init(c: Context, inst: Instance, opts: Options, out: TextIO | None = None, quiet: bool = False,
         files: Rendered | None = None) -> list[str]:
    """Write (or refresh) the instance's folder; under --dry, say what would change.

    ``files``: the instance's files if the caller rendered them already (``start`` does, once).
    An instance whose manifest still matches every source and file is not rendered at all
    (no jinja2): each file is reported ``identical`` from the manifest.
    Returns the names of the files written (``start`` restarts only what they affect).
    """
    from multistack.act.generate import own_folder, tidy

    own_folder(inst)  # a symlinked or foreign folder is refused before anything, --dry too
    if files is None and not opts.force and _unchanged(inst):
        for_real(c, lambda: tidy(inst))  # what a killed run left beside a complete instance
        if not quiet:  # --dry says only what would change: nothing
            for_real(c, lambda: _say_identical(inst, out))
        return []
    return for_real(c, lambda: _write_instance(inst, opts, out, quiet, files),
                    dry=lambda: _say_writes(inst, out, files)) or []


def _say_identical(inst: Instance, out: TextIO | None) -> None:
    from multistack.act.generate import manifest_files

    for name in manifest_files(inst):
        print(f"{'identical':>9}  {inst.dir.name}/{name}", file=out or sys.stdout)


def _unchanged(inst: Instance) -> bool:
    from multistack.act.generate import is_fresh

    return is_fresh(inst)


def _write_instance(inst: Instance, opts: Options, out: TextIO | None, quiet: bool, files: Rendered | None) -> list[str]:
    from multistack.act.generate import generate

    result = generate(inst, force=opts.force, files=files)
    for action in result.actions:
        if not quiet or action.state != "identical":
            print(f"{action.line().replace(action.name, f'{inst.dir.name}/{action.name}', 1)}", file=out or sys.stdout)
    return [a.name for a in result.actions if a.state != "identical"]


def _say_writes(inst: Instance, out: TextIO | None, files: Rendered | None) -> list[str]:
    """What ``init`` would change, written nowhere (``--dry``)."""
    from multistack.io.manifest import read_manifest
    from multistack.act.generate import render_files
    from multistack.plan.render import MANIFEST
    from multistack.io.writer import plan_writes

    previous = read_manifest(inst.dir / MANIFEST)
    actions = plan_writes(inst.dir, files or render_files(inst), previous.files if previous else {})
    for action in actions:
        if action.state != "identical":
            print(f"would {action.state:>7}  {inst.dir.name}/{action.name}", file=out or sys.stdout)
    return [a.name for a in actions if a.state != "identical"]


def ensure_generated(c: Context, inst: Instance, opts: Options, out: TextIO | None = None,
                     files: Rendered | None = None) -> list[str]:
    """Regenerate only if a source or a generated file changed since the manifest was written;
    the names of the files written."""
    from multistack.act.generate import is_fresh

    if not is_fresh(inst):
        return init(c, inst, opts, out=out, quiet=True, files=files)
    return []


# --------------------------------------------------------------------------
# Engine actions


def _engines(c: Context, stack: Stack, engine: bool = True, compose_cli: bool = True,
             inst: Instance | None = None) -> Engines:
    """``engine=False`` where ``query_state``'s ``docker ps`` comes next: it reports an unreachable
    engine the same way, one process fewer. ``compose_cli=False`` for commands that never run compose.
    With ``engines:`` in stack.yaml the engine checked is ``inst``'s, not the default one."""
    check_default = engine and bool(stack.compose_files) and not stack.engines_declared
    found = detect(c, stack.root, need_compose=compose_cli and bool(stack.compose_files), need_pm2=bool(stack.apps),
                   need_engine=check_default)
    if engine and stack.compose_files and stack.engines_declared and inst is not None:
        reason = engine_problem(c, DockerCli.on(inst.engine, found.docker).info())
        if reason is not None:
            raise _unreachable(stack, inst.engine, reason)
    return found


def _checked(inst: Instance) -> dict[str, Any]:
    """``_engines`` arguments that check the instance's engine (none without ``engines:``: the default one)."""
    return {"inst": inst} if inst.stack.engines_declared else {}


def _unreachable(stack: Stack, engine: Engine, reason: str) -> EngineError:
    if not stack.engines_declared:
        return engine_unreachable(reason)
    return EngineError(f"engine {engine.name} unreachable: {reason}",
                       f"start it, or check `{' '.join(DockerCli.on(engine).args('info'))}` (engines.{engine.name} in "
                       f"{stack.path.name})")


def query_engines(c: Context, stack: Stack, engines: Engines, instances: set[int] = frozenset(),
                  on: list[Engine] | None = None) -> tuple[dict[int, InstanceState], dict[str, EngineError]]:
    """One ``docker ps`` per engine (in parallel), one ``pm2 jlist``: every instance together.

    ``on``: the engines to ask (default: all of the stack's). An engine that does not
    answer is returned by name with its error, and the instances placed on it say so
    (``engine_error``); the others are complete. The queries are act/observe.py's, which
    the dashboard asks too.
    """
    asked = (list(on) if on is not None else list(stack.engines)) if stack.compose_files else []
    observed = ask_engines(c, engines, asked, apps=bool(stack.apps))
    by_name = {engine.name: engine for engine in asked}
    unreachable = {name: _unreachable(stack, by_name[name], why) for name, why in observed.unreachable.items()}
    states = collect(stack, observed.containers, observed.processes, instances, namespace_of=namespace_of(stack))
    _annotate(stack, states, unreachable)
    return states, unreachable


def declared_of(stack: Stack) -> Any:
    """``n -> (compose services, PM2 names)`` instance n declares: what ``status`` requires up.

    Compose services are those of the stack's compose files the instance starts (no
    ``profiles:``, or one of ``COMPOSE_PROFILES`` in its compose env files); none in shared mode
    (the infra is not the instance's). The compose files are read once for all instances.
    """
    from multistack.io.compose_files import read_compose_files
    from multistack.io.status import declared_services

    docs = read_compose_files(stack) if stack.compose_files else ()

    def declared(n: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        inst = instance_plan(stack, n)
        services = () if inst.mode == "shared" or not docs else declared_services(docs, _active_profiles(inst))
        return services, tuple(inst.app_names)

    return declared


def _active_profiles(inst: Instance) -> list[str]:
    """``COMPOSE_PROFILES`` of the instance's compose env files (compose reads it from ``--env-file``)."""
    from multistack.plan.envfiles import read_env_values

    profiles: list[str] = []
    for name in inst.stack.compose_env_files:
        try:
            text = (inst.dir / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):  # a hand-broken copy: init reports it when it regenerates
            continue
        value = read_env_values(text).get("COMPOSE_PROFILES")
        if value:
            profiles = [p.strip() for p in value.split(",") if p.strip()]  # a later file wins
    return profiles


def _annotate(stack: Stack, states: dict[int, InstanceState], unreachable: dict[str, EngineError]) -> None:
    """With ``engines:``, each state names its engine, and whether that engine answered."""
    if not stack.engines_declared:
        return
    for n, state in states.items():
        engine = stack.engine_for(n)
        state.engine = engine.name
        if engine.name in unreachable:
            state.engine_error = unreachable[engine.name].message


def query_state(c: Context, stack: Stack, engines: Engines, instances: set[int] = frozenset(),
                on: list[Engine] | None = None) -> dict[int, InstanceState]:
    """:func:`query_engines`, where any engine not answering is an error."""
    states, unreachable = query_engines(c, stack, engines, instances, on)
    if unreachable:
        raise next(iter(unreachable.values()))
    return states


def _only(inst: Instance) -> dict[str, Any]:
    """``query_state`` arguments that ask only the instance's engine (none without ``engines:``)."""
    return {"on": [inst.engine]} if inst.stack.engines_declared else {}


def _project(engines: Engines, inst: Instance, with_files: bool = True) -> ComposeProject:
    """The instance's compose project on its engine (``docker --context big compose -p ...``;
    no engine flag without ``engines:``)."""
    return ComposeProject.for_instance(inst, engines, with_files=with_files)


def preflight_ports(inst: Instance, state: InstanceState | None) -> None:
    """Every host port the instance will publish is free, except those it already holds itself."""
    from multistack.act.router import check_port as check_router_port
    from multistack.io.hostports import taken_ports

    stack = inst.stack
    own = held_services(stack, state)
    if inst.mode == "shared":
        own |= {svc.name for svc in stack.services if svc.compose}  # the shared infra holds them
    engine = inst.engine
    if not engine.local:  # its containers publish on another machine: only the PM2 apps' ports are here
        own |= {svc.name for svc in stack.services if svc.compose}
    wanted = {name: port for name, port in inst.ports.items() if name not in own}
    taken = taken_ports(wanted, stack.host_ip)
    if taken:
        raise ConflictError(f"instance {inst.n} cannot start: " + "; ".join(t.describe() for t in taken),
                            "stop what holds the port, or use another instance number")
    check_router_port(inst)  # router: its own port, unless the router holds it (act/router.py)


#: How long ``wait_for_apps`` waits by default; ``start`` passes what is left of its one bound
#: (compose has ``up --wait``; PM2 has nothing like it).
APP_WAIT_SECONDS = 60.0
#: PM2 states in which an app will not come up by itself.
APP_DEAD = ("errored", "stopped", "stopping")


def app_ports(inst: Instance) -> dict[str, int]:
    """PM2 app name -> the port it serves: the host service named like the app (app and service ``backend``)."""
    hosts = {svc.name for svc in inst.stack.services if not svc.compose}
    return {inst.app_name(app.name): inst.ports[app.name] for app in inst.stack.apps if app.name in hosts}


def wait_for_apps(c: Context, inst: Instance, engines: Engines, timeout: float = APP_WAIT_SECONDS,
                  only: list[str] | None = None) -> None:
    """``pm2 startOrRestart`` returns once the apps are spawned, before they listen: wait until each port answers.

    Without this, ``inv dev N start && curl ...`` races the app. The ports are polled
    in-process; ``pm2 jlist`` is asked (about once a second, only while waiting) whether
    an app died, so that a crashing app fails the start at once, by name.
    """
    from multistack.io.hostports import accepts

    waiting = {name: port for name, port in app_ports(inst).items() if only is None or name in only}
    host = inst.stack.host_ip
    deadline = time.monotonic() + timeout
    next_look = time.monotonic() + 1.0
    while True:
        waiting = {name: port for name, port in waiting.items() if not accepts(port, host)}
        if not waiting:
            return
        now = time.monotonic()
        if now < next_look and now < deadline:
            time.sleep(0.1)
            continue
        next_look = now + 1.0
        result = probe(c, pm2.jlist(engines.pm2))
        apps = {str(p.get("name")): p.get("pm2_env") or {} for p in parse_jlist(result.stdout)} if result.ok else {}
        dead = {name: apps[name] for name in waiting if name in apps and apps[name].get("status") in APP_DEAD}
        if dead or now >= deadline:
            described = "; ".join(
                f"{name} (port {port}): pm2 status {apps.get(name, {}).get('status', 'unknown')}, "
                f"{apps.get(name, {}).get('restart_time', 0)} restarts"
                for name, port in sorted(waiting.items()) if not dead or name in dead)
            reason = "stopped running" if dead else f"did not answer on its port within {timeout:g}s"
            raise CommandFailed(f"instance {inst.n}: PM2 app {reason}: {described}",
                                f"see why in {inst.stack.instances_dir}/{inst.dir.name}/logs (the start is rolled "
                                f"back, so `pm2 logs` has nothing), fix and rerun `inv dev {inst.n} start`")


def start(c: Context, inst: Instance, opts: Options, out: TextIO | None = None, err: TextIO | None = None) -> None:
    """Start the instance within one bound (``--wait-timeout``, else ``start.wait_timeout``).

    A running instance whose files did not change is left alone, recognised from the
    manifest's hashes and the one ``docker ps`` + ``pm2 jlist`` (no render, no doctor);
    changed files restart only what they feed. A start that fails is rolled back.
    """
    from multistack.act.generate import stale_inputs
    from multistack.act.progress import Deadline
    from multistack.act.router import sync_routes
    from multistack.io.compose_files import read_stack_files

    stack = inst.stack
    bound = Deadline(opts.wait_timeout or stack.start.wait_timeout)
    stale = None if opts.mode is not None or opts.force else stale_inputs(inst)
    # query_state's docker ps checks the engine; an unchanged instance may need no compose at all
    engines = _engines(c, stack, engine=False, compose_cli=stale != set())
    state = for_real(c, lambda: query_state(c, stack, engines, **_only(inst)).get(inst.n))
    sources = read_stack_files(stack)  # each compose and env file read once
    declared = _declared_services(sources.compose) if stack.compose_files and inst.mode != "shared" else []
    if stale == set() and state is not None and inst.mode != "shared" and _is_up(inst, state, declared):
        print(f"instance {inst.n} is running and unchanged: left alone", file=out or sys.stdout)
        sync_routes(c, inst, engines, serving=True, out=out, err=err)
        print(_ports_table(inst), file=out or sys.stdout)
        return
    from multistack.act.doctor import create_bind_files, preflight
    from multistack.act.generate import render_files

    if stale == set() and stack.compose_files:
        engines = _engines(c, stack, engine=False)  # not running after all: compose is needed
    files = render_files(inst, sources)  # rendered once: the doctor's checks and the generation share it
    checked = preflight(inst, err=err, rendered=files, sources=sources)  # the fast doctor checks, before anything is written or started
    for_real(c, lambda: _check_ports(inst, state, err))  # before writing: a refused start leaves no folder
    check_subnets(c, inst, sources.compose, engines.docker)  # no subnet of networks: overlaps an engine network
    if opts.mode is not None:
        written = init(c, inst, opts, out=out, quiet=True, files=files)  # --shared/--isolated change the ports in the env files
    else:
        written = ensure_generated(c, inst, opts, out=out, files=files)
    changed = None if stale is None else stale | set(written)  # None: everything may have changed
    shared = inst.mode == "shared"
    if opts.mode is not None:
        from multistack.act.shared import remember_mode

        for_real(c, lambda: remember_mode(inst))  # stop/clean/info then act in this mode, even without the flag
    # else Docker makes each missing file a directory
    for_real(c, lambda: create_bind_files(checked, dry=False, out=out),
             dry=lambda: create_bind_files(checked, dry=True, out=out))
    had_daemon = for_real(c, pm2home.daemon_running, dry=lambda: True) if stack.apps else True
    try:
        _bring_up(c, inst, engines, bound, state, changed, declared, sources, out, err)
    except StackError as exc:
        if shared:
            raise
        done = _roll_back(c, inst, engines, had_daemon)
        raise type(exc)(f"{exc.message}; {done}", exc.hint) from None
    sync_routes(c, inst, engines, serving=True, out=out, err=err)
    print(_ports_table(inst), file=out or sys.stdout)


def _bring_up(c: Context, inst: Instance, engines: Engines, bound: Any, state: InstanceState | None,
              changed: set[str] | None, declared: list[str], sources: Any, out: TextIO | None,
              err: TextIO | None) -> None:
    """Containers, then apps: each only when it is not up or a file it reads changed."""
    stack = inst.stack
    streams = _streams(out, err)
    if inst.mode == "shared":
        from multistack.act.shared import provision

        provision(c, inst, engines.compose, out=out, err=err)  # the infra is shared: no compose up
    elif stack.compose_files:
        if compose_needed(inst, state, declared, changed):
            _compose_up(c, inst, engines, bound.left(), declared, sources, err)
        else:
            print(f"instance {inst.n}: containers running, unchanged", file=out or sys.stdout)
    if stack.apps:
        names = apps_to_start(inst, state, changed)
        if not names:
            print(f"instance {inst.n}: apps online, unchanged", file=out or sys.stdout)
            return
        for_real(c, lambda: (inst.dir / "logs").mkdir(parents=True, exist_ok=True))
        argv = pm2.start(inst, engines.pm2)
        if set(names) != set(inst.app_names):
            argv += ["--only", ",".join(names)]
        _pm2_start(c, argv, out, streams)
        for_real(c, lambda: wait_for_apps(c, inst, engines, timeout=bound.left(), only=names))


def _pm2_start(c: Context, argv: list[str], out: TextIO | None, streams: dict[str, Any]) -> None:
    """``pm2 startOrRestart`` without PM2's table of every app of every instance of every stack
    on stdout (it prints one after each start; issue 13): PM2's stdout is shown only when it
    fails, its stderr always."""
    try:
        run(c, argv, hide="stdout", **streams)
    except UnexpectedExit as exc:
        print(exc.result.stdout or "", end="", file=out or sys.stdout)
        raise


def _declared_services(docs: Any) -> list[str]:
    """The services a plain ``up`` starts: every base service outside a profile."""
    from multistack.model.compose_doc import base_services

    return [name for name, body in base_services(docs).items() if not (body or {}).get("profiles")]


def _service_up(state: InstanceState, service: str) -> bool:
    return any(s.service == service and s.state == "running" and s.health in ("", "healthy")
               for s in state.services)


def _is_up(inst: Instance, state: InstanceState, declared: list[str]) -> bool:
    """Every declared compose service runs (healthy where it has a check), every app is online."""
    online = {a.name for a in state.apps if a.status == "online"}
    return all(_service_up(state, s) for s in declared) and all(name in online for name in inst.app_names)


def _compose_inputs(inst: Instance) -> set[str]:
    from multistack.plan.render import INSTANCE_ENV, OVERRIDE

    stack = inst.stack
    return {OVERRIDE, INSTANCE_ENV, *stack.compose_env_files, *stack.compose_files}


def _pm2_inputs(inst: Instance) -> set[str]:
    from multistack.plan.render import ECOSYSTEM, INSTANCE_ENV

    return {ECOSYSTEM, INSTANCE_ENV, *(name for app in inst.stack.apps for name in app.env_files)}


def compose_needed(inst: Instance, state: InstanceState | None, declared: list[str], changed: set[str] | None) -> bool:
    """``compose up`` is needed unless every declared service is up and no file compose reads changed."""
    if changed is None or state is None or changed & _compose_inputs(inst):
        return True
    return not all(_service_up(state, s) for s in declared)


def apps_to_start(inst: Instance, state: InstanceState | None, changed: set[str] | None) -> list[str]:
    """Every app when a file PM2 reads changed (or nothing is known), else the apps not online."""
    if changed is None or state is None or changed & _pm2_inputs(inst):
        return list(inst.app_names)
    online = {a.name for a in state.apps if a.status == "online"}
    return [name for name in inst.app_names if name not in online]


def _compose_up(c: Context, inst: Instance, engines: Engines, seconds: int, declared: list[str], sources: Any,
                err: TextIO | None) -> None:
    """``up -d --wait --wait-timeout S`` in the background, its progress shown from one ``docker ps`` a tick."""
    from multistack.act.progress import Running, follow, settle
    from multistack.io.progress import view_for
    from multistack.plan.compose import PS_ALL_FORMAT

    project = _project(engines, inst)
    docker = DockerCli.on(inst.engine, engines.docker)
    argv = project.up(wait_timeout=seconds)

    def poll() -> Any:
        return query(c, docker.ps_project(inst.project_name, PS_ALL_FORMAT))

    def wait() -> Any:
        view = view_for(err or sys.stderr, f"instance {inst.n}: waiting up to {seconds}s for {inst.project_name}")
        outcome = follow(Running(lambda: run(c, argv, hide=True, warn=True)), poll, declared, view,
                         project=inst.project_name)
        return settle(outcome, poll, declared, seconds, project=inst.project_name)

    outcome = for_real(c, wait, dry=lambda: run(c, argv) and None)  # --dry: the command, shown
    if outcome is None or outcome.ok:
        return
    raise _up_failure(c, inst, project, outcome, seconds, sources, err)


def _up_failure(c: Context, inst: Instance, project: ComposeProject, outcome: Any, seconds: int, sources: Any,
                err: TextIO | None) -> CommandFailed:
    """What went wrong, by name: the image that could not be got, or the services that did not
    come up, with their last log lines (printed here: the rollback removes the containers)."""
    from multistack.act.progress import pull_failures, pull_hint
    from multistack.model.compose_doc import base_services

    result = outcome.result
    text = f"{result.stdout or ''}\n{result.stderr or ''}"
    images = {name: str(body.get("image")) for name, body in base_services(sources.compose).items()
              if isinstance(body, dict) and body.get("image")}
    pulls = pull_failures(text, images)
    if pulls:
        return CommandFailed(f"instance {inst.n}: " + "; ".join(p.describe() for p in pulls), pull_hint(pulls))
    blocked = outcome.blocking(inst.project_name)
    last = ([line.strip() for line in text.splitlines() if line.strip()] or [""])[-1]
    if blocked:
        logs = probe(c, project.logs(tail=20, services=blocked))
        print(f"last log lines of {', '.join(blocked)}:\n{(logs.stdout or '').rstrip() or '  (none)'}",
              file=err or sys.stderr)
        late = outcome.seconds >= seconds - 0.5
        why = f"within {seconds}s" if late else f"({last})" if last else ""
        return CommandFailed(f"instance {inst.n}: service{'s' if len(blocked) > 1 else ''} {', '.join(blocked)} "
                             f"did not become healthy {why}".rstrip(),
                             f"their last log lines are above; fix and rerun `inv dev {inst.n} start`"
                             + ("" if not late else ", or give it longer with --wait-timeout"))
    return CommandFailed(f"instance {inst.n}: `docker compose up --wait` failed (exit {result.exited})"
                         + (f": {last}" if last else ""), f"fix and rerun `inv dev {inst.n} start`")


def _ports_table(inst: Instance) -> str:
    from multistack.act.info import ports_table

    return ports_table(inst)


def _roll_back(c: Context, inst: Instance, engines: Engines, had_daemon: bool) -> str:
    """Undo a failed start: its containers (volumes kept), exactly its apps, a daemon it spawned.
    The generated files stay, to read and to fix. Returns what to tell the user."""
    stack = inst.stack
    done = []
    if stack.compose_files:
        run(c, _down(inst, engines, volumes=False), hide=True, warn=True)
        done.append("containers removed")
    if stack.apps:
            # No daemon now: no app was started, and any pm2 command would spawn one.
        if for_real(c, pm2home.daemon_running, dry=lambda: True):
            run(c, pm2.delete_names(inst.app_names, engines.pm2), hide=True, warn=True)
            done.append("apps deleted")
            if not had_daemon:
                run(c, [*engines.pm2, "kill"], hide=True, warn=True)  # none ran before this start
                done.append("PM2 daemon stopped")
    return f"rolled back: {', '.join(done) or 'nothing to undo'}; files kept in {stack.instances_dir}/{inst.dir.name}"


def _check_ports(inst: Instance, state: InstanceState | None, err: TextIO | None) -> None:
    """The instance's host ports are free (the engine said which it holds already: ``state``)."""
    stack = inst.stack
    preflight_ports(inst, state)
    if stack.compose_files and not inst.engine.local:
        print(f"note: the container ports of instance {inst.n} are on engine {inst.engine.name}, "
              "not checked here (compose says if one is taken)", file=err or sys.stderr)


def stop(c: Context, inst: Instance, opts: Options, out: TextIO | None = None, err: TextIO | None = None,
         engines: Engines | None = None, present_apps: list[str] | None = None) -> None:
    """Stop PM2 apps, then ``compose down`` keeping volumes."""
    stack = inst.stack
    engines = engines or _engines(c, stack, **_checked(inst))
    streams = _streams(out, err)
    _on_present_apps(c, inst, engines, present_apps, pm2.stop_names, streams)
    if stack.compose_files and inst.mode == "shared":
        print(f"instance {inst.n} is in shared mode: the shared infra keeps running (inv dev.infra-down)",
              file=out or sys.stdout)
    elif stack.compose_files:
        run(c, _down(inst, engines, volumes=False), **streams)
    from multistack.act.router import sync_routes

    sync_routes(c, inst, engines, serving=False, out=out, err=err)


def _on_present_apps(c: Context, inst: Instance, engines: Engines, present: list[str] | None,
                     argv: Callable[..., list[str]], streams: dict[str, Any]) -> None:
    """Run ``argv`` (pm2 stop or delete by exact names) on the instance's apps PM2 has, if any.

    ``present``: the caller's answer for them (``--all`` asks PM2 once for every instance).
    """
    if not inst.stack.apps:
        return
    names = _present_apps(c, inst, engines) if present is None else present
    if names:
        run(c, argv(names, engines.pm2), **streams)


def _present_apps(c: Context, inst: Instance, engines: Engines) -> list[str]:
    """The instance's apps PM2 knows (``--dry``: all of them, as if they were there)."""
    return for_real(c, lambda: _known_apps(c, inst, engines), dry=lambda: inst.app_names) or []


def _known_apps(c: Context, inst: Instance, engines: Engines) -> list[str]:
    """The instance's own apps PM2 has: its exact names (in its namespace), nothing of another stack."""
    states = collect(inst.stack, [], pm2_apps(c, engines), namespace_of=namespace_of(inst.stack))
    names = {a.name for a in states[inst.n].apps} if inst.n in states else set()
    return [name for name in inst.app_names if name in names]


def _down(inst: Instance, engines: Engines, volumes: bool) -> list[str]:
    """Down with the instance's files where they exist, else by project name alone (labels)."""
    from multistack.plan.render import OVERRIDE

    return _project(engines, inst, with_files=(inst.dir / OVERRIDE).is_file()).down(volumes=volumes)


def restart(c: Context, inst: Instance, opts: Options) -> None:
    engines = _engines(c, inst.stack, **_checked(inst))
    stop(c, inst, opts, engines=engines)
    start(c, inst, opts)


def status(c: Context, inst: Instance, opts: Options) -> None:
    engines = _engines(c, inst.stack, engine=False, compose_cli=False)
    for_real(c, lambda: _print_status(c, inst, engines, opts),
             dry=lambda: query_state(c, inst.stack, engines) and None)  # --dry: the queries, shown


def _print_status(c: Context, inst: Instance, engines: Engines, opts: Options) -> None:
    state = query_state(c, inst.stack, engines, {inst.n}, **_only(inst))[inst.n]
    _declare(inst.stack, {inst.n: state})
    print(json.dumps(mask_json([state.to_json()]), indent=2) if opts.json else mask_text(render_state(state)))
    _exit_unless_healthy([state])


def _declare(stack: Stack, states: dict[int, InstanceState]) -> None:
    """Tell each state what its instance declares, so a missing service or app makes it degraded."""
    declared = declared_of(stack)
    for n, state in states.items():
        state.declared_services, state.declared_apps = declared(n)


def _exit_unless_healthy(states: list[InstanceState]) -> None:
    """``status`` exits 6 (EXIT_NOT_HEALTHY) when an instance is degraded or down, after its report."""
    from multistack.errors import NotHealthy
    from multistack.io.status import UNKNOWN, not_healthy

    judged = [s for s in states if s.condition != UNKNOWN]  # unknown: the engine error says it (exit 3)
    bad = not_healthy(judged)
    if bad:
        n = str(judged[0].instance) if len(judged) == 1 else "N"
        raise NotHealthy("; ".join(bad), f"start it with `inv dev {n} start`; see why with `inv dev {n} logs`")


def logs(c: Context, inst: Instance, opts: Options, out: TextIO | None = None, err: TextIO | None = None) -> None:
    stack = inst.stack
    engines = _engines(c, stack, engine=False)
    streams = _streams(out, err)
    # `pm2 logs` spawns a daemon just to show nothing when none runs: then no app has logs to show.
    apps = bool(stack.apps) and for_real(c, pm2home.daemon_running, dry=lambda: True)
    if stack.apps and not apps:
        print(f"instance {inst.n}: no PM2 daemon running, so no app logs", file=err or sys.stderr)
    background = None
    if stack.compose_files:
        argv = _project(engines, inst).logs(follow=opts.follow, tail=opts.tail)
        if opts.follow and apps:
            background = start_command(c, argv, warn=True, **streams)
        else:
            run(c, argv, warn=True, **streams)
    if apps:
        try:
            run(c, pm2.logs(inst, engines.pm2, follow=opts.follow, tail=opts.tail), warn=True, **streams)
        finally:
            if background is not None:
                background.stop()


def _streams(out: TextIO | None, err: TextIO | None) -> dict[str, Any]:
    """Explicit streams (the [N] prefixes of --all), else invoke's own (sys.stdout at call time).

    With explicit streams the command may run beside others (``fan_out``): it gets no stdin,
    else each of invoke's runners would read the terminal and switch it to character mode
    and back, concurrently, and could leave it that way.
    """
    streams: dict[str, Any] = {}
    if out is not None:
        streams["out_stream"] = out
    if err is not None:
        streams["err_stream"] = err
    if streams:
        streams["in_stream"] = False
    return streams


def confirm(question: str, yes: bool, what: str = "this") -> None:
    """Ask on a terminal; refuse without --yes when nobody can answer."""
    if yes:
        return
    if sys.stdin is None or sys.stdin.closed or not sys.stdin.isatty():  # closed (<&-), a pipe, a file
        raise StackError(f"{what} needs confirmation and stdin is not a terminal", "rerun with --yes")
    try:
        answer = input(f"{question} [y/N] ").strip().lower()
    except EOFError:  # Ctrl-D: no answer is a no
        print(file=sys.stderr)
        raise StackError("cancelled (no answer)", "rerun with --yes to skip the question") from None
    if answer not in ("y", "yes"):
        raise StackError("cancelled", "rerun with --yes to skip the question")


def clean(c: Context, inst: Instance, opts: Options, out: TextIO | None = None, err: TextIO | None = None,
          engines: Engines | None = None, present_apps: list[str] | None = None, confirmed: bool = False) -> None:
    """Down with volumes, delete the PM2 apps, remove the folder: this instance only.

    In shared mode the infra stays: the ``provision:`` teardown removes this
    instance's part of it (after its apps, which may hold connections).
    """
    stack = inst.stack
    shared = inst.mode == "shared"
    instance_folder(stack, inst.n, project=inst.project_name)  # real and ours, before anything runs
    if not confirmed:
        what = (f"its PM2 apps, its provisioned state in the shared infra (namespace {inst.namespace}, "
                f"database {inst.database})" if shared else "its containers, volumes, PM2 apps")
        confirm(f"Remove instance {inst.n} ({inst.project_name}): {what} and {inst.dir}?",
                assume_yes(c, opts.yes), what=f"clean of instance {inst.n}")
    engines = engines or _engines(c, stack, **_checked(inst))
    streams = _streams(out, err)
    _on_present_apps(c, inst, engines, present_apps, pm2.delete_names, streams)
    if shared:
        from multistack.act.shared import teardown

        teardown(c, inst, engines.compose, out=out, err=err)
    elif stack.compose_files:
        run(c, _down(inst, engines, volumes=True), **streams)
        if not (inst.dir / "docker-compose.override.yml").is_file():
            _remove_labelled_volumes(c, inst, engines, streams)
    for_real(c, lambda: _remove_folder(inst, out), dry=lambda: print(f"would remove {inst.dir}", file=out or sys.stdout))
    from multistack.act.router import sync_routes

    sync_routes(c, inst, engines, serving=False, out=out, err=err)


def _remove_folder(inst: Instance, out: TextIO | None) -> None:
    folder = instance_folder(inst.stack, inst.n, project=inst.project_name)  # checked again: the folder itself
    if folder.is_dir():
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            raise os_failure(exc, folder, "remove") from None
        print(f"removed {inst.dir}", file=out or sys.stdout)


def _remove_labelled_volumes(c: Context, inst: Instance, engines: Engines, streams: dict[str, Any]) -> None:
    """Without its compose files, ``down -v`` cannot know the volumes; the labels still do.

    ``--dry`` asks nothing: there are no volumes to name yet."""
    docker = DockerCli.on(inst.engine, engines.docker)
    result = query(c, docker.volumes_of(inst.project_name))
    names = result.stdout.split() if result.ok else []
    if names:
        run(c, docker.volume_rm(names), **streams)


def _info(c: Context, inst: Instance, opts: Options) -> None:
    from multistack.act import info

    info.info(c, inst, opts)


def _ports(c: Context, inst: Instance, opts: Options) -> None:
    from multistack.act import info

    info.ports(c, inst, opts)


def _project_name(c: Context, inst: Instance, opts: Options) -> None:
    from multistack.act import info

    info.project_name(c, inst, opts)


def _clone(c: Context, inst: Instance, opts: Options) -> None:
    from multistack.act import clone

    clone.clone(c, inst, opts, clone.Lifecycle(query_state, stop, start, ensure_generated))


def _reset(c: Context, inst: Instance, opts: Options) -> None:
    from multistack.act import clone

    clone.reset(c, inst, opts, clone.Lifecycle(query_state, stop, start, ensure_generated))


HANDLERS = {
    "init": init, "start": start, "stop": stop, "restart": restart, "status": status, "logs": logs,
    "clean": clean, "info": _info, "ports": _ports, "project-name": _project_name,
    "clone": _clone, "reset": _reset,
}


# --------------------------------------------------------------------------
# --all


def existing_instances(stack: Stack, states: dict[int, InstanceState], volumes: set[int] = frozenset()) -> list[int]:
    """Instances with a folder, containers, PM2 apps or volumes."""
    found = set(states) | set(volumes)
    folder = stack.root / stack.instances_dir
    if folder.is_dir():
        for child in folder.iterdir():
            if child.is_dir() and child.name.startswith("instance-") and is_number(child.name[9:]):
                found.add(int(child.name[9:]))
    return sorted(found)


def _volume_instances(c: Context, stack: Stack, engines: Engines) -> set[int]:
    from multistack.io.status import instance_of_project

    if not stack.compose_files:
        return set()
    lines: list[str] = []
    for engine in stack.engines:  # --dry: not asked, no volumes yet
        result = query(c, DockerCli.on(engine, engines.docker).volumes_all())
        lines += result.stdout.splitlines() if result.ok else []
    found = set()
    for line in lines:
        project = line.split(" ", 1)[0].strip('"')
        n = instance_of_project(stack, project)
        if n is not None:
            found.add(n)
    return found


def _locked(c: Context, stack: Stack, n: int, action: str) -> Any:
    """The instance's lock, except under --dry (which must not write anything)."""
    from multistack.io.locks import instance_lock

    return guard(c, lambda: instance_lock(stack, n, action))


def _query_all(c: Context, stack: Stack, engines: Engines, say: bool = True
               ) -> tuple[dict[int, InstanceState], dict[str, EngineError]]:
    """Every engine's containers; with ``engines:`` an unreachable one is said on stderr and
    returned (its instances fail, the others go on), without it the one engine is an error."""
    states, unreachable = query_engines(c, stack, engines)
    if unreachable and not stack.engines_declared:
        raise next(iter(unreachable.values()))
    for error in unreachable.values() if say else ():
        print(mask_text(error.line()), file=sys.stderr)
    return states, unreachable


def stop_all(c: Context, stack: Stack, opts: Options) -> None:
    engines = _engines(c, stack, engine=False)
    states, unreachable = for_real(c, lambda: _query_all(c, stack, engines), dry=lambda: ({}, {})) or ({}, {})
    instances = existing_instances(stack, states)
    apps = for_real(c, lambda: [a.name for s in states.values() for a in s.apps if a.status == "online"],
                    dry=lambda: [name for n in instances for name in instance_plan(stack, n).app_names]) or []
    if apps:
        run(c, pm2.stop_names(apps, engines.pm2), hide="stdout")

    def job(n: int, out: TextIO, err: TextIO) -> None:
        inst = instance_plan(stack, n)
        if inst.engine.name in unreachable:  # its apps are stopped (above); its containers cannot be
            raise unreachable[inst.engine.name]
        with _locked(c, stack, n, "stop --all"):
            stop(c, inst, opts, out, err, engines=engines, present_apps=[])

    finish("stop", fan_out(instances, job, max_workers=workers(c, 8)))


def status_all(c: Context, stack: Stack, opts: Options) -> None:
    engines = _engines(c, stack, engine=False, compose_cli=False)  # two processes: docker ps, pm2 jlist
    for_real(c, lambda: _print_status_all(c, stack, engines, opts),
             dry=lambda: query_state(c, stack, engines) and None)  # --dry: the queries, shown


def _print_status_all(c: Context, stack: Stack, engines: Engines, opts: Options) -> None:
    states, unreachable = _query_all(c, stack, engines, say=False)  # said once, at the end
    instances = existing_instances(stack, states)
    full = collect(stack, [], [], set(instances))
    _annotate(stack, full, unreachable)
    full.update(states)
    _declare(stack, full)
    ordered = [full[n] for n in sorted(full)]
    if opts.json:
        print(json.dumps(mask_json([s.to_json() for s in ordered]), indent=2))
    else:
        print(mask_text("\n\n".join(render_state(s) for s in ordered)) if ordered else "no instances")
    if unreachable:  # after the answers of the others; exit 3
        errors = list(unreachable.values())
        raise EngineError("; ".join(e.message for e in errors), errors[0].hint)
    _exit_unless_healthy(ordered)


def logs_all(c: Context, stack: Stack, opts: Options) -> None:
    engines = _engines(c, stack, engine=False)
    states = for_real(c, lambda: query_state(c, stack, engines), dry=dict) or {}
    instances = existing_instances(stack, states)

    def job(n: int, out: TextIO, err: TextIO) -> None:
        logs(c, instance_plan(stack, n), opts, out, err)

    finish("logs", fan_out(instances, job, max_workers=workers(c, 8)))


def clean_all(c: Context, stack: Stack, opts: Options) -> None:
    engines = _engines(c, stack, engine=False)
    states = for_real(c, lambda: query_state(c, stack, engines), dry=dict) or {}
    instances = existing_instances(stack, states, _volume_instances(c, stack, engines))
    if not instances:
        print("no instances to clean")
        return
    for n in instances:  # every folder real and its own before anything is asked or run
        instance_folder(stack, n, project=instance_plan(stack, n).project_name)
    confirm(f"Remove instances {', '.join(map(str, instances))}: containers, volumes, PM2 apps and folders?",
            assume_yes(c, opts.yes), what="clean --all")

    def job(n: int, out: TextIO, err: TextIO) -> None:
        present = for_real(c, lambda: [a.name for a in states[n].apps] if n in states else [],
                           dry=lambda: instance_plan(stack, n).app_names) or []
        with _locked(c, stack, n, "clean --all"):
            clean(c, instance_plan(stack, n), opts, out, err, engines=engines, present_apps=present, confirmed=True)

    finish("clean", fan_out(instances, job, max_workers=workers(c, 8)))


ALL_HANDLERS = {"stop": stop_all, "status": status_all, "logs": logs_all, "clean": clean_all}
