"""Pins multistack/plan/systems.py: a member's template values, its namespace and its volumes' docker names.

Mutation testing (issue 11) found these planned values checked only through whole
`inv system.*` runs, which never compared the template values themselves, the
volume-name bounds or the refusals' whole lines. Here a stack is built in code (no file,
no Docker) and every value, and every line the user sees, is compared exactly.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from multistack.errors import StackError
from multistack.model.stack import Stack
from multistack.model.systems import StackBasics, parse_systems
from multistack.plan.gateway import Forward
from multistack.plan.systems import (
    MemberPlan, SystemPlan, check_volume_names, member_basics, member_namespace, member_namespaces, volume_names,
)

GW = {"forward": ["80:rest:80"]}


def stack(systems: dict[str, Any], project: str = "shop") -> Stack:
    parsed = parse_systems(systems, StackBasics("stack.yaml", project, ("compose.yml",), 100))
    return Stack(path=Path("/x/stack.yaml"), project=project, systems=parsed)


def one(**keys: Any) -> Stack:
    return stack({"suite": {"gateway": GW, **keys}})


def test_member_basics_are_every_template_value() -> None:
    st = one(stride=10, vars={"ebus": "on", "node": "x"},
             ports={"http": {"port": 8000, "service": "rest", "container_port": 80},
                    "mq": {"port": 9000, "service": "mq"}},
             members={"A": {"slot": 5}, "Lon-B": {"slot": 2, "vars": {"node": "b", "extra": 1}}})
    system = st.systems["suite"]
    assert member_basics(st, system, system.members[1]) == {
        "name": "lon-b", "callsign": "Lon-B", "slot": 2, "index": 1, "node_id": 2, "system": "suite",
        "project": "shop", "project_name": "shop-suite-lon-b", "ports": {"http": 8020, "mq": 9020},
        "container_ports": {"http": 80, "mq": 9020}, "vars": {"ebus": "on", "extra": 1, "node": "b"}}
    assert member_basics(st, system, system.members[0]) == {
        "name": "a", "callsign": "A", "slot": 5, "index": 0, "node_id": 1, "system": "suite",
        "project": "shop", "project_name": "shop-suite-a", "ports": {"http": 8050, "mq": 9050},
        "container_ports": {"http": 80, "mq": 9050}, "vars": {"ebus": "on", "node": "x"}}


def test_a_member_without_a_namespace_has_none() -> None:
    st = one(members={"a": None})
    system = st.systems["suite"]
    assert member_namespace(st, system, system.members[0]) is None
    assert member_namespaces(st) == []


def test_member_namespaces_are_rendered_per_member() -> None:
    st = stack({"suite": {"gateway": GW, "members": {"A": {"namespace": "acme-{{ name }}-{{ node_id }}"}, "b": None,
                                                     "C": {"namespace": "fixed-c"}}},
                "sim": {"gateway": GW, "members": {"z": {"namespace": "sim-{{ vars.n }}", "vars": {"n": "zed"}}}}})
    assert member_namespaces(st) == [
        ("member A of system suite (systems.suite.members.A.namespace)", "acme-a-1"),
        ("member C of system suite (systems.suite.members.C.namespace)", "fixed-c"),
        ("member z of system sim (systems.sim.members.z.namespace)", "sim-zed"),
    ]


def test_a_bad_rendered_namespace_names_the_member() -> None:
    st = one(members={"A": {"namespace": "x-{{ name }}"}, "Bee": {"namespace": "Bad_{{ name }}"}})
    system = st.systems["suite"]
    with pytest.raises(StackError) as info:
        member_namespace(st, system, system.members[1])
    assert info.value.line() == (
        "error: stack.yaml: systems.suite.members.Bee: namespace 'Bad_bee' contains 'B', '_' (allowed: a-z, 0-9, '-') "
        "(fix: use 3-63 lowercase letters, digits and single '-', starting with a letter, e.g. shop-dev-1)")


def test_a_namespace_template_error_names_its_key() -> None:
    st = one(members={"A": {"namespace": "x-{{ nope }}"}})
    system = st.systems["suite"]
    with pytest.raises(StackError) as info:
        member_namespace(st, system, system.members[0])
    assert info.value.message.startswith("stack.yaml: systems.suite.members.A.namespace: ")
    assert info.value.hint == ("use only: callsign, container_ports, index, name, node_id, ports, project, "
                               "project_name, slot, system, vars")


def test_volume_names_default_to_composes_and_render_the_template() -> None:
    st = one(members={"A": None, "b": None},
             volumes={"data": {"node": "/d"}, "logs": {"name": "acme-{{ name }}-{{ slot }}.logs", "mounts": {"node": "/l"}}})
    system = st.systems["suite"]
    assert volume_names(st, system, system.members[0]) == {"data": "shop-suite-a_data", "logs": "acme-a-0.logs"}
    assert volume_names(st, system, system.members[1]) == {"data": "shop-suite-b_data", "logs": "acme-b-1.logs"}
    check_volume_names(st)


@pytest.mark.parametrize("name", ["ab", "a" + "b" * 254, "0._-x"])
def test_docker_volume_names_that_are_valid(name: str) -> None:
    st = one(members={"a": None}, volumes={"data": {"name": name, "mounts": {"node": "/d"}}})
    system = st.systems["suite"]
    assert volume_names(st, system, system.members[0]) == {"data": name}


@pytest.mark.parametrize("name", ["a", "a" + "b" * 255, "-ab", "a b", "{{ callsign }}/x"])
def test_docker_volume_names_that_are_not(name: str) -> None:
    st = one(members={"Q": None}, volumes={"data": {"name": name, "mounts": {"node": "/d"}}})
    system = st.systems["suite"]
    rendered = name.replace("{{ callsign }}", "Q")
    with pytest.raises(StackError) as info:
        volume_names(st, system, system.members[0])
    assert info.value.line() == (
        f"error: stack.yaml: systems.suite.volumes.data.name: {rendered!r} (member Q) is not a valid docker volume "
        "name (fix: at most 255 letters, digits, _, . and -, starting with a letter or digit)")


def test_two_members_with_one_volume_name() -> None:
    st = stack({"suite": {"gateway": GW, "members": {"a": None},
                          "volumes": {"data": {"name": "shared-data", "mounts": {"node": "/d"}}}},
                "sim": {"gateway": GW, "members": {"b": None, "C": None},
                        "volumes": {"data": {"name": "sim-{{ name }}", "mounts": {"node": "/d"}},
                                    "keep": {"name": "shared-data", "mounts": {"node": "/k"}}}}})
    with pytest.raises(StackError) as info:
        check_volume_names(st)
    assert info.value.line() == (
        "error: stack.yaml: systems.sim.volumes.keep: docker volume 'shared-data' would be both volume data of "
        "member a of system suite and volume keep of member b of system sim "
        "(fix: make the name: template differ per member, e.g. with {{ name }})")


def test_one_volume_template_without_the_member_clashes() -> None:
    st = one(members={"a": None, "B": None}, volumes={"data": {"name": "fixed", "mounts": {"node": "/d"}}})
    with pytest.raises(StackError) as info:
        check_volume_names(st)
    assert info.value.line() == (
        "error: stack.yaml: systems.suite.volumes.data: docker volume 'fixed' would be both volume data of member a "
        "of system suite and volume data of member B of system suite "
        "(fix: make the name: template differ per member, e.g. with {{ name }})")


def test_the_plan_finds_members_by_any_spelling() -> None:
    st = one(members={"LON-B": None, "c": None}, topology={"shape": "star", "hub": "c"})
    system = st.systems["suite"]
    plans = tuple(MemberPlan(member=m, index=i, project_name=f"shop-suite-{m.name}", dir=Path("/d") / m.name,
                             ports={}, container_ports={}, forwards=(Forward(80, "rest", 80),), peers=(),
                             project_network_name=f"shop-suite-{m.name}_default", services=("rest",))
                  for i, m in enumerate(system.members))
    plan = SystemPlan(stack=st, system=system, dir=Path("/d"), members=plans, base={})
    assert plan.member("lon_b") is plans[0] and plan.member("C") is plans[1]
    assert (plans[0].name, plans[0].callsign, dict(plans[0].volume_names)) == ("lon-b", "LON-B", {})
    assert (plan.links, plan.hub) == ((("lon-b", "c"),), "c")
    with pytest.raises(StackError, match=r"^system suite has no member 'x'$"):
        plan.member("x")
