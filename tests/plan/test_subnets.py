"""Fixed subnets per instance and network (plan/subnets.py, model/networks.py), and the override that declares them.

The arithmetic is checked for every instance of a 100-instance range (disjoint,
deterministic, inside the pool); the override is checked by the real Compose v2
``config`` (``compose_bin``); the overlap check by a recorded ``docker network
inspect`` answer.
"""
from __future__ import annotations

import ipaddress
import itertools
import json
import subprocess
from pathlib import Path

import pytest

from multistack.errors import StackError
from multistack.model.compose_doc import parse_compose
from multistack.model.stack import parse_stack
from multistack.plan.instance import plan_instance
from multistack.plan.render import render_override
from multistack.plan.subnets import instance_subnets, overlaps, parse_inspect, project_networks

COMPOSE = """\
services:
  web:
    image: busybox
    networks: [default, back]
  db:
    image: busybox
    networks: [back, front, outside, fixed, mine]
networks:
  front: {}
  back: {}
  outside: {external: true}
  fixed: {name: everyone}
  mine: {ipam: {config: [{subnet: 10.99.0.0/24}]}}
"""


def stack_of(networks: object, instances: str = "0-99", tmp: Path = Path("/tmp/x")):
    raw = {"project": "demo", "instances": instances, "compose": {"files": ["compose.yml"]},
           "services": {"web": {"port": 8000, "compose": "web", "container_port": 80}}}
    if networks is not ...:
        raw["networks"] = networks
    return parse_stack(raw, tmp / "stack.yaml")


DOCS = [parse_compose(COMPOSE, "compose.yml")]


def test_networks_in_stable_order_default_first_and_shared_ones_left_out():
    assert project_networks(DOCS) == ["default", "back", "front"]
    assert project_networks([parse_compose("services: {a: {image: x}}", "c.yml")]) == ["default"]
    unused = "services: {a: {image: x, networks: [b]}, h: {image: x, network_mode: host}}\nnetworks: {b: {}, c: {}}\n"
    assert project_networks([parse_compose(unused, "c.yml")]) == ["b"]  # compose creates neither default nor c
    external_default = "services: {a: {image: x}}\nnetworks: {default: {external: true, name: lan}}\n"
    assert project_networks([parse_compose(external_default, "c.yml")]) == []


def test_subnets_are_deterministic_disjoint_and_inside_the_pool():
    stack = stack_of({"pool": "10.212.0.0/15", "size": 24})  # 512 /24s for 100 x 3
    seen: dict[ipaddress.IPv4Network, tuple[int, str]] = {}
    for n in stack.instance_range:
        subnets = instance_subnets(stack, n, DOCS)
        assert list(subnets) == ["default", "back", "front"]
        assert subnets == instance_subnets(stack_of({"pool": "10.212.0.0/15", "size": 24}), n, DOCS)
        for name, subnet in subnets.items():
            assert subnet.prefixlen == 24 and subnet.subnet_of(ipaddress.ip_network("10.212.0.0/15"))
            assert subnet not in seen, (n, name, seen.get(subnet))
            seen[subnet] = (n, name)
    assert len(seen) == 300
    for a, b in itertools.combinations(seen, 2):
        assert not a.overlaps(b)
    # instance 0's default is the pool's first /24; instance 1 starts after instance 0's three
    assert str(instance_subnets(stack, 0, DOCS)["default"]) == "10.212.0.0/24"
    assert str(instance_subnets(stack, 1, DOCS)["default"]) == "10.212.3.0/24"
    assert str(instance_subnets(stack, 99, DOCS)["front"]) == "10.213.43.0/24"  # subnet 299 = 256 + 43


def test_subnets_count_from_the_first_instance_of_the_range():
    stack = stack_of({"pool": "10.212.0.0/16"}, "5-9")
    assert str(instance_subnets(stack, 5, DOCS)["default"]) == "10.212.0.0/24"
    assert str(instance_subnets(stack, 9, DOCS)["front"]) == "10.212.14.0/24"


def test_per_instance_keeps_room_and_refuses_fewer_than_declared():
    stack = stack_of({"pool": "10.212.0.0/16", "size": 26, "per_instance": 4}, "0-9")
    assert str(instance_subnets(stack, 1, DOCS)["default"]) == "10.212.1.0/26"  # 4 x /26 = one /24 per instance
    too_few = stack_of({"per_instance": 2}, "0-9")
    with pytest.raises(StackError, match="3 network.* more than the 2 kept") as err:
        instance_subnets(too_few, 0, DOCS)
    assert "per_instance" in (err.value.hint or "")


def test_a_pool_too_small_is_refused_with_the_fix():
    with pytest.raises(StackError, match=r"pool 10\.212\.0\.0/24 holds 16 /28 subnet\(s\), but 100 instance") as err:
        stack_of({"pool": "10.212.0.0/24", "size": 28})  # refused on load: fewer subnets than instances
    assert "bigger pool" in (err.value.hint or "")
    fits_one_each = stack_of({"pool": "10.212.0.0/17", "size": 24})  # 128 subnets: 100 x 1 passes the load
    assert instance_subnets(stack_of({"pool": "10.212.0.0/17", "size": 24}, "0-9"), 9, DOCS)  # 10 x 3 fits
    with pytest.raises(StackError, match="100 instance.* x 3 network.* need 300") as err:
        instance_subnets(fits_one_each, 0, DOCS)  # 128 < 300: refused when the networks are known
    assert err.value.hint == "give a bigger pool (a /15 holds 512 /24s), smaller subnets (size: 26), or fewer instances"


@pytest.mark.parametrize("bad, message", [
    ({"pool": "172.20.0.0/16"}, "overlaps Docker's default address pool"),
    ({"pool": "192.168.8.0/24", "size": 28}, "overlaps Docker's default address pool"),
    ({"pool": "10.212.0.1/16"}, "has host bits set"),
    ({"pool": "fd00::/64"}, "must be an IPv4 network"),
    ({"size": 12}, "must be 16-30"),
    ({"pools": "10.0.0.0/8"}, "unknown key 'pools'"),
])
def test_bad_pools_are_refused_naming_the_key(bad, message):
    with pytest.raises(StackError, match=message):
        stack_of(bad, "0-9")


def test_no_section_means_docker_defaults_and_an_empty_one_the_default_pool():
    assert stack_of(...).networks is None
    assert instance_subnets(stack_of(...), 0, DOCS) == {}
    assert str(stack_of({}).networks.pool) == "10.212.0.0/16" and stack_of(None).networks.size == 24


def test_override_declares_ipam_for_default_and_named_networks_as_compose_reads_it(tmp_path, compose_bin):
    (tmp_path / "compose.yml").write_text(COMPOSE)
    stack = stack_of({"pool": "10.212.0.0/16"}, "0-9", tmp_path)
    inst = plan_instance(stack, 2)
    override = tmp_path / "override.yml"
    override.write_text(render_override(inst, DOCS))
    done = subprocess.run([compose_bin, "-p", inst.project_name, "-f", str(tmp_path / "compose.yml"), "-f",
                           str(override), "config", "--format", "json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    nets = json.loads(done.stdout)["networks"]
    subnets = {name: [c["subnet"] for c in (spec.get("ipam") or {}).get("config", [])] for name, spec in nets.items()}
    assert subnets["default"] == ["10.212.6.0/24"]
    assert subnets["back"] == ["10.212.7.0/24"]
    assert subnets["front"] == ["10.212.8.0/24"]
    assert nets["default"]["name"] == "demo-dev-2_default"


def test_override_without_a_pool_declares_no_networks():
    inst = plan_instance(stack_of(..., "0-9"), 2)
    assert "networks:" not in render_override(inst, DOCS)


RECORDED_INSPECT = [  # `docker network inspect $(docker network ls -q)`, trimmed
    {"Name": "bridge", "Driver": "bridge", "IPAM": {"Config": [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]},
     "Labels": {}},
    {"Name": "host", "Driver": "host", "IPAM": {"Config": []}, "Labels": {}},
    {"Name": "lab-net", "Driver": "bridge", "IPAM": {"Config": [{"Subnet": "10.212.4.0/22"}]}, "Labels": {}},
    {"Name": "demo-dev-2_default", "Driver": "bridge", "IPAM": {"Config": [{"Subnet": "10.212.6.0/24"}]},
     "Labels": {"com.docker.compose.project": "demo-dev-2", "com.docker.compose.network": "default"}},
    {"Name": "v6", "IPAM": {"Config": [{"Subnet": "fd00::/64"}, {"Subnet": "garbage"}]}, "Labels": None},
]


def test_overlap_names_the_other_network_and_ignores_the_instance_own():
    stack = stack_of({"pool": "10.212.0.0/16"}, "0-9")
    existing = parse_inspect(json.loads(json.dumps(RECORDED_INSPECT)))
    assert [n.name for n in existing] == ["bridge", "host", "lab-net", "demo-dev-2_default", "v6"]
    found = overlaps("demo-dev-2", instance_subnets(stack, 2, DOCS), existing)
    assert [(o.network, str(o.subnet), o.other) for o in found] == [("default", "10.212.6.0/24", "lab-net"),
                                                                     ("back", "10.212.7.0/24", "lab-net")]
    assert found[0].describe() == ("network default (10.212.6.0/24) overlaps existing network 'lab-net' "
                                   "(10.212.4.0/22)")
    # instance 1 (10.212.3-5.0/24): back and front overlap lab-net (10.212.4-7); instance 3's (9-11) are free
    assert [o.network for o in overlaps("demo-dev-1", instance_subnets(stack, 1, DOCS), existing)] == ["back", "front"]
    assert overlaps("demo-dev-3", instance_subnets(stack, 3, DOCS), existing) == []
    # another instance owning 10.212.6.0/24 is in instance 2's way only when it is not instance 2 itself
    assert [o.other for o in overlaps("other-dev-2", instance_subnets(stack, 2, DOCS), existing)] == [
        "lab-net", "lab-net", "demo-dev-2_default"]
    assert parse_inspect({"not": "a list"}) == []
    renamed_own = parse_inspect([{"Name": "custom", "IPAM": {"Config": [{"Subnet": "10.212.6.0/24"}]},
                                  "Labels": {"com.docker.compose.project": "demo-dev-2"}}])
    assert overlaps("demo-dev-2", instance_subnets(stack, 2, DOCS), renamed_own) == []  # its label says it is ours


def test_system_members_count_down_from_the_top_disjoint_from_the_instances():
    from multistack.plan.subnets import member_subnets

    raw = {"project": "demo", "instances": "0-9", "compose": {"files": ["compose.yml"]},
           "services": {"web": {"port": 8000, "compose": "web", "container_port": 80}},
           "networks": {"pool": "10.212.0.0/24", "size": 28},  # 16 /28s
           "systems": {"pair": {"compose_files": ["compose.yml"], "members": {"a": {"slot": 0}, "b": {"slot": 1}},
                                "ports": {"http": {"port": 9000, "service": "web", "container_port": 80}},
                                "gateway": {"forward": ["80:web:80"]}}}}
    stack = parse_stack(raw, Path("/tmp/x/stack.yaml"))
    members = member_subnets(stack)
    assert {k: str(v) for k, v in members.items()} == {("pair", "a"): "10.212.0.240/28", ("pair", "b"): "10.212.0.224/28"}
    one_net = [parse_compose("services: {web: {image: x}}", "compose.yml")]
    instances = [instance_subnets(stack, n, one_net)["default"] for n in stack.instance_range]
    assert not any(i.overlaps(m) for i in instances for m in members.values())
    with pytest.raises(StackError, match=r"10 instance\(s\) x 2 network\(s\) \+ 2 for systems need 22"):
        instance_subnets(stack, 0, [parse_compose(COMPOSE.replace("front: {}", "").replace(", front]", "]"),
                                                  "compose.yml")])


def test_doctor_reports_the_declared_pool_and_warns_when_nearly_full():
    from multistack.act.doctor.machine import POOLS_FIX, declared_pool_finding

    roomy = declared_pool_finding(stack_of({"pool": "10.212.0.0/16"}, "0-9"), 1)
    assert (roomy.severity, roomy.key) == ("info", "networks.pool")
    assert "take 10 of 256 /24 subnets" in roomy.message
    full = declared_pool_finding(stack_of({"pool": "10.212.0.0/24", "size": 28}, "0-14"), 1)
    assert full.severity == "warning" and "nearly full" in full.message and "by 1 instance" in full.message
    assert "networks: {pool:" in POOLS_FIX  # the no-pool warning says how to stop drawing from Docker's pools
