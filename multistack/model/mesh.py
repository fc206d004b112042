"""The ``mesh:`` section of stack.yaml: one shared infrastructure stack beside the instances (pure).

Validated once, when stack.yaml is loaded, into frozen dataclasses (every
mistake a :class:`StackError` naming the key path, e.g.
``stack.yaml: mesh.profiles.db: ...``). The files it names are checked, and
its commands built and run, by :mod:`multistack.act.mesh`.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from multistack.errors import StackError
from multistack.model.names import NAME_RE, SERVICE_RE, is_number
from multistack.model.reader import Node, kind

#: The profile word meaning "every profile" (``--profile '*'``).
ALL = "all"
#: Names the hostname templates get from multistack; ``vars`` may not shadow them.
RESERVED_VARS = ("environment", "project", "mesh_project", "env", "host", "name")
#: The one shared active env file of a mesh whose environments share one project (today's default).
SHARED_ENV_FILE = "env/.env"
#: Each environment's own env file when each has its own project (side by side).
OWN_ENV_FILE = "env/.env.{{ environment }}"
#: The placeholders ``mesh.project`` and ``mesh.env_file`` may hold (plain substitution, no jinja2:
#: every mesh command needs the names, and they must be known without rendering anything else).
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
NAME_PLACEHOLDERS = ("environment", "project")


def fill_name(template: str, environment: str, project: str) -> str:
    """``athyper-mesh-{{ environment }}`` -> ``athyper-mesh-staging`` (placeholders checked at parse time)."""
    values = {"environment": environment, "project": project}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def names_environment(template: str) -> bool:
    """Whether a name template differs per environment."""
    return any(m.group(1) == "environment" for m in _PLACEHOLDER.finditer(template))


@dataclass(frozen=True)
class Profile:
    """A compose profile and the services stack.yaml says it holds."""

    name: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class Environment:
    """One environment: its override file(s), env template, hosts-file address, variables."""

    name: str
    compose_files: tuple[str, ...]
    template: str
    address: str = "127.0.0.1"
    variables: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class InitStep:
    """One init-data step: a command run in a running service (``compose exec -T``)."""

    service: str
    command: tuple[str, ...]  # argv inside the container; a string in stack.yaml becomes sh -c
    name: str = ""

    def describe(self, index: int) -> str:
        return f"init-data step {index} ({self.name or self.service})"


@dataclass(frozen=True)
class Mesh:
    """A validated ``mesh:`` section. Paths are relative to :attr:`root`."""

    root: Path
    stack_file: str  # stack.yaml's file name, for messages
    stack_project: str  # stack.yaml's `project`
    project: str  # the compose project name, or its template (``{{ environment }}``: one project each)
    compose_files: tuple[str, ...]  # the base file, then the default override
    env_file: str  # the active env file (git-ignored), or its template (one file each)
    profiles: tuple[Profile, ...]
    environments: tuple[Environment, ...]
    default_profile: str = ALL
    hostnames: tuple[tuple[str, str], ...] = ()  # name -> jinja2 template
    url: str = "https://{{ host }}"
    init_data: tuple[InitStep, ...] = ()

    @property
    def env_path(self) -> Path:
        """The one shared active env file (environments sharing one project)."""
        return self.root / fill_name(self.env_file, "", self.stack_project)

    @property
    def side_by_side(self) -> bool:
        """Each environment its own compose project and env file, so several can run on one host."""
        return names_environment(self.project)

    def project_of(self, environment: str) -> str:
        """The compose project of one environment (the same for all unless ``project`` names it)."""
        return fill_name(self.project, environment, self.stack_project)

    def env_file_of(self, environment: str) -> str:
        """The active env file of one environment, relative to :attr:`root`."""
        return fill_name(self.env_file, environment, self.stack_project)

    def env_path_of(self, environment: str) -> Path:
        return self.root / self.env_file_of(environment)

    def projects(self) -> dict[str, str]:
        """Compose project -> environment, for reading one ``docker ps`` of every environment."""
        return {self.project_of(name): name for name in self.environment_names}

    @property
    def profile_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.profiles)

    @property
    def environment_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.environments)

    @property
    def services(self) -> tuple[str, ...]:
        """Every declared service, in profile order, once."""
        seen: dict[str, None] = {}
        for profile in self.profiles:
            for svc in profile.services:
                seen.setdefault(svc, None)
        return tuple(seen)

    def environment(self, name: str) -> Environment:
        for env in self.environments:
            if env.name == name:
                return env
        raise StackError(f"unknown environment {name!r}; valid: {', '.join(self.environment_names)}",
                         f"use one of {', '.join(self.environment_names)}, or add it under mesh.environments "
                         f"in {self.stack_file}")

    def profile_of(self, service: str) -> str:
        """The profile(s) a service belongs to, comma-joined; "" for an undeclared one."""
        return ",".join(p.name for p in self.profiles if service in p.services)


# --------------------------------------------------------------------------
# Parsing


def parse_mesh(raw: Any, file: str, root: Path, stack_project: str) -> Mesh:
    """Validate the ``mesh:`` section (pure: no file access; the files are checked on use)."""
    node = Node(raw, "mesh", file)
    project = node.string("project", f"{stack_project}-mesh")
    compose_files = node.strings("compose")
    if not compose_files:
        node.fail("missing required key 'compose'", hint="list the base compose file, then the default override")
    own = names_environment(project or "")
    env_file = node.string("env_file", OWN_ENV_FILE if own else SHARED_ENV_FILE)
    profiles = _profiles(node.child("profiles"))
    default_profile = node.string("default_profile", ALL)
    environments = _environments(node.child("environments"))
    hostnames = _hostnames(node.child("hostnames"))
    url = node.string("url", "https://{{ host }}")
    steps = _init_data(node, profiles)
    node.done()
    mesh = Mesh(root=root, stack_file=file, stack_project=stack_project, project=project,
                compose_files=compose_files, env_file=env_file, profiles=profiles, environments=environments,
                default_profile=default_profile, hostnames=hostnames, url=url, init_data=steps)
    try:
        parse_profiles(mesh, default_profile)
    except StackError as exc:
        node.fail(exc.message, "default_profile", exc.hint)
    _check_names(node, mesh)
    return mesh


def _check_names(node: Node, mesh: Mesh) -> None:
    """Projects and env files per environment: valid, one each when side by side, never a template."""
    for key, template in (("project", mesh.project), ("env_file", mesh.env_file)):
        for match in _PLACEHOLDER.finditer(template):
            if match.group(1) not in NAME_PLACEHOLDERS:
                node.fail(f"unknown placeholder {match.group(0)!r} in {template!r}", key,
                          "use {{ environment }} (and {{ project }}, stack.yaml's project)")
    if names_environment(mesh.env_file) and not mesh.side_by_side:
        node.fail(f"{mesh.env_file!r} gives each environment its own env file, but they share one project "
                  f"{mesh.project!r}", "env_file",
                  'give each its own project too: project: "<name>-{{ environment }}", or one file: env/.env')
    if mesh.side_by_side and not names_environment(mesh.env_file):
        node.fail(f"every environment would write {mesh.env_file}, but each has its own project", "env_file",
                  f"leave env_file out (default {OWN_ENV_FILE}) or put {{{{ environment }}}} in it")
    templates = {env.template for env in mesh.environments}
    for env in mesh.environments:
        name = mesh.project_of(env.name)
        if not NAME_RE.fullmatch(name):
            node.fail(f"{name!r} is not a valid compose project name (lowercase letters, digits, - and _)"
                      + (f" (environment {env.name})" if mesh.side_by_side else ""), "project")
        if mesh.env_file_of(env.name) in templates:
            node.fail(f"the active env file {mesh.env_file_of(env.name)} cannot also be a template",
                      f"environments.{env.name}.template", "templates are committed; the active file is git-ignored")


def _profiles(node: Node) -> tuple[Profile, ...]:
    if not node.data:
        node.fail("needs at least one profile", hint="e.g. `db: [postgres, pgbouncer]`")
    profiles = []
    for name, value in node.items():
        if name == ALL or not NAME_RE.fullmatch(name):
            node.fail(f"{name!r} is not a valid profile name" + (" (`all` means every profile)" if name == ALL else ""),
                      name)
        if not isinstance(value, list) or not value:
            node.fail(f"must be a non-empty list of compose service names, got {kind(value)}", name)
        for svc in value:
            if not isinstance(svc, str) or not SERVICE_RE.fullmatch(svc):
                node.fail(f"{svc!r} is not a valid compose service name", name)
        if len(set(value)) != len(value):
            node.fail("lists a service twice", name)
        profiles.append(Profile(name, tuple(value)))
    node.refuse_clash([p.name for p in profiles], "profile")
    return tuple(profiles)


def _environments(node: Node) -> tuple[Environment, ...]:
    if not node.data:
        node.fail("needs at least one environment",
                  hint="e.g. `local: {compose: ..., template: env/local.env.example}`")
    envs = []
    for name, value in node.items():  # the raw value: a YAML key such as 1 is not the string "1"
        if not NAME_RE.fullmatch(name) or is_number(name):
            node.fail("environment names are lowercase letters, digits, - and _, not only digits "
                      "(a number answers the prompt's menu)", name)
        env = Node(value, node.where(name), node.file)
        files = env.strings("compose")
        if not files:
            env.fail("missing required key 'compose'", hint="this environment's override file")
        template = env.string("template")
        if template is None:
            env.fail("missing required key 'template'", hint=f"e.g. env/{name}.env.example")
        address = env.string("address", "127.0.0.1")
        try:
            ipaddress.ip_address(address)
        except ValueError:
            env.fail(f"{address!r} is not an IP address", "address", "the address hosts-file lines point at")
        variables = env.env_map("vars")
        for key, _value in variables:
            if key in RESERVED_VARS:
                env.fail(f"{key!r} is set by multistack", f"vars.{key}", "rename the variable")
        env.done()
        envs.append(Environment(name, files, template, address, variables))
    node.refuse_clash([e.name for e in envs], "environment")
    return tuple(envs)


def _hostnames(node: Node) -> tuple[tuple[str, str], ...]:
    pairs = []
    for name, value in node.items():
        if not SERVICE_RE.fullmatch(name):
            node.fail("is not a valid name (letters, digits, ., - and _)", name)
        if not isinstance(value, str) or not value:
            node.fail(f"must be a hostname template string, got {kind(value)}", name)
        pairs.append((name, value))
    return tuple(pairs)


def _init_data(node: Node, profiles: tuple[Profile, ...]) -> tuple[InitStep, ...]:
    raw = node.get("init_data", [])
    if not isinstance(raw, list):
        node.fail(f"must be a list of {{service, command}}, got {kind(raw)}", "init_data")
    known = {svc for p in profiles for svc in p.services}
    steps = []
    for i, item in enumerate(raw):
        step = Node(item, f"mesh.init_data[{i}]", node.file)
        service = step.string("service", pattern=SERVICE_RE, what="compose service name")
        if service is None:
            step.fail("missing required key 'service'", hint="the compose service to run the command in")
        if service not in known:
            step.fail(f"{service!r} is in no profile; known: {', '.join(sorted(known))}", "service")
        command = step.get("command")
        if isinstance(command, str) and command.strip():
            argv: tuple[str, ...] = ("sh", "-c", command)
        elif isinstance(command, list) and command and all(isinstance(a, str) for a in command):
            argv = tuple(command)
        else:
            step.fail("must be a command string (run with sh -c) or a list of arguments", "command")
        name = step.string("name")
        step.done()
        steps.append(InitStep(service, argv, name or ""))
    return tuple(steps)



def parse_profiles(mesh: Mesh, text: str | None) -> tuple[str, ...]:
    """``--profile`` words (comma-separated) -> profile names; ``("all",)`` for every profile."""
    words = [w.strip() for w in (text or mesh.default_profile).split(",") if w.strip()]
    valid = (ALL, *mesh.profile_names)
    if not words:
        raise StackError("empty --profile", f"use one of: {', '.join(valid)}")
    for word in words:
        if word not in valid:
            raise StackError(f"unknown profile {word!r}; valid: {', '.join(valid)}",
                             f"use --profile with one of {', '.join(valid)} (several: --profile db,mesh)")
    if ALL in words:
        if len(words) > 1:
            raise StackError(f"`{ALL}` already means every profile: --profile {','.join(words)}",
                             f"use --profile {ALL} alone")
        return (ALL,)
    return tuple(dict.fromkeys(words))
