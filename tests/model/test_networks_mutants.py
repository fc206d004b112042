"""The ``networks:`` section (model/networks.py): the exact line a user reads for each refusal, and the
capacity check at its edges (found by mutation testing, issue 11).

A refusal names the file and the key (``conf/stack.yaml: networks.pool: ...``) and gives the fix;
the fix for a pool too small gives sizes that really hold what is needed.
"""
from __future__ import annotations

import ipaddress

import pytest

from multistack.errors import StackError
from multistack.model.networks import NetworkPool, check_capacity, parse_networks

FILE = "conf/stack.yaml"


def refused(raw: object, instances: range = range(0, 10)) -> str:
    with pytest.raises(StackError) as info:
        parse_networks(raw, FILE, instances)
    return info.value.line()


def pool(cidr: str, size: int) -> NetworkPool:
    return NetworkPool(ipaddress.ip_network(cidr), size)


def capacity_error(cidr: str, size: int, instances: int, per_instance: int = 1, extra: int = 0) -> StackError:
    with pytest.raises(StackError) as info:
        check_capacity(pool(cidr, size), instances, per_instance, extra=extra)
    return info.value


def test_a_pool_that_is_not_an_address_names_the_file_the_key_and_the_form():
    assert refused({"pool": "nonsense"}) == (
        "error: conf/stack.yaml: networks.pool: 'nonsense' is not a network address: 'nonsense' does not appear "
        "to be an IPv4 or IPv6 network (fix: write it as a CIDR, e.g. 10.212.0.0/16)")


def test_an_ipv6_pool_is_refused_with_an_ipv4_example():
    assert refused({"pool": "fd00::/64"}) == (
        "error: conf/stack.yaml: networks.pool: must be an IPv4 network (fix: e.g. 10.212.0.0/16)")


def test_a_pool_inside_dockers_defaults_says_which_ranges_to_avoid():
    assert refused({"pool": "172.20.0.0/16"}) == (
        "error: conf/stack.yaml: networks.pool: 172.20.0.0/16 overlaps Docker's default address pool 172.20.0.0/16 "
        "(fix: use a pool outside 172.17.0.0-172.31.255.255 and 192.168.0.0/16, e.g. 10.212.0.0/16)")


def test_a_pool_too_small_for_the_range_is_refused_on_load_naming_the_file():
    assert refused({"pool": "10.212.0.0/24", "size": 28}, range(0, 100)).startswith(
        "error: conf/stack.yaml: networks.pool: pool 10.212.0.0/24 holds 16 /28 subnet(s), but 100 instance(s) x "
        "1 network(s) need 100 (fix: give a bigger pool (a /21 holds 128 /28s), ")


@pytest.mark.parametrize("value", [0, 4097])
def test_per_instance_is_one_to_4096(value):
    assert refused({"per_instance": value}) == (
        f"error: conf/stack.yaml: networks.per_instance: must be 1-4096, got {value}")


@pytest.mark.parametrize("value", [1, 4096])
def test_per_instance_edges_are_kept(value):
    parsed = parse_networks({"pool": "10.0.0.0/8", "size": 30, "per_instance": value}, FILE, range(0, 10))
    assert parsed is not None and parsed.per_instance == value


def test_a_pool_exactly_full_is_accepted():
    check_capacity(pool("10.212.0.0/16", 24), 256, 1)
    check_capacity(pool("10.212.0.0/16", 24), 200, 1, extra=56)  # the systems' members fill it exactly
    check_capacity(pool("10.212.0.0/16", 24), 128, 2)


def test_without_a_file_the_refusal_names_stack_yaml_and_leaves_out_systems_when_there_are_none():
    error = capacity_error("10.212.0.0/16", 24, 257)
    assert error.message == ("stack.yaml: networks.pool: pool 10.212.0.0/16 holds 256 /24 subnet(s), but 257 "
                             "instance(s) x 1 network(s) need 257")
    assert capacity_error("10.212.0.0/16", 24, 250, extra=7).message.endswith(
        "250 instance(s) x 1 network(s) + 7 for systems need 257")


@pytest.mark.parametrize("cidr, needed, hint", [
    # one more than a power of two needs one more bit; exactly a power of two does not
    ("10.212.0.0/16", 257, "give a bigger pool (a /15 holds 512 /24s), smaller subnets (size: 25), or fewer instances"),
    ("10.212.0.0/17", 256, "give a bigger pool (a /16 holds 256 /24s), smaller subnets (size: 25), or fewer instances"),
])
def test_the_fix_gives_the_smallest_pool_and_size_that_hold_what_is_needed(cidr, needed, hint):
    assert capacity_error(cidr, 24, needed).hint == hint


def test_the_fix_never_suggests_a_size_stack_yaml_would_refuse():
    hint = capacity_error("10.212.0.0/24", 28, 100).hint or ""
    assert "size: 3" not in hint  # networks.size is at most 30 (a /24 holds 64 /30s): no size would do


def test_the_bigger_pool_suggested_really_holds_what_it_says():
    hint = capacity_error("10.0.0.0/8", 9, 3).hint or ""
    assert "a /8 holds 4 /9s" not in hint
    assert "even a /8 holds only 2 /9s" in hint


def test_smaller_subnets_are_suggested_only_where_the_pool_can_hold_them():
    # A /24 holds 64 /30s at most: 100 subnets cannot come from smaller subnets, only from a bigger pool.
    hint = capacity_error("10.0.0.0/24", 28, 100).hint or ""
    assert "smaller subnets" not in hint and "bigger pool" in hint
    assert "smaller subnets (size: 29)" in (capacity_error("10.0.0.0/22", 28, 100).hint or "")


def test_a_pool_one_step_below_a_slash_8_is_told_a_slash_8_is_enough():
    # 200 /16s need 8 more bits: a /8, which holds 256 of them (no "even ... only": it is enough)
    assert capacity_error("10.0.0.0/9", 16, 200).hint == (
        "give a bigger pool (a /8 holds 256 /16s), smaller subnets (size: 17), or fewer instances")


def test_a_slash_30_is_still_suggested_as_the_smallest_subnet():
    assert capacity_error("10.0.0.0/24", 28, 64).hint == (
        "give a bigger pool (a /22 holds 64 /28s), smaller subnets (size: 30), or fewer instances")


def test_without_a_usable_smaller_size_the_fix_names_only_a_bigger_pool_or_fewer_instances():
    assert capacity_error("10.0.0.0/24", 28, 100).hint == (
        "give a bigger pool (a /21 holds 128 /28s), or fewer instances")
