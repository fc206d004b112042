"""The mesh: one shared infrastructure stack beside the per-instance stacks (pure core).

``stack.yaml``'s ``mesh:`` section is validated here into frozen dataclasses
(every mistake a :class:`StackError` naming the key path, e.g.
``stack.yaml: mesh.profiles.db: ...``); the environment is resolved from the
active env file; and every ``docker compose`` command is built here as an
argument list, run elsewhere through ``shell.run``.

The traps this module is shaped around (see FIELD_NOTES):

* every mesh service has a profile, so ``up`` without ``--profile`` selects
  nothing: a profile is always passed, ``all`` becoming ``--profile '*'``;
* ``down`` ignores containers of inactive profiles (docker/compose#8139):
  a full ``down`` always passes ``--profile '*'``;
* relative paths inside the compose files resolve from the first file's
  folder, so the compose files are passed with absolute paths and keep their
  own relative paths;
* the active env file is passed with ``--env-file`` on every call, so
  ``${VAR}`` in the files means the same thing for ``up``, ``logs`` and ``down``.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from multistack.plan.compose import ALL_PROFILES, DEFAULT_COMPOSE, PROJECT_LABEL
from multistack.errors import StackError
from multistack.model.stack import Stack, _kind, _Node

#: The key of the active env file that names its environment.
ENVIRONMENT_KEY = "ENVIRONMENT"
#: The profile word meaning "every profile" (``--profile '*'``).
ALL = "all"

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_SERVICE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")
#: Names the hostname templates get from multistack; ``vars`` may not shadow them.
RESERVED_VARS = ("environment", "project", "mesh_project", "env", "host", "name")


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
    project: str  # the compose project name
    compose_files: tuple[str, ...]  # the base file, then the default override
    env_file: str  # the active env file (git-ignored)
    profiles: tuple[Profile, ...]
    environments: tuple[Environment, ...]
    default_profile: str = ALL
    hostnames: tuple[tuple[str, str], ...] = ()  # name -> jinja2 template
    url: str = "https://{{ host }}"
    init_data: tuple[InitStep, ...] = ()

    @property
    def env_path(self) -> Path:
        return self.root / self.env_file

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


def parse_mesh(stack: Stack) -> Mesh:
    """Validate ``stack.sections["mesh"]`` (pure: no file access)."""
    file = stack.path.name
    if "mesh" not in stack.sections:
        raise StackError(f"{file}: no `mesh:` section", "add one (see docs/mesh.md) to use `inv mesh.*`")
    node = _Node(stack.sections["mesh"], "mesh", file)
    project = node.string("project", f"{stack.project}-mesh", pattern=_NAME_RE,
                          what="compose project name (lowercase letters, digits, - and _)")
    compose_files = node.strings("compose")
    if not compose_files:
        node.fail("missing required key 'compose'", hint="list the base compose file, then the default override")
    env_file = node.string("env_file", "env/.env")
    profiles = _profiles(node.child("profiles"))
    default_profile = node.string("default_profile", ALL)
    environments = _environments(node.child("environments"))
    hostnames = _hostnames(node.child("hostnames"))
    url = node.string("url", "https://{{ host }}")
    steps = _init_data(node, profiles)
    node.done()
    mesh = Mesh(root=stack.root, stack_file=file, stack_project=stack.project, project=project,
                compose_files=compose_files, env_file=env_file, profiles=profiles, environments=environments,
                default_profile=default_profile, hostnames=hostnames, url=url, init_data=steps)
    try:
        parse_profiles(mesh, default_profile)
    except StackError as exc:
        node.fail(exc.message, "default_profile", exc.hint)
    for env in environments:
        if env.template == env_file:
            node.fail(f"the active env file {env_file} cannot also be a template",
                      f"environments.{env.name}.template", "templates are committed; the active file is git-ignored")
    return mesh


def _profiles(node: _Node) -> tuple[Profile, ...]:
    if not node.data:
        node.fail("needs at least one profile", hint="e.g. `db: [postgres, pgbouncer]`")
    profiles = []
    for name, value in node.items():
        if name == ALL or not _NAME_RE.match(name):
            node.fail(f"{name!r} is not a valid profile name" + (" (`all` means every profile)" if name == ALL else ""),
                      name)
        if not isinstance(value, list) or not value:
            node.fail(f"must be a non-empty list of compose service names, got {_kind(value)}", name)
        for svc in value:
            if not isinstance(svc, str) or not _SERVICE_RE.match(svc):
                node.fail(f"{svc!r} is not a valid compose service name", name)
        if len(set(value)) != len(value):
            node.fail("lists a service twice", name)
        profiles.append(Profile(name, tuple(value)))
    return tuple(profiles)


def _environments(node: _Node) -> tuple[Environment, ...]:
    if not node.data:
        node.fail("needs at least one environment",
                  hint="e.g. `local: {compose: ..., template: env/local.env.example}`")
    envs = []
    for name, value in node.items():  # the raw value: a YAML key such as 1 is not the string "1"
        if not _NAME_RE.match(name) or name.isdigit():
            node.fail("environment names are lowercase letters, digits, - and _, not only digits "
                      "(a number answers the prompt's menu)", name)
        env = _Node(value, node.where(name), node.file)
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
    return tuple(envs)


def _hostnames(node: _Node) -> tuple[tuple[str, str], ...]:
    pairs = []
    for name, value in node.items():
        if not _SERVICE_RE.match(name):
            node.fail("is not a valid name (letters, digits, ., - and _)", name)
        if not isinstance(value, str) or not value:
            node.fail(f"must be a hostname template string, got {_kind(value)}", name)
        pairs.append((name, value))
    return tuple(pairs)


def _init_data(node: _Node, profiles: tuple[Profile, ...]) -> tuple[InitStep, ...]:
    raw = node.get("init_data", [])
    if not isinstance(raw, list):
        node.fail(f"must be a list of {{service, command}}, got {_kind(raw)}", "init_data")
    known = {svc for p in profiles for svc in p.services}
    steps = []
    for i, item in enumerate(raw):
        step = _Node(item, f"mesh.init_data[{i}]", node.file)
        service = step.string("service", pattern=_SERVICE_RE, what="compose service name")
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


def check_mesh_files(mesh: Mesh) -> None:
    """Every file the mesh names exists (kept out of parse_mesh, which is pure)."""
    named = [("mesh.compose", f) for f in mesh.compose_files]
    for env in mesh.environments:
        named += [(f"mesh.environments.{env.name}.compose", f) for f in env.compose_files]
        named.append((f"mesh.environments.{env.name}.template", env.template))
    for key, rel in named:
        if not (mesh.root / rel).is_file():
            raise StackError(f"{mesh.stack_file}: {key}: {rel} does not exist", f"create {rel} or fix {key}")


def load_mesh(stack: Stack) -> Mesh:
    mesh = parse_mesh(stack)
    check_mesh_files(mesh)
    return mesh


# --------------------------------------------------------------------------
# Profiles and environments


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


def profile_services(mesh: Mesh, profiles: Sequence[str]) -> tuple[str, ...]:
    """The services stack.yaml puts in these profiles, in declaration order."""
    if tuple(profiles) == (ALL,):
        return mesh.services
    wanted = set(profiles)
    return tuple(s for s in mesh.services if any(s in p.services for p in mesh.profiles if p.name in wanted))


@dataclass(frozen=True)
class ActiveEnv:
    """The active env file as read: its values and the environment it names."""

    path: Path
    values: Mapping[str, str | None]

    @property
    def environment(self) -> str | None:
        value = self.values.get(ENVIRONMENT_KEY)
        return value.strip() if isinstance(value, str) and value.strip() else None


def read_env_file(path: Path) -> dict[str, str | None]:
    return env_values(read_env_text(path), path)


def read_env_text(path: Path) -> str:
    """An env file's text; a StackError (not a traceback) when it is unreadable or not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StackError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise StackError(f"{path}: not UTF-8 text", "save it as UTF-8") from None


def env_values(text: str, path: Path) -> dict[str, str | None]:
    """An env file's text, checked (errors name ``path``), as its values."""
    from multistack.plan.envfiles import check_env_text, read_env_values

    check_env_text(text, str(path))
    return read_env_values(text)


def read_active(mesh: Mesh) -> ActiveEnv | None:
    """The active env file, or None when there is none yet."""
    if not mesh.env_path.is_file():
        return None
    return ActiveEnv(mesh.env_path, read_env_file(mesh.env_path))


@dataclass(frozen=True)
class Choice:
    """The environment a command works in, and whether the active env file must be created."""

    environment: Environment
    create: bool = False


def active_environment(mesh: Mesh, active: ActiveEnv) -> Environment:
    """The environment the active env file names; a clear error when it names none or a wrong one."""
    name = active.environment
    valid = ", ".join(mesh.environment_names)
    if name is None:
        raise StackError(f"{mesh.env_file} has no {ENVIRONMENT_KEY}=",
                         f"add {ENVIRONMENT_KEY}=<one of {valid}> to it, or recreate it with "
                         f"`inv mesh.env ENV --force`")
    if name not in mesh.environment_names:
        raise StackError(f"{mesh.env_file}: {ENVIRONMENT_KEY}={name} is not an environment; valid: {valid}",
                         f"set {ENVIRONMENT_KEY} to one of {valid}, or recreate it with `inv mesh.env ENV --force`")
    return mesh.environment(name)


def choose_environment(mesh: Mesh, requested: str | None, active: ActiveEnv | None,
                       ask: Callable[[], str] | None = None) -> Choice:
    """Resolve the environment: ``--env``, else the active env file, else ask (terminal) or refuse.

    ``ask`` is None when nobody can answer (stdin is not a terminal). An
    ``--env`` that contradicts the active env file is refused rather than
    mixing one environment's overrides with another's variables.
    """
    if requested is not None:
        env = mesh.environment(requested)
        if active is None:
            return Choice(env, create=True)
        current = active_environment(mesh, active)
        if current.name != env.name:
            raise StackError(f"--env {env.name} but {mesh.env_file} is for {current.name}",
                             f"drop --env to use {current.name}, or switch with `inv mesh.env {env.name} --force` "
                             "(keeps the old file as .bak)")
        return Choice(env)
    if active is not None:
        return Choice(active_environment(mesh, active))
    valid = "|".join(mesh.environment_names)
    if ask is None:
        raise StackError(f"no active env file {mesh.env_file} and no --env given",
                         f"pass --env {valid}, or create {mesh.env_file} with `inv mesh.env ENV`")
    return Choice(pick_environment(mesh, ask()), create=True)


def environment_menu(mesh: Mesh) -> str:
    """The prompt shown on a terminal when there is no active env file."""
    width = max(len(n) for n in mesh.environment_names)
    lines = [f"No {mesh.env_file} yet. Create it from which template?"]
    for i, env in enumerate(mesh.environments, 1):
        lines.append(f"  {i}) {env.name.ljust(width)}  {env.template}")
    lines.append(f"Environment [1-{len(mesh.environments)} or name]: ")
    return "\n".join(lines)


def pick_environment(mesh: Mesh, answer: str) -> Environment:
    """A menu answer (number or name) -> the environment."""
    answer = answer.strip()
    if answer.isdigit() and 1 <= int(answer) <= len(mesh.environments):
        return mesh.environments[int(answer) - 1]
    if answer in mesh.environment_names:
        return mesh.environment(answer)
    raise StackError(f"no environment {answer!r}; valid: {', '.join(mesh.environment_names)}",
                     f"answer 1-{len(mesh.environments)} or a name, or pass --env")


def check_template(mesh: Mesh, env: Environment, values: Mapping[str, str | None]) -> None:
    """A template must name its own environment, or the file made from it would be misread."""
    named = values.get(ENVIRONMENT_KEY)
    if named != env.name:
        found = f"{ENVIRONMENT_KEY}={named}" if named else f"no {ENVIRONMENT_KEY}="
        raise StackError(f"{env.template}: has {found}, expected {ENVIRONMENT_KEY}={env.name}",
                         f"set {ENVIRONMENT_KEY}={env.name} in {env.template}")


# --------------------------------------------------------------------------
# Hostnames and URLs


def template_variables(mesh: Mesh, env: Environment, values: Mapping[str, str | None]) -> dict[str, Any]:
    """What hostname and URL templates see: the environment's vars and its env file's values."""
    return {
        **dict(env.variables),
        "environment": env.name,
        "project": mesh.stack_project,
        "mesh_project": mesh.project,
        "env": {k: (v if v is not None else "") for k, v in values.items()},
    }


def hostnames(mesh: Mesh, env: Environment, values: Mapping[str, str | None]) -> dict[str, str]:
    """Name -> hostname for one environment; each checked to be a valid hostname."""
    from multistack.plan.templating import render_string

    variables = template_variables(mesh, env, values)
    out = {}
    for name, template in mesh.hostnames:
        where = f"{mesh.stack_file}: mesh.hostnames.{name} ({env.name})"
        host = render_string(template, variables, where=where).strip()
        if not _HOSTNAME_RE.match(host):
            raise StackError(f"{where}: renders to {host!r}, not a valid hostname",
                             "check the template and the variables it uses (lowercase letters, digits, - and .)")
        out[name] = host
    return out


def urls(mesh: Mesh, env: Environment, values: Mapping[str, str | None]) -> dict[str, str]:
    from multistack.plan.templating import render_string

    variables = template_variables(mesh, env, values)
    return {name: render_string(mesh.url, {**variables, "host": host, "name": name},
                                where=f"{mesh.stack_file}: mesh.url ({env.name})")
            for name, host in hostnames(mesh, env, values).items()}


def hosts_lines(mesh: Mesh, env: Environment, values: Mapping[str, str | None]) -> list[str]:
    """Lines for /etc/hosts: one hostname each, duplicates once, with a header naming the source."""
    names = list(dict.fromkeys(hostnames(mesh, env, values).values()))
    return [f"# {mesh.project} ({env.name}): inv mesh.hosts", *(f"{env.address}\t{host}" for host in names)]


# --------------------------------------------------------------------------
# Command lines (pure)


def profile_args(profiles: Sequence[str]) -> list[str]:
    if tuple(profiles) == (ALL,):
        return list(ALL_PROFILES)
    args: list[str] = []
    for name in profiles:
        args += ["--profile", name]
    return args


def project_args(mesh: Mesh, env: Environment, compose: Sequence[str] = DEFAULT_COMPOSE,
                 env_file: Path | None = None) -> list[str]:
    """``docker compose -p NAME -f base -f override -f env-override --env-file env/.env``."""
    argv = [*compose, "-p", mesh.project]
    for rel in (*mesh.compose_files, *env.compose_files):
        argv += ["-f", str(mesh.root / rel)]
    return argv + ["--env-file", str(env_file or mesh.env_path)]


def up(mesh: Mesh, env: Environment, profiles: Sequence[str], compose: Sequence[str] = DEFAULT_COMPOSE,
       wait: bool = True) -> list[str]:
    argv = [*project_args(mesh, env, compose), *profile_args(profiles), "up", "-d"]
    return argv + ["--wait"] if wait else argv


def down(mesh: Mesh, env: Environment | None, profiles: Sequence[str] | None = None,
         compose: Sequence[str] = DEFAULT_COMPOSE, volumes: bool = False) -> list[str]:
    """Down one profile's services, or everything (``--profile '*'``, orphans too).

    With no environment (no active env file) the project is taken down by
    name alone: compose finds its containers by their labels.
    """
    if profiles and tuple(profiles) != (ALL,):
        if env is None:
            raise StackError("down of one profile needs the active env file", "run `inv mesh.env ENV` first")
        argv = [*project_args(mesh, env, compose), *profile_args(profiles), "down"]
    else:
        base = project_args(mesh, env, compose) if env is not None else [*compose, "-p", mesh.project]
        argv = [*base, *profile_args((ALL,)), "down", "--remove-orphans"]
    return argv + ["--volumes"] if volumes else argv


def logs(mesh: Mesh, env: Environment, services: Sequence[str] = (), compose: Sequence[str] = DEFAULT_COMPOSE,
         follow: bool = False, tail: int | None = None) -> list[str]:
    argv = [*project_args(mesh, env, compose), *profile_args((ALL,)), "logs", "--no-color"]
    if follow:
        argv.append("--follow")
    if tail is not None:
        argv += ["--tail", str(tail)]
    return argv + list(services)


def exec_step(mesh: Mesh, env: Environment, step: InitStep, compose: Sequence[str] = DEFAULT_COMPOSE) -> list[str]:
    """``compose exec -T``: no TTY, so steps run the same from a terminal, a script or CI."""
    return [*project_args(mesh, env, compose), *profile_args((ALL,)), "exec", "-T", step.service, *step.command]


def config_services(mesh: Mesh, env: Environment, profiles: Sequence[str],
                    compose: Sequence[str] = DEFAULT_COMPOSE, env_file: Path | None = None) -> list[str]:
    """The services compose itself selects for these profiles (checked against stack.yaml)."""
    return [*project_args(mesh, env, compose, env_file), *profile_args(profiles), "config", "--services"]


PS_FORMAT = ('{"service":{{json (.Label "com.docker.compose.service")}},"name":{{json .Names}},'
             '"state":{{json .State}},"status":{{json .Status}},"ports":{{json .Ports}}}')


def ps(mesh: Mesh, docker: str = "docker") -> list[str]:
    """One ``docker ps`` by project label: works with or without the env file."""
    return [docker, "ps", "-a", "--filter", f"label={PROJECT_LABEL}={mesh.project}", "--format", PS_FORMAT]


# --------------------------------------------------------------------------
# Reading results (pure)


def profile_mismatch(mesh: Mesh, profiles: Sequence[str], selected: Sequence[str]) -> str | None:
    """Why compose's selection differs from stack.yaml's profile table, or None when it agrees."""
    declared = set(profile_services(mesh, profiles))
    actual = {s.strip() for s in selected if s.strip()}
    if declared == actual:
        return None
    parts = []
    if actual - declared:
        parts.append(f"compose also selects {', '.join(sorted(actual - declared))}")
    if declared - actual:
        parts.append(f"compose does not select {', '.join(sorted(declared - actual))}")
    label = ",".join(profiles)
    return f"{mesh.stack_file}: mesh.profiles ({label}): " + "; ".join(parts)


@dataclass(frozen=True)
class ServiceRow:
    service: str
    profile: str
    container: str
    state: str
    health: str
    ports: str

    def to_json(self) -> dict[str, str]:
        return {"service": self.service, "profile": self.profile, "container": self.container,
                "state": self.state, "health": self.health, "ports": self.ports}


def ps_rows(mesh: Mesh, text: str) -> list[ServiceRow]:
    """Every declared service (``absent`` when it has no container), then undeclared containers."""
    import json

    from multistack.io.status import health_of

    found: dict[str, list[dict[str, str]]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            row = json.loads(line)
        except ValueError:
            continue
        found.setdefault(str(row.get("service", "")), []).append(row)
    rows = []
    for svc in (*mesh.services, *sorted(set(found) - set(mesh.services))):
        containers = sorted(found.get(svc, []), key=lambda r: str(r.get("name", "")))
        if not containers:
            rows.append(ServiceRow(svc, mesh.profile_of(svc), "", "absent", "", ""))
        for row in containers:
            rows.append(ServiceRow(svc, mesh.profile_of(svc) or "?", str(row.get("name", "")),
                                   str(row.get("state", "")), health_of(str(row.get("status", ""))),
                                   str(row.get("ports", ""))))
    return rows


def shell_overrides(values: Mapping[str, str | None], environ: Mapping[str, str]) -> list[str]:
    """Keys of the env file that the calling shell exports with another value.

    Compose gives exported variables precedence over ``--env-file``, so the
    mesh would silently run with the shell's value.
    """
    return sorted(k for k, v in values.items() if k in environ and v is not None and environ[k] != v)
