"""The port plan: port of service S in instance N is base(S) + N * stride.

Checked once at load time for every instance in range, so that no later
command can meet a port over 65535 or two services landing on one port.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from multistack.errors import StackError

if TYPE_CHECKING:
    from multistack.model.stack import Stack

MAX_PORT = 65535


def port_of(base: int, n: int, stride: int) -> int:
    return base + n * stride


def instance_ports(stack: Stack, n: int) -> dict[str, int]:
    """Service name -> host port for instance ``n``, in declaration order."""
    return {svc.name: port_of(svc.port, n, stride=stack.stride) for svc in stack.services}


def check_port_plan(stack: Stack, instances: range | None = None) -> None:
    """Reject ports over 65535 and any two (service, instance) pairs on one port (of one engine, see placement)."""
    instances = instances if instances is not None else stack.instance_range
    for svc in stack.services:
        top = port_of(svc.port, instances[-1], stack.stride)
        if top > MAX_PORT:
            raise StackError(
                f"{stack.path.name}: services.{svc.name}.port: instance {instances[-1]} would get port {top} (> {MAX_PORT})",
                "lower the base port, the stride or the last instance")
    where = _port_domains(stack)
    owner_on: dict[tuple[str, int], tuple[str, int]] = {}
    for n in instances:
        for svc in stack.services:
            port = port_of(svc.port, n, stack.stride)
            domain = where(svc.compose is None, n)
            if (domain, port) in owner_on:
                other, m = owner_on[(domain, port)]
                raise StackError(
                    f"{stack.path.name}: services: port {port} is used by {other} of instance {m} "
                    f"and by {svc.name} of instance {n}" + (f" {domain}" if domain else ""),
                    f"move one base port so that no two differ by a multiple of the stride ({stack.stride})")
            owner_on[(domain, port)] = (svc.name, n)


def _port_domains(stack: Stack) -> Callable[[bool, int], str]:
    """Where a port must be unique: everywhere, or (with ``engines:``) per engine.

    Containers publish on their instance's engine, so two engines may reuse a
    port; PM2 apps always run here, so theirs share this machine with the
    default engine's.
    """
    if "engines" not in stack.sections:
        return lambda on_host, n: ""
    from multistack.model.engines import stack_engines

    remote = {n: e.name for e in stack_engines(stack) if not e.local for n in e.slots}
    return lambda on_host, n: ("on this machine" if on_host or n not in remote else f"on engine {remote[n]}")
