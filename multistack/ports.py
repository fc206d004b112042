"""The port plan: port of service S in instance N is base(S) + N * stride.

Checked once at load time for every instance in range, so that no later
command can meet a port over 65535 or two services landing on one port.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import StackError

if TYPE_CHECKING:
    from .stack import Stack

MAX_PORT = 65535


def port_of(base: int, n: int, stride: int) -> int:
    return base + n * stride


def instance_ports(stack: Stack, n: int) -> dict[str, int]:
    """Service name -> host port for instance ``n``, in declaration order."""
    return {svc.name: port_of(svc.port, n, stride=stack.stride) for svc in stack.services}


def check_port_plan(stack: Stack, instances: range | None = None) -> None:
    """Reject ports over 65535 and any two (service, instance) pairs on one port."""
    instances = instances if instances is not None else stack.instance_range
    owner: dict[int, tuple[str, int]] = {}
    for svc in stack.services:
        top = port_of(svc.port, instances[-1], stack.stride)
        if top > MAX_PORT:
            raise StackError(
                f"{stack.path.name}: services.{svc.name}.port: instance {instances[-1]} would get port {top} (> {MAX_PORT})",
                "lower the base port, the stride or the last instance")
    for n in instances:
        for svc in stack.services:
            port = port_of(svc.port, n, stack.stride)
            if port in owner:
                other, m = owner[port]
                raise StackError(
                    f"{stack.path.name}: services: port {port} is used by {other} of instance {m} "
                    f"and by {svc.name} of instance {n}",
                    f"move one base port so that no two differ by a multiple of the stride ({stack.stride})")
            owner[port] = (svc.name, n)
