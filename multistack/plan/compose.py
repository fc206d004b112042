"""Docker Compose v2 argument lists (pure): built as data, run elsewhere via ``c.run``.

``-p`` is passed on every call and the same name is written into the
instance's env (COMPOSE_PROJECT_NAME), so the two can never disagree
(docker/compose#11734).
"""
from __future__ import annotations

from typing import Sequence

from multistack.plan.instance import Instance
from multistack.plan.render import OVERRIDE

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
DEFAULT_COMPOSE = ("docker", "compose")
#: ``down`` ignores containers of inactive profiles (docker/compose#8139): name them all.
ALL_PROFILES = ("--profile", "*")


def project_args(inst: Instance, compose: Sequence[str] = DEFAULT_COMPOSE) -> list[str]:
    """``docker compose -p NAME -f base... -f override --env-file ...`` for one instance."""
    stack = inst.stack
    argv = [*compose, "-p", inst.project_name]
    for rel in stack.compose_files:
        argv += ["-f", str(stack.root / rel)]
    argv += ["-f", str(inst.dir / OVERRIDE)]
    for name in stack.compose_env_files:
        argv += ["--env-file", str(inst.dir / name)]
    return argv


def up(inst: Instance, compose: Sequence[str] = DEFAULT_COMPOSE, wait: bool = True) -> list[str]:
    argv = [*project_args(inst, compose), "up", "-d", "--remove-orphans"]
    return argv + ["--wait"] if wait else argv


def down(inst: Instance, compose: Sequence[str] = DEFAULT_COMPOSE, volumes: bool = False) -> list[str]:
    argv = [*project_args(inst, compose), *ALL_PROFILES, "down", "--remove-orphans"]
    return argv + ["--volumes"] if volumes else argv


def down_project(project: str, compose: Sequence[str] = DEFAULT_COMPOSE, volumes: bool = False) -> list[str]:
    """Down by name alone: for a project whose instance folder is gone (compose reads its labels)."""
    argv = [*compose, "-p", project, *ALL_PROFILES, "down", "--remove-orphans"]
    return argv + ["--volumes"] if volumes else argv


def logs(inst: Instance, compose: Sequence[str] = DEFAULT_COMPOSE, follow: bool = False,
         tail: int | None = None) -> list[str]:
    argv = [*project_args(inst, compose), "logs", "--no-color"]
    if follow:
        argv.append("--follow")
    if tail is not None:
        argv += ["--tail", str(tail)]
    return argv


def ps_all(docker: str | Sequence[str] = "docker") -> list[str]:
    """One query for the containers of every compose project on the engine.

    ``docker`` may carry the engine's global flags (``["docker", "--context", "big"]``).
    """
    fmt = ('{"project":{{json (.Label "com.docker.compose.project")}},'
           '"service":{{json (.Label "com.docker.compose.service")}},'
           '"name":{{json .Names}},"state":{{json .State}},"status":{{json .Status}},"ports":{{json .Ports}}}')
    return [*_prefix(docker), "ps", "-a", "--filter", f"label={PROJECT_LABEL}", "--format", fmt]


def volumes_all(docker: str | Sequence[str] = "docker") -> list[str]:
    return [*_prefix(docker), "volume", "ls", "--filter", f"label={PROJECT_LABEL}",
            "--format", '{{json (.Label "com.docker.compose.project")}} {{.Name}}']


def _prefix(docker: str | Sequence[str]) -> list[str]:
    return [docker] if isinstance(docker, str) else list(docker)
