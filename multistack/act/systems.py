"""Systems: named groups of instances that work together (pure core).

A system lists its **members** (an application suite's ``storer`` and
``retriever``, a simulation's nodes ``DUN-A``, ``LON-B``, ``NYC-C``). Each
member runs as its own compose project ``<project>-<system>-<member>`` from
the system's compose files, with its ports on the port plan of its slot
(``base + slot * stride``), and two networks:

- its own project network (``appnet``, or compose's ``default``), where
  service names such as ``rest`` and ``mq`` stay private to the member;
- one shared external network (``meshnet`` unless configured) that only the
  services the system lists join, plus a generated HAProxy **gateway** that
  carries the member's name as its alias there and forwards the declared
  ports to the member's services. ``http://retriever:80/`` from ``storer``
  therefore reaches retriever's ``rest`` through retriever's gateway.

Per-member **overlays** (config files rendered from templates with the other
members' values, e.g. a node's peers along the topology's links) are
bind-mounted into the member's containers; ``system.down`` renders them again
in standalone form (no peers), so a member still runs alone.

This module validates ``stack.sections["systems"]`` (key-path errors), plans
each member (names, ports, forwards, peers), renders every generated file to
text, and builds the ``docker`` argument lists. It reads the system's compose
files and templates, and writes nothing: :mod:`multistack.cli.system` acts.

Files of a member, in ``.instances/system-<name>/<member>/``:

- ``docker-compose.member.yml``: ports of its slot, overlay mounts, data
  volumes, env; with the base files alone it runs the member on its own;
- ``docker-compose.system.yml``: the shared network (``external: true``), the
  services that join it, the gateway with the member's alias;
- ``haproxy.cfg`` (the gateway's), ``member.env``, and the overlay files.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from multistack.plan.compose import ALL_PROFILES, DEFAULT_COMPOSE
from multistack.plan.compose import down_project as down_project_argv  # noqa: F401 - a member no longer declared: down by project name
from multistack.errors import StackError
from multistack.plan.gateway import COMMAND as GATEWAY_COMMAND
from multistack.plan.gateway import CONFIG_TARGET as GATEWAY_CONFIG_TARGET
from multistack.plan.gateway import Forward, check_forwards, haproxy_config, parse_forward
from multistack.plan.render import GeneratedFile
from multistack.model.stack import Stack, _kind, _Node
from multistack.plan.topology import SHAPES, expand_links, neighbours

DEFAULT_NETWORK = "meshnet"
DEFAULT_PROJECT_NETWORK = "default"
#: A pinned HAProxy image; the official image runs as a non-root user, hence the sysctl below.
DEFAULT_GATEWAY_IMAGE = "haproxy:2.8.14-alpine"
DEFAULT_GATEWAY_SERVICE = "gateway"
#: Label put on the shared network when multistack creates it; only such a network is removed on down.
NETWORK_LABEL = "dev.multistack.shared-network"
#: System names that would collide with other compose projects of the stack (``<project>-dev-N``).
RESERVED_SYSTEMS = ("dev",)

MEMBER_FILE = "docker-compose.member.yml"
SYSTEM_FILE = "docker-compose.system.yml"
ENV_FILE = "member.env"
GATEWAY_FILE = "haproxy.cfg"
RECORD = "system.json"
RECORD_VERSION = 1
GENERATED = (MEMBER_FILE, SYSTEM_FILE, ENV_FILE, GATEWAY_FILE)

_SYSTEM_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
#: RFC 1123 label: what Docker's DNS and every resolver accept as a host name.
_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_COMPOSE_PROJECT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_NETWORK_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SERVICE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_PORT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PULL_POLICIES = ("always", "never", "missing", "build", "if_not_present")


# --------------------------------------------------------------------------
# The validated section


@dataclass(frozen=True)
class SystemPort:
    """A port every member publishes: host port ``port + slot * stride``."""

    name: str
    port: int
    service: str
    container_port: int | None = None  # None: the member's own host port, inside too


@dataclass(frozen=True)
class Overlay:
    """A per-member file rendered from ``template`` on up, from ``reset`` (or standalone) on down."""

    name: str  # the file's name in the member's folder
    template: str
    reset: str | None = None
    mounts: tuple[tuple[str, str], ...] = ()  # (service, path in the container)


@dataclass(frozen=True)
class DataVolume:
    """A named volume per member (compose prefixes it with the member's project name)."""

    name: str
    mounts: tuple[tuple[str, str], ...] = ()  # (service, path in the container)


@dataclass(frozen=True)
class Gateway:
    service: str = DEFAULT_GATEWAY_SERVICE
    image: str = DEFAULT_GATEWAY_IMAGE
    pull_policy: str | None = None
    forward: tuple[str, ...] = ()  # "PORT:SERVICE:PORT" templates, rendered per member


@dataclass(frozen=True)
class Topology:
    shape: str = "none"
    hub: str | None = None  # member name
    links: tuple[tuple[str, str], ...] = ()  # expanded (shape and explicit), canonical order
    port: str | None = None  # the system port peers are addressed on: "<member>:<port>"


@dataclass(frozen=True)
class Member:
    name: str  # lowercased: DNS alias on the shared network, part of the compose project name
    callsign: str  # as written in stack.yaml (DUN-A): for display and config files
    slot: int
    env: tuple[tuple[str, str], ...] = ()
    vars: Mapping[str, Any] = field(default_factory=dict)  # template values ({{ vars.X }})


@dataclass(frozen=True)
class System:
    name: str
    members: tuple[Member, ...]
    compose_files: tuple[str, ...]
    description: str = ""
    network: str = DEFAULT_NETWORK
    project_network: str = DEFAULT_PROJECT_NETWORK
    shared_services: tuple[str, ...] = ()
    stride: int = 100
    ports: tuple[SystemPort, ...] = ()
    gateway: Gateway = Gateway()
    topology: Topology = Topology()
    env: tuple[tuple[str, str], ...] = ()
    vars: Mapping[str, Any] = field(default_factory=dict)  # template values ({{ vars.X }})
    overlays: tuple[Overlay, ...] = ()
    volumes: tuple[DataVolume, ...] = ()

    def member(self, name: str) -> Member:
        for m in self.members:
            if m.name == name.lower():
                return m
        raise StackError(f"system {self.name} has no member {name!r}",
                         f"members: {', '.join(m.callsign for m in self.members)}")


def project_name(stack: Stack, system: str, member: str) -> str:
    """The member's compose project: ``<project>-<system>-<member>``."""
    return f"{stack.project}-{system}-{member}"


def system_dir(stack: Stack, name: str) -> Path:
    return stack.root / stack.instances_dir / f"system-{name}"


def parse_systems(stack: Stack) -> dict[str, System]:
    """Validate the ``systems:`` section; every mistake names its key path."""
    raw = stack.sections.get("systems")
    if raw is None:
        return {}
    top = _Node(raw, "systems", stack.path.name)
    systems: dict[str, System] = {}
    for key, value in top.data.items():
        top.seen.add(key)
        name = str(key)
        if not isinstance(key, str) or not _SYSTEM_RE.match(key):
            top.fail("system names are lowercase letters, digits, - and _", name)
        if name in RESERVED_SYSTEMS:
            top.fail(f"{name!r} is reserved: its members' compose projects would look like instances "
                     f"({stack.project}-{name}-N)", name, "choose another system name")
        systems[name] = _system(stack, name, _Node(value, f"systems.{name}", stack.path.name))
    _check_across(stack, systems)
    return systems


def get_system(stack: Stack, name: str) -> System:
    systems = parse_systems(stack)
    if name not in systems:
        known = ", ".join(systems) or "none"
        raise StackError(f"no system named {name!r} in {stack.path.name} (systems: {known})",
                         "`inv system.list` shows them; declare systems under `systems:` in stack.yaml")
    return systems[name]


def _system(stack: Stack, name: str, node: _Node) -> System:
    description = node.string("description") or ""
    compose_files = node.strings("compose_files") or stack.compose_files
    if not compose_files:
        node.fail("no compose files: neither compose_files here nor compose.files in the stack",
                  "compose_files", "list the system's compose files, e.g. compose_files: [compose/suite/docker-compose.yml]")
    network = node.string("network", DEFAULT_NETWORK, _NETWORK_RE, "docker network name")
    project_network = node.string("project_network", DEFAULT_PROJECT_NETWORK, _SERVICE_RE, "compose network name")
    shared = node.strings("shared_services")
    for svc in shared:
        if not _SERVICE_RE.match(svc):
            node.fail(f"{svc!r} is not a valid compose service name", "shared_services")
    stride = node.integer("stride", stack.stride, lo=1, hi=65535)
    ports = _ports(node.child("ports"))
    gateway = _gateway(node.child("gateway"))
    members = _members(node.child("members"))
    topology = _topology(node.child("topology"), members, ports)
    env = node.env_map("env")
    vars_ = _vars(node, "vars")
    overlays = _overlays(node.child("overlays"))
    volumes = _volumes(node.child("volumes"))
    node.done()
    assert network is not None and project_network is not None and stride is not None
    system = System(name=name, members=members, compose_files=compose_files, description=description,
                    network=network, project_network=project_network,
                    shared_services=tuple(dict.fromkeys(s for s in shared if s != gateway.service)),
                    stride=stride, ports=ports, gateway=gateway, topology=topology, env=env, vars=vars_,
                    overlays=overlays, volumes=volumes)
    _check_system(stack, system, node)
    return system


def _ports(node: _Node) -> tuple[SystemPort, ...]:
    ports = []
    for name, value in node.items():
        if not _PORT_NAME_RE.match(name):
            node.fail("port names are lowercase letters, digits and _ (used as {{ ports.NAME }})", name)
        if not isinstance(value, dict):
            node.fail(f"must be a mapping with port and service, got {_kind(value)}", name)
        p = _Node(value, node.where(name), node.file)  # the raw value: a YAML key 80 is not "80"
        port = p.integer("port", lo=1, hi=65535)
        if port is None:
            p.fail("missing required key 'port'", hint="the host port of the member in slot 0")
        service = p.string("service", pattern=_SERVICE_RE, what="compose service name")
        if service is None:
            p.fail("missing required key 'service'", hint="the compose service that publishes the port")
        container_port = p.integer("container_port", lo=1, hi=65535)
        p.done()
        ports.append(SystemPort(name, port, service, container_port))
    return tuple(ports)


def _gateway(node: _Node) -> Gateway:
    service = node.string("service", DEFAULT_GATEWAY_SERVICE, _SERVICE_RE, "compose service name")
    image = node.string("image", DEFAULT_GATEWAY_IMAGE)
    pull_policy = node.string("pull_policy")
    if pull_policy is not None and pull_policy not in _PULL_POLICIES:
        node.fail(f"must be one of {', '.join(_PULL_POLICIES)}", "pull_policy")
    forward = node.strings("forward")
    if not forward:
        node.fail("a gateway needs at least one forward", "forward",
                  'list what the member answers on the shared network, e.g. forward: ["80:rest:80"]')
    node.done()
    assert service is not None and image is not None
    return Gateway(service, image, pull_policy, forward)


def _members(node: _Node) -> tuple[Member, ...]:
    if not node.data:
        node.fail("a system needs at least one member", hint="list them under members:, e.g. members: {storer: {slot: 1}}")
    members: list[Member] = []
    names: dict[str, str] = {}
    slots: dict[int, str] = {}
    for position, (key, value) in enumerate(node.data.items()):
        node.seen.add(key)
        callsign = str(key)
        name = callsign.lower()
        if not isinstance(key, (str, int)) or isinstance(key, bool) or not _DNS_LABEL_RE.match(name):
            node.fail(f"{callsign!r} is not a valid member name", callsign,
                      "letters, digits and -, starting and ending with a letter or digit, at most 63 "
                      "characters: it becomes a host name and part of a compose project name")
        if name in names:
            node.fail(f"{callsign!r} and {names[name]!r} are the same name once lowercased", callsign,
                      "member names must be unique: they are host names on the shared network")
        names[name] = callsign
        if value is not None and not isinstance(value, dict):
            node.fail(f"must be a mapping (slot, env, vars), got {_kind(value)}", callsign)
        m = _Node(value, node.where(callsign), node.file)
        slot = m.integer("slot", position, lo=0, hi=9999)
        assert slot is not None
        if slot in slots:
            m.fail(f"slot {slot} is also {slots[slot]}'s", "slot", "give every member its own slot: it sets its ports")
        slots[slot] = callsign
        env = m.env_map("env")
        vars_ = _vars(m, "vars")
        m.done()
        members.append(Member(name, callsign, slot, env, vars_))
    return tuple(members)


def _resolve_member(node: _Node, key: str, text: Any, members: Sequence[Member]) -> str:
    if not isinstance(text, (str, int)) or isinstance(text, bool):
        node.fail(f"must name a member, got {_kind(text)}", key)
    for m in members:
        if m.name == str(text).lower():
            return m.name
    node.fail(f"{text!r} is not a member", key, f"members: {', '.join(m.callsign for m in members)}")
    raise AssertionError  # unreachable: fail() raises


def _topology(node: _Node, members: tuple[Member, ...], ports: tuple[SystemPort, ...]) -> Topology:
    shape = node.string("shape", "none")
    if shape not in SHAPES:
        node.fail(f"unknown shape {shape!r}", "shape", f"use one of: {', '.join(SHAPES)}, or list links:")
    hub_raw = node.get("hub")
    hub = _resolve_member(node, "hub", hub_raw, members) if hub_raw is not None else None
    if shape == "star" and hub is None:
        node.fail("a star needs a hub", "hub", "name the member every other one links to, e.g. hub: storer")
    raw_links = node.get("links", [])
    if not isinstance(raw_links, list):
        node.fail(f"must be a list of [member, member] pairs, got {_kind(raw_links)}", "links")
    explicit = []
    for i, pair in enumerate(raw_links):
        where = f"links[{i}]"
        if not isinstance(pair, list) or len(pair) != 2:
            node.fail(f"must be a pair [member, member], got {pair!r}", where)
        a = _resolve_member(node, where, pair[0], members)
        b = _resolve_member(node, where, pair[1], members)
        if a == b:
            node.fail(f"links {pair[0]} to itself", where)
        explicit.append((a, b))
    port = node.string("port")
    if port is not None and port not in {p.name for p in ports}:
        node.fail(f"{port!r} is not one of the system's ports", "port",
                  f"ports: {', '.join(p.name for p in ports) or 'none declared'}")
    node.done()
    assert shape is not None
    links = expand_links(shape, [m.name for m in members], hub, explicit)
    return Topology(shape, hub, links, port)


def _vars(node: _Node, key: str) -> dict[str, Any]:
    raw = node.get(key, {})
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        node.fail(f"must be a mapping, got {_kind(raw)}", key)
    for name in raw:
        if not isinstance(name, str) or not _IDENT_RE.match(name):
            node.fail(f"{name!r} is not a valid template name (letters, digits, _)", f"{key}.{name}")
    return {k: raw[k] for k in sorted(raw)}


def _mounts(node: _Node, key: str, value: Any = None) -> tuple[tuple[str, str], ...]:
    """``{service: /path}``: ``node``'s child ``key``, or ``value`` (the raw value of that key)."""
    m = node.child(key) if value is None else _Node(value, node.where(key), node.file)
    mounts = []
    for service, target in m.items():
        if not _SERVICE_RE.match(service):
            m.fail("is not a valid compose service name", service)
        if not isinstance(target, str) or not target.startswith("/"):
            m.fail(f"must be an absolute path in the container, got {target!r}", service)
        mounts.append((service, target))
    return tuple(mounts)


def _overlays(node: _Node) -> tuple[Overlay, ...]:
    overlays = []
    for name, value in node.items():
        if not _FILE_RE.match(name) or name in GENERATED or name == RECORD:
            node.fail("overlay names are file names (letters, digits, ., - and _), other than "
                      f"{', '.join(GENERATED)}", name)
        if not isinstance(value, dict):
            node.fail(f"must be a mapping with template and mounts, got {_kind(value)}", name)
        o = _Node(value, node.where(name), node.file)
        template = o.string("template")
        if template is None:
            o.fail("missing required key 'template'", hint="a jinja2 file, relative to stack.yaml, or system-node.json.j2")
        reset = o.string("reset")
        mounts = _mounts(o, "mounts")
        o.done()
        overlays.append(Overlay(name, template, reset, mounts))
    return tuple(overlays)


def _volumes(node: _Node) -> tuple[DataVolume, ...]:
    volumes = []
    for name, value in node.items():
        if not _SYSTEM_RE.match(name):
            node.fail("volume names are lowercase letters, digits, - and _", name)
        if not isinstance(value, dict) or not value:
            node.fail("must map services to paths in their containers, e.g. {node: /var/lib/node}", name)
        volumes.append(DataVolume(name, _mounts(node, name, value)))
    return tuple(volumes)


def _check_system(stack: Stack, system: System, node: _Node) -> None:
    """What one system's parts must agree on (no file access)."""
    if system.network in ("default", system.project_network):
        node.fail(f"the shared network cannot be named {system.network!r}: that is the members' own network",
                  "network", "choose another name, e.g. network: meshnet")
    members = node.child("members")
    for m in system.members:
        project = project_name(stack, system.name, m.name)
        if not _COMPOSE_PROJECT_RE.match(project):
            members.fail(f"compose project name {project!r} is not valid", m.callsign)
        if m.name in system.shared_services or m.name == system.gateway.service:
            members.fail(f"{m.callsign!r} is also the name of a service on the shared network {system.network}",
                         m.callsign, "rename the member: on the shared network its name must mean its gateway only")
    owner: dict[int, str] = {}
    for m in system.members:
        for p in system.ports:
            port = p.port + m.slot * system.stride
            where = f"{m.callsign} (slot {m.slot})"
            if port > 65535:
                node.fail(f"{p.name}: {where} would get port {port} (> 65535)", "ports",
                          "lower the base port, the stride or the slot")
            if port in owner:
                node.fail(f"port {port} is {owner[port]} and {p.name} of {where}", "ports",
                          f"move a base port or a slot so that no two land on one port (stride {system.stride})")
            owner[port] = f"{p.name} of {where}"
    service_mounts: dict[tuple[str, str], str] = {}
    for kind, items in (("overlays", [(o.name, o.mounts) for o in system.overlays]),
                        ("volumes", [(v.name, v.mounts) for v in system.volumes])):
        for name, mounts in items:
            for service, target in mounts:
                if (service, target) in service_mounts:
                    node.fail(f"{service}:{target} is mounted twice ({service_mounts[service, target]} and {name})",
                              f"{kind}.{name}")
                service_mounts[service, target] = name


def _check_across(stack: Stack, systems: dict[str, System]) -> None:
    """Names that must be unique between systems: compose projects, and member names per shared network.

    A member's name is its gateway's alias on the shared network: another
    system's member, or a service of another system that joins the same
    network, with that name would make Docker's DNS answer round-robin.
    """
    projects: dict[str, str] = {}
    members: dict[tuple[str, str], tuple[str, str]] = {}  # (network, name) -> (system, what)
    services: dict[tuple[str, str], tuple[str, str]] = {}
    for system in systems.values():
        where = f"{stack.path.name}: systems.{system.name}"
        for m in system.members:
            project = project_name(stack, system.name, m.name)
            if project in projects:
                raise StackError(f"{where}.members.{m.callsign}: compose project {project} is also {projects[project]}'s",
                                 "rename the member or the system")
            projects[project] = f"member {m.callsign} of system {system.name}"
            key = (system.network, m.name)
            other = members.get(key) or services.get(key)
            if other and other[0] != system.name:
                raise StackError(f"{where}.members.{m.callsign}: {m.name!r} is also {other[1]} of system {other[0]} "
                                 f"on the shared network {system.network}",
                                 "rename one, or give one of the systems its own network:")
            members[key] = (system.name, f"member {m.callsign}")
        for svc in (*system.shared_services, system.gateway.service):
            key = (system.network, svc)
            other = members.get(key)
            if other and other[0] != system.name:
                raise StackError(f"{where}: service {svc!r} joins the shared network {system.network}, where "
                                 f"{svc!r} is {other[1]} of system {other[0]}",
                                 "rename the member, or give one of the systems its own network:")
            services.setdefault(key, (system.name, f"service {svc}"))


# --------------------------------------------------------------------------
# Planning the members (reads the compose files)


@dataclass(frozen=True)
class MemberPlan:
    member: Member
    index: int
    project_name: str
    dir: Path
    ports: dict[str, int]  # host ports
    container_ports: dict[str, int]
    forwards: tuple[Forward, ...]
    peers: tuple[str, ...]  # member names, along the links
    project_network_name: str  # the docker name of the member's own network
    services: tuple[str, ...]  # the services of the compose files

    @property
    def name(self) -> str:
        return self.member.name

    @property
    def callsign(self) -> str:
        return self.member.callsign


@dataclass(frozen=True)
class SystemPlan:
    stack: Stack
    system: System
    dir: Path
    members: tuple[MemberPlan, ...]
    base: Mapping[str, Mapping[str, Any]]  # the compose files' services, merged by name

    @property
    def links(self) -> tuple[tuple[str, str], ...]:
        return self.system.topology.links

    @property
    def hub(self) -> str | None:
        return self.system.topology.hub

    def member(self, name: str) -> MemberPlan:
        wanted = self.system.member(name).name
        return next(mp for mp in self.members if mp.name == wanted)


def plan_system(stack: Stack, system: System) -> SystemPlan:
    """Every member's names, ports, forwards and peers, checked against the compose files."""
    where = f"{stack.path.name}: systems.{system.name}"
    for rel in system.compose_files:
        if not (stack.root / rel).is_file():
            raise StackError(f"{where}.compose_files: {rel} does not exist",
                             f"create {rel} or fix the path (relative to {stack.path.name})")
    base, networks = read_compose(stack, system.compose_files)
    _check_against_compose(stack, system, base, networks)
    from multistack.plan.templating import render_string

    folder = system_dir(stack, system.name)
    names = [m.name for m in system.members]
    members = []
    for index, m in enumerate(system.members):
        project = project_name(stack, system.name, m.name)
        ports = {p.name: p.port + m.slot * system.stride for p in system.ports}
        container_ports = {p.name: p.container_port or ports[p.name] for p in system.ports}
        variables = {"name": m.name, "callsign": m.callsign, "slot": m.slot, "index": index,
                     "ports": ports, "container_ports": container_ports}
        forwards = []
        for i, text in enumerate(system.gateway.forward):
            at = f"{where}.gateway.forward[{i}]"
            fwd = parse_forward(render_string(text, variables, where=at), f"{at} (member {m.callsign})")
            if fwd.service not in base:
                raise StackError(f"{at}: no service {fwd.service!r} in {', '.join(system.compose_files)}",
                                 f"use one of: {', '.join(sorted(base))}")
            if not _on_network(base[fwd.service], system.project_network):
                raise StackError(f"{at}: service {fwd.service!r} is not on the project network "
                                 f"{system.project_network!r}, where the gateway reaches it",
                                 f"add {system.project_network} to its networks:")
            forwards.append(fwd)
        check_forwards(forwards, f"{where}.gateway.forward (member {m.callsign})")
        network_name = f"{project}_{system.project_network}"
        members.append(MemberPlan(m, index, project, folder / m.name, ports, container_ports, tuple(forwards),
                                  neighbours(system.topology.links, m.name, names), network_name,
                                  tuple(sorted(base))))
    plan = SystemPlan(stack, system, folder, tuple(members), base)
    if system.topology.port:
        for mp in plan.members:
            listen = mp.container_ports[system.topology.port]
            if not any(f.port == listen for f in mp.forwards):
                raise StackError(f"{where}.topology.port: peers reach {mp.callsign} at {mp.name}:{listen}, "
                                 f"but its gateway does not forward port {listen}",
                                 f"forward it, e.g. \"{{{{ container_ports.{system.topology.port} }}}}:"
                                 f"{_port(system, system.topology.port).service}:"
                                 f"{{{{ container_ports.{system.topology.port} }}}}\"")
    return plan


def _port(system: System, name: str) -> SystemPort:
    return next(p for p in system.ports if p.name == name)


def read_compose(stack: Stack, files: Sequence[str]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The services (merged by name) and top-level networks of compose files."""
    import yaml

    from multistack.plan.render import _ComposeLoader, read_base_services

    services = read_base_services(replace(stack, compose_files=tuple(files)))
    networks: dict[str, Any] = {}
    for rel in files:  # a second read for networks: read_base_services returns only the services
        data = yaml.load((stack.root / rel).read_text(encoding="utf-8"), Loader=_ComposeLoader)  # noqa: S506
        for key, value in ((data or {}).get("networks") or {}).items():
            networks.setdefault(str(key), {}).update(value if isinstance(value, dict) else {})
    return services, networks


def _on_network(spec: Mapping[str, Any], network: str) -> bool:
    """Is a service on ``network``? Without ``networks:`` a service is on ``default`` only."""
    nets = spec.get("networks")
    if not nets:
        return network == "default"
    return network in nets


def _check_against_compose(stack: Stack, system: System, base: Mapping[str, Any], networks: Mapping[str, Any]) -> None:
    where = f"{stack.path.name}: systems.{system.name}"
    files = ", ".join(system.compose_files)
    known = f"use one of: {', '.join(sorted(base))}"

    def need(service: str, key: str) -> None:
        if service not in base:
            raise StackError(f"{where}.{key}: no service {service!r} in {files}", known)

    for svc in system.shared_services:
        need(svc, "shared_services")
    for p in system.ports:
        need(p.service, f"ports.{p.name}.service")
    for o in system.overlays:
        for svc, _ in o.mounts:
            need(svc, f"overlays.{o.name}.mounts")
    for v in system.volumes:
        for svc, _ in v.mounts:
            need(svc, f"volumes.{v.name}")
    if system.gateway.service in base:
        raise StackError(f"{where}.gateway.service: {files} already has a service {system.gateway.service!r}",
                         "name the generated gateway otherwise: gateway: {service: member-gateway}")
    net = system.project_network
    if net != "default" and net not in networks:
        raise StackError(f"{where}.project_network: no network {net!r} in {files}",
                         f"declare it under networks:, or use one of: default, {', '.join(sorted(networks))}")
    if (networks.get(net) or {}).get("name") or (networks.get(net) or {}).get("external"):
        raise StackError(f"{where}.project_network: network {net!r} has a fixed name or is external, "
                         "so every member would share it", "remove its name:/external: so compose scopes it per project")
    if system.network in networks:
        raise StackError(f"{where}.network: {files} already declares a network {system.network!r}",
                         "the shared network is declared by multistack (external): remove it from the compose files "
                         "or choose another network: name")
    for svc in system.shared_services:
        if not _on_network(base[svc], net):
            raise StackError(f"{where}.shared_services: service {svc!r} is not on the project network {net!r}",
                             f"add {net} to its networks: in {files}")


# --------------------------------------------------------------------------
# Rendering


def member_dict(plan: SystemPlan, mp: MemberPlan) -> dict[str, Any]:
    """What templates know about a member (itself, a peer, the hub)."""
    system = plan.system
    listen = mp.container_ports.get(system.topology.port) if system.topology.port else None
    return {
        "name": mp.name, "callsign": mp.callsign, "slot": mp.member.slot, "index": mp.index,
        "node_id": mp.index + 1, "project_name": mp.project_name, "address": mp.name,
        "ports": dict(mp.ports), "container_ports": dict(mp.container_ports),
        "vars": {**system.vars, **mp.member.vars}, "is_hub": plan.hub == mp.name,
        "listen_port": listen, "peer_names": list(mp.peers),
    }


def member_variables(plan: SystemPlan, mp: MemberPlan, standalone: bool = False) -> dict[str, Any]:
    """The names member templates use: ``{{ callsign }}``, ``{{ peers }}``, ``{{ vars.ebus }}``...

    Standalone (what ``system.down`` renders): the member alone, no peers, no
    links, no hub other than itself: a harmless configuration.
    """
    system = plan.system
    me = member_dict(plan, mp)
    everyone = {m.name: member_dict(plan, m) for m in plan.members}
    if standalone:
        everyone = {mp.name: me}
    peers = [] if standalone else [everyone[name] for name in mp.peers]
    port = system.topology.port
    hub = everyone.get(plan.hub) if plan.hub else None
    return {
        **me,
        "system": system.name, "description": system.description, "network": system.network,
        "project": plan.stack.project, "host_ip": plan.stack.host_ip, "standalone": standalone,
        "member": me, "members": list(everyone.values()), "member_by_name": everyone,
        "peers": peers, "links": [] if standalone else [list(link) for link in plan.links],
        "hub": hub, "peer_addresses": [f"{p['name']}:{p['container_ports'][port]}" for p in peers] if port else [],
    }


def member_env(plan: SystemPlan, mp: MemberPlan) -> list[tuple[str, str]]:
    """``member.env``: fixed variables, the ports, the system's env then the member's (member wins)."""
    from multistack.plan.templating import render_string

    system = plan.system
    variables = member_variables(plan, mp)
    pairs: dict[str, str] = {
        "COMPOSE_PROJECT_NAME": mp.project_name,
        "MULTISTACK_SYSTEM": system.name,
        "MULTISTACK_MEMBER": mp.name,
        "MULTISTACK_CALLSIGN": mp.callsign,
        "MULTISTACK_SLOT": str(mp.member.slot),
        "MULTISTACK_NETWORK": system.network,
    }
    for name, port in mp.ports.items():
        pairs[f"MULTISTACK_PORT_{name.upper()}"] = str(port)
    where = f"{plan.stack.path.name}: systems.{system.name}"
    for key, template in system.env:
        pairs[key] = render_string(template, variables, where=f"{where}.env.{key}")
    for key, template in mp.member.env:
        pairs[key] = render_string(template, variables, where=f"{where}.members.{mp.callsign}.env.{key}")
    return list(pairs.items())


def _env_text(plan: SystemPlan, mp: MemberPlan) -> str:
    from multistack.plan.envfiles import rewrite_env

    header = f"# Generated by multistack: member {mp.callsign} of system {plan.system.name} ({mp.project_name})."
    return rewrite_env("", ENV_FILE, (), member_env(plan, mp), header=header)


def _compose_services(plan: SystemPlan, mp: MemberPlan) -> list[dict[str, Any]]:
    """What ``docker-compose.member.yml`` says about each service, in name order."""
    system = plan.system
    host_ip = plan.stack.host_ip
    out = []
    for name in sorted(plan.base):
        spec = plan.base[name]
        ports = [f"{host_ip}:{mp.ports[p.name]}:{mp.container_ports[p.name]}" for p in system.ports if p.service == name]
        container_name = spec.get("container_name")
        out.append({
            "name": name,
            "ports": ports,
            "reset_ports": bool(spec.get("ports")) and not ports,
            "container_name": f"{container_name}-{mp.name}" if container_name else None,
            "env_file": str(mp.dir / ENV_FILE),
            "binds": [(str(mp.dir / o.name), target) for o in system.overlays for svc, target in o.mounts if svc == name],
            "volumes": [(v.name, target) for v in system.volumes for svc, target in v.mounts if svc == name],
        })
    return out


def render_member_compose(plan: SystemPlan, mp: MemberPlan) -> str:
    from multistack.plan.templating import render_file

    variables = {**member_variables(plan, mp), "services": _compose_services(plan, mp),
                 "volume_names": [v.name for v in plan.system.volumes]}
    return render_file("system-member.yml.j2", variables)


def render_system_compose(plan: SystemPlan, mp: MemberPlan) -> str:
    from multistack.plan.templating import render_file

    system = plan.system
    gw = system.gateway
    variables = {
        **member_variables(plan, mp),
        "gateway": {"service": gw.service, "image": gw.image, "pull_policy": gw.pull_policy,
                    "command": list(GATEWAY_COMMAND), "config": str(mp.dir / GATEWAY_FILE),
                    "config_target": GATEWAY_CONFIG_TARGET, "forwards": [f.describe() for f in mp.forwards]},
        "project_network": system.project_network,
        "shared_services": list(system.shared_services),
    }
    return render_file("system-shared.yml.j2", variables)


def render_gateway(plan: SystemPlan, mp: MemberPlan) -> str:
    return haproxy_config(mp.forwards, member=mp.name, system=plan.system.name, project_name=mp.project_name,
                          network=plan.system.network, project_network=mp.project_network_name)


def render_overlay(plan: SystemPlan, mp: MemberPlan, overlay: Overlay, standalone: bool) -> str:
    """An overlay's text: ``template`` with the system, or ``reset`` (else ``template`` standalone) alone."""
    from multistack.plan.templating import render_file

    template = overlay.reset if standalone and overlay.reset else overlay.template
    path = plan.stack.root / template
    variables = member_variables(plan, mp, standalone=standalone)
    if path.is_file():
        return render_file(path.name, variables, user_dir=path.parent)
    if "/" not in template and template.startswith("system-") and template.endswith(".j2"):
        return render_file(template, variables)
    key = "reset" if template == overlay.reset else "template"
    raise StackError(f"{plan.stack.path.name}: systems.{plan.system.name}.overlays.{overlay.name}.{key}: "
                     f"{template} does not exist",
                     "give a path relative to stack.yaml, or a packaged template such as system-node.json.j2")


def render_overlays(plan: SystemPlan, standalone: bool) -> dict[str, GeneratedFile]:
    return {f"{mp.name}/{o.name}": GeneratedFile(render_overlay(plan, mp, o, standalone))
            for mp in plan.members for o in plan.system.overlays}


def render_system(plan: SystemPlan) -> dict[str, GeneratedFile]:
    """Every file of every member (overlays in their system form), by path in the system folder."""
    files: dict[str, GeneratedFile] = {}
    for mp in plan.members:
        files[f"{mp.name}/{MEMBER_FILE}"] = GeneratedFile(render_member_compose(plan, mp))
        files[f"{mp.name}/{SYSTEM_FILE}"] = GeneratedFile(render_system_compose(plan, mp))
        files[f"{mp.name}/{ENV_FILE}"] = GeneratedFile(_env_text(plan, mp), 0o600)
        files[f"{mp.name}/{GATEWAY_FILE}"] = GeneratedFile(render_gateway(plan, mp))
    files.update(render_overlays(plan, standalone=False))
    return dict(sorted(files.items()))


# --------------------------------------------------------------------------
# The record of what was generated and started


@dataclass(frozen=True)
class SystemRecord:
    """``system.json``: which compose projects and network a system used, and the files' hashes.

    ``system.down`` reads it to take down members that stack.yaml no longer
    lists; the hashes tell a file we wrote from one edited by hand.
    """

    system: str
    network: str
    members: dict[str, str]  # member name -> compose project
    files: dict[str, str] = field(default_factory=dict)  # path in the system folder -> sha256
    version: int = RECORD_VERSION

    def to_text(self) -> str:
        data = {"version": self.version, "system": self.system, "network": self.network,
                "members": dict(sorted(self.members.items())), "files": dict(sorted(self.files.items()))}
        return json.dumps(data, indent=2) + "\n"


def parse_record(text: str, where: str) -> SystemRecord:
    try:
        data = json.loads(text)
        version = data["version"]
    except (ValueError, KeyError, TypeError):
        raise StackError(f"{where}: not a multistack system record", "remove the file and run `inv system.up`") from None
    if not isinstance(version, int) or version > RECORD_VERSION:
        raise StackError(f"{where}: written by a newer multistack (record version {version}, "
                         f"this one reads {RECORD_VERSION})", "upgrade multistack")
    try:
        return SystemRecord(str(data["system"]), str(data["network"]),
                            {str(k): str(v) for k, v in data["members"].items()},
                            {str(k): str(v) for k, v in data.get("files", {}).items()}, version)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise StackError(f"{where}: system record is damaged", "remove the file and run `inv system.up`") from None


def read_record(folder: Path) -> SystemRecord | None:
    try:
        text = (folder / RECORD).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return parse_record(text, str(folder / RECORD))


# --------------------------------------------------------------------------
# Argument lists (pure)


def compose_args(plan: SystemPlan, mp: MemberPlan, compose: Sequence[str] = DEFAULT_COMPOSE,
                 joined: bool = True) -> list[str]:
    """``docker compose -p PROJECT -f base... -f member.yml [-f system.yml] --env-file member.env``."""
    argv = [*compose, "-p", mp.project_name]
    for rel in plan.system.compose_files:
        argv += ["-f", str(plan.stack.root / rel)]
    argv += ["-f", str(mp.dir / MEMBER_FILE)]
    if joined:
        argv += ["-f", str(mp.dir / SYSTEM_FILE)]
    return argv + ["--env-file", str(mp.dir / ENV_FILE)]


def up_argv(plan: SystemPlan, mp: MemberPlan, compose: Sequence[str] = DEFAULT_COMPOSE,
            recreate: bool = False) -> list[str]:
    """``up --wait``; ``recreate`` when a bind-mounted file changed under running containers."""
    argv = [*compose_args(plan, mp, compose), "up", "-d", "--remove-orphans", "--wait"]
    return argv + ["--force-recreate"] if recreate else argv


def down_argv(plan: SystemPlan, mp: MemberPlan, compose: Sequence[str] = DEFAULT_COMPOSE,
              volumes: bool = False) -> list[str]:
    argv = [*compose_args(plan, mp, compose), *ALL_PROFILES, "down", "--remove-orphans"]
    return argv + ["--volumes"] if volumes else argv


#: One query answers both questions about the shared network: is it ours, and is anything attached?
NETWORK_FORMAT = '{{json .Labels}} {{len .Containers}}'


def network_inspect_argv(network: str, docker: str = "docker") -> list[str]:
    return [docker, "network", "inspect", network, "--format", NETWORK_FORMAT]


def network_create_argv(network: str, docker: str = "docker") -> list[str]:
    return [docker, "network", "create", "--driver", "bridge", "--label", f"{NETWORK_LABEL}=true", network]


def network_rm_argv(network: str, docker: str = "docker") -> list[str]:
    return [docker, "network", "rm", network]


@dataclass(frozen=True)
class NetworkState:
    exists: bool
    ours: bool = False  # created by multistack (labelled)
    attached: int = 0  # containers connected now, i.e. running members of any system

    @property
    def removable(self) -> bool:
        return self.exists and self.ours and self.attached == 0


def parse_network_state(ok: bool, stdout: str) -> NetworkState:
    """From ``network inspect --format NETWORK_FORMAT``; a failed inspect means no such network."""
    if not ok:
        return NetworkState(False)
    text = stdout.strip()
    labels_text, _, count = text.rpartition(" ")
    try:
        labels = json.loads(labels_text) or {}
        attached = int(count)
    except ValueError:
        return NetworkState(True, False, 0)
    return NetworkState(True, isinstance(labels, dict) and NETWORK_LABEL in labels, attached)
