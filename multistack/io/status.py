"""Status of every instance from one engine query and one ``pm2 jlist`` (pure parsing).

The queries are made once for all instances (label
``com.docker.compose.project``), never once per instance: with ten
instances that is two processes instead of twenty.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

from multistack.model.compose_doc import ComposeDoc
from multistack.model.stack import Stack


@dataclass
class ServiceState:
    service: str
    container: str
    state: str
    health: str
    ports: str


@dataclass
class AppState:
    name: str
    status: str
    pid: int
    restarts: int


#: What ``status`` calls an instance: everything declared runs, some of it, or none.
HEALTHY, DEGRADED, DOWN, UNKNOWN = "healthy", "degraded", "down", "unknown"


@dataclass
class Missing:
    """Something the instance declares that is not up: ``kind`` service or app, and what it is instead."""

    kind: str
    name: str
    state: str  # "absent" (no container / no PM2 app), or its state: exited, unhealthy, starting, stopped...

    def describe(self) -> str:
        return f"{self.kind} {self.name} {self.state}"


@dataclass
class InstanceState:
    instance: int
    project_name: str
    services: list[ServiceState] = field(default_factory=list)
    apps: list[AppState] = field(default_factory=list)
    engine: str | None = None  # with ``engines:`` in stack.yaml: the engine it is placed on
    engine_error: str | None = None  # that engine did not answer: its containers are unknown
    #: What the instance declares (compose services it starts, its PM2 names); None: not known, judge what exists.
    declared_services: tuple[str, ...] | None = None
    declared_apps: tuple[str, ...] | None = None

    @property
    def running(self) -> bool:
        return any(s.state == "running" for s in self.services) or any(a.status == "online" for a in self.apps)

    @property
    def missing(self) -> list[Missing]:
        """Each declared service or app that is not up (and anything present that is not up), in order."""
        found: list[Missing] = []
        by_service: dict[str, list[ServiceState]] = {}
        for svc in self.services:
            by_service.setdefault(svc.service, []).append(svc)
        for name in (*(self.declared_services or ()), *sorted(set(by_service) - set(self.declared_services or ()))):
            rows = by_service.get(name, [])
            if not rows:
                found.append(Missing("service", name, "absent"))
            elif not any(_service_up(r) for r in rows):
                worst = rows[0]
                found.append(Missing("service", name, worst.health if worst.state == "running" else worst.state))
        by_app = {a.name: a for a in self.apps}
        for name in (*(self.declared_apps or ()), *sorted(set(by_app) - set(self.declared_apps or ()))):
            app = by_app.get(name)
            if app is None:
                found.append(Missing("app", name, "absent"))
            elif app.status != "online":
                found.append(Missing("app", name, app.status))
        return found

    @property
    def condition(self) -> str:
        """healthy: everything declared is up; down: nothing is; degraded: some of it (the rest is :attr:`missing`)."""
        if self.engine_error and not self.running:
            return UNKNOWN
        if not self.running:
            return DOWN
        return DEGRADED if self.missing else HEALTHY

    @property
    def healthy(self) -> bool:
        """Every declared compose service running (healthy where it has a healthcheck), every declared app online."""
        return self.condition == HEALTHY

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("engine", "engine_error"):  # only with ``engines:``: the output stays as it was without
            if data[key] is None:
                del data[key]
        for key in ("declared_services", "declared_apps"):
            data[key] = list(data[key] or [])
        data.update(running=self.running, healthy=self.healthy, status=self.condition,
                    missing=[asdict(m) for m in self.missing])
        return data


def _service_up(svc: ServiceState) -> bool:
    return svc.state == "running" and svc.health in ("", "healthy")


def declared_services(docs: Sequence[ComposeDoc], profiles: Sequence[str] = ()) -> tuple[str, ...]:
    """The compose services an instance starts: those without ``profiles:``, or with an active one.

    ``docs``: the stack's compose files in order (a later file's ``profiles:`` wins, as compose merges).
    """
    specs: dict[str, dict[str, Any]] = {}
    for doc in docs:
        for name, spec in doc.services().items():
            merged = specs.setdefault(name, {})
            merged.update(spec)
    active = set(profiles)
    chosen = []
    for name, spec in specs.items():
        wanted = spec.get("profiles") or []
        if not wanted or "*" in active or active.intersection(str(p) for p in wanted):
            chosen.append(name)
    return tuple(sorted(chosen))


def health_of(status: str) -> str:
    match = re.search(r"\((healthy|unhealthy|health: starting)\)", status)
    if not match:
        return ""
    return "starting" if match.group(1) == "health: starting" else match.group(1)


def instance_of_project(stack: Stack, project: str) -> int | None:
    match = re.fullmatch(re.escape(stack.project) + r"-dev-(0|[1-9][0-9]*)", project)
    return int(match.group(1)) if match else None


def instance_of_app(stack: Stack, name: str, namespace: str | None = None,
                    namespace_of: Callable[[int], str] | None = None) -> int | None:
    """The instance whose app PM2 calls ``name``: this stack's exact name scheme inverted (another
    stack's apps, ``myshop-api-1`` for stack ``shop``, are not ours). With ``namespace_of`` (the
    PM2 namespace the instance's ecosystem sets), an app in another namespace is not ours either."""
    found = stack.app_of_name(name)
    if found is None:
        return None
    n = found[1]
    if namespace_of is not None and namespace and namespace != namespace_of(n):
        return None
    return n


def parse_containers(text: str) -> list[dict[str, str]]:
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
    return rows


def parse_jlist(text: str) -> list[dict[str, Any]]:
    """The JSON array of ``pm2 jlist``, after whatever notices PM2 prints before it.

    PM2 prints coloured notices on stdout first when it spawns its daemon or
    finds it out of date (``\\x1b[32m[PM2] Spawning PM2 daemon...``): their
    ``[`` are not the array's, so the array is the first line-start ``[`` that
    decodes as JSON to the end of the text.
    """
    decoder = json.JSONDecoder()
    for match in re.finditer(r"^\[", text, re.MULTILINE):
        try:
            data, end = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(data, list) and not text[end:].strip():
            return data
    return []


def collect(stack: Stack, containers: list[dict[str, str]], processes: list[dict[str, Any]],
            instances: set[int] = frozenset(), namespace_of: Callable[[int], str] | None = None,
            declared: Callable[[int], tuple[tuple[str, ...], tuple[str, ...]]] | None = None,
            ) -> dict[int, InstanceState]:
    """Group containers and PM2 apps by instance; ``instances`` adds known but idle ones.

    ``declared(n)``: the compose services and PM2 names instance ``n`` declares, so that a
    missing one makes it degraded (without it, only what exists is judged).
    """
    states = {n: InstanceState(n, stack.compose_project(n)) for n in instances}
    for row in containers:
        n = instance_of_project(stack, row.get("project", ""))
        if n is None:
            continue
        state = states.setdefault(n, InstanceState(n, stack.compose_project(n)))
        state.services.append(ServiceState(row.get("service", ""), row.get("name", ""), row.get("state", ""),
                                           health_of(row.get("status", "")), row.get("ports", "")))
    for proc in processes:
        name = str(proc.get("name", ""))
        env = proc.get("pm2_env") or {}
        n = instance_of_app(stack, name, str(env.get("namespace") or ""), namespace_of)
        if n is None:
            continue
        state = states.setdefault(n, InstanceState(n, stack.compose_project(n)))
        state.apps.append(AppState(name, str(env.get("status", "unknown")), int(proc.get("pid") or 0),
                                   int(env.get("restart_time") or 0)))
    for state in states.values():
        if declared is not None:
            state.declared_services, state.declared_apps = declared(state.instance)
        state.services.sort(key=lambda s: (s.service, s.container))
        state.apps.sort(key=lambda a: a.name)
    return dict(sorted(states.items()))


def render_state(state: InstanceState) -> str:
    from multistack.io.tables import table

    rows = [[s.service, s.container, s.state, s.health or "-", s.ports or "-"] for s in state.services]
    rows += [[a.name, "pm2", a.status, "-", f"pid {a.pid}" if a.pid else "-"] for a in state.apps]
    present = {s.service for s in state.services} | {a.name for a in state.apps}
    rows += [[m.name, "-" if m.kind == "service" else "pm2", "missing", "-", "-"]
             for m in state.missing if m.state == "absent" and m.name not in present]
    title = f"instance {state.instance} ({state.project_name})" + (
        f" on engine {state.engine}" if state.engine else "") + ": " + state.condition
    if state.condition == DEGRADED:
        title += " (" + ", ".join(m.describe() for m in state.missing) + ")"
    if state.engine_error:
        title += f" ({state.engine_error})"
    if not rows:
        return f"{title}\n  nothing running"
    return table(["service", "container/app", "state", "health", "ports"], rows, title=title)


def not_healthy(states: Sequence[InstanceState]) -> list[str]:
    """One phrase per instance that is not healthy: what the non-zero exit of ``status`` says."""
    return [f"instance {s.instance} is {s.condition}" + (
        f" ({', '.join(m.describe() for m in s.missing)})" if s.condition == DEGRADED else "")
        for s in states if s.condition != HEALTHY]


def held_services(stack: Stack, state: InstanceState | None) -> set[str]:
    """The declared services whose host ports the instance itself holds now: its running
    containers' services, and its PM2 apps' services while an app is online. A start or the
    doctor must not call those ports taken."""
    if state is None:
        return set()
    running = {s.service for s in state.services if s.state == "running"}
    held = {svc.name for svc in stack.services if svc.compose in running}
    if any(a.status == "online" for a in state.apps):
        held |= {svc.name for svc in stack.services if not svc.compose}
    return held
