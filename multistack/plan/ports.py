"""The ports of an instance: port of service S in instance N is base(S) + N * stride (pure).

The plan itself is checked once, when stack.yaml is loaded
(:func:`multistack.model.portplan.check_ports`), so that no later command can
meet a port over 65535 or two services landing on one port.
"""
from __future__ import annotations

from multistack.model.portplan import MAX_PORT, port_of  # noqa: F401 - one port plan
from multistack.model.stack import Stack


def instance_ports(stack: Stack, n: int) -> dict[str, int]:
    """Service name -> host port for instance ``n``, in declaration order."""
    return {svc.name: port_of(svc.port, n, stride=stack.stride) for svc in stack.services}


def check_port_plan(stack: Stack, instances: range | None = None) -> None:
    """Reject ports over 65535 and any two (service, instance) pairs on one port (see :meth:`Stack.check_port_plan`)."""
    stack.check_port_plan(instances)
