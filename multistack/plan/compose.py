"""Docker Compose v2 and docker argument lists (pure): built as data, run elsewhere via ``c.run``.

One value builds every command prefix (python-on-whales' ``client_config`` idea):

- :class:`ComposeCli` is *how* compose is called on one engine: the command tool
  discovery found (``docker compose`` plugin or a standalone ``docker-compose``)
  and the engine's selection (``--context``/``--host`` before ``compose`` for the
  plugin, ``env DOCKER_CONTEXT=...``/``DOCKER_HOST=...`` for a standalone binary);
- :class:`ComposeProject` is *which* project: ``-p NAME``, ``-f`` files and
  ``--env-file`` files; its methods (``up``, ``down``, ``logs``, ``exec``,
  ``config_services``, ``restart``, ``run``...) return complete argv lists, for
  an instance, the shared infra of shared mode, the mesh and system members;
- :class:`DockerCli` is ``docker`` with the engine's global flags (``ps_all``,
  ``volumes_all``, networks...).

``-p`` is passed on every call and the same name is written into the
instance's env (COMPOSE_PROJECT_NAME), so the two can never disagree
(docker/compose#11734).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

from multistack.model.engines import Engine
from multistack.model.stack import Stack
from multistack.plan.render import OVERRIDE

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
DEFAULT_COMPOSE = ("docker", "compose")
#: ``down`` ignores containers of inactive profiles (docker/compose#8139): name them all.
EVERY_PROFILE = "*"
ALL_PROFILES = ("--profile", EVERY_PROFILE)
#: ``docker ps`` of every compose container, one JSON object a line (io.status parses it).
PS_ALL_FORMAT = ('{"project":{{json (.Label "com.docker.compose.project")}},'
                 '"service":{{json (.Label "com.docker.compose.service")}},'
                 '"name":{{json .Names}},"state":{{json .State}},"status":{{json .Status}},"ports":{{json .Ports}}}')


class PlannedInstance(Protocol):
    """What the builder reads of a planned instance (``plan.instance.Instance`` is one)."""

    @property
    def stack(self) -> Stack: ...

    @property
    def project_name(self) -> str: ...

    @property
    def dir(self) -> Path: ...

    @property
    def engine(self) -> Engine: ...


class ComposeTool(Protocol):
    """What tool discovery says about compose (``io.tools.Engines`` is one)."""

    @property
    def compose(self) -> tuple[str, ...]: ...

    @property
    def compose_plugin(self) -> bool: ...


# --------------------------------------------------------------------------
# How: the compose command on one engine


@dataclass(frozen=True)
class ComposeCli:
    """The compose command on one engine, decided from tool discovery, never from argv[0]."""

    command: tuple[str, ...] = DEFAULT_COMPOSE
    plugin: bool = True  # `docker compose` (docker's global flags go before `compose`)
    context: str | None = None
    docker_host: str | None = None

    @classmethod
    def on(cls, engine: Engine | None, tool: ComposeTool | None = None) -> ComposeCli:
        """Compose as discovered (default: the plugin), aimed at ``engine`` (None: the default one)."""
        command = tuple(tool.compose) if tool is not None else DEFAULT_COMPOSE
        plugin = tool.compose_plugin if tool is not None else True
        if engine is None:
            return cls(command, plugin)
        if engine.tunnel:  # an SSH engine through its forwarded socket (io/ssh.py): one SSH connection
            return cls(command, plugin, None, f"unix://{engine.tunnel}")
        return cls(command, plugin, engine.context, engine.docker_host)

    def engine_flags(self) -> tuple[str, ...]:
        """docker's global flags that select the engine (none for the default one)."""
        if self.context:
            return ("--context", self.context)
        if self.docker_host:
            return ("--host", self.docker_host)
        return ()

    def engine_variable(self) -> str | None:
        """The same choice as an environment variable, for a standalone ``docker-compose``."""
        if self.context:
            return f"DOCKER_CONTEXT={self.context}"
        if self.docker_host:
            return f"DOCKER_HOST={self.docker_host}"
        return None

    def prefix(self) -> list[str]:
        """``docker --context X compose`` (plugin: checked with docker CLI 28 and Compose 2.40),
        ``env DOCKER_CONTEXT=X docker-compose`` (standalone: through ``env`` so ``--dry`` shows it)."""
        flags = self.engine_flags()
        if not flags:
            return list(self.command)
        if self.plugin and len(self.command) > 1:
            return [self.command[0], *flags, *self.command[1:]]
        return ["env", str(self.engine_variable()), *self.command]


# --------------------------------------------------------------------------
# Which: one compose project


@dataclass(frozen=True)
class ComposeProject:
    """One compose project: the one value every compose command line comes from."""

    name: str
    files: tuple[str, ...] = ()  # absolute paths: relative paths inside resolve from the first file
    env_files: tuple[str, ...] = ()
    cli: ComposeCli = ComposeCli()

    # ---- constructors

    @classmethod
    def for_instance(cls, inst: PlannedInstance, tool: ComposeTool | None = None, with_files: bool = True) -> ComposeProject:
        """Instance N on its engine; ``with_files=False`` names the project alone (its folder is gone:
        compose finds the containers by their labels)."""
        cli = ComposeCli.on(inst.engine, tool)
        if not with_files:
            return cls(inst.project_name, cli=cli)
        stack = inst.stack
        files = (*(str(stack.root / rel) for rel in stack.compose_files), str(inst.dir / OVERRIDE))
        env_files = tuple(str(inst.dir / name) for name in stack.compose_env_files)
        return cls(inst.project_name, files, env_files, cli)

    @classmethod
    def for_shared(cls, project: str, root: Path, compose_files: Sequence[str],
                   tool: ComposeTool | None = None) -> ComposeProject:
        """The shared infra of shared mode: the stack's compose files on their own ports."""
        return cls(project, tuple(str(root / rel) for rel in compose_files), (), ComposeCli.on(None, tool))

    @classmethod
    def for_mesh(cls, project: str, root: Path, compose_files: Sequence[str], env_file: Path | None,
                 tool: ComposeTool | None = None) -> ComposeProject:
        """The mesh; without an active env file, by project name alone."""
        if env_file is None:
            return cls(project, cli=ComposeCli.on(None, tool))
        return cls(project, tuple(str(root / rel) for rel in compose_files), (str(env_file),),
                   ComposeCli.on(None, tool))

    @classmethod
    def for_member(cls, project: str, files: Sequence[Path | str], env_file: Path | None,
                   tool: ComposeTool | None = None) -> ComposeProject:
        """A system member: the system's files, the member's own, its env file."""
        return cls(project, tuple(str(f) for f in files), () if env_file is None else (str(env_file),),
                   ComposeCli.on(None, tool))

    @classmethod
    def named(cls, project: str, tool: ComposeTool | None = None, engine: Engine | None = None) -> ComposeProject:
        """A project known by name only (down of a project whose files are gone)."""
        return cls(project, cli=ComposeCli.on(engine, tool))

    # ---- the prefix

    def args(self, *tail: str, profiles: Sequence[str] = ()) -> list[str]:
        """``<compose> -p NAME -f ... --env-file ... [--profile P...] TAIL...``."""
        argv = [*self.cli.prefix(), "-p", self.name]
        for path in self.files:
            argv += ["-f", path]
        for path in self.env_files:
            argv += ["--env-file", path]
        for profile in profiles:
            argv += ["--profile", profile]
        return argv + list(tail)

    # ---- commands

    def up(self, wait: bool = True, remove_orphans: bool = True, recreate: bool = False,
           profiles: Sequence[str] = (), wait_timeout: int | None = None) -> list[str]:
        tail = ["up", "-d"]
        if remove_orphans:
            tail.append("--remove-orphans")
        if wait:
            tail.append("--wait")
            if wait_timeout is not None:
                tail += ["--wait-timeout", str(wait_timeout)]
        if recreate:
            tail.append("--force-recreate")
        return self.args(*tail, profiles=profiles)

    def down(self, volumes: bool = False, remove_orphans: bool = True,
             profiles: Sequence[str] = (EVERY_PROFILE,)) -> list[str]:
        """Every profile by default: ``down`` ignores containers of inactive ones (docker/compose#8139)."""
        tail = ["down"] + (["--remove-orphans"] if remove_orphans else []) + (["--volumes"] if volumes else [])
        return self.args(*tail, profiles=profiles)

    def logs(self, follow: bool = False, tail: int | None = None, services: Sequence[str] = (),
             profiles: Sequence[str] = ()) -> list[str]:
        argv = ["logs", "--no-color"] + (["--follow"] if follow else [])
        if tail is not None:
            argv += ["--tail", str(tail)]
        return self.args(*argv, *services, profiles=profiles)

    def exec(self, service: str, command: Sequence[str], profiles: Sequence[str] = ()) -> list[str]:
        """``exec -T``: no TTY, so it runs the same from a terminal, a script or CI."""
        return self.args("exec", "-T", service, *command, profiles=profiles)

    def run(self, service: str, command: Sequence[str], profiles: Sequence[str] = ()) -> list[str]:
        """``run --rm -T``: a one-off container of the service."""
        return self.args("run", "--rm", "-T", service, *command, profiles=profiles)

    def ps(self, all_states: bool = True, profiles: Sequence[str] = ()) -> list[str]:
        return self.args("ps", *(["-a"] if all_states else []), "--format", "json", profiles=profiles)

    def config_services(self, profiles: Sequence[str] = ()) -> list[str]:
        """The services compose itself selects for these profiles."""
        return self.args("config", "--services", profiles=profiles)

    def config(self, *options: str, profiles: Sequence[str] = ()) -> list[str]:
        return self.args("config", *options, profiles=profiles)

    def restart(self, services: Sequence[str] = (), profiles: Sequence[str] = ()) -> list[str]:
        return self.args("restart", *services, profiles=profiles)


# --------------------------------------------------------------------------
# docker with the engine's flags


@dataclass(frozen=True)
class DockerCli:
    """``docker`` on one engine: ``docker --context big ps ...``."""

    command: str = "docker"
    flags: tuple[str, ...] = ()

    @classmethod
    def on(cls, engine: Engine | None, docker: str = "docker") -> DockerCli:
        return cls(docker, ComposeCli.on(engine).engine_flags())

    def args(self, *tail: str) -> list[str]:
        return [self.command, *self.flags, *tail]

    def info(self) -> list[str]:
        return self.args("info", "--format", "{{.ServerVersion}}")

    def ps_all(self) -> list[str]:
        """One query for the containers of every compose project on the engine."""
        return self.args("ps", "-a", "--filter", f"label={PROJECT_LABEL}", "--format", PS_ALL_FORMAT)

    def ps_project(self, project: str, fmt: str) -> list[str]:
        """The containers of one project, by its label (works without its files)."""
        return self.args("ps", "-a", "--filter", f"label={PROJECT_LABEL}={project}", "--format", fmt)

    def volumes_all(self) -> list[str]:
        return self.args("volume", "ls", "--filter", f"label={PROJECT_LABEL}",
                         "--format", '{{json (.Label "com.docker.compose.project")}} {{.Name}}')

    def volumes_of(self, project: str) -> list[str]:
        return self.args("volume", "ls", "--filter", f"label={PROJECT_LABEL}={project}", "--format", "{{.Name}}")

    def owners_of(self, kind: str) -> list[str]:
        """Every ``network`` or ``volume`` with its compose project label: ``NAME PROJECT`` a line."""
        return self.args(kind, "ls", "--format", '{{.Name}} {{.Label "com.docker.compose.project"}}')

    def volume_rm(self, names: Sequence[str]) -> list[str]:
        return self.args("volume", "rm", *names)

    def network_inspect(self, network: str, fmt: str) -> list[str]:
        return self.args("network", "inspect", network, "--format", fmt)

    def network_create(self, network: str, label: str) -> list[str]:
        return self.args("network", "create", "--driver", "bridge", "--label", f"{label}=true", network)

    def network_rm(self, network: str) -> list[str]:
        return self.args("network", "rm", network)

    # ---- clone and reset (act/clone.py)

    def volume_create(self, name: str, labels: Sequence[tuple[str, str]], driver: str = "local") -> list[str]:
        """A volume carrying compose's labels for its project, so ``up`` adopts it and ``down -v`` removes it."""
        argv = ["volume", "create", "--driver", driver]
        for key, value in labels:
            argv += ["--label", f"{key}={value}"]
        return self.args(*argv, name)

    def stop_containers(self, names: Sequence[str]) -> list[str]:
        """``docker stop``: each container's own stop signal (compose's ``stop_signal``), kept for ``start``."""
        return self.args("stop", *names)

    def start_containers(self, names: Sequence[str]) -> list[str]:
        return self.args("start", *names)

    def image_names(self) -> list[str]:
        """Every image on the engine as ``REPOSITORY:TAG``, one a line: one query for every candidate."""
        return self.args("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")

    def run_helper(self, image: str, mounts: Sequence[tuple[str, str, bool]], script: str,
                   label: str) -> list[str]:
        """A throwaway root container of ``image`` (never pulled, no network) running ``sh -c script``
        with the volumes ``(volume, path, read_only)`` mounted; ``label`` (``key=value``) names its purpose."""
        argv = ["run", "--rm", "--pull", "never", "--network", "none", "--user", "0:0", "--label", label,
                "--entrypoint", "sh"]
        for volume, path, read_only in mounts:
            argv += ["--volume", f"{volume}:{path}{':ro' if read_only else ''}"]
        return self.args(*argv, image, "-c", script)


def docker_of(docker: str | Sequence[str]) -> DockerCli:
    """A :class:`DockerCli` from ``"docker"`` or ``["docker", "--context", "big"]``."""
    if isinstance(docker, str):
        return DockerCli(docker)
    first, *flags = docker
    return DockerCli(first, tuple(flags))


# --------------------------------------------------------------------------
# The engine-wide queries by their old names (doctor and tests read them)


def ps_all(docker: str | Sequence[str] = "docker") -> list[str]:
    """``docker`` may carry the engine's global flags (``["docker", "--context", "big"]``)."""
    return docker_of(docker).ps_all()


def volumes_all(docker: str | Sequence[str] = "docker") -> list[str]:
    return docker_of(docker).volumes_all()
