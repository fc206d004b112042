"""The plan of one instance: its number, names, namespace and ports (pure).

Everything a template, an env file or a command needs to know about instance
N is computed here once, from the validated :class:`~multistack.stack.Stack`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from multistack.errors import StackError
from multistack.model.namespaces import derived_names
from multistack.plan.ports import instance_ports
from multistack.model.stack import Stack

if TYPE_CHECKING:
    from multistack.model.engines import Engine

_CANONICAL_INT = re.compile(r"^(0|[1-9][0-9]*)$")


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
        """PM2 names are global to a daemon (pm2#4658): suffix the instance."""
        return f"{app}-{self.n}"

    @property
    def app_names(self) -> list[str]:
        return [self.app_name(a.name) for a in self.stack.apps]

    @property
    def engine(self) -> Engine:
        """The Docker engine its containers run on (multistack.placement); its PM2 apps run here."""
        from multistack.model.engines import engine_for

        return engine_for(self.stack, self.n)

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


def parse_instance_number(text: str | int, stack: Stack) -> int:
    """Validate an instance number given by a user (``05`` and ``abc`` are refused)."""
    lo, hi = stack.first, stack.last
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    elif isinstance(text, str) and _CANONICAL_INT.match(text.strip()):
        value = int(text.strip())
    elif isinstance(text, str) and text.strip().isdigit():
        raise StackError(f"instance {text!r} has a leading zero", f"write it as {int(text)}")
    else:
        raise StackError(f"instance {text!r} is not a number",
                         f"give a whole number {lo}-{hi} without leading zeros, e.g. `inv dev {lo} start`")
    if not lo <= value <= hi:
        raise StackError(f"instance {value} is out of range {lo}-{hi}",
                         f"use {lo}-{hi}, or widen `instances:` in {stack.path.name}")
    return value


def plan_instance(stack: Stack, n: int, mode: str | None = None) -> Instance:
    """The instance's ports, namespace and database name.

    ``mode`` None means the instance's own (``inv dev N start --shared`` is
    remembered) else the stack's ``mode:``. In shared mode the compose
    services' ports are the shared infra's (their base ports).
    """
    from multistack.act.shared import resolve_mode

    namespace, database = instance_names(stack, n)
    mode = resolve_mode(stack, n, mode)
    ports = instance_ports(stack, n)
    if mode == "shared":
        ports.update({svc.name: svc.port for svc in stack.services if svc.compose})
    return Instance(stack, n, ports, namespace, database, mode)


def instance_names(stack: Stack, n: int) -> tuple[str, str]:
    """Namespace and database name of instance ``n`` (not validated: see multistack.namespaces).

    The defaults are plain string formatting so that read commands never import
    jinja2; a template in stack.yaml is rendered strictly. The default
    namespace uses ``-`` where the project has ``_`` and the default database
    ``_`` where it has ``-``: each is then safe where it is used.
    """
    from multistack.model.namespaces import instance_overrides

    namespace = f"{stack.project.replace('_', '-')}-dev-{n}"
    database = f"{stack.project.replace('-', '_')}_instance_{n}"
    base = {"n": n, "instance": n, "project": stack.project, "project_name": stack.compose_project(n)}
    override = instance_overrides(stack).get(n) if "namespaces" in stack.sections else None
    if override:
        namespace = override
    elif stack.namespace:
        from multistack.plan.templating import render_string

        namespace = render_string(stack.namespace, base, where=f"{stack.path.name}: namespace")
    if stack.database:
        from multistack.plan.templating import render_string

        database = render_string(stack.database, {**base, "namespace": namespace},
                                 where=f"{stack.path.name}: database")
    return namespace, database
