"""The plan of one instance: its number, names, namespace and ports (pure).

Everything a template, an env file or a command needs to know about instance
N is computed here once, from the validated :class:`~multistack.stack.Stack`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from multistack.model.engines import Engine
from multistack.model.stack import Stack
from multistack.plan.namespaces import derived_names, instance_names
from multistack.plan.ports import instance_ports


@dataclass(frozen=True)
class Instance:
    stack: Stack
    n: int
    ports: dict[str, int]
    namespace: str
    database: str
    mode: str = "isolated"  # or "shared": infra runs once, see multistack.provision

    @property
    def project_name(self) -> str:
        """The compose project name, passed with ``-p`` on every call."""
        return self.stack.compose_project(self.n)

    @property
    def dir(self) -> Path:
        return self.stack.instance_dir(self.n)

    def app_name(self, app: str) -> str:
        """PM2 names are global to one daemon, across stacks (pm2#4658): project, app and instance
        (``pm2.app_name``, default ``<project>-<app>-<N>``; multistack.model.appnames)."""
        return self.stack.app_name(app, self.n)

    @property
    def app_names(self) -> list[str]:
        return [self.app_name(a.name) for a in self.stack.apps]

    @property
    def engine(self) -> Engine:
        """The Docker engine its containers run on (``engines:``); its PM2 apps run here."""
        return self.stack.engine_for(self.n)

    def variables(self) -> dict[str, Any]:
        """The names templates may use: ``{{ n }}``, ``{{ ports.backend }}``..."""
        ns = self.namespace
        engine = self.engine
        return {
            "n": self.n,
            "instance": self.n,
            "project": self.stack.project,
            "project_name": self.project_name,
            "namespace": ns,
            "ports": dict(self.ports),
            "host_ip": engine.host_ip,
            "host": engine.host,  # where the instance's containers are reached: localhost, or a remote engine's host
            "engine": engine.name,
            "temporal_namespace": ns,
            "task_queue": ns,
            "redis_prefix": f"{ns}:",
            "database": self.database,
            "instance_dir": str(self.dir),
            "root": str(self.stack.root),
            "mode": self.mode,
            "names": derived_names(self),
        }


def plan_instance(stack: Stack, n: int, mode: str | None = None) -> Instance:
    """The instance's ports, namespace and database name (pure: reads no file).

    ``mode`` is the instance's resolved mode; None means the stack's ``mode:``.
    The mode ``start --shared`` remembers in the instance's folder is read by
    the act layer (:func:`multistack.act.shared.instance_plan`), which passes it
    in. In shared mode the compose services' ports are the shared infra's (their
    base ports).
    """
    namespace, database = instance_names(stack, n)
    mode = mode or stack.mode
    ports = instance_ports(stack, n)
    if mode == "shared":
        ports.update({svc.name: svc.port for svc in stack.services if svc.compose})
    return Instance(stack, n, ports, namespace, database, mode)
