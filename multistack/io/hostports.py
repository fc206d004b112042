"""Is a host port free, and if not, who holds it (as far as the OS tells).

Fixed offsets are predictable but nothing checks the port is free; this
check runs before ``start`` so that nothing starts half-way.
"""
from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TakenPort:
    port: int
    service: str
    holder: str | None  # "python3 (pid 1234)" where /proc tells

    def describe(self) -> str:
        who = f", held by {self.holder}" if self.holder else ""
        return f"port {self.port} ({self.service}) is already in use{who}"


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Try to bind it, as docker will: a listener on the same or the wildcard address makes it fail.

    With SO_REUSEADDR, as docker-proxy and most servers bind: without it, the
    TIME_WAIT connections a stopped instance leaves for a minute (after anyone
    talked to it) would make its ports look taken, and a restart fail.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        if os.name == "posix":  # on Windows SO_REUSEADDR would let us bind over a listener
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """Something accepts TCP connections on host:port: a server is up (wildcard hosts mean this machine)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def holder_of(port: int) -> str | None:
    """The process listening on ``port``, from /proc (Linux); None where the OS does not tell."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in targets:
                    comm = Path(f"/proc/{pid}/comm").read_text().strip()
                    return f"{comm} (pid {pid})"
        except OSError:
            continue
    return None


def taken_ports(ports: dict[str, int], host: str = "127.0.0.1") -> list[TakenPort]:
    return [TakenPort(port, service, holder_of(port)) for service, port in ports.items() if not is_free(port, host)]
