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
from dataclasses import dataclass
from typing import Any, TextIO

from invoke import Context
from invoke.exceptions import UnexpectedExit

from multistack.plan import compose
from multistack.plan import pm2
from multistack.cli.words import DevCommand
from multistack.io.tools import Engines, detect
from multistack.errors import CommandFailed, ConflictError, EngineError, StackError
from multistack.plan.instance import Instance, plan_instance
from multistack.act.parallel import fan_out, summary
from multistack.model.engines import Engine, compose_argv, docker_argv, engine_for, placed, stack_engines
from multistack.io.shell import is_dry, probe, run
from multistack.model.stack import Stack
from multistack.io.status import InstanceState, collect, parse_containers, parse_jlist, render_state

READ_ACTIONS = ("info", "ports", "project-name", "status", "logs")


@dataclass
class Options:
    json: bool = False
    force: bool = False
    yes: bool = False
    follow: bool = False
    tail: int | None = None
    mode: str | None = None  # --shared / --isolated (multistack.provision)


def dispatch(c: Context, stack: Stack, command: DevCommand, **options: Any) -> None:
    opts = Options(**options)
    if command.all_instances:
        ALL_HANDLERS[command.action](c, stack, opts)
        return
    assert command.instance is not None
    inst = plan_instance(stack, command.instance, mode=opts.mode)
    if command.action in ("init", "start", "restart", "info"):
        from multistack.model.namespaces import check_stack

        check_stack(stack)  # every namespace safe and unique before any name is handed out
    handler = HANDLERS[command.action]
    if command.action in READ_ACTIONS:
        handler(c, inst, opts)
        return
    with _locked(c, stack, inst.n, command.action):
        handler(c, inst, opts)


# --------------------------------------------------------------------------
# Read actions


def ports(c: Context, inst: Instance, opts: Options) -> None:
    if opts.json:
        print(json.dumps(inst.ports, indent=2))
        return
    print(ports_table(inst))


def ports_table(inst: Instance) -> str:
    from multistack.io.tables import table

    rows = []
    for svc in inst.stack.services:
        port = inst.ports[svc.name]
        where = f"compose {svc.compose}:{svc.container_port}" if svc.compose else "host (pm2)"
        url = service_url(inst, svc.name)
        if url is None and placed(inst.stack):  # say where it is reached: another engine's host, maybe
            url = f"{_host_of(inst, svc.name)}:{port}"
        rows.append([svc.name, port, where, url or ""])
    title = f"instance {inst.n} ({inst.project_name})"
    if placed(inst.stack):
        title += f" on engine {inst.engine.describe()}"
    return table(["service", "port", "runs in", "url"], rows, title=title)


def _host_of(inst: Instance, name: str) -> str:
    """Containers are reached on their engine's host; PM2 apps always run here."""
    return inst.engine.host if inst.stack.service(name).compose else "localhost"


def service_url(inst: Instance, name: str) -> str | None:
    svc = inst.stack.service(name)
    if not svc.url:
        return None
    if "{" not in svc.url:
        return svc.url
    from multistack.plan.templating import render_string

    return render_string(svc.url, {**inst.variables(), "port": inst.ports[name], "host": _host_of(inst, name)},
                         where=f"{inst.stack.path.name}: services.{name}.url")


def info_data(inst: Instance) -> dict[str, Any]:
    from multistack.model.namespaces import derived_names

    data: dict[str, Any] = {
        "instance": inst.n,
        "project_name": inst.project_name,
        "namespace": inst.namespace,
        "mode": inst.mode,
        "dir": str(inst.dir),
        "initialised": (inst.dir / "instance.json").is_file(),
        "ports": inst.ports,
        "apps": inst.app_names,
        "names": derived_names(inst),
    }
    if placed(inst.stack):
        data["engine"] = inst.engine.to_json()
    return data


def info(c: Context, inst: Instance, opts: Options) -> None:
    data = info_data(inst)
    if opts.json:
        print(json.dumps(data, indent=2))
        return
    from multistack.io.tables import table

    rows = [[key, value] for key, value in (
        ("instance", inst.n), ("compose project", inst.project_name), ("namespace", inst.namespace),
        ("folder", data["dir"] + ("" if data["initialised"] else " (not generated yet: inv dev N init)")),
        ("pm2 apps", ", ".join(inst.app_names) or "-"),
        ("mode", inst.mode + (f" (infra: compose project {inst.stack.project}-shared)" if inst.mode == "shared" else "")),
    )]
    if placed(inst.stack):
        rows.append(["engine", inst.engine.describe()])
    print(table(["what", "value"], rows, title=f"instance {inst.n}"))
    print()
    from multistack.model.namespaces import names_rows

    print(table(["used by", "template name", "value"], names_rows(inst),
                title=f"names of instance {inst.n} (namespace {inst.namespace})"))
    print()
    print(ports_table(inst))


def project_name(c: Context, inst: Instance, opts: Options) -> None:
    print(inst.project_name)


# --------------------------------------------------------------------------
# Generation


def init(c: Context, inst: Instance, opts: Options, out: TextIO | None = None, quiet: bool = False) -> None:
    """Write (or refresh) the instance's folder; under --dry, say what would change."""
    from multistack.act.generate import generate

    if is_dry(c):
        from multistack.io.manifest import read_manifest
        from multistack.plan.render import MANIFEST, render_instance
        from multistack.io.writer import plan_writes

        previous = read_manifest(inst.dir / MANIFEST)
        actions = plan_writes(inst.dir, render_instance(inst), previous.files if previous else {})
        for action in actions:
            if action.state != "identical":
                print(f"would {action.state:>7}  {inst.dir.name}/{action.name}", file=out or sys.stdout)
        return
    result = generate(inst, force=opts.force)
    for action in result.actions:
        if not quiet or action.state != "identical":
            print(f"{action.line().replace(action.name, f'{inst.dir.name}/{action.name}', 1)}", file=out or sys.stdout)


def ensure_generated(c: Context, inst: Instance, opts: Options, out: TextIO | None = None) -> None:
    """Regenerate only if a source or a generated file changed since the manifest was written."""
    from multistack.act.generate import is_fresh

    if not is_fresh(inst):
        init(c, inst, opts, out=out, quiet=True)


# --------------------------------------------------------------------------
# Engine actions


def _engines(c: Context, stack: Stack, engine: bool = True, compose_cli: bool = True,
             inst: Instance | None = None) -> Engines:
    """``engine=False`` where ``query_state``'s ``docker ps`` comes next: it reports an unreachable
    engine the same way, one process fewer. ``compose_cli=False`` for commands that never run compose.
    With ``engines:`` in stack.yaml the engine checked is ``inst``'s, not the default one."""
    check_default = engine and bool(stack.compose_files) and not placed(stack)
    found = detect(c, stack.root, need_compose=compose_cli and bool(stack.compose_files), need_pm2=bool(stack.apps),
                   need_engine=check_default)
    if engine and stack.compose_files and placed(stack) and inst is not None and not is_dry(c):
        result = probe(c, [*docker_argv(inst.engine, found.docker), "info", "--format", "{{.ServerVersion}}"])
        if not result.ok or not result.stdout.strip():
            raise _unreachable(stack, inst.engine, _last_line(result.stderr))
    return found


def _checked(inst: Instance) -> dict[str, Any]:
    """``_engines`` arguments that check the instance's engine (none without ``engines:``: the default one)."""
    return {"inst": inst} if placed(inst.stack) else {}


def _last_line(text: str) -> str:
    return (text.strip().splitlines() or ["no answer"])[-1]


def _unreachable(stack: Stack, engine: Engine, reason: str) -> EngineError:
    if not placed(stack):
        return EngineError(f"Docker engine not reachable: {reason}",
                           "start dockerd (scripts/setup-engines.sh) or set DOCKER_HOST")
    return EngineError(f"engine {engine.name} unreachable: {reason}",
                       f"start it, or check `{' '.join(docker_argv(engine))} info` (engines.{engine.name} in "
                       f"{stack.path.name})")


def query_engines(c: Context, stack: Stack, engines: Engines, instances: set[int] = frozenset(),
                  on: list[Engine] | None = None) -> tuple[dict[int, InstanceState], dict[str, EngineError]]:
    """One ``docker ps`` per engine (in parallel), one ``pm2 jlist``: every instance together.

    ``on``: the engines to ask (default: all of the stack's). An engine that does not
    answer is returned by name with its error, and the instances placed on it say so
    (``engine_error``); the others are complete.
    """
    from concurrent.futures import ThreadPoolExecutor

    containers: list[dict[str, str]] = []
    processes: list[dict[str, Any]] = []
    unreachable: dict[str, EngineError] = {}
    if stack.compose_files:
        asked = list(on) if on is not None else list(stack_engines(stack))

        def ask(engine: Engine) -> tuple[Engine, Any]:
            return engine, probe(c, compose.ps_all(docker_argv(engine, engines.docker)))

        if len(asked) <= 1 or is_dry(c):  # --dry: the commands in a stable order
            answers = [ask(e) for e in asked]
        else:
            with ThreadPoolExecutor(max_workers=min(8, len(asked))) as pool:
                answers = list(pool.map(ask, asked))
        for engine, result in answers:
            if result.ok:
                containers += parse_containers(result.stdout)
            else:
                unreachable[engine.name] = _unreachable(stack, engine, _last_line(result.stderr))
    if stack.apps:
        result = probe(c, pm2.jlist(engines.pm2))
        processes = parse_jlist(result.stdout) if result.ok else []
    states = collect(stack, containers, processes, instances)
    _annotate(stack, states, unreachable)
    return states, unreachable


def _annotate(stack: Stack, states: dict[int, InstanceState], unreachable: dict[str, EngineError]) -> None:
    """With ``engines:``, each state names its engine, and whether that engine answered."""
    if not placed(stack):
        return
    for n, state in states.items():
        engine = engine_for(stack, n)
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
    return {"on": [inst.engine]} if placed(inst.stack) else {}


def _compose(engines: Engines, inst: Instance) -> tuple[str, ...]:
    """The compose command on the instance's engine (``docker --context big compose``; unchanged without ``engines:``)."""
    return compose_argv(inst.engine, engines.compose)


def preflight_ports(inst: Instance, state: InstanceState | None) -> None:
    """Every host port the instance will publish is free, except those it already holds itself."""
    from multistack.io.hostports import taken_ports

    stack = inst.stack
    own: set[str] = set()
    if state:
        running = {s.service for s in state.services if s.state == "running"}
        own |= {svc.name for svc in stack.services if svc.compose in running}
        if any(a.status == "online" for a in state.apps):
            own |= {svc.name for svc in stack.services if not svc.compose}
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


#: How long ``start`` waits for a PM2 app's port to answer (compose has ``up --wait``; PM2 has nothing like it).
APP_WAIT_SECONDS = 60.0
#: PM2 states in which an app will not come up by itself.
APP_DEAD = ("errored", "stopped", "stopping")


def app_ports(inst: Instance) -> dict[str, int]:
    """PM2 app name -> the port it serves: the host service named like the app (app and service ``backend``)."""
    hosts = {svc.name for svc in inst.stack.services if not svc.compose}
    return {inst.app_name(app.name): inst.ports[app.name] for app in inst.stack.apps if app.name in hosts}


def wait_for_apps(c: Context, inst: Instance, engines: Engines, timeout: float = APP_WAIT_SECONDS) -> None:
    """``pm2 startOrRestart`` returns once the apps are spawned, before they listen: wait until each port answers.

    Without this, ``inv dev N start && curl ...`` races the app. The ports are polled
    in-process; ``pm2 jlist`` is asked (about once a second, only while waiting) whether
    an app died, so that a crashing app fails the start at once, by name.
    """
    from multistack.io.hostports import accepts

    waiting = app_ports(inst)
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
                                f"see why with `inv dev {inst.n} logs`; stop the instance with `inv dev {inst.n} stop`")


def start(c: Context, inst: Instance, opts: Options, out: TextIO | None = None, err: TextIO | None = None) -> None:
    stack = inst.stack
    engines = _engines(c, stack, engine=False)  # query_state's docker ps checks the engine
    from multistack.act.doctor import create_bind_files, preflight

    checked = preflight(inst, err=err)  # the fast doctor checks, before anything is written or started
    if not is_dry(c):  # before writing anything: a refused start leaves no folder behind
        state = query_state(c, stack, engines, **_only(inst)).get(inst.n)
        preflight_ports(inst, state)
        if stack.compose_files and not inst.engine.local:
            print(f"note: the container ports of instance {inst.n} are on engine {inst.engine.name}, "
                  "not checked here (compose says if one is taken)", file=err or sys.stderr)
    if opts.mode is not None:
        init(c, inst, opts, out=out, quiet=True)  # --shared/--isolated change the ports in the env files
    else:
        ensure_generated(c, inst, opts, out=out)
    shared = inst.mode == "shared"
    if opts.mode is not None and not is_dry(c):
        from multistack.act.shared import remember_mode

        remember_mode(inst)  # stop/clean/info then act in this mode, even without the flag
    create_bind_files(checked, dry=is_dry(c), out=out)  # else Docker makes each missing file a directory
    streams = _streams(out, err)
    if shared:
        from multistack.act.shared import provision

        provision(c, inst, engines.compose, out=out, err=err)  # the infra is shared: no compose up
    elif stack.compose_files:
        try:
            run(c, compose.up(inst, _compose(engines, inst)), **streams)
        except UnexpectedExit as exc:
            # Compose's last line names what blocked: "container <project>-web-1 is unhealthy".
            last = ([line.strip() for line in (exc.result.stderr or "").splitlines() if line.strip()] or [""])[-1]
            raise CommandFailed(f"instance {inst.n}: `docker compose up --wait` failed (exit {exc.result.exited})"
                                + (f": {last}" if last else "; see its output above"),
                                f"inspect with `inv dev {inst.n} logs`, take it down with `inv dev {inst.n} stop`") from None
    if stack.apps:
        if not is_dry(c):
            (inst.dir / "logs").mkdir(parents=True, exist_ok=True)
        run(c, pm2.start(inst, engines.pm2), **streams)
        if not is_dry(c):
            wait_for_apps(c, inst, engines)
    print(ports_table(inst), file=out or sys.stdout)


def stop(c: Context, inst: Instance, opts: Options, out: TextIO | None = None, err: TextIO | None = None,
         engines: Engines | None = None, present_apps: list[str] | None = None) -> None:
    """Stop PM2 apps, then ``compose down`` keeping volumes."""
    stack = inst.stack
    engines = engines or _engines(c, stack, **_checked(inst))
    streams = _streams(out, err)
    if stack.apps:
        if present_apps is None:
            present_apps = _present_apps(c, inst, engines)
        if present_apps:
            run(c, [*engines.pm2, "stop", pm2.app_regex(present_apps)], **streams)
    if stack.compose_files and inst.mode == "shared":
        print(f"instance {inst.n} is in shared mode: the shared infra keeps running (inv dev.infra-down)",
              file=out or sys.stdout)
    elif stack.compose_files:
        run(c, _down(inst, engines, volumes=False), **streams)


def _present_apps(c: Context, inst: Instance, engines: Engines) -> list[str]:
    if is_dry(c):
        return inst.app_names
    result = probe(c, pm2.jlist(engines.pm2))
    names = {str(p.get("name")) for p in parse_jlist(result.stdout)} if result.ok else set()
    return [name for name in inst.app_names if name in names]


def _down(inst: Instance, engines: Engines, volumes: bool) -> list[str]:
    """Down with the instance's files where they exist, else by project name alone (labels)."""
    from multistack.plan.render import OVERRIDE

    if (inst.dir / OVERRIDE).is_file():
        return compose.down(inst, _compose(engines, inst), volumes=volumes)
    return compose.down_project(inst.project_name, _compose(engines, inst), volumes=volumes)


def restart(c: Context, inst: Instance, opts: Options) -> None:
    engines = _engines(c, inst.stack, **_checked(inst))
    stop(c, inst, opts, engines=engines)
    start(c, inst, opts)


def status(c: Context, inst: Instance, opts: Options) -> None:
    engines = _engines(c, inst.stack, engine=False, compose_cli=False)
    if is_dry(c):
        query_state(c, inst.stack, engines)
        return
    state = query_state(c, inst.stack, engines, {inst.n}, **_only(inst))[inst.n]
    print(json.dumps([state.to_json()], indent=2) if opts.json else render_state(state))


def logs(c: Context, inst: Instance, opts: Options, out: TextIO | None = None, err: TextIO | None = None) -> None:
    stack = inst.stack
    engines = _engines(c, stack, engine=False)
    streams = _streams(out, err)
    background = None
    if stack.compose_files:
        argv = compose.logs(inst, _compose(engines, inst), follow=opts.follow, tail=opts.tail)
        if opts.follow and stack.apps and not is_dry(c):
            from multistack.io.shell import run as run_argv

            background = run_argv(c, argv, asynchronous=True, warn=True, **streams)
        else:
            run(c, argv, warn=True, **streams)
    if stack.apps:
        try:
            run(c, pm2.logs(inst, engines.pm2, follow=opts.follow, tail=opts.tail), warn=True, **streams)
        finally:
            if background is not None:
                background.runner.kill()


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
    if not sys.stdin.isatty():
        raise StackError(f"{what} needs confirmation and stdin is not a terminal", "rerun with --yes")
    answer = input(f"{question} [y/N] ").strip().lower()
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
    if not confirmed:
        what = (f"its PM2 apps, its provisioned state in the shared infra (namespace {inst.namespace}, "
                f"database {inst.database})" if shared else "its containers, volumes, PM2 apps")
        confirm(f"Remove instance {inst.n} ({inst.project_name}): {what} and {inst.dir}?",
                opts.yes or is_dry(c), what=f"clean of instance {inst.n}")
    engines = engines or _engines(c, stack, **_checked(inst))
    streams = _streams(out, err)
    if stack.apps:
        if present_apps is None:
            present_apps = _present_apps(c, inst, engines)
        if present_apps:
            run(c, pm2.delete_names(present_apps, engines.pm2), **streams)
    if shared:
        from multistack.act.shared import teardown

        teardown(c, inst, engines.compose, out=out, err=err)
    elif stack.compose_files:
        run(c, _down(inst, engines, volumes=True), **streams)
        if not (inst.dir / "docker-compose.override.yml").is_file():
            _remove_labelled_volumes(c, inst, engines, streams)
    if is_dry(c):
        print(f"would remove {inst.dir}", file=out or sys.stdout)
    elif inst.dir.is_dir():
        if inst.dir.parent != stack.root / stack.instances_dir or inst.dir.name != f"instance-{inst.n}":
            raise StackError(f"refusing to remove unexpected folder {inst.dir}")
        shutil.rmtree(inst.dir)
        print(f"removed {inst.dir}", file=out or sys.stdout)


def _remove_labelled_volumes(c: Context, inst: Instance, engines: Engines, streams: dict[str, Any]) -> None:
    """Without its compose files, ``down -v`` cannot know the volumes; the labels still do."""
    if is_dry(c):
        return
    docker = docker_argv(inst.engine, engines.docker)
    result = probe(c, [*docker, "volume", "ls", "--filter",
                       f"label={compose.PROJECT_LABEL}={inst.project_name}", "--format", "{{.Name}}"])
    names = result.stdout.split() if result.ok else []
    if names:
        run(c, [*docker, "volume", "rm", *names], **streams)


HANDLERS = {
    "init": init, "start": start, "stop": stop, "restart": restart, "status": status, "logs": logs,
    "clean": clean, "info": info, "ports": ports, "project-name": project_name,
}


# --------------------------------------------------------------------------
# --all


def existing_instances(stack: Stack, states: dict[int, InstanceState], volumes: set[int] = frozenset()) -> list[int]:
    """Instances with a folder, containers, PM2 apps or volumes."""
    found = set(states) | set(volumes)
    folder = stack.root / stack.instances_dir
    if folder.is_dir():
        for child in folder.iterdir():
            if child.is_dir() and child.name.startswith("instance-") and child.name[9:].isdigit():
                found.add(int(child.name[9:]))
    return sorted(found)


def _finish(action: str, outcomes: list[Any]) -> None:
    print(summary(action, outcomes))
    if any(not o.ok for o in outcomes):
        raise CommandFailed(f"{action} --all failed for some instances", "see the lines prefixed with their numbers")


def _volume_instances(c: Context, stack: Stack, engines: Engines) -> set[int]:
    from multistack.io.status import instance_of_project

    if is_dry(c) or not stack.compose_files:
        return set()
    lines: list[str] = []
    for engine in stack_engines(stack):
        result = probe(c, compose.volumes_all(docker_argv(engine, engines.docker)))
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
    from contextlib import nullcontext

    from multistack.io.locks import instance_lock

    return nullcontext() if is_dry(c) else instance_lock(stack, n, action)


def _query_all(c: Context, stack: Stack, engines: Engines, say: bool = True
               ) -> tuple[dict[int, InstanceState], dict[str, EngineError]]:
    """Every engine's containers; with ``engines:`` an unreachable one is said on stderr and
    returned (its instances fail, the others go on), without it the one engine is an error."""
    states, unreachable = query_engines(c, stack, engines)
    if unreachable and not placed(stack):
        raise next(iter(unreachable.values()))
    for error in unreachable.values() if say else ():
        print(error.line(), file=sys.stderr)
    return states, unreachable


def stop_all(c: Context, stack: Stack, opts: Options) -> None:
    engines = _engines(c, stack, engine=False)
    states, unreachable = _query_all(c, stack, engines) if not is_dry(c) else ({}, {})
    instances = existing_instances(stack, states)
    apps = [a.name for s in states.values() for a in s.apps if a.status == "online"]
    if is_dry(c):
        apps = [name for n in instances for name in plan_instance(stack, n).app_names]
    if apps:
        run(c, [*engines.pm2, "stop", pm2.app_regex(apps)], hide="stdout")

    def job(n: int, out: TextIO, err: TextIO) -> None:
        inst = plan_instance(stack, n)
        if inst.engine.name in unreachable:  # its apps are stopped (above); its containers cannot be
            raise unreachable[inst.engine.name]
        with _locked(c, stack, n, "stop --all"):
            stop(c, inst, opts, out, err, engines=engines, present_apps=[])

    _finish("stop", fan_out(instances, job))


def status_all(c: Context, stack: Stack, opts: Options) -> None:
    engines = _engines(c, stack, engine=False, compose_cli=False)  # two processes: docker ps, pm2 jlist
    if is_dry(c):
        query_state(c, stack, engines)
        return
    states, unreachable = _query_all(c, stack, engines, say=False)  # said once, at the end
    instances = existing_instances(stack, states)
    full = collect(stack, [], [], set(instances))
    _annotate(stack, full, unreachable)
    full.update(states)
    ordered = [full[n] for n in sorted(full)]
    if opts.json:
        print(json.dumps([s.to_json() for s in ordered], indent=2))
    else:
        print("\n\n".join(render_state(s) for s in ordered) if ordered else "no instances")
    if unreachable:  # after the answers of the others; exit 3
        errors = list(unreachable.values())
        raise EngineError("; ".join(e.message for e in errors), errors[0].hint)


def logs_all(c: Context, stack: Stack, opts: Options) -> None:
    engines = _engines(c, stack, engine=False)
    states = query_state(c, stack, engines) if not is_dry(c) else {}
    instances = existing_instances(stack, states)

    def job(n: int, out: TextIO, err: TextIO) -> None:
        logs(c, plan_instance(stack, n), opts, out, err)

    _finish("logs", fan_out(instances, job))


def clean_all(c: Context, stack: Stack, opts: Options) -> None:
    engines = _engines(c, stack, engine=False)
    states = query_state(c, stack, engines) if not is_dry(c) else {}
    instances = existing_instances(stack, states, _volume_instances(c, stack, engines))
    if not instances:
        print("no instances to clean")
        return
    confirm(f"Remove instances {', '.join(map(str, instances))}: containers, volumes, PM2 apps and folders?",
            opts.yes or is_dry(c), what="clean --all")

    def job(n: int, out: TextIO, err: TextIO) -> None:
        present = [a.name for a in states[n].apps] if n in states else []
        if is_dry(c):
            present = plan_instance(stack, n).app_names
        with _locked(c, stack, n, "clean --all"):
            clean(c, plan_instance(stack, n), opts, out, err, engines=engines, present_apps=present, confirmed=True)

    _finish("clean", fan_out(instances, job))


ALL_HANDLERS = {"stop": stop_all, "status": status_all, "logs": logs_all, "clean": clean_all}
