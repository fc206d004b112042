"""The start preflight of an instance's subnets: none may overlap a network the engine already has.

Docker refuses a network whose subnet overlaps another ("Pool overlaps with
other one on this address space") only after compose has started creating
the project; asked first, the refusal names the network in the way and
nothing is started. Without ``networks:`` in stack.yaml there is nothing to
check (Docker picks free subnets itself).
"""
from __future__ import annotations

from ipaddress import IPv4Network
from typing import Mapping, Sequence

from invoke import Context

from multistack.errors import ConflictError
from multistack.io.networks import engine_networks
from multistack.io.shell import for_real
from multistack.model.compose_doc import ComposeDoc
from multistack.plan.compose import DockerCli
from multistack.plan.instance import Instance
from multistack.plan.subnets import Overlap, instance_subnets, overlaps, parse_inspect


def check_subnets(c: Context, inst: Instance, docs: Sequence[ComposeDoc], docker: str = "docker") -> None:
    """Refuse (exit 4) when another network covers one of the instance's subnets (``--dry``: skipped)."""
    subnets = instance_subnets(inst.stack, inst.n, docs)
    if not subnets or inst.mode == "shared":  # shared: the instance creates no network of its own
        return
    for_real(c, lambda: _check(c, inst, subnets, DockerCli.on(inst.engine, docker).args()))


def _check(c: Context, inst: Instance, subnets: Mapping[str, IPv4Network], docker: Sequence[str]) -> None:
    found = engine_overlaps(c, inst, subnets, docker)
    if found:
        first = found[0]
        raise ConflictError(f"instance {inst.n} cannot start: " + "; ".join(o.describe() for o in found),
                            f"remove it (`docker network rm {first.other}`) if unused, or give this stack "
                            f"another pool under networks: in {inst.stack.path.name}")


def engine_overlaps(c: Context, inst: Instance, subnets: Mapping[str, IPv4Network],
                    docker: Sequence[str]) -> list[Overlap]:
    """The instance's subnets that networks of its engine cover (two docker processes; [] if it did not answer)."""
    data = engine_networks(c, docker)
    if data is None:
        return []  # the engine did not answer: compose up says so, in its own words
    return overlaps(inst.project_name, subnets, parse_inspect(data))
