"""SSH engines: one SSH connection per engine, kept open, and a local socket forwarded through it.

Docker's own ``ssh://`` support runs ``ssh ... docker system dial-stdio`` once per
connection, and Compose opens one connection per service it touches at once: a stack
of more than ten services then meets sshd's ``MaxSessions`` (10) or ``MaxStartups``
(docker/compose#11677), each connection pays a handshake, and ``ssh`` reads only the
passwd home's ``~/.ssh/config``, so the key and known_hosts of an engine cannot be
given to it. multistack therefore opens, per engine, one master connection it owns::

    ssh -o BatchMode=yes -o ControlPath=<dir>/<id>.ctl [-i KEY] [-o UserKnownHostsFile=F]
        -o ControlMaster=yes -o ControlPersist=30m -o StreamLocalBindUnlink=yes -fN [-p PORT] [-l USER] HOST
    ssh ... -O forward -L <dir>/<id>.sock:<the engine's docker socket> HOST

and every docker and compose command of the engine says ``--host unix://<dir>/<id>.sock``:
each of compose's connections is one forwarded channel of that single connection
(forwarded channels are not sessions, so ``MaxSessions`` does not count them), and
the next command finds the master still running (``ssh -O check``: a few
milliseconds). The engine's socket is asked once, over the master, with ``docker
context inspect`` on the remote side (it follows the remote's ``DOCKER_HOST``);
``/var/run/docker.sock`` when that says nothing. ``<dir>`` is
``$XDG_RUNTIME_DIR/multistack-ssh``, else ``/tmp/multistack-ssh-<uid>`` (0700, ours).

Every ``ssh`` here runs with ``BatchMode=yes`` (never a prompt) and its failure is one
line read from its stderr (:func:`ssh_problem`): unknown or changed host key, refused
authentication, refused connection, unknown host, MaxSessions.
"""
from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from invoke import Context

from multistack.errors import EngineError
from multistack.io.shell import for_real, guard, probe, query, run
from multistack.io.tools import last_line

#: How long the master connection outlives the last command that used it.
PERSIST = "30m"
#: Where an engine's docker socket is when the remote side does not say.
DEFAULT_REMOTE_SOCKET = "/var/run/docker.sock"
#: The remote command that names the engine's socket (the remote's DOCKER_HOST or context).
REMOTE_SOCKET_COMMAND = "docker context inspect --format '{{.Endpoints.docker.Host}}'"
UNIX = "unix://"
#: The longest folder for the sockets: a unix socket path has at most 107 bytes, and ssh makes its
#: control socket as ``<folder>/<16 hex>.ctl.<16 random>`` first.
MAX_DIR = 64


@dataclass(frozen=True)
class SshTarget:
    """An SSH engine: where ``ssh`` connects, with which key and known_hosts file."""

    url: str  # ssh://[user@]host[:port][/...]
    host: str
    user: str | None = None
    port: int | None = None
    key: str | None = None
    known_hosts: str | None = None

    @property
    def ident(self) -> str:
        """A short stable name for this target's control and socket files (the URL may hold anything)."""
        seed = "\0".join([self.url, self.key or "", self.known_hosts or ""])
        return hashlib.sha256(seed.encode()).hexdigest()[:16]

    def destination(self) -> list[str]:
        """``[-p PORT] [-l USER] -- HOST``: never one word ``ssh`` could read as an option."""
        argv = ["-p", str(self.port)] if self.port else []
        argv += ["-l", self.user] if self.user else []
        return [*argv, "--", self.host]


def parse_target(url: str, key: str | None = None, known_hosts: str | None = None) -> SshTarget:
    """``ssh://[user@]host[:port]`` -> :class:`SshTarget` (``key``/``known_hosts``: ``~`` expanded)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise EngineError(f"{url!r} is not an SSH URL", "write ssh://user@host or ssh://user@host:port") from None
    if parts.scheme != "ssh" or not parts.hostname:
        raise EngineError(f"{url!r} is not an SSH URL", "write ssh://user@host or ssh://user@host:port")
    return SshTarget(url, parts.hostname, parts.username, port,
                     os.path.expanduser(key) if key else None, os.path.expanduser(known_hosts) if known_hosts else None)


def context_host(context: str) -> str | None:
    """A docker context's endpoint (``ssh://...``, ``unix://...``), read from docker's own store
    (``$DOCKER_CONFIG/contexts/meta/<sha256 of the name>/meta.json``, the format since Docker
    19.03) without starting a process; None when it is not there (docker then says why)."""
    import json

    config = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    meta = config / "contexts" / "meta" / hashlib.sha256(context.encode()).hexdigest() / "meta.json"
    try:
        host = json.loads(meta.read_text(encoding="utf-8"))["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return host if isinstance(host, str) else None


# --------------------------------------------------------------------------
# The command lines (data; run below)


def options(target: SshTarget, control: Path) -> list[str]:
    """The options of every ``ssh`` of this target: no prompt, its control socket, its key and known_hosts."""
    argv = ["-o", "BatchMode=yes", "-o", f"ControlPath={control}", "-o", "ConnectTimeout=15",
            "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3"]
    if target.key:
        argv += ["-i", target.key, "-o", "IdentitiesOnly=yes"]
    if target.known_hosts:
        argv += ["-o", f"UserKnownHostsFile={target.known_hosts}"]
    return argv


def master_argv(target: SshTarget, control: Path, persist: str = PERSIST) -> list[str]:
    """Open the one connection, in the background once authenticated (``-fN``: no command)."""
    return ["ssh", *options(target, control), "-o", "ControlMaster=yes", "-o", f"ControlPersist={persist}",
            "-o", "StreamLocalBindUnlink=yes", "-fN", *target.destination()]


def check_argv(target: SshTarget, control: Path) -> list[str]:
    return ["ssh", "-o", f"ControlPath={control}", "-O", "check", *target.destination()]


def exit_argv(target: SshTarget, control: Path) -> list[str]:
    return ["ssh", "-o", f"ControlPath={control}", "-O", "exit", *target.destination()]


def remote_socket_argv(target: SshTarget, control: Path) -> list[str]:
    """Ask the remote side where its engine listens (one session over the master)."""
    return ["ssh", *options(target, control), *target.destination(), REMOTE_SOCKET_COMMAND]


def forward_argv(target: SshTarget, control: Path, local: Path, remote: str) -> list[str]:
    """Forward ``local`` (a unix socket here) to ``remote`` (the engine's socket there) through the master."""
    return ["ssh", *options(target, control), "-O", "forward", "-L", f"{local}:{remote}", *target.destination()]


def remote_socket(answer: str) -> str:
    """The engine's socket path from ``docker context inspect``'s answer (a ``unix://`` URL), else the default."""
    line = answer.strip().splitlines()[-1].strip() if answer.strip() else ""
    return line[len(UNIX):] if line.startswith(UNIX) and len(line) > len(UNIX) else DEFAULT_REMOTE_SOCKET


# --------------------------------------------------------------------------
# What went wrong, from ssh's stderr


#: (what ssh says, what it means, the fix), first match wins.
_PROBLEMS = (
    ("REMOTE HOST IDENTIFICATION HAS CHANGED", "its host key changed since it was recorded",
     "if the host was really reinstalled, remove its old key (ssh-keygen -R {host} -f {known}), else do not connect"),
    ("has changed and you have requested strict checking", "its host key changed since it was recorded",
     "if the host was really reinstalled, remove its old key (ssh-keygen -R {host} -f {known}), else do not connect"),
    ("Host key verification failed", "its host key is unknown",
     "add it to known_hosts (ssh-keyscan -p {port} {host} >> {known}, after checking it) or set known_hosts: in engines:"),
    ("Permission denied", "authentication refused",
     "give the engine a key the host accepts (ssh_key: in engines:, or ssh-agent) and check the user"),
    ("Too many authentication failures", "authentication refused (too many keys offered)",
     "set ssh_key: in engines: (only that key is offered)"),
    ("Connection refused", "connection refused", "start sshd there, or check the port in the URL"),
    ("Could not resolve hostname", "unknown host name", "check the host in the URL"),
    ("timed out", "connection timed out", "check the host, the port and the network"),
    ("No route to host", "no route to host", "check the host and the network"),
    ("administratively prohibited", "the server refused a channel (MaxSessions, or forwarding disabled)",
     "allow AllowStreamLocalForwarding in its sshd_config, or raise MaxSessions"),
    ("Session open refused", "the server refused a session (MaxSessions reached)", "raise MaxSessions in its sshd_config"),
    ("Connection reset", "the server dropped the connection (MaxStartups, or a firewall)",
     "retry; raise MaxStartups in its sshd_config if many connections start at once"),
    ("Connection closed", "the server closed the connection (MaxStartups, or a firewall)",
     "retry; raise MaxStartups in its sshd_config if many connections start at once"),
    ("Bad owner or permissions", "ssh refuses a file's permissions", "make the key and config readable by you only"),
    ("Address already in use", "the local socket is taken", "remove the stale socket it names"),
    ("too long for Unix domain socket", "the socket folder's path is too long",
     "set XDG_RUNTIME_DIR to a short folder (or unset it: /tmp/multistack-ssh-UID is used)"),
)


def ssh_problem(stderr: str | None, target: SshTarget, engine: str) -> EngineError:
    """One line for a failed ``ssh`` of ``engine``: what ssh said, in words, and the fix."""
    text = stderr or ""
    for needle, meaning, hint in _PROBLEMS:
        if needle.lower() in text.lower():
            hint = hint.format(port=target.port or 22, host=target.host, known=target.known_hosts or "~/.ssh/known_hosts")
            return EngineError(f"engine {engine} unreachable over SSH ({target.url}): {meaning}: {last_line(text)}", hint)
    return EngineError(f"engine {engine} unreachable over SSH ({target.url}): {last_line(text)}",
                       f"check `ssh {' '.join(target.destination())} docker info` from this machine")


# --------------------------------------------------------------------------
# Opening and closing


def runtime_path() -> Path:
    """Where control sockets and forwarded sockets live: short (unix socket paths are limited to
    about 100 bytes): ``$XDG_RUNTIME_DIR/multistack-ssh``, else ``/tmp/multistack-ssh-<uid>``."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(xdg) / "multistack-ssh" if xdg else None
    if base is None or len(str(base)) > MAX_DIR:  # ssh adds a 17-byte suffix to the control path
        base = Path(tempfile.gettempdir()) / f"multistack-ssh-{os.getuid()}"
    return base


def runtime_dir() -> Path:
    """:func:`runtime_path`, created: this user's only (0700, owned by us: another user could
    otherwise plant a socket there)."""
    base = runtime_path()
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = base.lstat()
    except OSError as exc:
        raise EngineError(f"cannot create {base}: {exc.strerror}", "check that folder's permissions") from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise EngineError(f"{base} is not a private folder of this user", "remove it (it is recreated 0700)")
    return base


def paths(target: SshTarget, folder: Path) -> tuple[Path, Path]:
    """The control socket and the forwarded docker socket of ``target``."""
    return folder / f"{target.ident}.ctl", folder / f"{target.ident}.sock"


def open_tunnel(c: Context, target: SshTarget, engine: str) -> str:
    """The local socket reaching ``target``'s engine: the running master's, else a new one.

    ``--dry``: the commands that would open it are shown, nothing runs.
    """
    folder = for_real(c, runtime_dir, dry=runtime_path)
    assert folder is not None
    control, local = paths(target, folder)
    alive = for_real(c, lambda: _alive(c, target, control) and local.is_socket(), dry=lambda: False)
    if alive:
        return str(local)
    with guard(c, lambda: _opening(folder / f"{target.ident}.lock")):  # two commands at once: one master
        if for_real(c, lambda: _alive(c, target, control) and local.is_socket(), dry=lambda: False):
            return str(local)
        for_real(c, lambda: _stop(c, target, control, local))
        _checked(c, master_argv(target, control), target, engine)
        asked = probe(c, remote_socket_argv(target, control))  # --dry: shown, not run (the default socket)
        remote = remote_socket(asked.stdout if asked.ok else "")
        _checked(c, forward_argv(target, control, local, remote), target, engine)
    return str(local)


@contextmanager
def _opening(path: Path) -> Iterator[None]:
    """An exclusive lock while a master is opened (another ``inv`` waits, then finds it running)."""
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def close_tunnel(c: Context, target: SshTarget) -> None:
    """End ``target``'s master connection (its forwarded socket goes with it)."""
    control, local = paths(target, runtime_dir())
    _stop(c, target, control, local)


def _alive(c: Context, target: SshTarget, control: Path) -> bool:
    return control.exists() and query(c, check_argv(target, control), warn=True, hide=True).ok


def _stop(c: Context, target: SshTarget, control: Path, local: Path) -> None:
    """A dead or unwanted master: ask it to exit, then remove what it left behind."""
    if control.exists():
        query(c, exit_argv(target, control), warn=True, hide=True)
    for leftover in (control, local):
        try:
            if leftover.is_socket():
                leftover.unlink()
        except OSError:
            pass


def _checked(c: Context, argv: list[str], target: SshTarget, engine: str) -> None:
    result = run(c, argv, hide=True, warn=True, in_stream=False)
    if not result.ok:
        raise ssh_problem(result.stderr, target, engine)
