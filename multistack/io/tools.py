"""Finding the engines: Docker Compose v2, the Docker engine, PM2.

Each probe is a quiet ``c.run`` (so it is skipped, not faked, under
``--dry``) and each failure is one line that says how to fix it.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from invoke import Context

from multistack.errors import EngineError
from multistack.io.shell import is_dry, probe

SETUP_HINT = "run scripts/setup-engines.sh (as root) or install Docker with the compose plugin"


@dataclass(frozen=True)
class Engines:
    compose: tuple[str, ...] = ("docker", "compose")
    compose_version: str = ""
    docker: str = "docker"
    pm2: tuple[str, ...] = ("pm2",)


def find_compose(c: Context) -> tuple[tuple[str, ...], str]:
    """``docker compose`` (plugin) first, else a standalone ``docker-compose`` that is v2."""
    for argv in (("docker", "compose"), ("docker-compose",)):
        if not shutil.which(argv[0]):
            continue
        result = probe(c, [*argv, "version", "--short"])
        version = result.stdout.strip().lstrip("v") if result.ok else ""
        if version.startswith("1."):
            raise EngineError(f"{' '.join(argv)} is Compose v1 ({version}); multistack needs Compose v2",
                              "install the Docker Compose v2 plugin (scripts/setup-engines.sh)")
        if version and version.split(".")[0].isdigit() and int(version.split(".")[0]) >= 2:
            return argv, version
    raise EngineError("Docker Compose v2 not found (`docker compose` and `docker-compose` failed)", SETUP_HINT)


def version_at_least(version: str, minimum: tuple[int, ...]) -> bool:
    parts = []
    for piece in version.split("-")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts) >= minimum


#: ``!override`` in the generated override needs this Compose version.
OVERRIDE_TAG_MIN = (2, 24, 4)


def check_docker(c: Context, docker: str = "docker") -> None:
    """The engine answers, or one line saying why not and what to do."""
    if not shutil.which(docker):
        raise EngineError("the docker command is not installed", SETUP_HINT)
    result = probe(c, [docker, "info", "--format", "{{.ServerVersion}}"])
    if not result.ok or not result.stdout.strip():
        reason = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        raise EngineError(f"Docker engine not reachable: {reason}",
                          "start dockerd (scripts/setup-engines.sh or `systemctl start docker`) or set DOCKER_HOST")


def find_pm2(root: Path) -> tuple[str, ...]:
    """The project's ``node_modules/.bin/pm2``, else ``pm2`` on PATH."""
    local = root / "node_modules" / ".bin" / "pm2"
    if local.is_file() and os.access(local, os.X_OK):
        return (str(local),)
    found = shutil.which("pm2")
    if found:
        return (found,)
    raise EngineError("PM2 not found (node_modules/.bin/pm2 or pm2 on PATH)",
                      "run `npm install` in the stack's folder, or scripts/setup-engines.sh")


def detect(c: Context, root: Path, need_compose: bool = True, need_pm2: bool = False,
           need_engine: bool = True) -> Engines:
    """Everything a command needs, checked before it acts. Under --dry: the defaults, unprobed."""
    if is_dry(c):
        pm2 = find_pm2(root) if need_pm2 and _has_pm2(root) else ("pm2",)
        return Engines(pm2=pm2)
    compose, version = find_compose(c) if need_compose else (("docker", "compose"), "")
    if need_compose and not version_at_least(version, OVERRIDE_TAG_MIN):
        raise EngineError(f"Docker Compose {version} is too old: the generated override uses `!override` "
                          f"(Compose >= {'.'.join(map(str, OVERRIDE_TAG_MIN))})", "upgrade Docker Compose")
    if need_engine:
        check_docker(c)
    pm2 = find_pm2(root) if need_pm2 else ("pm2",)
    return Engines(compose=compose, compose_version=version, pm2=pm2)


def _has_pm2(root: Path) -> bool:
    try:
        find_pm2(root)
        return True
    except EngineError:
        return False
