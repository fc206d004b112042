"""The port plan: port of service S in instance N is base(S) + N * stride (pure).

Checked once, while stack.yaml is loaded, for every instance in range, so that
no later command can meet a port over 65535 or two services landing on one
port. :mod:`multistack.plan.ports` computes an instance's ports by the same
:func:`port_of`.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

from multistack.errors import StackError

MAX_PORT = 65535


def port_of(base: int, n: int, stride: int) -> int:
    return base + n * stride


def check_ports(file: str, services: Sequence[tuple[str, int, bool]], stride: int, instances: range,
                remote: Mapping[int, str] | None = None) -> None:
    """Reject ports over 65535 and any two (service, instance) pairs on one port.

    ``services`` are ``(name, base port, runs on this machine)``: a PM2 app's
    port is always this machine's. ``remote`` maps an instance to the remote
    engine its containers publish on (None: no ``engines:`` section, so every
    port is this machine's and no port may repeat anywhere).
    """
    for name, base, _on_host in services:
        top = port_of(base, instances[-1], stride)
        if top > MAX_PORT:
            raise StackError(
                f"{file}: services.{name}.port: instance {instances[-1]} would get port {top} (> {MAX_PORT})",
                "lower the base port, the stride or the last instance")
    where = _port_domains(remote)
    owner_on: dict[tuple[str, int], tuple[str, int]] = {}
    for n in instances:
        for name, base, on_host in services:
            port = port_of(base, n, stride)
            domain = where(on_host, n)
            if (domain, port) in owner_on:
                other, m = owner_on[(domain, port)]
                raise StackError(
                    f"{file}: services: port {port} is used by {other} of instance {m} "
                    f"and by {name} of instance {n}" + (f" {domain}" if domain else ""),
                    f"move one base port so that no two differ by a multiple of the stride ({stride})")
            owner_on[(domain, port)] = (name, n)


def _port_domains(remote: Mapping[int, str] | None) -> Callable[[bool, int], str]:
    """Where a port must be unique: everywhere, or (with ``engines:``) per engine.

    Containers publish on their instance's engine, so two engines may reuse a
    port; PM2 apps always run here, so theirs share this machine with the
    default engine's.
    """
    if remote is None:
        return lambda on_host, n: ""
    return lambda on_host, n: ("on this machine" if on_host or n not in remote else f"on engine {remote[n]}")
