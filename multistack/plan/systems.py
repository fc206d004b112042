"""The plan of a system: every member's names, ports, forwards and peers, as data (pure).

:func:`multistack.act.systems.plan_system` builds it (it reads the system's
compose files); the files and pictures of a system are rendered from it.

What needs no compose file is planned here from the stack alone, for every
system at once, so that names that must be unique across systems are checked
together: the members' namespaces (:func:`member_namespaces`, part of the
namespace check of every command) and their data volumes' docker names
(:func:`volume_names`, :func:`check_volume_names`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from multistack.errors import StackError
from multistack.model.stack import Stack
from multistack.model.systems import Member, System, member_project
from multistack.plan.gateway import Forward

#: Docker's rule for volume names.
VOLUME_NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
#: The engine keeps a volume in a folder of its name (/var/lib/docker/volumes/NAME): one file name.
VOLUME_NAME_MAX = 255


@dataclass(frozen=True)
class MemberPlan:
    member: Member
    index: int
    project_name: str
    dir: Path
    ports: dict[str, int]  # host ports
    container_ports: dict[str, int]
    forwards: tuple[Forward, ...]
    peers: tuple[str, ...]  # member names, along the links
    project_network_name: str  # the docker name of the member's own network
    services: tuple[str, ...]  # the services of the compose files
    volume_names: Mapping[str, str] = field(default_factory=dict)  # volume -> its docker name

    @property
    def name(self) -> str:
        return self.member.name

    @property
    def callsign(self) -> str:
        return self.member.callsign


@dataclass(frozen=True)
class SystemPlan:
    stack: Stack
    system: System
    dir: Path
    members: tuple[MemberPlan, ...]
    base: Mapping[str, Mapping[str, Any]]  # the compose files' services, merged by name

    @property
    def links(self) -> tuple[tuple[str, str], ...]:
        return self.system.topology.links

    @property
    def hub(self) -> str | None:
        return self.system.topology.hub

    def member(self, name: str) -> MemberPlan:
        wanted = self.system.member(name).name
        return next(mp for mp in self.members if mp.name == wanted)


def member_basics(stack: Stack, system: System, member: Member) -> dict[str, Any]:
    """A member's template values that need no compose file (namespaces, volume names)."""
    index = system.members.index(member)
    ports = {p.name: p.port + member.slot * system.stride for p in system.ports}
    return {"name": member.name, "callsign": member.callsign, "slot": member.slot, "index": index,
            "node_id": index + 1, "system": system.name, "project": stack.project,
            "project_name": member_project(stack.project, system.name, member.name),
            "ports": ports, "container_ports": {p.name: p.container_port or ports[p.name] for p in system.ports},
            "vars": {**system.vars, **member.vars}}


def member_namespace(stack: Stack, system: System, member: Member) -> str | None:
    """The member's ``namespace:``, rendered (``acme-{{ name }}``) and checked; None when it declares none."""
    from multistack.model.namespaces import check_namespace
    from multistack.plan.templating import render_string

    if member.namespace is None:
        return None
    where = f"{stack.path.name}: systems.{system.name}.members.{member.callsign}"
    text = render_string(member.namespace, member_basics(stack, system, member), where=f"{where}.namespace")
    return check_namespace(text, where)


def member_namespaces(stack: Stack) -> list[tuple[str, str]]:
    """``(owner, namespace)`` of every system member that declares one, for the stack's uniqueness check."""
    pairs = []
    for system in stack.systems.values():
        for member in system.members:
            namespace = member_namespace(stack, system, member)
            if namespace is not None:
                pairs.append((f"member {member.callsign} of system {system.name} "
                              f"(systems.{system.name}.members.{member.callsign}.namespace)", namespace))
    return pairs


def volume_names(stack: Stack, system: System, member: Member) -> dict[str, str]:
    """Each data volume's docker name: its ``name:`` template rendered, else compose's ``<project>_<volume>``."""
    from multistack.plan.templating import render_string

    project = member_project(stack.project, system.name, member.name)
    names = {}
    for volume in system.volumes:
        if volume.docker_name is None:
            names[volume.name] = f"{project}_{volume.name}"
            continue
        where = f"{stack.path.name}: systems.{system.name}.volumes.{volume.name}.name"
        text = render_string(volume.docker_name, member_basics(stack, system, member), where=where)
        if not VOLUME_NAME_RE.fullmatch(text) or len(text) > VOLUME_NAME_MAX:
            raise StackError(f"{where}: {text!r} (member {member.callsign}) is not a valid docker volume name",
                             f"at most {VOLUME_NAME_MAX} letters, digits, _, . and -, starting with a letter or digit")
        names[volume.name] = text
    return names


def check_volume_names(stack: Stack) -> None:
    """No two volumes of any members of any systems get one docker name (they would share their data)."""
    owners: dict[str, str] = {}
    for system in stack.systems.values():
        for member in system.members:
            for volume, name in volume_names(stack, system, member).items():
                owner = f"volume {volume} of member {member.callsign} of system {system.name}"
                if name in owners:
                    raise StackError(f"{stack.path.name}: systems.{system.name}.volumes.{volume}: docker volume "
                                     f"{name!r} would be both {owners[name]} and {owner}",
                                     "make the name: template differ per member, e.g. with {{ name }}")
                owners[name] = owner
