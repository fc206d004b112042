"""The names an instance uses in shared brokers and stores, and the check of them all (pure).

The rules (the namespace charset, uniqueness, the Kafka topic clash) are in
:mod:`multistack.model.namespaces`; here they are applied to a planned
instance (:func:`derived_names`) and to every instance and system member the
stack can run (:func:`check_stack`). :func:`instance_names` computes an
instance's namespace and database name in the first place.
"""
from __future__ import annotations

from typing import Protocol

from multistack.errors import StackError
from multistack.model.namespaces import (
    NAME_SCHEME,
    check_database,
    check_namespace,
    check_unique,
    selector_key,
)
from multistack.model.stack import Stack


class Named(Protocol):
    """What the derived names need of a planned instance (:class:`multistack.plan.instance.Instance`)."""

    @property
    def stack(self) -> Stack: ...

    @property
    def namespace(self) -> str: ...

    @property
    def database(self) -> str: ...


def derived_names(inst: Named) -> dict[str, str]:
    """Every name instance ``inst`` uses in shared brokers and stores, by the one scheme.

    MQTT names are subscription filters: ``+`` is the ``<device>`` level and
    ``#`` the ``...`` below ``tags``. A selector adds one level after the
    namespace for one service: ``<ns>/<selector>/#``.
    """
    ns = inst.namespace
    names = {
        "temporal_namespace": ns,
        "temporal_task_queue": ns,
        "redis_prefix": f"{ns}:",
        "redis_write_queue": f"{ns}:writes",
        "kafka_topic": ns,
        "kafka_health_topic": f"{ns}.health",
        "kafka_writes_topic": f"{ns}-writes",
        "kafka_write_responses_topic": f"{ns}-write-responses",
        "mqtt_tags_topic": f"{ns}/+/tags/#",
        "mqtt_write_topic": f"{ns}/+/write",
        "database": inst.database,
        "bucket": ns,
    }
    for service, selector in inst.stack.namespaces.selectors.items():
        names[selector_key(service)] = f"{ns}/{selector}/#"
    return names


def names_rows(inst: Named) -> list[list[str]]:
    """``[used by, template name, value]`` rows for the ``info`` table."""
    rows = []
    for key, value in derived_names(inst).items():
        system, _label = NAME_SCHEME.get(key, ("mqtt", "selector"))
        rows.append([system, f"names.{key}", value])
    return rows


def system_member_namespaces(stack: Stack) -> list[tuple[str, str]]:
    """``(owner, namespace)`` for system members that declare a namespace in stack.yaml."""
    pairs: list[tuple[str, str]] = []
    for system in stack.systems.values():
        for member in system.members:
            if member.namespace is not None and "{" not in member.namespace:
                owner = (f"member {member.callsign} of system {system.name} "
                         f"(systems.{system.name}.members.{member.callsign}.namespace)")
                where = f"{stack.path.name}: systems.{system.name}.members.{member.callsign}"
                pairs.append((owner, check_namespace(member.namespace, where)))
    return pairs


def check_stack(stack: Stack) -> dict[int, str]:
    """Every namespace and database name the stack can run is safe and unique.

    Returns instance number -> namespace. Costs one name computation per
    instance in range; run before anything is created or torn down.
    """
    overrides = stack.namespaces.overrides
    pairs: list[tuple[str, str]] = []
    databases: dict[str, str] = {}
    result: dict[int, str] = {}
    for n in stack.instance_range:
        ns, database = instance_names(stack, n)
        origin = (f"namespaces.instances.{n}" if n in overrides
                  else "namespace template" if stack.namespace else "default <project>-dev-N")
        owner = f"instance {n} ({origin})"
        check_namespace(ns, f"{stack.path.name}: instance {n} ({origin})")
        check_database(database, f"{stack.path.name}: instance {n}")
        if database in databases:
            raise StackError(f"database {database!r} is used by {databases[database]} and by instance {n}",
                             "make the `database:` template depend on {{ n }}")
        databases[database] = f"instance {n}"
        pairs.append((owner, ns))
        result[n] = ns
    check_unique([*pairs, *system_member_namespaces(stack)])
    return result


def instance_names(stack: Stack, n: int) -> tuple[str, str]:
    """Namespace and database name of instance ``n`` (not validated: see :func:`check_stack`).

    The defaults are plain string formatting so that read commands never import
    jinja2; a template in stack.yaml is rendered strictly. The default
    namespace uses ``-`` where the project has ``_`` and the default database
    ``_`` where it has ``-``: each is then safe where it is used.
    """
    namespace = f"{stack.project.replace('_', '-')}-dev-{n}"
    database = f"{stack.project.replace('-', '_')}_instance_{n}"
    base = {"n": n, "instance": n, "project": stack.project, "project_name": stack.compose_project(n)}
    override = stack.namespaces.overrides.get(n)
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
