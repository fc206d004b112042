"""A system member's gateway: an HAProxy that answers for the member on the shared network (pure).

Why a gateway at all: the member's services keep their short names (``rest``,
``mq``) on the member's own project network, where they cannot collide with
another member's. Only the gateway answers on the shared network under the
member's name, and forwards the declared ports, in TCP mode (HTTP, MQTT and
WebSocket alike), to the member's own services.

Two details make it work on Docker:

- Backends are addressed as ``<service>.<project network>`` (for example
  ``rest.shipsec-suite-storer_appnet``). Docker's DNS answers that form only
  from the named network, whereas a plain ``rest`` from a container that is
  on both networks may be answered from the shared network, where every
  member's ``rest`` carries the same alias (checked on Docker 20.10: the name
  is looked up in the networks in name order).
- ``resolvers`` pointing at Docker's embedded DNS (127.0.0.11) with
  ``init-addr last,libc,none`` lets HAProxy start before its backends exist
  and pick them up when they do, so the gateway needs no ``depends_on``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from multistack.errors import StackError
from multistack.model.names import is_number

#: Where the generated haproxy.cfg is mounted (the official image's default path).
CONFIG_TARGET = "/usr/local/etc/haproxy/haproxy.cfg"
#: Docker's embedded DNS server, inside every container on a user-defined network.
DOCKER_DNS = "127.0.0.11:53"
#: ``haproxy`` in the foreground (``-db``); the official image's entrypoint adds ``-W``.
COMMAND = ("haproxy", "-db", "-f", CONFIG_TARGET)


@dataclass(frozen=True)
class Forward:
    """Gateway port ``port`` forwards to ``service:target`` on the member's project network."""

    port: int
    service: str
    target: int

    def describe(self) -> str:
        return f"{self.port} -> {self.service}:{self.target}"


def parse_forward(text: str, where: str) -> Forward:
    """``"80:rest:80"`` (gateway port, service, port of the service)."""
    parts = text.split(":")
    if len(parts) != 3 or not parts[1]:
        raise StackError(f"{where}: {text!r} is not PORT:SERVICE:PORT",
                         "write each forward as gateway port, service and its port, e.g. \"80:rest:80\"")
    listen, service, target = parts
    numbers = []
    for value in (listen, target):
        if not is_number(value) or not 1 <= int(value) <= 65535:
            raise StackError(f"{where}: {text!r}: {value!r} is not a port 1-65535",
                             "write each forward as gateway port, service and its port, e.g. \"80:rest:80\"")
        numbers.append(int(value))
    return Forward(numbers[0], service, numbers[1])


def check_forwards(forwards: Sequence[Forward], where: str) -> None:
    seen: dict[int, Forward] = {}
    for fwd in forwards:
        if fwd.port in seen:
            raise StackError(f"{where}: gateway port {fwd.port} is forwarded twice "
                             f"({seen[fwd.port].describe()} and {fwd.describe()})",
                             "give each forward its own gateway port")
        seen[fwd.port] = fwd


def backend_host(service: str, project_network: str) -> str:
    """The backend's DNS name, qualified by the member's project network (see the module docstring)."""
    return f"{service}.{project_network}"


def haproxy_config(forwards: Sequence[Forward], *, member: str, system: str, project_name: str,
                   network: str, project_network: str) -> str:
    """The gateway's ``haproxy.cfg`` text (deterministic: forwards in port order)."""
    from multistack.plan.templating import render_file

    ordered = sorted(forwards, key=lambda f: f.port)
    variables = {
        "member": member, "system": system, "project_name": project_name, "network": network,
        "project_network": project_network, "dns": DOCKER_DNS,
        "forwards": [{"port": f.port, "service": f.service, "target": f.target,
                      "host": backend_host(f.service, project_network),
                      "describe": f.describe()} for f in ordered],
    }
    return render_file("haproxy.cfg.j2", variables)


def check_argv(config_file: str, binary: str = "haproxy") -> list[str]:
    """``haproxy -c -f FILE``: HAProxy's own check of a generated config."""
    return [binary, "-c", "-f", config_file]
