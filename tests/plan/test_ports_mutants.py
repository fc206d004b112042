"""The ports of an instance and the check of a wider instance range, exactly.

Mutation testing of plan/ports.py found the stride and the range given to
``check_port_plan`` unchecked by any test (the example stack uses the default stride 100
and its own range): a port computed with the wrong stride, or a range silently replaced
by the stack's own, would reach compose and the env files.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from multistack.errors import StackError
from multistack.model.stack import parse_stack
from multistack.plan.ports import check_port_plan, instance_ports


def stack(services: dict[str, int], stride: int = 10):
    return parse_stack({"project": "demo", "instances": "0-5", "stride": stride,
                        "services": {name: {"port": port} for name, port in services.items()}},
                       Path("/tmp/demo/stack.yaml"))


def test_ports_follow_the_stacks_stride_in_declaration_order():
    demo = stack({"web": 8000, "db": 5432, "api": 3000})
    assert instance_ports(demo, 0) == {"web": 8000, "db": 5432, "api": 3000}
    assert list(instance_ports(demo, 5).items()) == [("web", 8050), ("db", 5482), ("api", 3050)]
    assert instance_ports(stack({"web": 8000}, stride=1000), 3) == {"web": 11000}


def test_the_stacks_own_range_passes():
    assert check_port_plan(stack({"web": 8000, "other": 8070})) is None
    assert check_port_plan(stack({"web": 8000, "other": 8070}), range(0, 7)) is None


def test_a_wider_range_is_checked_as_given():
    demo = stack({"web": 8000, "other": 8070})
    with pytest.raises(StackError) as info:
        check_port_plan(demo, range(0, 8))
    assert (info.value.message, info.value.hint) == (
        "stack.yaml: services: port 8070 is used by other of instance 0 and by web of instance 7",
        "move one base port so that no two differ by a multiple of the stride (10)")
    with pytest.raises(StackError) as info:
        check_port_plan(stack({"web": 8000}), range(0, 6000))
    assert (info.value.message, info.value.hint) == (
        "stack.yaml: services.web.port: instance 5999 would get port 67990 (> 65535)",
        "lower the base port, the stride or the last instance")
