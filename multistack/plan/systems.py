"""The plan of a system: every member's names, ports, forwards and peers, as data (pure).

:func:`multistack.act.systems.plan_system` builds it (it reads the system's
compose files); the files and pictures of a system are rendered from it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from multistack.model.stack import Stack
from multistack.model.systems import Member, System
from multistack.plan.gateway import Forward


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
