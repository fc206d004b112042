"""The mesh: one shared infrastructure stack beside the per-instance stacks (pure core).

``stack.yaml``'s ``mesh:`` section is validated when the stack is loaded
(:mod:`multistack.model.mesh`, :attr:`Stack.mesh`); here the files it names
are checked, the environment is resolved from the active env file, and every
``docker compose`` command is built as an argument list, run elsewhere
through ``shell.run``.

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


def read_active(mesh: Mesh) -> ActiveEnv | None:
    """The active env file, or None when there is none yet.

    A folder (or a dangling link) there is refused, not read as "no env file yet":
    that would send the user to ``inv mesh.env``, which then fails on it.
    """
    if not mesh.env_path.is_file():
        if mesh.env_path.exists() or mesh.env_path.is_symlink():
            from multistack.errors import ConflictError
            raise ConflictError(f"{mesh.env_file} is not a readable file (a folder or a broken link)",
                                f"move it away (mv {mesh.env_file} {mesh.env_file}.old), then rerun")
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
    return [f"# {mesh.project} ({env.name}): inv mesh.hosts", *(f"{env.address}\t{host}" for host in names)]


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
                    env_file: Path | None = None) -> ComposeProject:
    """``docker compose -p NAME -f base -f override -f env-override --env-file env/.env``;
    without an environment, the project by name alone."""
    files = (*mesh.compose_files, *env.compose_files) if env is not None else ()
    project = ComposeProject.for_mesh(mesh.project, mesh.root, files,
                                      None if env is None else (env_file or mesh.env_path))
    return ComposeProject(project.name, project.files, project.env_files, ComposeCli(tuple(compose)))


def project_args(mesh: Mesh, env: Environment, compose: Sequence[str] = DEFAULT_COMPOSE,
                 env_file: Path | None = None) -> list[str]:
    return compose_project(mesh, env, compose, env_file).args()


def up(mesh: Mesh, env: Environment, profiles: Sequence[str], compose: Sequence[str] = DEFAULT_COMPOSE,
       wait: bool = True) -> list[str]:
    return compose_project(mesh, env, compose).up(wait=wait, remove_orphans=False, profiles=profiles_of(profiles))


def down(mesh: Mesh, env: Environment | None, profiles: Sequence[str] | None = None,
         compose: Sequence[str] = DEFAULT_COMPOSE, volumes: bool = False) -> list[str]:
    """Down one profile's services, or everything (``--profile '*'``, orphans too).

    With no environment (no active env file) the project is taken down by
    name alone: compose finds its containers by their labels.
    """
    if profiles and tuple(profiles) != (ALL,):
        if env is None:
            raise StackError("down of one profile needs the active env file", "run `inv mesh.env ENV` first")
        return compose_project(mesh, env, compose).down(volumes, remove_orphans=False, profiles=profiles_of(profiles))
    return compose_project(mesh, env, compose).down(volumes)


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


PS_FORMAT = ('{"service":{{json (.Label "com.docker.compose.service")}},"name":{{json .Names}},'
             '"state":{{json .State}},"status":{{json .Status}},"ports":{{json .Ports}}}')


def ps(mesh: Mesh, docker: str = "docker") -> list[str]:
    """One ``docker ps`` by project label: works with or without the env file."""
    return DockerCli(docker).ps_project(mesh.project, PS_FORMAT)


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
