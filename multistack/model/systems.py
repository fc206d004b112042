"""The ``systems:`` section of stack.yaml: named groups of members that work together (pure).

Validated once, when stack.yaml is loaded, into frozen dataclasses; every
mistake names its key path (``stack.yaml: systems.suite.members.storer.slot``).
What needs the system's compose files (their services and networks) is
checked when a system is planned, by :mod:`multistack.act.systems`.

A topology is either a shape over the members in the order stack.yaml lists
them (``line``: each to the next; ``star``: the hub to every other; ``full``:
every pair) or explicit links, or both. Links are undirected and kept in one
canonical order (by member position) so that every file generated from them
is byte-identical between runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from multistack.errors import StackError
from multistack.model.names import DNS_LABEL_RE, ENV_KEY_RE, NAME_RE, PORT_NAME_RE, SERVICE_RE, normal_name
from multistack.model.reader import Node, kind

SHAPES = ("none", "line", "star", "full")
Link = tuple[str, str]

DEFAULT_NETWORK = "meshnet"
DEFAULT_PROJECT_NETWORK = "default"
#: A pinned HAProxy image; the official image runs as a non-root user, hence the sysctl below.
DEFAULT_GATEWAY_IMAGE = "haproxy:2.8.14-alpine"
DEFAULT_GATEWAY_SERVICE = "gateway"
#: System names that would collide with other compose projects of the stack (``<project>-dev-N``).
RESERVED_SYSTEMS = ("dev",)

MEMBER_FILE = "docker-compose.member.yml"
SYSTEM_FILE = "docker-compose.system.yml"
ENV_FILE = "member.env"
GATEWAY_FILE = "haproxy.cfg"
RECORD = "system.json"
GENERATED = (MEMBER_FILE, SYSTEM_FILE, ENV_FILE, GATEWAY_FILE)

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
    """A named volume per member: ``<member's project>_<name>``, or exactly ``docker_name`` rendered per member.

    ``docker_name`` is a template (``telex-node-{{ vars.node }}-data``) written into the
    member's compose file as the volume's top-level ``name:``, so compose does not prefix it.
    """

    name: str
    mounts: tuple[tuple[str, str], ...] = ()  # (service, path in the container)
    docker_name: str | None = None


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
    namespace: str | None = None  # its own namespace, checked for uniqueness with the instances'


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
    engine: str | None = None  # an engines: name (docs/engines.md); None: the default engine

    def member(self, name: str) -> Member:
        """``LON-B``, ``lon-b`` or ``lon_b``: the one normalisation of :func:`normal_name`."""
        wanted = normal_name(name)
        for m in self.members:
            if normal_name(m.callsign) == wanted:
                return m
        raise StackError(f"system {self.name} has no member {shown_name(name)!r}",
                         f"members: {', '.join(m.callsign for m in self.members)}")


def shown_name(name: str, limit: int = 60) -> str:
    """A name typed on the command line, cut for an error line (a 5000-character one stays one readable line)."""
    return name if len(name) <= limit else f"{name[:limit]}...({len(name)} characters)"


def member_project(project: str, system: str, member: str) -> str:
    """A member's compose project: ``<project>-<system>-<member>``."""
    return f"{project}-{system}-{member}"


@dataclass(frozen=True)
class StackBasics:
    """What a system's parse needs to know of the stack around it."""

    file: str  # stack.yaml's name, for messages
    project: str
    compose_files: tuple[str, ...]  # the stack's, the default of a system's
    stride: int


def parse_systems(raw: Any, basics: StackBasics) -> dict[str, System]:
    """Validate the ``systems:`` section (None when absent); every mistake names its key path."""
    if raw is None:
        return {}
    top = Node(raw, "systems", basics.file)
    systems: dict[str, System] = {}
    for key, value in top.data.items():
        top.seen.add(key)
        name = str(key)
        if not isinstance(key, str) or not NAME_RE.fullmatch(key):
            top.fail("system names are lowercase letters, digits, - and _", name,
                     "rename the system, e.g. suite or sim-2: it becomes part of compose project names")
        if name in RESERVED_SYSTEMS:
            top.fail(f"{name!r} is reserved: its members' compose projects would look like instances "
                     f"({basics.project}-{name}-N)", name, "choose another system name")
        systems[name] = _system(basics, name, Node(value, f"systems.{name}", basics.file))
    top.refuse_clash(list(systems), "system")
    _check_across(basics, systems)
    return systems


def _system(basics: StackBasics, name: str, node: Node) -> System:
    description = node.string("description") or ""
    compose_files = node.strings("compose_files") or basics.compose_files
    if not compose_files:
        node.fail("no compose files: neither compose_files here nor compose.files in the stack",
                  "compose_files", "list the system's compose files, e.g. compose_files: [compose/suite/docker-compose.yml]")
    network = node.string("network", DEFAULT_NETWORK, SERVICE_RE, "docker network name")
    project_network = node.string("project_network", DEFAULT_PROJECT_NETWORK, SERVICE_RE, "compose network name")
    shared = node.strings("shared_services")
    for svc in shared:
        if not SERVICE_RE.fullmatch(svc):
            node.fail(f"{svc!r} is not a valid compose service name", "shared_services")
    stride = node.integer("stride", basics.stride, lo=1, hi=65535)
    ports = _ports(node.child("ports"))
    gateway = _gateway(node.child("gateway"))
    members = _members(node.child("members"))
    topology = _topology(node.child("topology"), members, ports)
    env = node.env_map("env")
    vars_ = _vars(node, "vars")
    overlays = _overlays(node.child("overlays"))
    volumes = _volumes(node.child("volumes"))
    engine = node.string("engine", pattern=NAME_RE, what="engine name")
    node.done()
    assert network is not None and project_network is not None and stride is not None
    system = System(name=name, members=members, compose_files=compose_files, description=description,
                    network=network, project_network=project_network,
                    shared_services=tuple(dict.fromkeys(s for s in shared if s != gateway.service)),
                    stride=stride, ports=ports, gateway=gateway, topology=topology, env=env, vars=vars_,
                    overlays=overlays, volumes=volumes, engine=engine)
    _check_system(basics, system, node)
    return system


def _ports(node: Node) -> tuple[SystemPort, ...]:
    ports = []
    for name, value in node.items():
        if not PORT_NAME_RE.fullmatch(name):
            node.fail("port names are lowercase letters, digits and _ (used as {{ ports.NAME }})", name,
                      "rename the port, e.g. http or admin_api")
        if not isinstance(value, dict):
            node.fail(f"must be a mapping with port and service, got {kind(value)}", name)
        p = Node(value, node.where(name), node.file)  # the raw value: a YAML key 80 is not "80"
        port = p.integer("port", lo=1, hi=65535)
        if port is None:
            p.fail("missing required key 'port'", hint="the host port of the member in slot 0")
        service = p.string("service", pattern=SERVICE_RE, what="compose service name")
        if service is None:
            p.fail("missing required key 'service'", hint="the compose service that publishes the port")
        container_port = p.integer("container_port", lo=1, hi=65535)
        p.done()
        ports.append(SystemPort(name, port, service, container_port))
    return tuple(ports)


def _gateway(node: Node) -> Gateway:
    service = node.string("service", DEFAULT_GATEWAY_SERVICE, SERVICE_RE, "compose service name")
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


def _members(node: Node) -> tuple[Member, ...]:
    if not node.data:
        node.fail("a system needs at least one member", hint="list them under members:, e.g. members: {storer: {slot: 1}}")
    members: list[Member] = []
    names: dict[str, str] = {}
    slots: dict[int, str] = {}
    for position, (key, value) in enumerate(node.data.items()):
        node.seen.add(key)
        callsign = str(key)
        name = callsign.lower()
        if not isinstance(key, (str, int)) or isinstance(key, bool) or not DNS_LABEL_RE.fullmatch(name):
            node.fail(f"{callsign!r} is not a valid member name", callsign,
                      "letters, digits and -, starting and ending with a letter or digit, at most 63 "
                      "characters: it becomes a host name and part of a compose project name")
        same = names.setdefault(normal_name(callsign), callsign)  # the one normalisation (names.py)
        if same != callsign:
            node.fail(f"{callsign!r} and {same!r} are the same name once lowercased", callsign,
                      "member names must be unique: they are host names on the shared network")
        if value is not None and not isinstance(value, dict):
            node.fail(f"must be a mapping (slot, env, vars), got {kind(value)}", callsign)
        m = Node(value, node.where(callsign), node.file)
        slot = m.integer("slot", position, lo=0, hi=9999)
        namespace = m.string("namespace")
        assert slot is not None
        if slot in slots:
            m.fail(f"slot {slot} is also {slots[slot]}'s", "slot", "give every member its own slot: it sets its ports")
        slots[slot] = callsign
        env = m.env_map("env")
        vars_ = _vars(m, "vars")
        m.done()
        members.append(Member(name, callsign, slot, env, vars_, namespace))
    return tuple(members)


def _resolve_member(node: Node, key: str, text: Any, members: Sequence[Member]) -> str:
    if not isinstance(text, (str, int)) or isinstance(text, bool):
        node.fail(f"must name a member, got {kind(text)}", key)
    for m in members:
        if m.name == str(text).lower():
            return m.name
    node.fail(f"{text!r} is not a member", key, f"members: {', '.join(m.callsign for m in members)}")
    raise AssertionError  # unreachable: fail() raises


def _topology(node: Node, members: tuple[Member, ...], ports: tuple[SystemPort, ...]) -> Topology:
    shape = node.string("shape", "none")
    if shape not in SHAPES:
        node.fail(f"unknown shape {shape!r}", "shape", f"use one of: {', '.join(SHAPES)}, or list links:")
    hub_raw = node.get("hub")
    hub = _resolve_member(node, "hub", hub_raw, members) if hub_raw is not None else None
    if shape == "star" and hub is None:
        node.fail("a star needs a hub", "hub", "name the member every other one links to, e.g. hub: storer")
    raw_links = node.get("links", [])
    if not isinstance(raw_links, list):
        node.fail(f"must be a list of [member, member] pairs, got {kind(raw_links)}", "links")
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


def _vars(node: Node, key: str) -> dict[str, Any]:
    raw = node.get(key, {})
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        node.fail(f"must be a mapping, got {kind(raw)}", key)
    for name in raw:
        if not isinstance(name, str) or not ENV_KEY_RE.fullmatch(name):
            node.fail(f"{name!r} is not a valid template name (letters, digits, _)", f"{key}.{name}",
                      "rename it, e.g. ebus or node_id: templates read it as {{ vars.NAME }}")
    return {k: raw[k] for k in sorted(raw)}


def _mounts(node: Node, key: str, value: Any = None) -> tuple[tuple[str, str], ...]:
    """``{service: /path}``: ``node``'s child ``key``, or ``value`` (the raw value of that key)."""
    m = node.child(key) if value is None else Node(value, node.where(key), node.file)
    mounts = []
    for service, target in m.items():
        if not SERVICE_RE.fullmatch(service):
            m.fail("is not a valid compose service name", service, "name a service of the system's compose files")
        if not isinstance(target, str) or not target.startswith("/"):
            m.fail(f"must be an absolute path in the container, got {target!r}", service,
                   "write the path inside the container, e.g. /var/lib/data")
        mounts.append((service, target))
    return tuple(mounts)


def _overlays(node: Node) -> tuple[Overlay, ...]:
    overlays = []
    for name, value in node.items():
        if not SERVICE_RE.fullmatch(name) or name in GENERATED or name == RECORD:
            node.fail("overlay names are file names (letters, digits, ., - and _), other than "
                      f"{', '.join(GENERATED)}", name)
        if not isinstance(value, dict):
            node.fail(f"must be a mapping with template and mounts, got {kind(value)}", name)
        o = Node(value, node.where(name), node.file)
        template = o.string("template")
        if template is None:
            o.fail("missing required key 'template'", hint="a jinja2 file, relative to stack.yaml, or system-node.json.j2")
        reset = o.string("reset")
        mounts = _mounts(o, "mounts")
        o.done()
        overlays.append(Overlay(name, template, reset, mounts))
    return tuple(overlays)


def _volumes(node: Node) -> tuple[DataVolume, ...]:
    """``data: {node: /var/lib/node}``, or ``data: {name: TEMPLATE, mounts: {node: /var/lib/node}}``.

    The long form is recognised by its ``mounts:`` key (a service named ``mounts``
    needs the long form).
    """
    volumes = []
    for name, value in node.items():
        if not NAME_RE.fullmatch(name):
            node.fail("volume names are lowercase letters, digits, - and _", name,
                      "rename the volume, e.g. data; give the docker name with {name: TEMPLATE, mounts: ...}")
        if not isinstance(value, dict) or not value:
            node.fail("must map services to paths in their containers, e.g. {node: /var/lib/node}", name)
        if "mounts" not in value:
            volumes.append(DataVolume(name, _mounts(node, name, value)))
            continue
        v = Node(value, node.where(name), node.file)
        docker_name = v.string("name")
        mounts = _mounts(v, "mounts")
        if not mounts:
            v.fail("must map services to paths in their containers, e.g. {node: /var/lib/node}", "mounts")
        v.done()
        volumes.append(DataVolume(name, mounts, docker_name))
    return tuple(volumes)


def _check_system(basics: StackBasics, system: System, node: Node) -> None:
    """What one system's parts must agree on (no file access)."""
    if system.network in ("default", system.project_network):
        node.fail(f"the shared network cannot be named {system.network!r}: that is the members' own network",
                  "network", "choose another name, e.g. network: meshnet")
    members = node.child("members")
    for m in system.members:
        project = member_project(basics.project, system.name, m.name)
        if not NAME_RE.fullmatch(project):
            members.fail(f"compose project name {project!r} is not valid", m.callsign,
                         "shorten or rename the project, system or member: compose project names are lowercase "
                         "letters, digits, - and _")
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
    for section, items in (("overlays", [(o.name, o.mounts) for o in system.overlays]),
                           ("volumes", [(v.name, v.mounts) for v in system.volumes])):
        for name, mounts in items:
            for service, target in mounts:
                if (service, target) in service_mounts:
                    node.fail(f"{service}:{target} is mounted twice ({service_mounts[service, target]} and {name})",
                              f"{section}.{name}")
                service_mounts[service, target] = name


def _check_across(basics: StackBasics, systems: dict[str, System]) -> None:
    """Names that must be unique between systems: compose projects, and member names per shared network.

    A member's name is its gateway's alias on the shared network: another
    system's member, or a service of another system that joins the same
    network, with that name would make Docker's DNS answer round-robin.
    """
    projects: dict[str, str] = {}
    members: dict[tuple[str, str], tuple[str, str]] = {}  # (network, name) -> (system, what)
    services: dict[tuple[str, str], tuple[str, str]] = {}
    for system in systems.values():
        where = f"{basics.file}: systems.{system.name}"
        for m in system.members:
            project = member_project(basics.project, system.name, m.name)
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
# Links between members


def expand_links(shape: str, members: Sequence[str], hub: str | None = None,
                 explicit: Sequence[Link] = ()) -> tuple[Link, ...]:
    """The links of ``shape`` over ``members`` (in order) plus ``explicit`` ones, deduplicated.

    Each link is ``(a, b)`` with ``a`` listed before ``b``; the result is sorted
    by member position. Unknown members and self-links are errors (the parser
    reports them with their key path first; this is the last guard).
    """
    position = {name: i for i, name in enumerate(members)}
    pairs: set[tuple[int, int]] = set()
    if shape == "line":
        pairs |= {(i, i + 1) for i in range(len(members) - 1)}
    elif shape == "star":
        if hub not in position:
            raise StackError(f"topology: star needs a hub among the members, got {hub!r}")
        h = position[hub]
        pairs |= {tuple(sorted((h, i))) for i in range(len(members)) if i != h}  # type: ignore[misc]
    elif shape == "full":
        pairs |= {(i, j) for i in range(len(members)) for j in range(i + 1, len(members))}
    elif shape != "none":
        raise StackError(f"topology: unknown shape {shape!r}", f"use one of: {', '.join(SHAPES)}")
    for a, b in explicit:
        if a not in position or b not in position:
            raise StackError(f"topology: link {a}-{b} names a member that does not exist")
        if a == b:
            raise StackError(f"topology: link {a}-{b} links a member to itself")
        pairs.add(tuple(sorted((position[a], position[b]))))  # type: ignore[arg-type]
    return tuple((members[i], members[j]) for i, j in sorted(pairs))


def neighbours(links: Sequence[Link], member: str, members: Sequence[str]) -> tuple[str, ...]:
    """The members linked to ``member``, in member order."""
    linked = {b for a, b in links if a == member} | {a for a, b in links if b == member}
    return tuple(name for name in members if name in linked)
