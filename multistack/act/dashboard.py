"""What ``inv dev.watch`` shows: one snapshot of every instance, the mesh and the systems (issue 16).

A tick asks each engine once (``docker ps -a`` by the compose project label, which lists
the instances' containers, the shared infra's, the mesh's and every system member's
together) and PM2 once (``pm2 jlist``: status, restarts, CPU and memory of every app),
never once per instance: with 100 instances a tick is still two processes. After the
answers, :func:`build` turns them into :class:`Row` values, one per instance, mesh or
system, which the terminal view (cli/dashboard.py), the text table and ``--json`` all
show; it starts no process and reads no file but through ``facts`` (below).

What an instance declares (its compose services, PM2 names, URLs) is read once, when the
watch starts, and again after an action: not on every tick.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from invoke import Context

from multistack.act.observe import Observed, ask_engines, namespace_of
from multistack.io.shell import probe
from multistack.io.status import InstanceState, collect, health_of, instance_of_project
from multistack.io.tools import Engines, detect
from multistack.model.stack import Stack

if TYPE_CHECKING:
    from multistack.model.mesh import Mesh

#: Row kinds: an instance (``dev N``), the shared infra of shared mode, the mesh, a system.
INSTANCE, SHARED, MESH, SYSTEM = "instance", "shared", "mesh", "system"
#: The log lines per service and app that the logs key shows (``logs --tail``).
LOG_LINES = 40


@dataclass(frozen=True)
class ServiceRow:
    """One compose container: ``service`` is ``member/service`` in a system row."""

    service: str
    container: str
    state: str
    health: str
    ports: str


@dataclass(frozen=True)
class AppRow:
    """One PM2 app: ``cpu`` in percent of one core, ``memory`` in bytes (``pm2 jlist``'s ``monit``)."""

    name: str
    status: str
    restarts: int
    cpu: float
    memory: int
    pid: int


@dataclass(frozen=True)
class Url:
    """Where a service of an instance is reached: its port, its url, its hostname URL with ``router:``."""

    service: str
    port: int
    url: str
    hostname: str = ""


@dataclass(frozen=True)
class Row:
    """One line of the dashboard and what its detail pane shows."""

    key: str  # stable across ticks: instance-2, shared, mesh (mesh-staging side by side), system-suite
    kind: str
    name: str
    instance: int | None
    projects: tuple[str, ...]
    status: str  # healthy, degraded, down, unknown
    summary: str
    services: tuple[ServiceRow, ...] = ()
    apps: tuple[AppRow, ...] = ()
    urls: tuple[Url, ...] = ()
    engine: str | None = None
    environment: str | None = None  # a mesh row's environment (the active one of a one-project mesh)

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "name": self.name, "instance": self.instance,
                "projects": list(self.projects), "status": self.status, "summary": self.summary,
                "engine": self.engine, "environment": self.environment,
                "services": [vars(s) for s in self.services], "apps": [vars(a) for a in self.apps],
                "urls": [vars(u) for u in self.urls]}


@dataclass(frozen=True)
class Snapshot:
    """Every row of one tick, and what the tick cost (processes started, milliseconds)."""

    project: str
    rows: tuple[Row, ...]
    engine_calls: int
    pm2_calls: int
    millis: float
    unreachable: dict[str, str] = field(default_factory=dict)  # engine name -> why

    def row(self, key: str) -> Row | None:
        return next((r for r in self.rows if r.key == key), None)

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "rows": [r.to_json() for r in self.rows],
                "tick": {"engine_calls": self.engine_calls, "pm2_calls": self.pm2_calls,
                         "millis": round(self.millis, 1)},
                "unreachable": dict(self.unreachable)}


# --------------------------------------------------------------------------
# Asking the machine: one docker ps per engine, one pm2 jlist


def observe(c: Context, stack: Stack, engines: Engines) -> Observed:
    """One ``docker ps`` per engine, one ``pm2 jlist`` (none without a daemon): the queries of
    ``status --all`` (act/observe.py), asked also for a stack whose only containers are its
    mesh's or its systems', and kept raw (the mesh, the systems, the apps' CPU and memory)."""
    asked = list(stack.engines) if stack.compose_files or stack.mesh or stack.systems else []
    return ask_engines(c, engines, asked, apps=bool(stack.apps))


# --------------------------------------------------------------------------
# What each instance declares (read once, not per tick)


@dataclass(frozen=True)
class Declared:
    """What ``status`` judges an instance against, and where it is reached."""

    services: tuple[str, ...]
    apps: tuple[str, ...]
    urls: tuple[Url, ...]
    engine: str | None


def declared_instance(stack: Stack, n: int, declared: Callable[[int], tuple[tuple[str, ...], tuple[str, ...]]]
                      ) -> Declared:
    """Instance ``n``'s compose services, PM2 names and URLs (``services.X.url``, else host:port; the
    hostname URL too with ``router:``)."""
    from multistack.act.info import service_url
    from multistack.act.shared import instance_plan

    inst = instance_plan(stack, n)
    services, apps = declared(n)
    named: dict[str, str] = {}
    if stack.router is not None:  # hostnames where they exist: http://web.1.shop.localhost/
        from multistack.plan.hostnames import host_urls

        named = host_urls(inst)
    urls = []
    for svc in stack.services:
        port = inst.ports[svc.name]
        urls.append(Url(svc.name, port, service_url(inst, svc.name) or f"{stack.host_ip}:{port}",
                        named.get(svc.name, "")))
    return Declared(services, apps, tuple(urls), inst.engine.name if stack.engines_declared else None)


class Facts:
    """The declarations of the instances seen so far, each read once (``forget`` after an action)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self._known: dict[int, Declared] = {}
        self._declared: Any = None

    def of(self, n: int) -> Declared:
        if n not in self._known:
            if self._declared is None:
                from multistack.act.lifecycle import declared_of

                self._declared = declared_of(self.stack)  # the compose files, read once
            self._known[n] = declared_instance(self.stack, n, self._declared)
        return self._known[n]

    def forget(self, n: int | None = None) -> None:
        """Read again next time: an action may have changed the mode, the files, the profiles."""
        if n is None:
            self._known.clear()
            self._declared = None
        else:
            self._known.pop(n, None)


# --------------------------------------------------------------------------
# Answers -> rows (pure)


def build(stack: Stack, observed: Observed, facts: Callable[[int], Declared], folders: Sequence[int] = (),
          mesh_env: str | None = None, millis: float = 0.0, mesh_files: Sequence[str] = ()) -> Snapshot:
    """Every row: the instances in order (``folders``: those with a folder, running or not), then
    the shared infra (when it has containers), the mesh and each system. ``mesh_env``: the active
    environment of a one-project mesh; ``mesh_files``: side by side, the environments with an env file."""
    states = collect(stack, observed.containers, observed.processes, set(folders), namespace_of=namespace_of(stack))
    monit = {str(p.get("name", "")): p.get("monit") or {} for p in observed.processes}
    rows = [instance_row(stack, state, facts(n), monit, observed.unreachable) for n, state in states.items()]
    rows += group_rows(stack, observed.containers, mesh_env, mesh_files)
    return Snapshot(stack.project, tuple(rows), observed.engine_calls, observed.pm2_calls, millis,
                    dict(observed.unreachable))


def instance_row(stack: Stack, state: InstanceState, declared: Declared, monit: dict[str, dict[str, Any]],
                 unreachable: dict[str, str]) -> Row:
    """One instance: its containers, its apps with CPU and memory, its URLs, judged as ``status`` judges it."""
    n = state.instance
    state.declared_services, state.declared_apps = declared.services, declared.apps
    engine = stack.engine_for(n).name
    if engine in unreachable:
        state.engine_error = f"engine {engine} unreachable: {unreachable[engine]}"
    services = tuple(ServiceRow(s.service, s.container, s.state, s.health, s.ports) for s in state.services)
    apps = tuple(AppRow(a.name, a.status, a.restarts, float((monit.get(a.name) or {}).get("cpu") or 0),
                        int((monit.get(a.name) or {}).get("memory") or 0), a.pid) for a in state.apps)
    condition = state.condition
    return Row(f"instance-{n}", INSTANCE, str(n), n, (state.project_name,), condition,
               instance_summary(state, apps, condition), services, apps, declared.urls, declared.engine)


def instance_summary(state: InstanceState, apps: Sequence[AppRow], condition: str) -> str:
    """``healthy: 2/2 services, 2/2 apps, cpu 0.4%, 41 MiB`` or what is missing (``condition``: the state's)."""
    if state.engine_error and not state.running:
        return state.engine_error
    wanted_services = state.declared_services or tuple(sorted({s.service for s in state.services}))
    up_services = sum(1 for name in wanted_services
                      if any(s.service == name and s.state == "running" and s.health in ("", "healthy")
                             for s in state.services))
    wanted_apps = state.declared_apps or tuple(a.name for a in state.apps)
    online = [a for a in apps if a.status == "online"]
    parts = []
    if wanted_services:
        parts.append(f"{up_services}/{len(wanted_services)} services")
    if wanted_apps:
        parts.append(f"{len(online)}/{len(wanted_apps)} apps")
    if online:
        parts.append(f"cpu {sum(a.cpu for a in online):g}%, {mebibytes(sum(a.memory for a in online))}")
    missing = [m.describe() for m in state.missing] if condition == "degraded" else []
    text = f"{condition}: " + ", ".join(parts) if parts else condition
    return text + (f" ({', '.join(missing)})" if missing else "")


def mebibytes(size: int) -> str:
    """Bytes as the dashboard shows them: ``41 MiB``."""
    return f"{size / 1048576:.0f} MiB"


def group_rows(stack: Stack, containers: Sequence[dict[str, str]], mesh_env: str | None = None,
               mesh_files: Sequence[str] = ()) -> list[Row]:
    """The shared infra, the mesh and each system, from the same ``docker ps`` rows (by project)."""
    from multistack.act.shared import shared_project
    from multistack.model.systems import member_project

    by_project: dict[str, list[dict[str, str]]] = {}
    for row in containers:
        by_project.setdefault(row.get("project", ""), []).append(row)
    by_project = {p: rows for p, rows in by_project.items() if instance_of_project(stack, p) is None}
    rows = []
    shared = shared_project(stack)
    if by_project.get(shared):
        rows.append(_group(SHARED, SHARED, "shared infra", {"": shared}, by_project,
                           f"compose project {shared}"))
    if stack.mesh is not None:
        rows += mesh_rows(stack.mesh, by_project, mesh_env, mesh_files)
    for system in stack.systems.values():
        members = {m.callsign: member_project(stack.project, system.name, m.name) for m in system.members}
        rows.append(_group(f"system-{system.name}", SYSTEM, system.name, members, by_project, ""))
    return rows


def mesh_rows(mesh: Mesh, by_project: dict[str, list[dict[str, str]]], active: str | None,
              with_files: Sequence[str]) -> list[Row]:
    """One row for a one-project mesh; side by side (``{{ environment }}`` in its project), one row
    per environment that has its env file (``with_files``) or containers, each its own project."""
    if not mesh.side_by_side:
        about = f"environment {active}" if active else "no active environment"
        return [_group(MESH, MESH, "mesh", {"": mesh.project}, by_project, about, active)]
    shown = {project: env for project, env in mesh.projects().items() if env in with_files or by_project.get(project)}
    if not shown:  # nothing to show per environment: one row says so, with every project it could be
        return [_group(MESH, MESH, "mesh", {env: project for project, env in mesh.projects().items()}, by_project,
                       "no environment has an env file or containers")]
    rows = []
    for project, env in shown.items():
        about = f"environment {env}" + ("" if env in with_files else f", no env file {mesh.env_file_of(env)}")
        rows.append(_group(f"{MESH}-{env}", MESH, f"mesh {env}", {"": project}, by_project, about, env))
    return rows


def _group(key: str, kind: str, name: str, projects: dict[str, str], by_project: dict[str, list[dict[str, str]]],
           about: str, environment: str | None = None) -> Row:
    """A row over compose projects (``projects``: label -> project; a label prefixes its services)."""
    services = []
    for prefix, project in projects.items():
        for c in sorted(by_project.get(project, []), key=lambda r: (r.get("service", ""), r.get("name", ""))):
            service = f"{prefix}/{c.get('service', '')}" if prefix else c.get("service", "")
            services.append(ServiceRow(service, c.get("name", ""), c.get("state", ""),
                                       health_of(c.get("status", "")), c.get("ports", "")))
    up = [s for s in services if s.state == "running" and s.health in ("", "healthy")]
    running_projects = [p for p in projects.values()
                        if any(c.get("state") == "running" for c in by_project.get(p, []))]
    if not running_projects:
        status = "down"
    elif len(up) == len(services) and len(running_projects) == len(projects):
        status = "healthy"
    else:
        status = "degraded"
    members = f"{len(running_projects)}/{len(projects)} members running, " if kind == SYSTEM else ""
    summary = f"{status}: {members}{len(up)}/{len(services)} containers up" + (f", {about}" if about else "")
    return Row(key, kind, name, None, tuple(projects.values()), status, summary, tuple(services),
               environment=environment)


# --------------------------------------------------------------------------
# Text (what a pipe gets)


def render_text(snapshot: Snapshot) -> str:
    """The summary table, then each row's services and apps: ``inv dev.watch | cat`` (masked)."""
    from multistack.act.info import masked_table

    head = (f"{snapshot.project}: {len(snapshot.rows)} rows; this tick: {snapshot.engine_calls} docker ps, "
            f"{snapshot.pm2_calls} pm2 jlist, {snapshot.millis:.0f} ms")
    if not snapshot.rows:
        return f"{head}\nno instances"
    lines = [masked_table(["what", "status", "summary"], [[label(r), r.status, r.summary] for r in snapshot.rows],
                          title=head)]
    for r in snapshot.rows:
        lines += ["", render_detail(r)]
    for engine, why in snapshot.unreachable.items():
        lines.append(f"engine {engine} unreachable: {why}")
    return "\n".join(lines)


def label(row: Row) -> str:
    """What the row is called on screen: ``instance 2``, ``mesh``, ``mesh staging``, ``system suite``."""
    return f"instance {row.name}" if row.kind == INSTANCE else row.name if row.kind != SYSTEM else f"system {row.name}"


def render_detail(row: Row) -> str:
    """One row's containers, apps and URLs as a table (masked, each cell before the columns are sized)."""
    from multistack.act.info import masked_table
    from multistack.plan.masking import mask_text

    cells = [[s.service, s.container, s.state, s.health or "-", s.ports or "-"] for s in row.services]
    cells += [[a.name, "pm2", a.status, f"{a.restarts} restarts", f"cpu {a.cpu:g}%, {mebibytes(a.memory)}"]
              for a in row.apps]
    title = f"{label(row)} ({', '.join(row.projects)}): {row.summary}"
    parts = [masked_table(["service/app", "container", "state", "health", "ports/usage"], cells, title=title)
             if cells else mask_text(f"{title}\n  nothing running")]
    if row.urls:
        parts.append(mask_text("  urls: " + "  ".join(f"{u.service} {u.hostname or u.url}" for u in row.urls)))
    return "\n".join(parts)


# --------------------------------------------------------------------------
# The watch: ticks and actions


def mesh_environment(stack: Stack) -> str | None:
    """The mesh's active environment (``ENVIRONMENT`` of its env file), None without one (or side by
    side, where each environment has its own: :func:`mesh_env_files`)."""
    if stack.mesh is None or stack.mesh.side_by_side:
        return None
    from multistack.act.mesh import read_active
    from multistack.errors import StackError

    try:
        active = read_active(stack.mesh)
    except StackError:
        return "?"
    return active.environment if active else None


def mesh_env_files(stack: Stack) -> tuple[str, ...]:
    """Side by side: the environments whose own env file exists (``env/.env.staging``), in
    stack.yaml's order; a file's content is checked by the mesh commands, not here."""
    if stack.mesh is None or not stack.mesh.side_by_side:
        return ()
    return tuple(name for name in stack.mesh.environment_names if stack.mesh.env_path_of(name).is_file())


class Watch:
    """What the dashboard polls: ``tick()`` is one snapshot from one query per engine and one ``pm2 jlist``."""

    def __init__(self, c: Context, stack: Stack, engines: Engines | None = None) -> None:
        self.c = c
        self.stack = stack
        self.engines = engines or detect(c, stack.root, need_compose=False, need_pm2=bool(stack.apps),
                                         need_engine=False)
        self.facts = Facts(stack)

    def tick(self) -> Snapshot:
        from multistack.act.lifecycle import existing_instances

        began = time.perf_counter()
        observed = observe(self.c, self.stack, self.engines)
        folders = existing_instances(self.stack, {})
        snapshot = build(self.stack, observed, self.facts.of, folders, mesh_environment(self.stack),
                         mesh_files=mesh_env_files(self.stack))
        return Snapshot(snapshot.project, snapshot.rows, snapshot.engine_calls, snapshot.pm2_calls,
                        (time.perf_counter() - began) * 1000, snapshot.unreachable)

    def run(self, row: Row, action: str) -> Done:
        """``action`` on ``row`` through the CLI (:func:`perform`); what the row declares is read again after."""
        words = action_words(row, action)
        if words is None:
            return Done((action, row.name), 2, f"error: {why_not(row, action)}")
        done = perform(self.c, self.stack, words)
        if action != "logs":
            self.facts.forget(row.instance)
        return done


def action_words(row: Row, action: str) -> list[str] | None:
    """The CLI words that do ``action`` to ``row`` (``dev 2 stop``), None when the dashboard cannot."""
    if row.kind == INSTANCE:
        return ["dev", row.name, action, *(["--tail", str(LOG_LINES)] if action == "logs" else [])]
    env = mesh_env_words(row)
    words = {
        SYSTEM: {"start": ["system.up", row.name], "stop": ["system.down", row.name]},
        MESH: {"stop": ["mesh.down", *env], "logs": ["mesh.logs", "--tail", str(LOG_LINES), *env]},
        SHARED: {"start": ["dev.infra-up"], "stop": ["dev.infra-down"]},
    }
    return words.get(row.kind, {}).get(action)


def mesh_env_words(row: Row) -> list[str]:
    """``--env E`` for an environment's own row of a side-by-side mesh (key ``mesh-E``); nothing for
    the one row of a one-project mesh, whose commands take the active environment themselves."""
    return ["--env", row.environment] if row.kind == MESH and row.key != MESH and row.environment else []


def why_not(row: Row, action: str) -> str:
    """What to type instead, when the dashboard does not do ``action`` to ``row``."""
    if row.kind == MESH and action in ("start", "restart"):
        env = "".join(f" {word}" for word in mesh_env_words(row))
        return f"the mesh starts with its profiles: run `inv mesh.up{env} --profile P`"
    return f"{action} is not offered for {label(row)} here: use the `inv` command"


@dataclass(frozen=True)
class Done:
    """What an action said: its exit code and its output (masked), last lines first cut off."""

    words: tuple[str, ...]
    code: int
    output: str

    @property
    def ok(self) -> bool:
        return self.code == 0

    def line(self) -> str:
        """One line for the dashboard's message bar: the error line, or that it was done."""
        command = " ".join(self.words)
        if self.ok:
            return f"done: inv {command}"
        errors = [line for line in self.output.splitlines() if line.startswith("error:")]
        return f"failed (exit {self.code}): inv {command}" + (f": {errors[-1][7:]}" if errors else "")


#: The ``multistack`` program, run by the interpreter running this one (no PATH lookup, no tasks.py).
PROGRAM = "from multistack.cli.program import main; main()"


def perform(c: Context, stack: Stack, words: Sequence[str]) -> Done:
    """Run ``multistack WORDS`` for the stack as a child process, as if typed (its lock, its
    errors, its exit code), its output captured: the dashboard keeps drawing meanwhile."""
    from multistack.plan.masking import mask_text

    argv = [sys.executable, "-c", PROGRAM, *words]
    result = probe(c, argv, env={"MULTISTACK_FILE": str(stack.path)})
    output = "\n".join(part.rstrip() for part in (result.stdout or "", result.stderr or "") if part.strip())
    return Done(tuple(words), result.exited if result.exited is not None else 1, mask_text(output))
