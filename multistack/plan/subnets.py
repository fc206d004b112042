"""Each instance's compose networks and their fixed subnets, and overlaps with the engine's (pure).

With ``networks:`` in stack.yaml (:class:`~multistack.model.networks.NetworkPool`)
instance N's k-th network gets subnet number ``(N - first) * per_instance + k``
of the pool, where the networks are ``default`` then the others by name.
The same stack.yaml and compose files give the same subnets on every machine
and every run, and two instances (or two networks) never share one. The
override declares them (``networks: <name>: ipam: config: [{subnet: ...}]``),
so compose never asks Docker's default pools, which hold about 31 networks.

A network compose does not create per instance is left alone: an external
one, one with a fixed ``name:`` (created once, shared by the instances), and
one whose ``ipam`` the user declared.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from multistack.errors import StackError
from multistack.model.compose_doc import ComposeDoc, base_networks, base_services
from multistack.model.networks import NetworkPool, check_capacity
from multistack.model.stack import Stack


@dataclass(frozen=True)
class EngineNetwork:
    """A network the engine has: its name, compose project (label) and subnets."""

    name: str
    project: str | None
    subnets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


@dataclass(frozen=True)
class Overlap:
    """One of the instance's subnets that an existing network already covers."""

    network: str  # the compose network of the instance (``default``)
    subnet: ipaddress.IPv4Network
    other: str  # the engine network in the way
    other_subnet: ipaddress.IPv4Network | ipaddress.IPv6Network

    def describe(self) -> str:
        return f"network {self.network} ({self.subnet}) overlaps existing network {self.other!r} ({self.other_subnet})"


def project_networks(docs: Sequence[ComposeDoc]) -> list[str]:
    """The networks compose creates for each instance, in the stable order subnets are given: default first.

    Compose creates only the networks a service is on (a service without
    ``networks:`` is on ``default``), so only those take a subnet.
    """
    declared = base_networks(docs)
    used = set().union(*(_networks_of(spec) for spec in base_services(docs).values()))
    names = ["default"] + sorted(name for name in declared if name != "default")
    return [name for name in names if name in used and _per_instance(declared.get(name, {}))]


def _networks_of(spec: Mapping[str, Any]) -> set[str]:
    if spec.get("network_mode"):
        return set()  # host, none, service:x, container:x: no network of the project
    nets = spec.get("networks")
    if isinstance(nets, (list, dict)):
        return {str(name) for name in nets}
    return {"default"}


def _per_instance(spec: Mapping[str, Any]) -> bool:
    """Compose creates this network for each project, and leaves its address to the pools."""
    return not (spec.get("external") or spec.get("name") or spec.get("ipam"))


def slots_per_instance(pool: NetworkPool, count: int, file: str = "stack.yaml") -> int:
    """Subnets kept for each instance: ``per_instance``, else as many as it has networks."""
    if pool.per_instance is None:
        return max(count, 1)
    if count > pool.per_instance:
        raise StackError(f"{file}: networks.per_instance: the compose files declare {count} network(s) per "
                         f"instance, more than the {pool.per_instance} kept",
                         f"set networks.per_instance to {count} or more (every instance's subnets move)")
    return pool.per_instance


def instance_subnets(stack: Stack, n: int, docs: Sequence[ComposeDoc]) -> dict[str, ipaddress.IPv4Network]:
    """Instance ``n``'s network -> its subnet ({} without ``networks:`` in stack.yaml).

    Refuses a pool too small for every instance of the range (one line, and the fix).
    """
    pool = stack.networks
    if pool is None or not stack.compose_files:
        return {}
    names = project_networks(docs)
    per = slots_per_instance(pool, len(names), stack.path.name)
    check_capacity(pool, len(stack.instance_range), per, file=stack.path.name, extra=systems_slots(stack))
    first = (n - stack.first) * per
    return {name: subnet_at(pool, first + k) for k, name in enumerate(names)}


def systems_slots(stack: Stack) -> int:
    """Subnets the systems' members take from the top of the pool: one each, for its project network."""
    return sum(len(system.members) for system in stack.systems.values())


def member_subnets(stack: Stack) -> dict[tuple[str, str], ipaddress.IPv4Network]:
    """(system, member) -> the subnet of the member's project network ({} without a pool).

    Counted down from the pool's last subnet, members in stack.yaml order, so
    they never meet the instances', which count up from its first
    (:func:`instance_subnets` refuses a pool too small for both). A system's
    shared network is created once by ``system.up`` and left to Docker's pools.
    """
    pool = stack.networks
    if pool is None:
        return {}
    check_capacity(pool, len(stack.instance_range), pool.per_instance or 1, file=stack.path.name,
                   extra=systems_slots(stack))
    members: dict[tuple[str, str], ipaddress.IPv4Network] = {}
    for system in stack.systems.values():
        for member in system.members:
            members[(system.name, member.name)] = subnet_at(pool, pool.capacity - 1 - len(members))
    return members


def subnet_at(pool: NetworkPool, index: int) -> ipaddress.IPv4Network:
    """Subnet number ``index`` of the pool (0 is the pool's first /size)."""
    if not 0 <= index < pool.capacity:
        raise StackError(f"subnet {index} is outside pool {pool.pool} ({pool.capacity} /{pool.size} subnets)",
                         "give a bigger pool under networks: in stack.yaml")
    step = 2 ** (32 - pool.size)
    return ipaddress.IPv4Network((int(pool.pool.network_address) + index * step, pool.size))


def parse_inspect(data: Any) -> list[EngineNetwork]:
    """Networks from ``docker network inspect``'s JSON (a list of objects); anything else is skipped."""
    out = []
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict):
            continue
        labels = item.get("Labels") or {}
        configs = (item.get("IPAM") or {}).get("Config") or []
        subnets = []
        for config in configs if isinstance(configs, list) else []:
            try:
                subnets.append(ipaddress.ip_network(str((config or {}).get("Subnet")), strict=False))
            except ValueError:
                continue
        project = labels.get("com.docker.compose.project") if isinstance(labels, dict) else None
        out.append(EngineNetwork(str(item.get("Name", "")), project, tuple(subnets)))
    return out


def overlaps(project_name: str, subnets: Mapping[str, ipaddress.IPv4Network],
             existing: Iterable[EngineNetwork]) -> list[Overlap]:
    """Each subnet of the instance that another network covers; the instance's own networks are fine."""
    found = []
    for net in existing:
        if net.project == project_name or net.name.startswith(f"{project_name}_"):
            continue  # its own network, from an earlier start
        for name, subnet in subnets.items():
            for other in net.subnets:
                if other.version == subnet.version and other.overlaps(subnet):
                    found.append(Overlap(name, subnet, net.name, other))
    return found
