"""The shared infrastructure stack: `inv mesh.up [--profile P] [--env E]`, `inv mesh.down`, ...

A compose project beside the instances, declared under `mesh:` in stack.yaml.
Profiles (db, mesh, apps, telemetry; `all` for every one) pick its services;
the environment (local, staging, production) comes from `--env`, else the
active env file's ENVIRONMENT (env/.env, made by `inv mesh.env E`). With
`project: "<name>-{{ environment }}"` each environment is its own project with
its own env file (env/.env.E), so several run side by side on one host.
"""
from __future__ import annotations

import json as json_lib
import sys
from typing import TYPE_CHECKING, Callable

from invoke import Collection, Context, Result

from multistack.cli.exits import task, user_errors
from multistack.plan.masking import mask_json, mask_text

if TYPE_CHECKING:
    from pathlib import Path

    from multistack.io.tools import Engines
    from multistack.act.mesh import ActiveEnv, Choice, Environment, Mesh
    from multistack.model.stack import Stack

HELP = {
    "profile": "profile(s) to act on: db, mesh, apps, telemetry or all; several as db,mesh "
               "(up default: stack.yaml's mesh.default_profile; down default: all)",
    "env": "environment: local, staging or production (default: ENVIRONMENT in env/.env, or side by side "
           "the one environment that has its env file); up creates the env file from its template when missing",
    "volumes": "also remove the named volumes (database, object storage, telemetry data): asks first",
    "yes": "do not ask before removing volumes",
    "follow": "keep streaming logs",
    "tail": "number of lines to show per service",
    "json": "print JSON",
    "force": "replace an existing env file (the old one is kept as <file>.bak)",
}


def _load() -> tuple[Stack, Mesh]:
    from multistack.act.mesh import load_mesh
    from multistack.model.stack import load_stack

    stack = load_stack()
    return stack, load_mesh(stack)


def _ask(mesh: Mesh) -> Callable[[], str] | None:
    """A prompt when a person is at a terminal; None (refuse, asking for --env) otherwise."""
    if sys.stdin is None or sys.stdin.closed or not sys.stdin.isatty():  # closed (<&-), a pipe, a file
        return None
    from multistack.errors import StackError
    from multistack.act.mesh import environment_menu

    def ask() -> str:
        try:
            return input(environment_menu(mesh))
        except EOFError:
            raise StackError("no environment chosen", "pass --env") from None

    return ask


def _engines(c: Context) -> Engines:
    """Compose v2 and a reachable engine, checked before acting; unprobed under --dry."""
    from multistack.io.tools import detect_compose_and_engine

    return detect_compose_and_engine(c)


def _resolve(mesh: Mesh, requested: str | None,
             ask: Callable[[], str] | None) -> tuple[Choice, ActiveEnv | None]:
    from multistack.act.mesh import resolve_environment

    return resolve_environment(mesh, requested, ask)


def _env_for_write(c: Context, mesh: Mesh, requested: str | None,
                   before_writing: Callable[[], object] = lambda: None) -> tuple[Environment, ActiveEnv | None]:
    """The environment for up: --env, else the active env file, else ask; creates the env file when needed.

    ``before_writing``: the checks that must pass before the env file is written (the engine's),
    run after the choice is validated. Also returns the env file as read (after creating it;
    None under --dry when it was not created).
    """
    from multistack.act.mesh import read_active

    choice, active = _resolve(mesh, requested, _ask(mesh))
    before_writing()
    if choice.create:
        _write_env_file(c, mesh, choice.environment, force=False)
        active = read_active(mesh, choice.environment.name)
    return choice.environment, active


def _env_for_read(mesh: Mesh, requested: str | None) -> tuple[Environment, ActiveEnv | None]:
    """The environment for hosts/urls: --env (any, not only the active one), else the active file, else ask."""
    from multistack.act.mesh import read_active

    if requested is not None:
        env = mesh.environment(requested)
        return env, read_active(mesh, env.name)
    choice, active = _resolve(mesh, None, _ask(mesh))
    return choice.environment, active


def _active_env(mesh: Mesh, requested: str | None = None) -> Environment:
    """The environment whose env file exists, which logs and init-data need (they never create it)."""
    from multistack.errors import StackError
    from multistack.act.mesh import env_file_for

    if not mesh.side_by_side:
        from multistack.act.mesh import read_active

        if read_active(mesh) is None:
            raise StackError(f"no active env file {mesh.env_file}",
                             f"start the mesh with `inv mesh.up --env {'|'.join(mesh.environment_names)}`, "
                             "or create it with `inv mesh.env ENV`")
    choice, active = _resolve(mesh, requested, None)
    env = choice.environment
    if active is None:
        raise StackError(f"no active env file {env_file_for(mesh, env.name)} ({env.name})",
                         f"start it with `inv mesh.up --env {env.name}`, or create it with `inv mesh.env {env.name}`")
    return env


def _env_for_down(mesh: Mesh, requested: str | None) -> tuple[Environment | None, bool]:
    """The environment to take down and whether its env file is there (else: by project name alone)."""
    from multistack.act.mesh import active_environment, read_active

    if mesh.side_by_side:
        choice, active = _resolve(mesh, requested, None)
        return choice.environment, active is not None
    active = read_active(mesh)
    if requested is not None:
        choice, _ = _resolve(mesh, requested, None)  # refuses an --env the active file contradicts
        return choice.environment, active is not None
    return (active_environment(mesh, active) if active else None), active is not None


def _values(mesh: Mesh, env: Environment, active: ActiveEnv | None) -> dict[str, str | None]:
    """Template variables' `env`: the active file for its own environment, else the template."""
    from multistack.act.mesh import read_env_file

    if active is not None and active.environment == env.name:
        return dict(active.values)
    return read_env_file(mesh.root / env.template)


def _write_env_file(c: Context, mesh: Mesh, env: Environment, force: bool) -> None:
    """Copy the environment's template to its active env file (0600: it holds passwords)."""
    from multistack.errors import ConflictError, StackError
    from multistack.act.mesh import check_template, env_file_for, env_values, read_active, read_env_text
    from multistack.io.shell import for_real

    source = mesh.root / env.template
    text = read_env_text(source)
    check_template(mesh, env, env_values(text, source))
    rel = env_file_for(mesh, env.name)
    target = mesh.root / rel
    exists = target.is_file()
    if exists:
        old = target.read_bytes()  # bytes: an unreadable file is replaced with --force, not a traceback
        if old == text.encode("utf-8"):
            print(f"identical  {rel} ({env.template})")
            return
        if not force:
            try:
                active = read_active(mesh, env.name)
                named = active.environment if active else None
            except StackError:  # unreadable: still not ours to overwrite, --force replaces it
                named = None
            current = f" (ENVIRONMENT={named})" if named else ""
            raise ConflictError(f"{rel} already exists{current}; not replacing it with {env.template}",
                                f"rerun with --force to replace it (the old one is kept as {rel}.bak)")
    for_real(c, lambda: _replace_env_file(target, rel, env, text, old if exists else None),
             dry=f"would {'update' if exists else 'create'}  {rel} from {env.template}")


def _replace_env_file(target: Path, rel: str, env: Environment, text: str, old: bytes | None) -> None:
    """Write the active env file (0600), keeping the one it replaces as ``.bak``."""
    from multistack.io.writer import atomic_write

    if old is not None:
        atomic_write(target.with_name(target.name + ".bak"), old, 0o600)
        atomic_write(target, text, 0o600)
        print(f"   update  {rel} from {env.template} (the old one kept as {rel}.bak)")
    else:
        atomic_write(target, text, 0o600)
        print(f"   create  {rel} from {env.template}")


def _warn_shell_overrides(mesh: Mesh, active: ActiveEnv | None) -> None:
    import os

    from multistack.act.mesh import shell_overrides

    if active is None:
        return
    for key in shell_overrides(active.values, os.environ):
        print(f"warning: your shell exports {key}, which overrides {mesh.env_file} for docker compose",
              file=sys.stderr)


# --------------------------------------------------------------------------
# Tasks


@task(help={"profile": HELP["profile"], "env": HELP["env"]})
@user_errors
def up(c: Context, profile: str | None = None, env: str | None = None) -> None:
    """Start the mesh, or one profile of it, and wait until healthy: `inv mesh.up --profile db --env local`."""
    from invoke.exceptions import UnexpectedExit

    from multistack.act import mesh as core
    from multistack.errors import CommandFailed
    from multistack.io.shell import for_real, run

    _stack, mesh = _load()
    profiles = core.parse_profiles(mesh, profile)
    found: list[Engines] = []  # the engine checked before the env file is written: a missing one changes nothing
    environment, active = _env_for_write(c, mesh, env, lambda: found.append(_engines(c)))
    engines = found[0]
    project = mesh.project_of(environment.name)
    for_real(c, lambda: core.preflight(c, mesh, environment, profiles, engines.compose,
                                       active.values if active else {}))
    for_real(c, lambda: _warn_shell_overrides(mesh, active))
    try:
        run(c, core.up(mesh, environment, profiles, engines.compose))
    except UnexpectedExit as exc:
        from multistack.act.progress import pull_failures, pull_hint

        pulls = pull_failures(f"{exc.result.stdout or ''}\n{exc.result.stderr or ''}", {})
        if pulls:  # not a health problem: say which image, and how to provide it
            raise CommandFailed(f"mesh ({environment.name}): " + "; ".join(p.describe() for p in pulls),
                                pull_hint(pulls)) from None
        raise CommandFailed(f"mesh ({environment.name}): `docker compose up --wait` failed "
                            f"(exit {exc.result.exited}); its output above names the service that did not "
                            "become healthy",
                            f"inspect with `inv mesh.ps --env {environment.name}` and "
                            f"`inv mesh.logs SERVICE --env {environment.name}`") from None
    for_real(c, lambda: print(f"mesh {project} ({environment.name}): up: "
                              f"{', '.join(core.profile_services(mesh, profiles))}"))


@task(help={"profile": HELP["profile"], "env": "the environment to take down (side by side: required when "
            "several have env files); the others keep running", "volumes": HELP["volumes"], "yes": HELP["yes"]})
@user_errors
def down(c: Context, profile: str | None = None, env: str | None = None, volumes: bool = False,
         yes: bool = False) -> None:
    """Stop and remove the mesh's containers (all profiles unless --profile); --volumes deletes its data too
    ("reset the environment": only that environment's volumes)."""
    from multistack.act import mesh as core
    from multistack.io.shell import assume_yes, for_real, run

    _stack, mesh = _load()
    profiles = core.parse_profiles(mesh, profile) if profile else None
    environment, has_file = _env_for_down(mesh, env)
    project = mesh.project_of(environment.name if environment else "")
    core.down(mesh, environment, profiles, volumes=volumes, with_files=has_file)  # refuses a bad combination first
    if volumes:
        from multistack.act.lifecycle import confirm

        named = f" ({environment.name})" if environment and mesh.side_by_side else ""
        confirm(f"Delete the mesh's volumes ({project}{named}: "
                f"{'profile ' + ','.join(profiles) if profiles else 'every profile'})? "
                "Every instance using its databases loses their data.", assume_yes(c, yes),
                what="removing the mesh's volumes")
    engines = _engines(c)
    run(c, core.down(mesh, environment, profiles, engines.compose, volumes=volumes, with_files=has_file))
    what = f"profile {','.join(profiles)}" if profiles and profiles != (core.ALL,) else "every profile"
    where = f" ({environment.name})" if environment else ""
    for_real(c, lambda: print(f"mesh {project}{where}: down ({what}{', volumes removed' if volumes else ''})"))


@task(iterable=["arg"],
      help={"arg": "service name(s), given positionally: `inv mesh.logs postgres`", "env": HELP["env"],
            "follow": HELP["follow"], "tail": HELP["tail"]})
@user_errors
def logs(c: Context, arg: list[str] | None = None, env: str | None = None, follow: bool = False,
         tail: str | None = None) -> None:
    """Show the mesh's logs, or some services': `inv mesh.logs [SERVICE...] [--env E] [--follow] [--tail N]`."""
    from multistack.act import mesh as core
    from multistack.errors import StackError
    from multistack.model.names import is_number
    from multistack.io.shell import run

    _stack, mesh = _load()
    services = list(arg or [])
    for name in services:
        if name not in mesh.services:
            raise StackError(f"no mesh service {name!r}; known: {', '.join(mesh.services)}",
                             "use a service listed under mesh.profiles")
    if tail is not None and not is_number(str(tail)):
        raise StackError(f"--tail {tail}: not a number of lines", "e.g. --tail 100")
    environment = _active_env(mesh, env)
    engines = _engines(c)
    run(c, core.logs(mesh, environment, services, engines.compose, follow=follow,
                     tail=int(tail) if tail is not None else None))


logs.optional_positionals = True  # type: ignore[attr-defined]


@task(help={"env": "only this environment (side by side, without it: every environment, from one docker ps)",
            "json": "print JSON: {project, environment, env_file, services: [{service, profile, state, health...}]}; "
                    "side by side without --env: {environments: [...]} (schema/output/mesh.ps.json)"})
@user_errors
def ps(c: Context, env: str | None = None, json: bool = False) -> None:
    """List the mesh's services with their profile, state and health (declared but absent ones too)."""
    from multistack.act import mesh as core
    from multistack.io.shell import for_real, probe

    _stack, mesh = _load()
    if mesh.side_by_side and env is None:
        result = probe(c, core.ps_every_environment())  # one query for every environment
        names = list(mesh.environment_names)
    else:
        name = _ps_environment(mesh, env)
        result = probe(c, core.ps(mesh, environment=name))  # docker alone: no compose probe; --dry: shown
        names = [name]
    for_real(c, lambda: _print_ps(mesh, names, result, json, every=mesh.side_by_side and env is None))


def _ps_environment(mesh: Mesh, requested: str | None) -> str | None:
    """The one environment ps shows: --env (checked against a shared active file), else the active file's."""
    from multistack.act import mesh as core

    if mesh.side_by_side:
        return mesh.environment(str(requested)).name
    active = core.read_active(mesh)
    if requested is not None:
        if active is not None:
            core.choose_environment(mesh, requested, active)  # refuses a contradiction
        return mesh.environment(requested).name
    return core.active_environment(mesh, active).name if active else None


def _print_ps(mesh: Mesh, names: list[str | None], result: Result, json: bool, every: bool) -> None:
    from multistack.act import mesh as core
    from multistack.io.tools import engine_unreachable, last_line

    if not result.ok:
        raise engine_unreachable(last_line(result.stderr))
    views = []
    for name in names:
        project = mesh.project_of(name or "")
        rows = core.ps_rows(mesh, result.stdout, project if every else None)
        views.append((name, project, rows))
    if json:
        docs = [{"project": project, "environment": name, "env_file": core.env_file_for(mesh, name),
                 "services": [r.to_json() for r in rows]} for name, project, rows in views]
        print(json_lib.dumps(mask_json({"environments": docs} if every else docs[0]), indent=2))
        return
    from multistack.io.tables import table

    for name, project, rows in views:
        running = sum(1 for r in rows if r.state == "running")
        label = name or f"no {mesh.env_file}"
        print(mask_text(table(["service", "profile", "container", "state", "health", "ports"],
                              [[r.service, r.profile, r.container or "-", r.state, r.health or "-", r.ports or "-"]
                               for r in rows], title=f"mesh {project} ({label}): {running}/{len(rows)} running")))


@task(help={"env": HELP["env"]})
@user_errors
def init_data(c: Context, env: str | None = None) -> None:
    """Run stack.yaml's mesh.init_data steps (idempotent SQL and the like) in the running services."""
    from invoke.exceptions import UnexpectedExit

    from multistack.act import mesh as core
    from multistack.errors import CommandFailed
    from multistack.io.shell import for_real, run

    _stack, mesh = _load()
    if not mesh.init_data:
        print("no mesh.init_data steps in stack.yaml")
        return
    environment = _active_env(mesh, env)
    engines = _engines(c)
    total = len(mesh.init_data)
    for i, step in enumerate(mesh.init_data, 1):
        print(mask_text(f"init-data {i}/{total}: {step.name or ' '.join(step.command)} ({step.service})"))
        try:
            run(c, core.exec_step(mesh, environment, step, engines.compose))
        except UnexpectedExit as exc:
            profile = mesh.profile_of(step.service).split(",")[0]
            raise CommandFailed(f"{step.describe(i)} failed (exit {exc.result.exited})",
                                f"is {step.service} up? check `inv mesh.ps`; start it with "
                                f"`inv mesh.up --profile {profile}`") from None
    for_real(c, lambda: print(f"init-data: {total} step(s) done"))


@task(name="env", iterable=["arg"],
      help={"arg": "the environment, given positionally: `inv mesh.env local`", "force": HELP["force"]})
@user_errors
def env_(c: Context, arg: list[str] | None = None, force: bool = False) -> None:
    """Create an environment's env file from its template (`inv mesh.env local`); no name prints the active one(s)."""
    from multistack.errors import StackError
    from multistack.act.mesh import active_environment, choose_environment, choose_own, present_env_files, read_active

    _stack, mesh = _load()
    words = list(arg or [])
    if len(words) > 1:
        raise StackError(f"too many arguments: {' '.join(words)}", "use `inv mesh.env ENV`")
    if words:
        _write_env_file(c, mesh, mesh.environment(words[0]), force)
        return
    if mesh.side_by_side:
        present = present_env_files(mesh)
        for name, active in present.items():
            print(f"{active.rel}: {name}")
        if not present:
            _write_env_file(c, mesh, choose_own(mesh, None, present, _ask(mesh)).environment, force)
        return
    active = read_active(mesh)
    if active is not None:
        print(f"{mesh.env_file}: {active_environment(mesh, active).name}")
        return
    _write_env_file(c, mesh, choose_environment(mesh, None, None, _ask(mesh)).environment, force)


env_.optional_positionals = True  # type: ignore[attr-defined]


@task(help={"env": HELP["env"]})
@user_errors
def hosts(c: Context, env: str | None = None) -> None:
    """Print the hosts-file lines for the environment's hostnames: `inv mesh.hosts | sudo tee -a /etc/hosts`."""
    from multistack.act.mesh import hosts_lines

    _stack, mesh = _load()
    environment, active = _env_for_read(mesh, env)
    print(mask_text("\n".join(hosts_lines(mesh, environment, _values(mesh, environment, active)))))


@task(help={"env": HELP["env"], "json": "print JSON {name: url}"})
@user_errors
def urls(c: Context, env: str | None = None, json: bool = False) -> None:
    """Print the URL of every mesh hostname in the environment (stack.yaml's mesh.hostnames and mesh.url)."""
    from multistack.act.mesh import hostnames, urls as build_urls

    _stack, mesh = _load()
    environment, active = _env_for_read(mesh, env)
    values = _values(mesh, environment, active)
    found = build_urls(mesh, environment, values)
    if json:
        print(json_lib.dumps(mask_json(found), indent=2))
        return
    from multistack.io.tables import table

    hosts = hostnames(mesh, environment, values)
    print(mask_text(table(["name", "hostname", "url"], [[name, hosts[name], url] for name, url in found.items()],
                          title=f"mesh {mesh.project_of(environment.name)} ({environment.name})")))


ns = Collection("mesh", up, down, logs, ps, init_data, env_, hosts, urls)
