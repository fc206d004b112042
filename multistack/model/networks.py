"""The ``networks:`` section of stack.yaml: the address pool instances' networks are carved from (pure).

``networks: {pool: 10.212.0.0/16, size: 24, per_instance: 2}``. Without the
section every compose network draws from Docker's default address pools,
which hold about 31 bridge networks (172.17-31.0.0/16 and 192.168.0.0/16 in
/20s): the 31st instance then fails with compose's raw "could not find an
available, non-overlapping IPv4 address pool". With it, each instance's
networks get fixed subnets of ``size`` out of ``pool`` (:mod:`multistack.plan.subnets`)
and never touch Docker's pools. The default pool, 10.212.0.0/16, overlaps
neither Docker's defaults nor the usual home and office LANs (192.168.x,
10.0.x, 10.1.x).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from multistack.errors import StackError
from multistack.model.reader import Node

DEFAULT_POOL = "10.212.0.0/16"
DEFAULT_SIZE = 24
#: Docker's own default pools (libnetwork ipamutils): a declared pool inside them would fight Docker for them.
DOCKER_DEFAULT_POOLS = tuple(ipaddress.ip_network(f"172.{i}.0.0/16") for i in range(17, 32)) + (
    ipaddress.ip_network("192.168.0.0/16"),)


@dataclass(frozen=True)
class NetworkPool:
    """Where instances' networks get their subnets: ``size``-bit subnets of ``pool``, in order."""

    pool: ipaddress.IPv4Network
    size: int
    per_instance: int | None = None  # subnets kept for each instance; None: as many as its compose networks

    @property
    def capacity(self) -> int:
        """How many subnets the pool holds."""
        return 2 ** (self.size - self.pool.prefixlen)


def parse_networks(raw: Any, file: str, instances: range) -> NetworkPool | None:
    """Validate ``networks:`` (None: the section is absent, Docker's default pools are used).

    Refuses here what needs no compose file to see: a pool that is not an IPv4
    network, a size outside pool..30, a pool inside Docker's defaults, and a
    pool with fewer subnets than instances (or than instances x per_instance).
    The count of each instance's networks is checked when the override is
    rendered (:func:`multistack.plan.subnets.instance_subnets`).
    """
    if raw is None:
        return None
    node = Node(raw, "networks", file)
    text = node.string("pool", DEFAULT_POOL)
    try:
        pool = ipaddress.ip_network(str(text), strict=True)
    except ValueError as exc:
        node.fail(f"{text!r} is not a network address: {exc}", "pool", "write it as a CIDR, e.g. 10.212.0.0/16")
    if not isinstance(pool, ipaddress.IPv4Network):
        node.fail("must be an IPv4 network", "pool", "e.g. 10.212.0.0/16")
    size = node.integer("size", DEFAULT_SIZE, lo=pool.prefixlen, hi=30)
    per_instance = node.integer("per_instance", None, lo=1, hi=4096)
    node.done()
    for docker in DOCKER_DEFAULT_POOLS:
        if pool.overlaps(docker):
            node.fail(f"{pool} overlaps Docker's default address pool {docker}", "pool",
                      f"use a pool outside 172.17.0.0-172.31.255.255 and 192.168.0.0/16, e.g. {DEFAULT_POOL}")
    result = NetworkPool(pool, size, per_instance)
    check_capacity(result, len(instances), per_instance or 1, node)
    return result


def check_capacity(pool: NetworkPool, instances: int, per_instance: int, node: Node | None = None,
                   file: str = "stack.yaml", extra: int = 0) -> None:
    """The pool holds ``instances`` x ``per_instance`` subnets (+ ``extra``: the systems' members)."""
    needed = instances * per_instance + extra
    if needed <= pool.capacity:
        return
    bits = (needed - 1).bit_length()  # subnet bits that hold `needed` subnets
    prefix = max(pool.size - bits, 8)  # no IPv4 pool is bigger than a /8 here
    bigger = f"a /{prefix} holds {2 ** (pool.size - prefix)} /{pool.size}s"
    if pool.size - bits < 8:
        bigger = "even " + bigger.replace(" holds ", " holds only ")
    smaller = pool.pool.prefixlen + bits  # the subnet size at which this pool holds `needed`
    smaller_fix = f"smaller subnets (size: {smaller}), " if smaller <= 30 else ""  # a /30 is the smallest usable
    fix = f"give a bigger pool ({bigger}), {smaller_fix}or fewer instances"
    message = (f"pool {pool.pool} holds {pool.capacity} /{pool.size} subnet(s), but {instances} instance(s) x "
               f"{per_instance} network(s)" + (f" + {extra} for systems" if extra else "") + f" need {needed}")
    if node is not None:
        node.fail(message, "pool", fix)
    raise StackError(f"{file}: networks.pool: {message}", fix)
