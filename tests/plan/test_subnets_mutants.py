"""Fixed subnets (plan/subnets.py) at their edges: a declared ``default`` network, a stack file not
named stack.yaml, ``per_instance`` exactly full, and ``docker network inspect`` answers of every
shape the engine may give (found by mutation testing, issue 11)."""
from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from multistack.errors import StackError
from multistack.model.compose_doc import parse_compose
from multistack.model.networks import NetworkPool
from multistack.model.stack import parse_stack
from multistack.plan.subnets import (instance_subnets, member_subnets, overlaps, parse_inspect, project_networks,
                                     slots_per_instance, subnet_at)

THREE_NETS = [parse_compose("services: {a: {image: x, networks: [default, back, front]}}\n"
                            "networks: {back: {}, front: {}}\n", "compose.yml")]
SERVICES = {"web": {"port": 8000, "compose": "web", "container_port": 80}}


def stack_named(file: str, networks: object, instances: str = "0-9", systems: object = None):
    raw = {"project": "demo", "instances": instances, "compose": {"files": ["compose.yml"]},
           "services": SERVICES, "networks": networks}
    if systems:
        raw["systems"] = systems
    return parse_stack(raw, Path("/tmp/x") / file)


def test_a_declared_default_network_takes_one_subnet_the_first():
    docs = [parse_compose("services: {a: {image: x, networks: [default, back]}}\n"
                          "networks: {default: {driver: bridge}, back: {}}\n", "compose.yml")]
    assert project_networks(docs) == ["default", "back"]
    subnets = instance_subnets(stack_named("stack.yaml", {"pool": "10.212.0.0/16"}), 1, docs)
    assert {k: str(v) for k, v in subnets.items()} == {"default": "10.212.2.0/24", "back": "10.212.3.0/24"}


def test_per_instance_exactly_the_count_of_networks_is_enough():
    stack = stack_named("stack.yaml", {"pool": "10.212.0.0/16", "per_instance": 3})
    assert str(instance_subnets(stack, 1, THREE_NETS)["front"]) == "10.212.5.0/24"


def test_per_instance_too_small_names_stack_yaml_when_no_file_is_given():
    pool = NetworkPool(ipaddress.ip_network("10.212.0.0/16"), 24, per_instance=2)
    with pytest.raises(StackError) as info:
        slots_per_instance(pool, 3)
    assert info.value.message == ("stack.yaml: networks.per_instance: the compose files declare 3 network(s) per "
                                  "instance, more than the 2 kept")
    assert slots_per_instance(pool, 2) == 2


def test_refusals_name_the_stack_file_the_user_gave():
    few = stack_named("shop.yaml", {"pool": "10.212.0.0/16", "per_instance": 2})
    with pytest.raises(StackError, match=r"^shop\.yaml: networks\.per_instance: "):
        instance_subnets(few, 0, THREE_NETS)
    small = stack_named("shop.yaml", {"pool": "10.212.0.0/26", "size": 30})  # 16 subnets: 10 x 1 fit, 10 x 3 not
    with pytest.raises(StackError, match=r"^shop\.yaml: networks\.pool: pool 10\.212\.0\.0/26 holds 16 .* need 30$"):
        instance_subnets(small, 0, THREE_NETS)


def test_members_subnets_are_refused_when_instances_and_members_do_not_fit_naming_the_file():
    pair = {"pair": {"compose_files": ["compose.yml"], "members": {"a": {"slot": 0}, "b": {"slot": 1}},
                     "ports": {"http": {"port": 9000, "service": "web", "container_port": 80}},
                     "gateway": {"forward": ["80:web:80"]}}}
    # 16 /28s: 15 instances fit on load (one network each), 15 + 2 members do not
    with pytest.raises(StackError) as info:
        member_subnets(stack_named("shop.yaml", {"pool": "10.212.0.0/24", "size": 28}, "0-14", pair))
    assert info.value.message == ("shop.yaml: networks.pool: pool 10.212.0.0/24 holds 16 /28 subnet(s), but 15 "
                                  "instance(s) x 1 network(s) + 2 for systems need 17")


def test_subnet_at_refuses_an_index_outside_the_pool():
    pool = NetworkPool(ipaddress.ip_network("10.212.0.0/24"), 26)  # 4 /26s
    assert str(subnet_at(pool, 3)) == "10.212.0.192/26"
    for index in (4, -1):
        with pytest.raises(StackError) as info:
            subnet_at(pool, index)
        assert info.value.message == f"subnet {index} is outside pool 10.212.0.0/24 (4 /26 subnets)"
        assert info.value.hint == "give a bigger pool under networks: in stack.yaml"


def test_inspect_answers_that_are_not_a_list_give_no_networks():
    for data in (None, 42, "[]", {"Name": "x"}):
        assert parse_inspect(data) == []


def test_inspect_skips_what_it_cannot_read_and_keeps_the_rest():
    data = [
        "garbage",
        {"Name": "a", "IPAM": {"Config": [{"Subnet": "nonsense"}, None, {"Subnet": "10.212.4.1/22"}]},
         "Labels": ["not", "a", "mapping"]},
        {"IPAM": {"Config": {"Subnet": "10.212.8.0/24"}}, "Labels": {"com.docker.compose.project": "p"}},
    ]
    first, second = parse_inspect(data)
    # a subnet written with host bits still covers its network; a label list says nothing
    assert (first.name, first.project, [str(s) for s in first.subnets]) == ("a", None, ["10.212.4.0/22"])
    assert (second.name, second.project, second.subnets) == ("", "p", ())  # Config not a list: no subnets


def test_the_instances_own_network_listed_first_does_not_hide_another_in_the_way():
    stack = stack_named("stack.yaml", {"pool": "10.212.0.0/16"})
    existing = parse_inspect([
        {"Name": "demo-dev-2_default", "IPAM": {"Config": [{"Subnet": "10.212.6.0/24"}]},
         "Labels": {"com.docker.compose.project": "demo-dev-2"}},
        {"Name": "lab-net", "IPAM": {"Config": [{"Subnet": "10.212.6.0/23"}]}, "Labels": {}},
    ])
    found = overlaps("demo-dev-2", instance_subnets(stack, 2, THREE_NETS), existing)
    assert [(o.network, o.other) for o in found] == [("default", "lab-net"), ("back", "lab-net")]
