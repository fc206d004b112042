"""stack.yaml: the declaration of a user's stack, loaded and validated once.

Raw YAML never leaves this module: :func:`load_stack` turns it into frozen
dataclasses, and every mistake becomes a :class:`StackError` naming the file
and the key path (``services.backend.port: must be 1-65535``). Sections that
belong to later features (``mesh``, ``systems``, ``engines``...) are kept as
checked mappings in :attr:`Stack.sections` and parsed by their own modules, so
a read command such as ``inv dev 1 ports`` never pays for them.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from multistack.errors import StackError

#: The environment variable that points multistack at another stack file.
STACK_FILE_VAR = "MULTISTACK_FILE"
DEFAULT_STACK_FILE = "stack.yaml"

#: Sections owned by other modules; validated there, on first use.
EXTRA_SECTIONS = ("mesh", "systems", "engines", "provision", "mode", "namespaces", "doctor")

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
#: A project name must also make a valid namespace (<project>-dev-N: DNS label, Kafka, MQTT...).
_PROJECT_RE = re.compile(r"^[a-z](?:[a-z0-9]|[-_](?=[a-z0-9])){0,39}$")
_ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SERVICE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


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
    """A PM2 app; named ``<name>-N`` per instance."""

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
    env_files: tuple[str, ...] = ()
    services: tuple[Service, ...] = ()
    apps: tuple[App, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    namespace: str | None = None  # jinja template; default <project>-dev-N
    database: str | None = None  # jinja template; default <project>_instance_N
    instances_dir: str = ".instances"
    sections: Mapping[str, Any] = field(default_factory=dict)

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

    def instance_dir(self, n: int) -> Path:
        return self.root / self.instances_dir / f"instance-{n}"


# --------------------------------------------------------------------------
# Reading raw YAML with key paths


class _Node:
    """A mapping being read, which knows its key path and rejects unknown keys."""

    def __init__(self, data: Any, path: str, file: str) -> None:
        self.file = file
        self.path = path
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.fail(f"must be a mapping, got {_kind(data)}")
        self.data: dict[str, Any] = data
        self.seen: set[str] = set()

    def where(self, key: str | None = None) -> str:
        parts = [p for p in (self.path, key) if p]
        return ".".join(parts) or "(top level)"

    def fail(self, message: str, key: str | None = None, hint: str | None = None) -> None:
        raise StackError(f"{self.file}: {self.where(key)}: {message}", hint)

    def get(self, key: str, default: Any = None) -> Any:
        """The key's value; an explicit null (``stride:`` left empty) counts as absent."""
        self.seen.add(key)
        value = self.data.get(key)
        return default if value is None else value

    def child(self, key: str) -> _Node:
        return _Node(self.get(key), self.where(key) if self.path or key else key, self.file)

    def string(self, key: str, default: str | None = None, pattern: re.Pattern[str] | None = None,
               what: str = "") -> str | None:
        value = self.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.fail(f"must be a non-empty string, got {_kind(value)}", key)
        if pattern and not pattern.match(value):
            self.fail(f"{value!r} is not a valid {what or 'name'}", key)
        return value

    def integer(self, key: str, default: int | None = None, lo: int = 0, hi: int = 65535) -> int | None:
        value = self.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"must be an integer, got {_kind(value)}", key)
        if not lo <= value <= hi:
            self.fail(f"must be {lo}-{hi}, got {value}", key)
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail("must be a list of strings", key)
        return tuple(value)

    def env_map(self, key: str) -> tuple[tuple[str, str], ...]:
        node = self.child(key)
        pairs = []
        for name, value in node.data.items():
            node.seen.add(name)
            if not isinstance(name, str) or not _ENV_KEY_RE.match(name):
                node.fail("is not a valid environment variable name", str(name))
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                node.fail(f"must be a string or number, got {_kind(value)}", name)
            pairs.append((name, str(value)))
        return tuple(pairs)

    def items(self) -> Iterator[tuple[str, _Node | Any]]:
        for key, value in self.data.items():
            self.seen.add(key)
            yield str(key), value

    def done(self) -> None:
        unknown = [str(k) for k in self.data if k not in self.seen]
        if unknown:
            self.fail(f"unknown key {unknown[0]!r}", None,
                      "check the spelling against multistack/schema/stack.schema.json")


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "nothing"}.get(type(value), type(value).__name__)


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
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StackError(f"cannot read {path}: {exc.strerror}") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise StackError(f"{path.name}{where}: malformed YAML: {problem}",
                         "fix the YAML syntax at that line") from None


def parse_stack(raw: Any, path: Path) -> Stack:
    """Validate the raw mapping of a stack file (pure: no file access)."""
    top = _Node(raw, "", path.name)
    project = top.string("project", pattern=_PROJECT_RE,
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
    pm2.done()
    env_files = top.strings("env_files")
    services = _services(top.child("services"))
    apps = _apps(top.child("apps"), env_files)
    env = top.env_map("env")
    namespace = top.string("namespace")
    database = top.string("database")
    instances_dir = top.string("instances_dir", ".instances")
    sections = {name: top.get(name) for name in EXTRA_SECTIONS if name in top.data}
    top.done()
    stack = Stack(
        path=path, project=project, first=first, last=last, stride=stride, host_ip=host_ip,
        compose_files=compose_files, compose_env_files=compose_env_files, compose_patches=patches,
        override_template=override_template, ecosystem_template=ecosystem_template,
        env_files=env_files, services=services, apps=apps, env=env, namespace=namespace,
        database=database, instances_dir=instances_dir, sections=sections,
    )
    _check_env_file_names(stack, top)
    _check_compose_refs(stack)
    from multistack.plan.ports import check_port_plan

    check_port_plan(stack)
    return stack


def _instance_range(top: _Node) -> tuple[int, int]:
    value = top.get("instances", "0-9")
    if isinstance(value, str) and re.fullmatch(r"\d{1,4}-\d{1,4}", value):  # 0-9999, as {first, last}
        first, last = (int(x) for x in value.split("-"))
    elif isinstance(value, dict):
        node = top.child("instances")
        first = node.integer("first", 0, hi=9999)
        last = node.integer("last", 9, hi=9999)
        node.done()
    else:
        top.fail("must be a range such as '0-9' or {first: 0, last: 9}", "instances")
    if first > last:
        top.fail(f"first instance {first} is after last instance {last}", "instances")
    return first, last


def _services(node: _Node) -> tuple[Service, ...]:
    services = []
    for name, value in node.items():  # the raw value: a YAML key such as 8000 is not the string "8000"
        if not _NAME_RE.match(name):
            node.fail("service names are lowercase letters, digits, - and _", name)
        svc = _Node(value, node.where(name), node.file) if isinstance(value, dict) else None
        if svc is None:
            node.fail(f"must be a mapping with at least `port`, got {_kind(value)}", name)
        port = svc.integer("port", lo=1, hi=65535)
        if port is None:
            svc.fail("missing required key 'port'", hint="give the service's base port (instance 0)")
        compose_name = svc.string("compose", pattern=_SERVICE_RE, what="compose service name")
        container_port = svc.integer("container_port", lo=1, hi=65535)
        if compose_name and container_port is None:
            svc.fail("missing 'container_port' for a compose service", hint="the port inside the container")
        if container_port is not None and not compose_name:
            svc.fail("'container_port' needs 'compose' (the compose service name)", "container_port")
        keys = svc.strings("env_keys")
        for key in keys:
            if not _ENV_KEY_RE.match(key):
                svc.fail(f"{key!r} is not a valid environment variable name", "env_keys")
        url = svc.string("url")
        svc.done()
        services.append(Service(name, port, compose_name, container_port, keys, url))
    return tuple(services)


def _apps(node: _Node, env_files: tuple[str, ...]) -> tuple[App, ...]:
    apps = []
    for name, value in node.items():
        if not _NAME_RE.match(name):
            node.fail("app names are lowercase letters, digits, - and _", name)
        app = _Node(value, node.where(name), node.file)
        command = app.string("command")
        if command is None:
            app.fail("missing required key 'command'", hint="the command PM2 runs, e.g. `python3 server.py`")
        _check_command(app, command)
        cwd = app.string("cwd", ".")
        files = app.strings("env_files")
        env = app.env_map("env")
        app.done()
        apps.append(App(name, command, cwd, files, env))
    return tuple(apps)


def _check_command(app: _Node, command: str) -> None:
    """The ecosystem file splits the command like a shell: refuse what cannot be split, here."""
    import shlex

    try:
        argv = shlex.split(command)
    except ValueError as exc:
        app.fail(f"cannot be split into arguments: {exc}", "command", "close the quote, or escape it with \\")
    if not argv:
        app.fail("has no program to run", "command", "give the command PM2 runs, e.g. `python3 server.py`")


def _compose_patches(node: _Node) -> tuple[ComposePatch, ...]:
    patches = []
    for name, value in node.items():
        if not _SERVICE_RE.match(name):
            node.fail("is not a valid compose service name", name)
        svc = _Node(value, node.where(name), node.file)
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


def _check_env_file_names(stack: Stack, top: _Node) -> None:
    copies: dict[str, str] = {}
    for src in stack.env_files:
        copy = env_copy_name(src)
        if copy in copies:
            top.fail(f"{src!r} and {copies[copy]!r} would both be copied to {copy}", "env_files",
                     "rename one of them")
        copies[copy] = src
    known = set(copies) | {"instance.env"}
    for app in stack.apps:
        for name in app.env_files:
            if name not in known:
                top.fail(f"{name!r} is not an instance env file; known: {', '.join(sorted(known))}",
                         f"apps.{app.name}.env_files")
    for name in stack.compose_env_files:
        if name not in known:
            top.fail(f"{name!r} is not an instance env file; known: {', '.join(sorted(known))}",
                     "compose.env_files")


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
