"""Status of every instance from one engine query and one ``pm2 jlist`` (pure parsing).

The queries are made once for all instances (label
``com.docker.compose.project``), never once per instance: with ten
instances that is two processes instead of twenty.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

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


@dataclass
class InstanceState:
    instance: int
    project_name: str
    services: list[ServiceState] = field(default_factory=list)
    apps: list[AppState] = field(default_factory=list)
    engine: str | None = None  # with ``engines:`` in stack.yaml: the engine it is placed on
    engine_error: str | None = None  # that engine did not answer: its containers are unknown

    @property
    def running(self) -> bool:
        return any(s.state == "running" for s in self.services) or any(a.status == "online" for a in self.apps)

    @property
    def healthy(self) -> bool:
        """Everything that exists runs, and nothing reports unhealthy or starting."""
        return (bool(self.services or self.apps)
                and all(s.state == "running" and s.health in ("", "healthy") for s in self.services)
                and all(a.status == "online" for a in self.apps))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("engine", "engine_error"):  # only with ``engines:``: the output stays as it was without
            if data[key] is None:
                del data[key]
        data.update(running=self.running, healthy=self.healthy)
        return data


def health_of(status: str) -> str:
    match = re.search(r"\((healthy|unhealthy|health: starting)\)", status)
    if not match:
        return ""
    return "starting" if match.group(1) == "health: starting" else match.group(1)


def instance_of_project(stack: Stack, project: str) -> int | None:
    match = re.fullmatch(re.escape(stack.project) + r"-dev-(0|[1-9][0-9]*)", project)
    return int(match.group(1)) if match else None


def instance_of_app(stack: Stack, name: str) -> int | None:
    for app in stack.apps:
        match = re.fullmatch(re.escape(app.name) + r"-(0|[1-9][0-9]*)", name)
        if match:
            return int(match.group(1))
    return None


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
            instances: set[int] = frozenset()) -> dict[int, InstanceState]:
    """Group containers and PM2 apps by instance; ``instances`` adds known but idle ones."""
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
        n = instance_of_app(stack, name)
        if n is None:
            continue
        env = proc.get("pm2_env") or {}
        state = states.setdefault(n, InstanceState(n, stack.compose_project(n)))
        state.apps.append(AppState(name, str(env.get("status", "unknown")), int(proc.get("pid") or 0),
                                   int(env.get("restart_time") or 0)))
    for state in states.values():
        state.services.sort(key=lambda s: (s.service, s.container))
        state.apps.sort(key=lambda a: a.name)
    return dict(sorted(states.items()))


def render_state(state: InstanceState) -> str:
    from multistack.io.tables import table

    rows = [[s.service, s.container, s.state, s.health or "-", s.ports or "-"] for s in state.services]
    rows += [[a.name, "pm2", a.status, "-", f"pid {a.pid}" if a.pid else "-"] for a in state.apps]
    title = f"instance {state.instance} ({state.project_name})" + (
        f" on engine {state.engine}" if state.engine else "") + ": " + (
        "unknown" if state.engine_error and not state.running else
        "healthy" if state.healthy else "running" if state.running else "stopped")
    if state.engine_error:
        title += f" ({state.engine_error})"
    if not rows:
        return f"{title}\n  nothing running"
    return table(["service", "container/app", "state", "health", "ports"], rows, title=title)
