"""stack.yaml: the declaration of a user's stack, loaded and validated once.

Raw YAML never leaves the model: :func:`load_stack` turns every section into
frozen dataclasses, once, and every mistake becomes a :class:`StackError`
naming the file and the key path (``services.backend.port: must be 1-65535``).
The sections of later features have their own modules (:mod:`.engines`,
:mod:`.mesh`, :mod:`.systems`, :mod:`.provision`, :mod:`.namespaces`); their
parse functions take plain values, not a Stack, and are called from
:func:`parse_stack` only. Parsing is dict walking: cheap enough that a read
command such as ``inv dev 1 ports`` does it all.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from multistack.errors import StackError
from multistack.model.appnames import DEFAULT_APP_NAME, check_pattern, format_name, parse_name
from multistack.model.clone import CloneSettings, parse_clone
from multistack.model.doctor import DoctorSettings, parse_doctor
from multistack.model.engines import LOCAL, Engine, parse_engines
from multistack.model.names import ENV_KEY_RE, NAME_RE, PROJECT_RE, SERVICE_RE, parse_range
from multistack.model.namespaces import NamespaceSection, parse_namespaces
from multistack.model.networks import NetworkPool, parse_networks
from multistack.model.portplan import check_ports
from multistack.model.provision import DEFAULT_MODE, Step, parse_mode, parse_steps
from multistack.model.reader import Node, kind
from multistack.model.router import RouterSettings, parse_router
from multistack.model.start import StartSettings, parse_start
from multistack.model.usertext import decode_user_text
from multistack.model.yamldoc import load_yaml

if TYPE_CHECKING:  # imported when a stack declares them: most commands of most stacks never need them
    from multistack.model.mesh import Mesh
    from multistack.model.systems import System

#: The environment variable that points multistack at another stack file.
STACK_FILE_VAR = "MULTISTACK_FILE"
DEFAULT_STACK_FILE = "stack.yaml"

#: Top-level sections parsed by their own modules (see :func:`parse_stack`).
SECTIONS = ("mesh", "systems", "engines", "provision", "mode", "namespaces", "doctor", "start", "networks",
            "router", "clone")


@dataclass(frozen=True)
class Service:
    """A port-carrying service: base port, and where compose publishes it."""

    name: str
    port: int
    compose: str | None = None  # compose service name; None for a host process (PM2 app)
    container_port: int | None = None
    env_keys: tuple[str, ...] = ()  # keys whose whole value is this service's port
    url: str | None = None  # jinja template shown in tables, e.g. http://localhost:{{ port }}


@dataclass(frozen=True)
class App:
    """A PM2 app; named ``<project>-<name>-<N>`` per instance (``pm2.app_name``)."""

    name: str
    command: str
    cwd: str = "."
    env_files: tuple[str, ...] = ()  # names of the instance's env copies, e.g. backend.env
    env: tuple[tuple[str, str], ...] = ()  # extra per-app vars (jinja templates)


@dataclass(frozen=True)
class ComposePatch:
    """Per-instance values that must reach inside a compose service."""

    service: str
    environment: tuple[tuple[str, str], ...] = ()
    command: str | None = None  # jinja template; replaces the service's command


@dataclass(frozen=True)
class Stack:
    """A validated stack.yaml. Paths are relative to :attr:`root`."""

    path: Path
    project: str
    first: int = 0
    last: int = 9
    stride: int = 100
    host_ip: str = "127.0.0.1"
    compose_files: tuple[str, ...] = ()
    compose_env_files: tuple[str, ...] = ()
    compose_patches: tuple[ComposePatch, ...] = ()
    override_template: str | None = None
    ecosystem_template: str | None = None
    app_name_pattern: str = DEFAULT_APP_NAME  # ``pm2.app_name``: PM2 names are global to a daemon (appnames)
    env_files: tuple[str, ...] = ()
    services: tuple[Service, ...] = ()
    apps: tuple[App, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    namespace: str | None = None  # jinja template; default <project>-dev-N
    database: str | None = None  # jinja template; default <project>_instance_N
    instances_dir: str = ".instances"
    #: Where each instance's containers run; always at least one (the default engine holds everything).
    engines: tuple[Engine, ...] = ()
    #: Whether stack.yaml has an ``engines:`` section (else: behave exactly as one engine, no flags).
    engines_declared: bool = False
    mode: str = DEFAULT_MODE  # ``mode:``, what an instance runs in unless told otherwise
    provision: tuple[Step, ...] = ()  # ``provision:``, in the order written
    namespaces: NamespaceSection = NamespaceSection()  # ``namespaces:`` overrides and selectors
    mesh: Mesh | None = None  # ``mesh:``; None when the stack has no mesh
    systems: Mapping[str, System] = field(default_factory=dict)  # ``systems:``, by name, in stack.yaml order
    doctor: DoctorSettings = DoctorSettings()  # ``doctor:``: files to pre-create, checks to ignore
    start: StartSettings = StartSettings()  # ``start:``: the bound on a start's waiting
    networks: NetworkPool | None = None  # ``networks:``: the subnet pool; None: Docker's default pools
    router: RouterSettings | None = None  # ``router:``: hostnames for HTTP services; None: no router
    clone: CloneSettings = CloneSettings()  # ``clone:``: the helper image, the shared-mode database server

    def __post_init__(self) -> None:
        if not self.engines:  # a Stack built in code, without engines: the default engine holds everything
            object.__setattr__(self, "engines", (Engine(LOCAL, host_ip=self.host_ip, slots=tuple(self.instance_range)),))

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def instance_range(self) -> range:
        return range(self.first, self.last + 1)

    def service(self, name: str) -> Service:
        for svc in self.services:
            if svc.name == name:
                return svc
        raise StackError(f"no service named {name!r} in {self.path.name}")

    def compose_project(self, n: int) -> str:
        return f"{self.project}-dev-{n}"

    def app_name(self, app: str, n: int) -> str:
        """The PM2 name of ``app`` in instance ``n`` (``pm2.app_name``, default ``<project>-<app>-<N>``)."""
        return format_name(self.app_name_pattern, self.project, app, n)

    def app_of_name(self, name: str) -> tuple[str, int] | None:
        """The exact inverse of :meth:`app_name`: ``(app, n)`` for one of this stack's names, else None."""
        return parse_name(self.app_name_pattern, self.project, [a.name for a in self.apps], name, self.instance_range)

    def engine_for(self, n: int) -> Engine:
        """The engine instance ``n``'s containers run on."""
        for engine in self.engines:
            if n in engine.slots:
                return engine
        raise StackError(f"instance {n} is out of range {self.first}-{self.last}")

    def check_port_plan(self, instances: range | None = None) -> None:
        """No port over 65535, no two (service, instance) pairs on one port (of one engine, with ``engines:``)."""
        remote = {n: e.name for e in self.engines if not e.local for n in e.slots} if self.engines_declared else None
        check_ports(self.path.name, [(s.name, s.port, s.compose is None) for s in self.services], self.stride,
                    instances if instances is not None else self.instance_range, remote)

    def by_engine(self, instances: Sequence[int]) -> dict[Engine, list[int]]:
        """The given instances grouped by their engine (engines without any of them left out)."""
        groups: dict[Engine, list[int]] = {}
        for engine in self.engines:
            members = [n for n in instances if n in engine.slots]
            if members:
                groups[engine] = members
        return groups

    def instance_dir(self, n: int) -> Path:
        return self.root / self.instances_dir / f"instance-{n}"


# --------------------------------------------------------------------------
# Loading


def find_stack_file(start: Path | None = None) -> Path:
    """The stack file: ``$MULTISTACK_FILE``, else ``stack.yaml`` in the working directory or above."""
    override = os.environ.get(STACK_FILE_VAR)
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise StackError(f"{STACK_FILE_VAR}={override}: no such file",
                             f"point {STACK_FILE_VAR} at an existing stack.yaml or unset it")
        return path.resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_STACK_FILE
        if candidate.is_file():
            return candidate
    raise StackError(f"no {DEFAULT_STACK_FILE} in {here} or any folder above it",
                     f"run from your stack's folder or set {STACK_FILE_VAR}")


def load_stack(path: Path | None = None) -> Stack:
    """Read and validate a stack file; raises StackError naming file and key path."""
    path = (path or find_stack_file()).resolve()
    raw = _read_yaml(path)
    stack = parse_stack(raw, path)
    check_files(stack)
    return stack


def _read_yaml(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StackError(f"cannot read {path}: {exc.strerror}") from None
    return load_yaml(decode_user_text(data, path.name), path.name)


def parse_stack(raw: Any, path: Path) -> Stack:
    """Validate the raw mapping of a stack file (pure: no file access)."""
    top = Node(raw, "", path.name)
    project = top.string("project", pattern=PROJECT_RE,
                         what="project name (a lowercase letter, then letters, digits and single - or _)")
    if project is None:
        top.fail("missing required key 'project'", hint="add `project: <name>` to the top of the file")
    first, last = _instance_range(top)
    stride = top.integer("stride", 100, lo=1, hi=65535)
    host_ip = top.string("host_ip", "127.0.0.1")
    compose = top.child("compose")
    compose_files = compose.strings("files")
    compose_env_files = compose.strings("env_files")
    override_template = compose.string("override_template")
    patches = _compose_patches(compose.child("services"))
    compose.done()
    pm2 = top.child("pm2")
    ecosystem_template = pm2.string("ecosystem_template")
    app_name_pattern = pm2.string("app_name", DEFAULT_APP_NAME)
    pm2.done()
    env_files = top.strings("env_files")
    services = _services(top.child("services"))
    apps = _apps(top.child("apps"), env_files)
    env = top.env_map("env")
    namespace = top.string("namespace")
    database = top.string("database")
    instances_dir = top.string("instances_dir", ".instances")
    raw_sections = {name: top.get(name) for name in SECTIONS if name in top.data}  # None: present, empty
    top.done()
    stack = Stack(
        path=path, project=project, first=first, last=last, stride=stride, host_ip=host_ip,
        compose_files=compose_files, compose_env_files=compose_env_files, compose_patches=patches,
        override_template=override_template, ecosystem_template=ecosystem_template,
        app_name_pattern=app_name_pattern, env_files=env_files, services=services, apps=apps, env=env,
        namespace=namespace,
        database=database, instances_dir=instances_dir,
    )
    _check_env_file_names(stack, top)
    _check_compose_refs(stack)
    _check_app_names(stack)
    return _with_sections(stack, raw_sections)


def _with_sections(stack: Stack, raw: Mapping[str, Any]) -> Stack:
    """The stack with every other section parsed (each once, here), its port plan checked.

    ``raw`` holds the sections stack.yaml has. One present but empty
    (``engines:``, ``mesh:``) is an empty mapping, which those sections refuse
    (an empty ``systems:`` or ``mode:`` means the default).
    """
    file = stack.path.name

    def section(name: str) -> Any:
        return (raw[name] if raw[name] is not None else {}) if name in raw else None

    engines = parse_engines(section("engines"), file, stack.instance_range, stack.host_ip)
    stack = replace(stack, engines=engines, engines_declared="engines" in raw)
    stack.check_port_plan()
    known = [s.name for s in stack.services] + [a.name for a in stack.apps]
    namespaces = parse_namespaces(raw.get("namespaces"), file, stack.instance_range, known)
    mode = parse_mode(raw.get("mode"), file)
    provision = parse_steps(raw.get("provision"), file, stack.compose_files)
    mesh = _mesh(section("mesh"), file, stack) if "mesh" in raw else None
    systems = _systems(raw["systems"], file, stack) if raw.get("systems") is not None else {}
    doctor = parse_doctor(raw.get("doctor"), file)
    start = parse_start(raw.get("start"), file)
    networks = parse_networks(section("networks"), file, stack.instance_range) if "networks" in raw else None
    router = parse_router(raw["router"], file, [(s.name, s.url) for s in stack.services]) if "router" in raw else None
    return replace(stack, mode=mode, provision=provision, namespaces=namespaces, mesh=mesh, systems=systems,
                   doctor=doctor, start=start, networks=networks, router=router,
                   clone=parse_clone(raw.get("clone"), file, stack.compose_files, [s.name for s in provision]))


def _instance_range(top: Node) -> tuple[int, int]:
    value = top.get("instances", "0-9")
    span = parse_range(value) if isinstance(value, str) and value == value.strip() else None
    if span is not None:  # 0-9999, as {first, last}
        first, last = span
    elif isinstance(value, dict):
        node = top.child("instances")
        first = node.integer("first", 0, hi=9999)
        last = node.integer("last", 9, hi=9999)
        node.done()
    else:
        top.fail("must be a range such as '0-9' or {first: 0, last: 9}", "instances",
                 "write the range in ASCII digits, e.g. `instances: 0-9`")
    if first > last:
        top.fail(f"first instance {first} is after last instance {last}", "instances")
    return first, last


def _services(node: Node) -> tuple[Service, ...]:
    services = []
    for name, value in node.items():  # the raw value: a YAML key such as 8000 is not the string "8000"
        if not NAME_RE.fullmatch(name):
            node.fail("service names are lowercase letters, digits, - and _", name, "rename the service")
        svc = Node(value, node.where(name), node.file) if isinstance(value, dict) else None
        if svc is None:
            node.fail(f"must be a mapping with at least `port`, got {kind(value)}", name)
        port = svc.integer("port", lo=1, hi=65535)
        if port is None:
            svc.fail("missing required key 'port'", hint="give the service's base port (instance 0)")
        compose_name = svc.string("compose", pattern=SERVICE_RE, what="compose service name")
        container_port = svc.integer("container_port", lo=1, hi=65535)
        if compose_name and container_port is None:
            svc.fail("missing 'container_port' for a compose service", hint="the port inside the container")
        if container_port is not None and not compose_name:
            svc.fail("'container_port' needs 'compose' (the compose service name)", "container_port")
        keys = svc.strings("env_keys")
        for key in keys:
            if not ENV_KEY_RE.fullmatch(key):
                svc.fail(f"{key!r} is not a valid environment variable name", "env_keys")
        url = svc.string("url")
        svc.done()
        services.append(Service(name, port, compose_name, container_port, keys, url))
    node.refuse_clash([s.name for s in services], "service")
    return tuple(services)


def _apps(node: Node, env_files: tuple[str, ...]) -> tuple[App, ...]:
    apps = []
    for name, value in node.items():
        if not NAME_RE.fullmatch(name):
            node.fail("app names are lowercase letters, digits, - and _", name, "rename the app")
        app = Node(value, node.where(name), node.file)
        command = app.string("command")
        if command is None:
            app.fail("missing required key 'command'", hint="the command PM2 runs, e.g. `python3 server.py`")
        _check_command(app, command)
        cwd = app.string("cwd", ".")
        files = app.strings("env_files")
        env = app.env_map("env")
        app.done()
        apps.append(App(name, command, cwd, files, env))
    node.refuse_clash([a.name for a in apps], "app")
    return tuple(apps)


def _check_app_names(stack: Stack) -> None:
    """``pm2.app_name`` gives every app of every instance its own valid PM2 name."""
    try:
        check_pattern(stack.app_name_pattern, stack.project, [a.name for a in stack.apps], stack.instance_range)
    except StackError as exc:
        raise StackError(f"{stack.path.name}: {exc.message}", exc.hint) from None


def _check_command(app: Node, command: str) -> None:
    """The ecosystem file splits the command like a shell: refuse what cannot be split, here."""
    import shlex

    try:
        argv = shlex.split(command)
    except ValueError as exc:
        app.fail(f"cannot be split into arguments: {exc}", "command", "close the quote, or escape it with \\")
    if not argv:
        app.fail("has no program to run", "command", "give the command PM2 runs, e.g. `python3 server.py`")


def _compose_patches(node: Node) -> tuple[ComposePatch, ...]:
    patches = []
    for name, value in node.items():
        if not SERVICE_RE.fullmatch(name):
            node.fail("is not a valid compose service name", name)
        svc = Node(value, node.where(name), node.file)
        env = svc.env_map("environment")
        command = svc.string("command")
        svc.done()
        patches.append(ComposePatch(name, env, command))
    return tuple(patches)


def env_copy_name(source: str) -> str:
    """The name of an env file's per-instance copy: ``env/backend.env`` -> ``backend.env``."""
    name = Path(source).name
    stem = name[:-4] if name.endswith(".env") else name.lstrip(".") or "env"
    return f"{stem}.env"


def _check_env_file_names(stack: Stack, top: Node) -> None:
    copies: dict[str, str] = {}
    for src in stack.env_files:
        copy = env_copy_name(src)
        if copy.casefold() == "instance.env":
            top.fail(f"{src!r} would be copied to instance.env, the file multistack generates", "env_files",
                     "rename it, e.g. to app.env")
        folded = next((c for c in copies if c.casefold() == copy.casefold() and c != copy), None)
        if folded:
            top.fail(f"{src!r} and {copies[folded]!r} would be copied to {folded} and {copy}, "
                     "one file on a case-insensitive disk", "env_files", "rename one of them")
        if copy in copies:
            top.fail(f"{src!r} and {copies[copy]!r} would both be copied to {copy}", "env_files",
                     "rename one of them")
        copies[copy] = src
    known = set(copies) | {"instance.env"}
    for app in stack.apps:
        for name in app.env_files:
            if name not in known:
                top.fail(f"{name!r} is not an instance env file; known: {', '.join(sorted(known))}",
                         f"apps.{app.name}.env_files", "name a file listed under env_files, or instance.env")
    for name in stack.compose_env_files:
        if name not in known:
            top.fail(f"{name!r} is not an instance env file; known: {', '.join(sorted(known))}",
                     "compose.env_files", "name a file listed under env_files, or instance.env")


def _check_compose_refs(stack: Stack) -> None:
    if any(s.compose for s in stack.services) and not stack.compose_files:
        raise StackError(f"{stack.path.name}: compose.files: services name compose services but no compose file is listed",
                         "list your docker-compose.yml under compose.files")


def check_files(stack: Stack) -> None:
    """Every file the stack names exists (not part of parse_stack, which is pure)."""
    named = [("compose.files", f) for f in stack.compose_files]
    named += [("env_files", f) for f in stack.env_files]
    if stack.override_template:
        named.append(("compose.override_template", stack.override_template))
    if stack.ecosystem_template:
        named.append(("pm2.ecosystem_template", stack.ecosystem_template))
    for key, rel in named:
        if not (stack.root / rel).is_file():
            raise StackError(f"{stack.path.name}: {key}: {rel} does not exist",
                             f"create {rel} or remove it from {key}")


def _mesh(raw: Any, file: str, stack: Stack) -> Mesh:
    """``mesh:``, its module imported only for a stack that has one (start-up cost of read commands)."""
    from multistack.model.mesh import parse_mesh

    return parse_mesh(raw, file, stack.root, stack.project)


def _systems(raw: Any, file: str, stack: Stack) -> dict[str, System]:
    """``systems:``, its module imported only for a stack that has some."""
    from multistack.model.systems import StackBasics, parse_systems

    return parse_systems(raw, StackBasics(file, stack.project, stack.compose_files, stack.stride))
