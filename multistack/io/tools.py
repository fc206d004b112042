"""Finding the engines: Docker Compose v2, the Docker engine, PM2.

Each probe is a quiet ``c.run`` (so it is skipped, not faked, under
``--dry``) and each failure is one line that says how to fix it.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from invoke import Context

from multistack.errors import EngineError
from multistack.io.shell import pretending, probe

SETUP_HINT = "run scripts/setup-engines.sh (as root) or install Docker with the compose plugin"
#: What to do about an engine that does not answer.
DOCKERD_HINT = "start dockerd (scripts/setup-engines.sh or `systemctl start docker`) or set DOCKER_HOST"
PLUGIN = ("docker", "compose")


@dataclass(frozen=True)
class Engines:
    """What tool discovery found. ``compose_plugin``: ``compose`` is the docker CLI plugin
    (``docker compose``: the engine's flags go between the two words), else a standalone
    ``docker-compose`` (it reads the engine from its environment)."""

    compose: tuple[str, ...] = PLUGIN
    compose_version: str = ""
    docker: str = "docker"
    pm2: tuple[str, ...] = ("pm2",)
    compose_plugin: bool = True


def last_line(text: str | None, default: str = "no answer") -> str:
    """The last non-empty line of a command's stderr: what it says went wrong."""
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else default


def engine_unreachable(reason: str, hint: str = DOCKERD_HINT) -> EngineError:
    """The one "Docker engine not reachable" error (``reason``: the engine's last line)."""
    return EngineError(f"Docker engine not reachable: {reason}", hint)


def engine_unreachable_message(reason: str) -> str:
    """The same words for a report line (doctor's finding) rather than an exception."""
    return engine_unreachable(reason).message


def find_compose(c: Context, root: Path | None = None) -> tuple[tuple[str, ...], str]:
    """``docker compose`` (plugin) first, else a standalone ``docker-compose`` that is v2.

    The plugin is docker's own lookup (machine-wide). A standalone one is looked for where PM2 is
    (:func:`tool_dirs`, as ``bin/docker-compose``), then on PATH, so a stack anywhere finds the same.
    """
    candidates: list[tuple[str, ...]] = [PLUGIN] if shutil.which(PLUGIN[0]) else []
    candidates += [(path,) for path in compose_candidates(root)]
    for argv in candidates:
        result = probe(c, [*argv, "version", "--short"])
        version = result.stdout.strip().lstrip("v") if result.ok else ""
        if version.startswith("1."):
            raise EngineError(f"{' '.join(argv)} is Compose v1 ({version}); multistack needs Compose v2",
                              "install the Docker Compose v2 plugin (scripts/setup-engines.sh)")
        major = version.split(".")[0]
        if major and major.isascii() and major.isdigit() and int(major) >= 2:
            return argv, version
    raise EngineError("Docker Compose v2 not found (`docker compose` and `docker-compose` failed)", SETUP_HINT)


def compose_candidates(root: Path | None) -> list[str]:
    """Standalone ``docker-compose`` binaries, in the order :func:`find_compose` tries them: each
    :func:`tool_dirs` folder's ``bin/docker-compose``, then ``docker-compose`` on PATH."""
    unique: list[str] = []
    for folder in tool_dirs(root) if root is not None else []:
        path = folder / "bin" / "docker-compose"
        if _executable(path) and str(path) not in unique:
            unique.append(str(path))
    if shutil.which("docker-compose"):
        unique.append("docker-compose")  # PATH: by name, as the user would type it
    return unique


#: Set to ``off`` to leave multistack's own repository out of :func:`tool_dirs` (hermetic tests,
#: or a user who wants only the stack's and PATH's tools).
OWN_TOOLS_VAR = "MULTISTACK_OWN_TOOLS"


def tool_dirs(root: Path) -> list[Path]:
    """Where a stack's tools are looked for: its folder, each folder above it up to the repository
    root (the first with ``.git``; none: only the stack's folder), then multistack's own repository
    (an editable install: ``node_modules`` beside its package)."""
    here = root.resolve()
    dirs = [here]
    if not (here / ".git").exists():
        for folder in here.parents:
            dirs.append(folder)
            if (folder / ".git").exists():
                break
        else:
            dirs = [here]  # no repository above: the stack's folder alone
    own = Path(__file__).resolve().parents[2]  # multistack/io/tools.py -> the repository (editable install)
    if os.environ.get(OWN_TOOLS_VAR) != "off" and own not in dirs and (own / "pyproject.toml").is_file():
        dirs.append(own)
    return dirs


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def version_at_least(version: str, minimum: tuple[int, ...]) -> bool:
    parts = []
    for piece in version.split("-")[0].split("."):
        digits = "".join(ch for ch in piece if "0" <= ch <= "9")
        parts.append(int(digits or 0))
    return tuple(parts) >= minimum


#: ``!override`` in the generated override needs this Compose version.
OVERRIDE_TAG_MIN = (2, 24, 4)


def check_docker(c: Context, docker: str = "docker") -> None:
    """The engine answers, or one line saying why not and what to do."""
    if not shutil.which(docker):
        raise EngineError("the docker command is not installed", SETUP_HINT)
    # plan.compose.DockerCli().info() is the same line; io does not import plan
    reason = engine_problem(c, [docker, "info", "--format", "{{.ServerVersion}}"])
    if reason is not None:
        raise engine_unreachable(reason)


def engine_problem(c: Context, info_argv: Sequence[str]) -> str | None:
    """Why the engine ``info_argv`` asks (``docker [flags] info --format ...``) does not answer,
    or None when it does; ``--dry`` asks nothing (None)."""
    if pretending(c):
        return None
    result = probe(c, info_argv)
    return None if result.ok and result.stdout.strip() else last_line(result.stderr)


def find_pm2(root: Path) -> tuple[str, ...]:
    """``node_modules/.bin/pm2`` in :func:`tool_dirs` (the stack's folder, those above it up to the
    repository root, multistack's own repository), else ``pm2`` on PATH."""
    for folder in tool_dirs(root):
        local = folder / "node_modules" / ".bin" / "pm2"
        if _executable(local):
            return (str(local),)
    found = shutil.which("pm2")
    if found:
        return (found,)
    raise EngineError("PM2 not found (node_modules/.bin/pm2 in the stack's folder or above it, or pm2 on PATH)",
                      "run `npm install` (it installs pm2) in the stack's folder, or scripts/setup-engines.sh")


def detect(c: Context, root: Path, need_compose: bool = True, need_pm2: bool = False,
           need_engine: bool = True) -> Engines:
    """Everything a command needs, checked before it acts. Under --dry: the defaults, unprobed."""
    if pretending(c):
        pm2 = find_pm2(root) if need_pm2 and _has_pm2(root) else ("pm2",)
        return Engines(pm2=pm2)
    compose, version = find_compose(c, root) if need_compose else (PLUGIN, "")
    if need_compose and not version_at_least(version, OVERRIDE_TAG_MIN):
        raise EngineError(f"Docker Compose {version} is too old: the generated override uses `!override` "
                          f"(Compose >= {'.'.join(map(str, OVERRIDE_TAG_MIN))})", "upgrade Docker Compose")
    if need_engine:
        check_docker(c)
    pm2 = find_pm2(root) if need_pm2 else ("pm2",)
    return Engines(compose=compose, compose_version=version, pm2=pm2, compose_plugin=compose == PLUGIN)


def detect_compose_and_engine(c: Context) -> Engines:
    """Compose v2 and a reachable default engine (the mesh's needs); unprobed under --dry."""
    if pretending(c):
        return Engines()
    compose, version = find_compose(c)
    check_docker(c)
    return Engines(compose=compose, compose_version=version, compose_plugin=compose == PLUGIN)


def _has_pm2(root: Path) -> bool:
    try:
        find_pm2(root)
        return True
    except EngineError:
        return False
