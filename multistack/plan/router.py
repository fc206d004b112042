"""The shared local router, as data: route files, its HAProxy config, its compose project (pure).

One HAProxy serves the hostnames of every stack on the machine
(docs/hostnames.md). Each stack owns one *route file* in the router's folder
(``routes/<project>-<hash of the stack file's path>.json``): the hostnames of
its running instances and the backend address of each. The router's
``haproxy.cfg`` is assembled from every route file, so a stack writes only
its own routes and never loses another's. The router itself is a container of
its own compose project, ``multistack-router``, with the host's network (it
reaches every published port on 127.0.0.1, and PM2 apps, exactly as a browser
would), reloaded in place (HAProxy's master-worker reload: SIGUSR2 re-reads the
config; open connections finish on the old workers).

Everything here is text and argv; io.router reads and writes the folder and
act.router decides what to do.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from multistack.model.router import RouterSettings
from multistack.model.stack import Stack
from multistack.plan.compose import ComposeCli, ComposeProject, ComposeTool

#: The router's compose project name (in the default folder; another folder adds its hash).
PROJECT = "multistack-router"
#: The one service of that project.
SERVICE = "router"
#: The route files' format; a newer one is ignored with a note, never misread.
VERSION = 1
ROUTES_DIR = "routes"
CONFIG_DIR = "config"
CONFIG_FILE = "haproxy.cfg"
COMPOSE_FILE = "compose.yml"
#: Where the config folder is mounted: a folder, not the file, because the config is replaced by a
#: rename (atomic) and a bind-mounted file would keep showing the old inode to the container.
CONFIG_TARGET = "/etc/multistack-router"
#: The HAProxy master re-reads its config on this signal and starts new workers (master-worker mode, -W).
RELOAD_SIGNAL = "SIGUSR2"
#: Seconds ``up --wait`` may take to see the router running.
UP_TIMEOUT = 60
#: What a route file may hold (it is assembled into haproxy.cfg, one word each): a host name, and
#: ``host:port`` or ``[v6]:port``. Anything else (a space, a newline, a quote) makes the file unreadable.
HOST_RE = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")
ADDRESS_RE = re.compile(r"(?:\[[0-9a-fA-F:.]{2,45}\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):[0-9]{1,5}")
#: What a hostname nobody routes answers.
NO_ROUTE = "no running multistack instance has this hostname (start it: inv dev N start)"


@dataclass(frozen=True)
class RouteFile:
    """One stack's routes: where its router listens and, per running instance, hostname -> backend."""

    stack: str  # the stack file's path
    project: str
    listen: str  # "127.0.0.1:80"
    image: str
    instances: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # "1" -> {hostname: "127.0.0.1:8100"}

    def routes(self) -> dict[str, str]:
        """Every hostname of every instance, instances in number order."""
        merged: dict[str, str] = {}
        for n in sorted(self.instances, key=int):
            merged.update(self.instances[n])
        return merged


def route_file_name(stack: Stack) -> str:
    """``<project>-<hash>.json``: the project for a person, the path's hash for two checkouts of one project."""
    digest = hashlib.sha256(str(stack.path).encode("utf-8")).hexdigest()[:12]
    return f"{stack.project}-{digest}.json"


def listen_address(settings: RouterSettings) -> str:
    host = settings.bind
    return f"{f'[{host}]' if ':' in host else host}:{settings.port}"


def empty_routes(stack: Stack) -> RouteFile:
    assert stack.router is not None
    return RouteFile(str(stack.path), stack.project, listen_address(stack.router), stack.router.image)


def with_instance(current: RouteFile, stack: Stack, n: int, routes: Mapping[str, str]) -> RouteFile:
    """The stack's routes with instance ``n``'s set to ``routes`` (none: removed), its settings as now."""
    fresh = empty_routes(stack)
    instances = {k: v for k, v in current.instances.items() if k != str(n)}
    if routes:
        instances[str(n)] = dict(routes)
    return replace(fresh, instances=instances)


def route_file_text(routes: RouteFile) -> str:
    """Deterministic JSON (sorted keys): an unchanged route file is not rewritten."""
    data = {"version": VERSION, "stack": routes.stack, "project": routes.project, "listen": routes.listen,
            "image": routes.image, "instances": {n: dict(routes.instances[n]) for n in routes.instances}}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def parse_route_file(text: str) -> RouteFile | None:
    """A route file's text -> its routes; None for anything this version cannot read (it is then left alone)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return None
    strings = ("stack", "project", "listen", "image")
    instances = data.get("instances")
    if not all(isinstance(data.get(k), str) for k in strings) or not isinstance(instances, dict):
        return None
    if not all(isinstance(k, str) and k.isdigit() and isinstance(v, dict)
               and all(isinstance(h, str) and HOST_RE.fullmatch(h) and isinstance(b, str) and ADDRESS_RE.fullmatch(b)
                       for h, b in v.items())
               for k, v in instances.items()):
        return None  # a name or address that is not one would be a line of its own in haproxy.cfg
    if not ADDRESS_RE.fullmatch(data["listen"]):
        return None
    return RouteFile(data["stack"], data["project"], data["listen"], data["image"],
                     {k: dict(v) for k, v in instances.items()})


# --------------------------------------------------------------------------
# The assembled router


@dataclass(frozen=True)
class Assembly:
    """What the router serves, from every stack's route file."""

    routes: dict[str, str]  # hostname -> backend, first claim wins
    listen: tuple[str, ...]  # every address some stack asked for
    image: str | None
    clashes: tuple[str, ...] = ()  # "web.1.x.localhost (a.json and b.json)"


def assemble(files: Mapping[str, RouteFile]) -> Assembly:
    """Every stack's routes together, in file-name order; a hostname two files claim goes to the first.

    The image is the first file's: one router serves them all, whoever started it.
    """
    routes: dict[str, str] = {}
    owner: dict[str, str] = {}
    clashes = []
    listen: set[str] = set()
    image = None
    for name in sorted(files):
        routefile = files[name]
        entries = routefile.routes()
        if not entries:
            continue
        listen.add(routefile.listen)
        image = image or routefile.image
        for host, target in entries.items():
            if host in owner:
                clashes.append(f"{host} ({owner[host]} and {name})")
                continue
            owner[host] = name
            routes[host] = target
    return Assembly(routes, tuple(sorted(listen)), image, tuple(clashes))


def haproxy_config(assembly: Assembly) -> str:
    """``haproxy.cfg``: one frontend on every listen address, one backend per hostname (sorted: deterministic).

    The Host header (lower-cased, port cut off) selects the backend; an unknown name gets a
    404 saying so, a known one whose instance does not answer HAProxy's own 503.
    ``init-addr last,libc,none``: a backend that does not resolve (a remote engine's host
    offline) must not keep the router from starting.
    """
    lines = [
        "# Generated by multistack: the local router of every stack's hostnames (docs/hostnames.md).",
        "# Assembled from the route files beside this folder; rewritten on every start/stop/clean.",
        "global",
        "    log stdout format raw local0 notice",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    timeout connect 5s",
        "    timeout client 1m",
        "    timeout server 1m",
        "    timeout tunnel 1h",  # WebSockets: a dev server's live reload
        "    option forwardfor",
        "    default-server init-addr last,libc,none",
        "",
        "frontend hostnames",
        *(f"    bind {address}" for address in assembly.listen),
        "    http-request set-var(txn.host) req.hdr(host),field(1,:),lower",
        "    http-request set-header X-Forwarded-Host %[req.hdr(host)]",
        "    http-request set-header X-Forwarded-Proto http",
    ]
    names = sorted(assembly.routes)
    lines += [f"    use_backend {host} if {{ var(txn.host) -m str {host} }}" for host in names]
    lines += ["    default_backend no-route", "", "backend no-route",
              f'    http-request return status 404 content-type text/plain string "{NO_ROUTE}"']
    for host in names:
        lines += ["", f"backend {host}", f"    server {host} {assembly.routes[host]}"]
    return "\n".join(lines) + "\n"


def project_name(home: Path, default_home: bool) -> str:
    """``multistack-router``; a router folder of its own (``MULTISTACK_ROUTER_HOME``) its own project."""
    if default_home:
        return PROJECT
    return f"{PROJECT}-{hashlib.sha256(str(home).encode('utf-8')).hexdigest()[:8]}"


def compose_text(project: str, image: str, config_dir: Path) -> str:
    """The router's compose file: HAProxy in the foreground, master-worker, the host's network.

    ``entrypoint: haproxy`` runs the same command in the official image (whose entrypoint
    script would add its own flags) and in a plain build. ``user: "0:0"``: the official
    image runs as an unprivileged user, which cannot bind port 80 in the host's network.
    """
    doc: dict[str, Any] = {
        "name": project,
        "services": {SERVICE: {
            "image": image,
            "network_mode": "host",
            "user": "0:0",
            "entrypoint": ["haproxy"],
            "command": ["-W", "-db", "-f", f"{CONFIG_TARGET}/{CONFIG_FILE}"],
            "volumes": [f"{config_dir}:{CONFIG_TARGET}:ro"],
            "restart": "unless-stopped",
            "stop_signal": "SIGUSR1",  # HAProxy's soft stop: open connections finish
            "labels": {"multistack.router": "true"},
        }},
    }
    header = "# Generated by multistack: the shared local router (docs/hostnames.md). Rewritten when needed.\n"
    return header + json.dumps(doc, indent=2, sort_keys=True) + "\n"  # JSON is YAML: no YAML writer needed


@dataclass(frozen=True)
class RouterCommands:
    """Every command of the router's compose project."""

    project: ComposeProject

    @classmethod
    def at(cls, name: str, compose_file: Path, tool: ComposeTool | None = None) -> RouterCommands:
        """On the default engine: the router runs here, where the browser is."""
        return cls(ComposeProject(name, (str(compose_file),), (), ComposeCli.on(None, tool)))

    def up(self) -> list[str]:
        return self.project.up(wait=True, wait_timeout=UP_TIMEOUT)

    def reload(self) -> list[str]:
        return self.project.args("kill", "-s", RELOAD_SIGNAL, SERVICE)

    def down(self) -> list[str]:
        return self.project.down()
