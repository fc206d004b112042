from __future__ import annotations

from pathlib import Path

from multistack.plan.instance import plan_instance
from multistack.plan.ports import instance_ports, port_of
from multistack.model.stack import load_stack

ROOT = Path(__file__).resolve().parents[2]


def test_port_formula():
    assert port_of(5433, 0, 100) == 5433
    assert port_of(5433, 5, 100) == 5933


def test_example_instance_5_ports_in_declared_order():
    stack = load_stack(ROOT / "stack.yaml")
    assert list(instance_ports(stack, 5).values()) == [5673, 3711, 7733, 8581, 5933, 9500, 9501, 6879, 3600, 9592, 8582]


def test_instance_names():
    stack = load_stack(ROOT / "stack.yaml")
    inst = plan_instance(stack, 3)
    assert inst.project_name == "shipsec-dev-3"
    assert inst.namespace == "shipsec-dev-3"
    assert inst.database == "shipsec_instance_3"
    assert inst.app_names == ["shipsec-backend-3", "shipsec-worker-3", "shipsec-frontend-3"]  # issue 13
