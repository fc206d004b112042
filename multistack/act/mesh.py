"""The mesh: one shared infrastructure stack beside the per-instance stacks.

``stack.yaml``'s ``mesh:`` section is validated when the stack is loaded
(:mod:`multistack.model.mesh`, :attr:`Stack.mesh`); here the files it names
are checked, the environment is resolved from the active env file(s), every
``docker compose`` command is built as an argument list (run elsewhere
through ``shell.run``), and the preflight of ``up`` reads compose's merged
model and one ``docker ps`` through ``shell.probe``.

The traps this module is shaped around (see FIELD_NOTES):

* every mesh service has a profile, so ``up`` without ``--profile`` selects
  nothing: a profile is always passed, ``all`` becoming ``--profile '*'``;
* ``down`` ignores containers of inactive profiles (docker/compose#8139):
  a full ``down`` always passes ``--profile '*'``;
* relative paths inside the compose files resolve from the first file's
  folder, so the compose files are passed with absolute paths and keep their
  own relative paths;
* the active env file is passed with ``--env-file`` on every call, so
  ``${VAR}`` in the files means the same thing for ``up``, ``logs`` and ``down``;
* side by side (``project: "x-mesh-{{ environment }}"``) each environment is its
  own project with its own env file, so volumes and networks follow from the
  name; host ports and fixed names (``networks.default.name``) do not, so the
  preflight of ``up`` checks them against one ``docker ps`` of the engine.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from multistack.plan.compose import DEFAULT_COMPOSE, EVERY_PROFILE, ComposeCli, ComposeProject, DockerCli
from multistack.errors import StackError
from multistack.io.userfiles import read_user_text
from multistack.model.mesh import (  # noqa: F401 - InitStep, parse_profiles: the mesh's model, for the tasks
    ALL,
    Environment,
    InitStep,
    Mesh,
    parse_profiles,
)
from multistack.model.names import HOSTNAME_RE, is_number
from multistack.model.stack import Stack

#: The key of the active env file that names its environment.
ENVIRONMENT_KEY = "ENVIRONMENT"


def check_mesh_files(mesh: Mesh) -> None:
    """Every file the mesh names exists (I/O: kept out of parsing, which is pure)."""
    named = [("mesh.compose", f) for f in mesh.compose_files]
    for env in mesh.environments:
        named += [(f"mesh.environments.{env.name}.compose", f) for f in env.compose_files]
        named.append((f"mesh.environments.{env.name}.template", env.template))
    for key, rel in named:
        if not (mesh.root / rel).is_file():
            raise StackError(f"{mesh.stack_file}: {key}: {rel} does not exist", f"create {rel} or fix {key}")


def load_mesh(stack: Stack) -> Mesh:
    """The stack's mesh, its files checked; a StackError when stack.yaml declares none."""
    if stack.mesh is None:
        raise StackError(f"{stack.path.name}: no `mesh:` section", "add one (see docs/mesh.md) to use `inv mesh.*`")
    check_mesh_files(stack.mesh)
    return stack.mesh


# --------------------------------------------------------------------------
# Profiles and environments


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
    rel: str = "env/.env"  # as stack.yaml names it, for messages

    @property
    def environment(self) -> str | None:
        value = self.values.get(ENVIRONMENT_KEY)
        return value.strip() if isinstance(value, str) and value.strip() else None


def read_env_file(path: Path) -> dict[str, str | None]:
    return env_values(read_env_text(path), path)


def read_env_text(path: Path) -> str:
    """An env file's text; a StackError (not a traceback) when it is unreadable or not UTF-8."""
    return read_user_text(path) or ""


def env_values(text: str, path: Path) -> dict[str, str | None]:
    """An env file's text, checked (errors name ``path``), as its values."""
    from multistack.plan.envfiles import check_env_text, read_env_values

    check_env_text(text, str(path))
    return read_env_values(text)


def env_file_for(mesh: Mesh, environment: str | None = None) -> str:
    """The active env file of an environment (its own when side by side; else the shared one)."""
    return mesh.env_file_of(environment or "")


def read_active(mesh: Mesh, environment: str | None = None) -> ActiveEnv | None:
    """The active env file (side by side: ``environment``'s own), or None when there is none yet.

    A folder (or a dangling link) there is refused, not read as "no env file yet":
    that would send the user to ``inv mesh.env``, which then fails on it.
    """
    rel = env_file_for(mesh, environment)
    path = mesh.root / rel
    if not path.is_file():
        if path.exists() or path.is_symlink():
            from multistack.errors import ConflictError
            raise ConflictError(f"{rel} is not a readable file (a folder or a broken link)",
                                f"move it away (mv {rel} {rel}.old), then rerun")
        return None
    return ActiveEnv(path, read_env_file(path), rel)


def present_env_files(mesh: Mesh) -> dict[str, ActiveEnv]:
    """Side by side: environment -> its own env file, for those that have one (each checked)."""
    found = {}
    for name in mesh.environment_names:
        active = read_active(mesh, name)
        if active is not None:
            own_environment(mesh, name, active)
            found[name] = active
    return found


def own_environment(mesh: Mesh, name: str, active: ActiveEnv) -> Environment:
    """Side by side: an environment's own file must name that environment (a copied file would not)."""
    if active.environment != name:
        found = f"{ENVIRONMENT_KEY}={active.environment}" if active.environment else f"no {ENVIRONMENT_KEY}="
        raise StackError(f"{active.rel}: has {found}, but it is the env file of {name}",
                         f"set {ENVIRONMENT_KEY}={name} in it, or recreate it with `inv mesh.env {name} --force`")
    return mesh.environment(name)


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
        raise StackError(f"{active.rel} has no {ENVIRONMENT_KEY}=",
                         f"add {ENVIRONMENT_KEY}=<one of {valid}> to it, or recreate it with "
                         f"`inv mesh.env ENV --force`")
    if name not in mesh.environment_names:
        raise StackError(f"{active.rel}: {ENVIRONMENT_KEY}={name} is not an environment; valid: {valid}",
                         f"set {ENVIRONMENT_KEY} to one of {valid}, or recreate it with `inv mesh.env ENV --force`")
    return mesh.environment(name)


def choose_environment(mesh: Mesh, requested: str | None, active: ActiveEnv | None,
                       ask: Callable[[], str] | None = None) -> Choice:
    """Resolve the environment: ``--env``, else the active env file, else ask (terminal) or refuse.

    ``ask`` is None when nobody can answer (stdin is not a terminal). An
    ``--env`` that contradicts the active env file is refused rather than
    mixing one environment's overrides with another's variables.
    Side by side (each environment its own file) see :func:`choose_own`.
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


def choose_own(mesh: Mesh, requested: str | None, present: Mapping[str, ActiveEnv],
               ask: Callable[[], str] | None = None) -> Choice:
    """Side by side: ``--env``; else the one environment that has its env file; else ask or refuse.

    Several environments with env files and no ``--env`` is refused: the
    command would otherwise pick one of several running meshes by guess.
    """
    if requested is not None:
        env = mesh.environment(requested)
        return Choice(env, create=env.name not in present)
    valid = "|".join(mesh.environment_names)
    if len(present) == 1:
        return Choice(mesh.environment(next(iter(present))))
    if present:
        raise StackError(f"environments {', '.join(present)} each have their env file and no --env given",
                         f"pass --env {'|'.join(present)}")
    if ask is None:
        files = ", ".join(env_file_for(mesh, name) for name in mesh.environment_names)
        raise StackError(f"no env file of any environment ({files}) and no --env given",
                         f"pass --env {valid}, or create one with `inv mesh.env ENV`")
    return Choice(pick_environment(mesh, ask()), create=True)


def resolve_environment(mesh: Mesh, requested: str | None,
                        ask: Callable[[], str] | None = None) -> tuple[Choice, ActiveEnv | None]:
    """The environment a command works in and its active env file as read (None: not there yet).

    One shared file: ``--env`` must agree with its ENVIRONMENT (:func:`choose_environment`).
    Side by side: ``--env`` reads that environment's own file alone (another's broken
    file does not block it); without it, the one environment that has a file (:func:`choose_own`).
    """
    if not mesh.side_by_side:
        active = read_active(mesh)
        return choose_environment(mesh, requested, active, ask), active
    if requested is not None:
        env = mesh.environment(requested)
        active = read_active(mesh, env.name)
        if active is not None:
            own_environment(mesh, env.name, active)
        return Choice(env, create=active is None), active
    present = present_env_files(mesh)
    choice = choose_own(mesh, None, present, ask)
    return choice, present.get(choice.environment.name)


def environment_menu(mesh: Mesh) -> str:
    """The prompt shown on a terminal when there is no active env file."""
    width = max(len(n) for n in mesh.environment_names)
    what = "env file of any environment" if mesh.side_by_side else mesh.env_file
    lines = [f"No {what} yet. Create it from which template?"]
    for i, env in enumerate(mesh.environments, 1):
        lines.append(f"  {i}) {env.name.ljust(width)}  {env.template}")
    lines.append(f"Environment [1-{len(mesh.environments)} or name]: ")
    return "\n".join(lines)


def pick_environment(mesh: Mesh, answer: str) -> Environment:
    """A menu answer (number or name) -> the environment."""
    answer = answer.strip()
    if is_number(answer) and 1 <= int(answer) <= len(mesh.environments):
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
        "mesh_project": mesh.project_of(env.name),
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
        if not HOSTNAME_RE.fullmatch(host):
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
    return [f"# {mesh.project_of(env.name)} ({env.name}): inv mesh.hosts",
            *(f"{env.address}\t{host}" for host in names)]


# --------------------------------------------------------------------------
# Command lines (pure)


def profiles_of(profiles: Sequence[str]) -> tuple[str, ...]:
    """stack.yaml's profile words as compose's: ``all`` is ``*``."""
    return (EVERY_PROFILE,) if tuple(profiles) == (ALL,) else tuple(profiles)


def profile_args(profiles: Sequence[str]) -> list[str]:
    args: list[str] = []
    for name in profiles_of(profiles):
        args += ["--profile", name]
    return args


def compose_project(mesh: Mesh, env: Environment | None, compose: Sequence[str] = DEFAULT_COMPOSE,
                    env_file: Path | None = None, with_files: bool = True) -> ComposeProject:
    """``docker compose -p NAME -f base -f override -f env-override --env-file env/.env``;
    without an environment (or ``with_files=False``: no env file yet), the project by name alone."""
    name = mesh.project_of(env.name) if env is not None else mesh.project_of("")
    files = (*mesh.compose_files, *env.compose_files) if env is not None and with_files else ()
    active = (env_file or mesh.env_path_of(env.name)) if env is not None and with_files else None
    project = ComposeProject.for_mesh(name, mesh.root, files, active)
    return ComposeProject(project.name, project.files, project.env_files, ComposeCli(tuple(compose)))


def project_args(mesh: Mesh, env: Environment, compose: Sequence[str] = DEFAULT_COMPOSE,
                 env_file: Path | None = None) -> list[str]:
    return compose_project(mesh, env, compose, env_file).args()


def up(mesh: Mesh, env: Environment, profiles: Sequence[str], compose: Sequence[str] = DEFAULT_COMPOSE,
       wait: bool = True) -> list[str]:
    return compose_project(mesh, env, compose).up(wait=wait, remove_orphans=False, profiles=profiles_of(profiles))


def down(mesh: Mesh, env: Environment | None, profiles: Sequence[str] | None = None,
         compose: Sequence[str] = DEFAULT_COMPOSE, volumes: bool = False, with_files: bool = True) -> list[str]:
    """Down one profile's services, or everything (``--profile '*'``, orphans too).

    With no environment (no active env file) or ``with_files=False`` (side by
    side: no env file of this environment) the project is taken down by name
    alone: compose finds its containers, network and volumes by their labels.
    """
    with_files = with_files and env is not None
    if profiles and tuple(profiles) != (ALL,):
        if not with_files:
            file = env_file_for(mesh, env.name if env else None)
            raise StackError(f"down of one profile needs the active env file {file}",
                             f"run `inv mesh.env {env.name if env else 'ENV'}` first")
        return compose_project(mesh, env, compose).down(volumes, remove_orphans=False, profiles=profiles_of(profiles))
    return compose_project(mesh, env, compose, with_files=with_files).down(volumes)


def logs(mesh: Mesh, env: Environment, services: Sequence[str] = (), compose: Sequence[str] = DEFAULT_COMPOSE,
         follow: bool = False, tail: int | None = None) -> list[str]:
    return compose_project(mesh, env, compose).logs(follow, tail, services, profiles=(EVERY_PROFILE,))


def exec_step(mesh: Mesh, env: Environment, step: InitStep, compose: Sequence[str] = DEFAULT_COMPOSE) -> list[str]:
    """``compose exec -T``: no TTY, so steps run the same from a terminal, a script or CI."""
    return compose_project(mesh, env, compose).exec(step.service, step.command, profiles=(EVERY_PROFILE,))


def config_services(mesh: Mesh, env: Environment, profiles: Sequence[str],
                    compose: Sequence[str] = DEFAULT_COMPOSE, env_file: Path | None = None) -> list[str]:
    """The services compose itself selects for these profiles (checked against stack.yaml)."""
    return compose_project(mesh, env, compose, env_file).config_services(profiles_of(profiles))


def config_json(mesh: Mesh, env: Environment, profiles: Sequence[str],
                compose: Sequence[str] = DEFAULT_COMPOSE, env_file: Path | None = None) -> list[str]:
    """Compose's merged model of the selected services (the preflight's one compose call)."""
    return compose_project(mesh, env, compose, env_file).config("--format", "json",
                                                               profiles=profiles_of(profiles))


PS_FORMAT = ('{"service":{{json (.Label "com.docker.compose.service")}},"name":{{json .Names}},'
             '"state":{{json .State}},"status":{{json .Status}},"ports":{{json .Ports}}}')


def ps(mesh: Mesh, docker: str = "docker", environment: str | None = None) -> list[str]:
    """One ``docker ps`` by project label: works with or without the env file."""
    return DockerCli(docker).ps_project(mesh.project_of(environment or ""), PS_FORMAT)


def ps_every_environment(docker: str = "docker") -> list[str]:
    """Side by side: one ``docker ps`` of every compose container; each environment's rows by project."""
    return DockerCli(docker).ps_all()


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


def ps_rows(mesh: Mesh, text: str, project: str | None = None) -> list[ServiceRow]:
    """Every declared service (``absent`` when it has no container), then undeclared containers.

    ``project``: only the lines of that project (lines of ``docker ps`` of every project).
    """
    from multistack.io.status import health_of, parse_containers

    found: dict[str, list[dict[str, str]]] = {}
    for row in parse_containers(text):
        if project is not None and row.get("project") != project:
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


# --------------------------------------------------------------------------
# The preflight of `up`: compose's selection, host ports and fixed names


@dataclass(frozen=True)
class HostPort:
    """A host port a service of the mesh publishes, as compose's merged model says."""

    service: str
    port: int
    host_ip: str = ""

    @property
    def bind_host(self) -> str:
        return self.host_ip if self.host_ip not in ("", "0.0.0.0", "::") else "0.0.0.0"


def published_ports(config: Mapping[str, Any]) -> list[HostPort]:
    """Every published host port of ``docker compose config --format json``'s services (ranges expanded)."""
    found = []
    for service, spec in sorted((config.get("services") or {}).items()):
        for entry in (spec or {}).get("ports") or []:
            published = str(entry.get("published") or "") if isinstance(entry, dict) else ""
            first, _, last = published.partition("-")
            if not first.isdigit():
                continue  # a random host port: nothing to clash with
            for port in range(int(first), int(last or first) + 1):
                found.append(HostPort(service, port, str(entry.get("host_ip") or "")))
    return found


def fixed_names(config: Mapping[str, Any], project: str) -> list[tuple[str, str]]:
    """("network"|"volume", name) that compose does not prefix with the project (``name:``), external not."""
    found = []
    for kind, key in (("network", "networks"), ("volume", "volumes")):
        for declared, spec in sorted((config.get(key) or {}).items()):
            spec = spec or {}
            name = str(spec.get("name") or f"{project}_{declared}")
            if not spec.get("external") and not name.startswith(f"{project}_"):
                found.append((kind, name))
    return found


_PUBLISHED = re.compile(r"(?:^|,\s*)(?:\[?([0-9a-fA-F.:]*)\]?:)?(\d+)(?:-(\d+))?->")


def ports_of_row(ports: str) -> set[int]:
    """Host ports in ``docker ps``'s Ports column (``127.0.0.1:37001->8080/tcp, :::80->80/tcp``)."""
    found: set[int] = set()
    for match in _PUBLISHED.finditer(ports or ""):
        first = int(match.group(2))
        found.update(range(first, int(match.group(3) or first) + 1))
    return found


def port_owners(rows: Sequence[Mapping[str, str]]) -> dict[int, tuple[str, str]]:
    """Host port -> (compose project, service) publishing it, from one ``docker ps`` of the engine."""
    owners: dict[int, tuple[str, str]] = {}
    for row in rows:
        if row.get("state") != "running":
            continue
        for port in ports_of_row(str(row.get("ports") or "")):
            owners.setdefault(port, (str(row.get("project") or ""), str(row.get("service") or "")))
    return owners


def env_key_of(values: Mapping[str, str | None], port: int) -> str | None:
    """The env file's key whose value is this port (what to change), if exactly one is."""
    keys = [k for k, v in values.items() if v is not None and v.strip() == str(port)]
    return keys[0] if len(keys) == 1 else None


def port_clashes(mesh: Mesh, env: Environment, wanted: Sequence[HostPort], rows: Sequence[Mapping[str, str]],
                 values: Mapping[str, str | None], is_free: Callable[[HostPort], str | None]) -> list[str]:
    """Why each wanted host port cannot be bound: another project publishes it, or another process holds it.

    Ports this environment's own project already publishes are fine (``up`` again).
    ``is_free`` answers None for a free port, else who holds it ("" when the OS does not tell).
    """
    own = mesh.project_of(env.name)
    projects = mesh.projects()
    owners = port_owners(rows)
    problems = []
    for hp in wanted:
        key = env_key_of(values, hp.port)
        where = f" ({key}={hp.port} in {env_file_for(mesh, env.name)})" if key else ""
        project, service = owners.get(hp.port, ("", ""))
        if project == own:
            continue
        if project:
            other = f"environment {projects[project]}, " if project in projects else ""
            problems.append(f"host port {hp.port} of {hp.service}{where} is published by {project} "
                            f"({other}service {service})")
            continue
        holder = is_free(hp)
        if holder is not None:
            problems.append(f"host port {hp.port} of {hp.service}{where} is in use"
                            + (f", held by {holder}" if holder else ""))
    return problems


def name_clashes(mesh: Mesh, env: Environment, fixed: Sequence[tuple[str, str]],
                 owners: Mapping[tuple[str, str], str]) -> list[str]:
    """Fixed network/volume names that another compose project already owns (two environments would share it).

    ``owners``: (kind, name) -> the compose project label of the existing network or volume.
    """
    own, projects = mesh.project_of(env.name), mesh.projects()
    problems = []
    for kind, name in fixed:
        owner = owners.get((kind, name))
        if owner and owner != own:
            other = f" (environment {projects[owner]}, {kind})" if owner in projects else ""
            problems.append(f"{kind} {name} belongs to {owner}{other}; this environment would share it")
    return problems


def clash_error(mesh: Mesh, env: Environment, problems: Sequence[str]) -> StackError:
    """One line naming every clash; the fix names the env file to change, and the other
    environment to stop when the clash is with one of this mesh's environments."""
    blocking = [name for name in mesh.environment_names
                if name != env.name and any(f"(environment {name}," in p for p in problems)]
    hint = (f"give {env.name} its own host ports and names in {env_file_for(mesh, env.name)} "
            "(each environment's template sets its own)"
            + (f", or stop the other with `inv mesh.down --env {blocking[0]}`" if blocking else ""))
    return StackError(f"mesh {mesh.project_of(env.name)} ({env.name}): " + "; ".join(problems), hint)


def preflight(c: Any, mesh: Mesh, env: Environment, profiles: Sequence[str], compose: Sequence[str],
              values: Mapping[str, str | None]) -> None:
    """Before ``up``: compose selects exactly stack.yaml's services, and their host ports and
    fixed names are free. One compose call and one ``docker ps`` (one more per fixed-name kind)."""
    import json

    from multistack.io import hostports
    from multistack.io.shell import probe
    from multistack.io.status import parse_containers
    from multistack.io.tools import engine_unreachable, last_line

    result = probe(c, config_json(mesh, env, profiles, compose))
    if not result.ok:
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise StackError(f"docker compose cannot read the mesh files: {reason}",
                         f"fix the compose files or {env_file_for(mesh, env.name)}")
    try:
        config = json.loads(result.stdout)
    except ValueError:
        raise StackError("docker compose config printed no JSON", "check `docker compose version` (v2)") from None
    mismatch = profile_mismatch(mesh, profiles, list(config.get("services") or {}))
    if mismatch:
        raise StackError(mismatch, "make mesh.profiles in stack.yaml and the services' `profiles:` agree")
    wanted, fixed = published_ports(config), fixed_names(config, mesh.project_of(env.name))
    if not wanted and not (fixed and mesh.side_by_side):
        return
    docker = DockerCli()
    listed = probe(c, docker.ps_all())
    if not listed.ok:
        raise engine_unreachable(last_line(listed.stderr))
    problems = port_clashes(mesh, env, wanted, parse_containers(listed.stdout), values,
                            lambda hp: _holder(hostports, hp))
    if fixed and mesh.side_by_side:
        problems += name_clashes(mesh, env, fixed, _fixed_owners(c, docker, {kind for kind, _ in fixed}))
    if problems:
        raise clash_error(mesh, env, problems)


def _holder(hostports: Any, hp: HostPort) -> str | None:
    """None when the port is free; else who holds it ("" unknown). Privileged ports are left to docker."""
    import os

    if hp.port < 1024 and hasattr(os, "geteuid") and os.geteuid() != 0:
        return None  # we could not bind it anyway; docker-proxy can
    try:
        if hostports.is_free(hp.port, hp.bind_host):
            return None
    except OSError:
        return None  # an address this host does not have: compose will say so
    return hostports.holder_of(hp.port) or ""


def _fixed_owners(c: Any, docker: DockerCli, kinds: set[str]) -> dict[tuple[str, str], str]:
    """(kind, name) -> compose project label, of existing networks/volumes (one query per kind)."""
    from multistack.io.shell import probe

    owners = {}
    for kind in sorted(kinds):
        result = probe(c, docker.owners_of(kind))
        for line in result.stdout.splitlines() if result.ok else ():
            name, _, project = line.partition(" ")
            if project.strip():
                owners[(kind, name)] = project.strip()
    return owners
