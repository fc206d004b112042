"""The names an instance uses in shared brokers and stores, and the check of them all (pure).

The rules (the namespace charset, uniqueness, the Kafka topic clash) are in
:mod:`multistack.model.namespaces`, the name schemes (built-in, a preset's,
the stack's own ``namespaces.schemes``) in :mod:`multistack.model.namescheme`;
here they are applied to a planned instance (:func:`derived_names`,
:func:`name_table`) and to every instance and system member the stack can run
(:func:`check_stack`, :func:`check_names`). :func:`instance_names` computes an
instance's namespace and database name in the first place.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from itertools import product
from typing import Any, Mapping, NamedTuple, Protocol

from multistack.errors import StackError
from multistack.model.namepresets import built_in_schemes
from multistack.model.namescheme import (
    INSTANCE_PLACEHOLDERS,
    SELECTOR,
    SYSTEMS,
    WILD,
    Group,
    Scheme,
    System,
    display,
    names_meet,
)
from multistack.model.namespaces import check_database, check_namespace, check_unique, selector_keys
from multistack.model.stack import Stack


class Named(Protocol):
    """What the derived names need of a planned instance (:class:`multistack.plan.instance.Instance`)."""

    @property
    def stack(self) -> Stack: ...

    @property
    def n(self) -> int: ...

    @property
    def namespace(self) -> str: ...

    @property
    def database(self) -> str: ...


class Variant(NamedTuple):
    """One ``names.<key>`` of a scheme: without a selector, or with one service's."""

    key: str
    service: str | None
    selector: str | None


def variants(scheme: Scheme, selectors: Mapping[str, str]) -> list[Variant]:
    """The keys a scheme gives: its own (unless its ``{selector}`` is required), one per selector."""
    found = [] if scheme.template.selector == "required" else [Variant(scheme.key, None, None)]
    found += [Variant(key, service, selectors[service]) for key, service in selector_keys(scheme, selectors).items()]
    return found


def placeholder_values(stack: Stack, n: int, namespace: str, database: str) -> dict[str, str]:
    """What an instance fills a template's own placeholders with."""
    return {"namespace": namespace, "database": database, "n": str(n), "project": stack.project}


def _render(scheme: Scheme, base: dict[str, str], variant: Variant, entity: dict[str, str] | None = None) -> str:
    """The name as a person writes it; open entities are wildcards (``+`` in MQTT, ``*`` elsewhere)."""
    values = {**base, **{e: WILD for e in scheme.template.entities}, **(entity or {})}
    if variant.selector is not None:
        values[SELECTOR] = variant.selector
    return display(scheme.system, scheme.template.render(values))


def all_schemes(stack: Stack) -> tuple[Scheme, ...]:
    """The built-in names, then the ones the stack declares (``namespaces: {preset:, schemes:}``)."""
    return (*built_in_schemes(), *stack.namespaces.schemes)


def derived_names(inst: Named) -> dict[str, str]:
    """Every name instance ``inst`` uses in shared brokers and stores: ``names.<key>`` -> name.

    The built-in ones (MQTT names are subscription filters: ``+`` is the
    ``<device>`` level and ``#`` the ``...`` below ``tags``; a selector adds
    one level after the namespace for one service: ``<ns>/<selector>/#``),
    then the declared schemes, an open entity (``{plc}``) as a wildcard.
    """
    return _names(inst, all_schemes(inst.stack))


def declared_names(inst: Named) -> dict[str, str]:
    """Only the declared schemes' names: what ``instance.env`` lists as ``MULTISTACK_NAME_<KEY>``."""
    return _names(inst, inst.stack.namespaces.schemes)


def _names(inst: Named, schemes: tuple[Scheme, ...]) -> dict[str, str]:
    base = placeholder_values(inst.stack, inst.n, inst.namespace, inst.database)
    selectors = inst.stack.namespaces.selectors
    return {v.key: _render(scheme, base, v) for scheme in schemes for v in variants(scheme, selectors)}


def names_rows(inst: Named) -> list[list[str]]:
    """``[used by, template name, value]`` rows for the ``info`` table."""
    labels = {v.key: s.label for s in all_schemes(inst.stack) for v in variants(s, inst.stack.namespaces.selectors)}
    return [[labels[key], f"names.{key}", value] for key, value in derived_names(inst).items()]


def name_table(inst: Named) -> list[dict[str, Any]]:
    """Every declared name, per selector and per listed entity (``namespaces.entities``).

    One row per distinct name: ``{key, system, purpose, template, selector,
    service, entity, name}``. A scheme without entities gives one row per
    selector; an entity a row leaves out stays a wildcard.
    """
    stack = inst.stack
    base = placeholder_values(stack, inst.n, inst.namespace, inst.database)
    rows: list[dict[str, Any]] = []
    for scheme in stack.namespaces.schemes:
        for variant in variants(scheme, stack.namespaces.selectors):
            seen: set[str] = set()
            for entity in _bindings(scheme, stack.namespaces.entities):
                name = _render(scheme, base, variant, entity)
                if name in seen:
                    continue
                seen.add(name)
                rows.append({"key": variant.key, "system": scheme.system.name, "purpose": scheme.purpose,
                             "template": scheme.template.source, "selector": variant.selector,
                             "service": variant.service, "entity": entity, "name": name})
    return rows


def _bindings(scheme: Scheme, entities: tuple[tuple[tuple[str, str], ...], ...]) -> list[dict[str, str]]:
    """The listed entities restricted to the scheme's placeholders ([{}] when it has none or none are listed)."""
    wanted = scheme.template.entities
    found = [{k: v for k, v in binding if k in wanted} for binding in entities]
    return [b for b in found if b] or [{}]


def table_rows(inst: Named) -> list[list[str]]:
    """``[used by, purpose, selector, entity, name]`` rows of the declared names, for ``info``."""
    return [[SYSTEMS[row["system"]].label, row["purpose"], row["selector"] or "-",
             ", ".join(f"{k}={v}" for k, v in row["entity"].items()) or "-", row["name"]]
            for row in name_table(inst)]


# --------------------------------------------------------------------------
# The check across instances


class Entry(NamedTuple):
    """One form of one name of one instance, as the uniqueness check compares it."""

    form: str  # rendered, wildcards as WILD (MQTT: + and # too)
    prefix: bool
    open: bool  # holds a wildcard or is a prefix: compared by pattern, not only by equality
    key: str
    n: int


#: Instance number -> the values its names are filled with.
Filled = list[tuple[int, dict[str, str]]]
#: A system's shapes: (scheme, names.<key>, shape).
Shapes = list[tuple[Scheme, str, "Shape"]]


class Shape(NamedTuple):
    """A form of a scheme before the instance fills it in (a format string over its placeholders)."""

    text: str
    open: bool
    #: Starts with the namespace, then a character no namespace has (or nothing): two anchored names
    #: of different instances never meet, since namespaces are unique.
    anchored: bool


def name_shapes(scheme: Scheme, variant: Variant) -> list[Shape]:
    """Every shape the name can take: each optional part without a selector in it kept and dropped.

    Entities are wildcards. Computed once per scheme, filled in per instance.
    """
    pieces = [p for p in scheme.template.pieces if isinstance(p, Group)]
    with_selector = [any(q.placeholder and q.text == SELECTOR for q in g.parts) for g in pieces]
    choices = [(variant.selector is not None,) if sel else (False, True) for sel in with_selector]
    values = {**{p: "{%s}" % p for p in INSTANCE_PLACEHOLDERS}, **{e: WILD for e in scheme.template.entities}}
    if variant.selector is not None:
        values[SELECTOR] = variant.selector
    shapes = []
    for picks in product(*choices):
        text = scheme.template.render(values, keep=frozenset(i for i, keep in enumerate(picks) if keep))
        wild = WILD in text or (scheme.system.name == "mqtt" and bool(set(text) & set("+#")))
        rest = text[len("{namespace}"):] if text.startswith("{namespace}") else None
        anchored = rest is not None and (rest == "" or _NAMESPACE_CHAR.fullmatch(rest[0]) is None)
        shapes.append(Shape(text, wild or scheme.prefix, anchored))
    return shapes


_NAMESPACE_CHAR = re.compile(r"[a-z0-9{-]")
_MQTT_WILD = re.compile(f"[{WILD}+#]")


def _head(system: System, form: str) -> str:
    """The literal text every name ``form`` stands for starts with."""
    if system.name != "mqtt":
        return form.split(WILD, 1)[0]
    found = _MQTT_WILD.search(form)
    head = form if found is None else form[:found.start()]
    if found is not None and found.group() == "#" and head.endswith("/"):
        head = head[:-1]  # `a/#` also matches `a`
    return head


def check_names(stack: Stack, instances: dict[int, tuple[str, str]]) -> None:
    """No name of one instance may be, or (MQTT filters, patterns) overlap, a name of another.

    ``instances``: number -> (namespace, database). Every built-in and
    declared scheme, every selector, every optional part kept and dropped.
    Two *anchored* names (``<namespace>`` then a character no namespace has)
    of different instances never meet, namespaces being unique: a system
    whose names are all anchored needs no comparison at all. Otherwise equal
    names are found by a dict, and a name with a wildcard is compared with
    the names that could meet it (:func:`_check_open`).
    """
    values = [(n, placeholder_values(stack, n, ns, database)) for n, (ns, database) in instances.items()]
    shapes: dict[str, Shapes] = {}
    for scheme in all_schemes(stack):
        for variant in variants(scheme, stack.namespaces.selectors):
            shapes.setdefault(scheme.system.name, []).extend(
                (scheme, variant.key, shape) for shape in name_shapes(scheme, variant))
    for found in shapes.values():
        system = found[0][0].system
        if all(shape.anchored for _, _, shape in found):
            if system.max_length:
                _check_lengths(system, found, values)
            continue
        _check_system(system, found, values)


def _check_lengths(system: System, found: Shapes, values: Filled) -> None:
    for _, key, shape in found:
        for n, base in values:
            form = shape.text.format_map(base)
            if len(form) > system.max_length:
                _too_long(system, form, key, n)


def _check_system(system: System, found: Shapes, values: Filled) -> None:
    exact: dict[str, tuple[int, str]] = {}
    anchored_open: list[Entry] = []
    free_open: list[Entry] = []
    free_exact: list[tuple[str, int, str]] = []
    for scheme, key, shape in found:
        for n, base in values:
            form = shape.text.format_map(base)
            if system.max_length and len(form) > system.max_length:
                _too_long(system, form, key, n)
            if shape.open:
                (anchored_open if shape.anchored else free_open).append(Entry(form, scheme.prefix, True, key, n))
                continue
            owner = exact.setdefault(form, (n, key))  # equal names: a dict
            if owner[0] != n:
                _clash(system, Entry(form, False, False, owner[1], owner[0]), Entry(form, False, False, key, n))
            if not shape.anchored:
                free_exact.append((form, n, key))
    if anchored_open or free_open:  # else the dict has compared all there is to compare
        free = [*(Entry(form, False, False, key, n) for form, n, key in free_exact), *free_open]
        _check_open(system, exact, anchored_open, free)


def _check_open(system: System, exact: dict[str, tuple[int, str]], anchored_open: list[Entry],
                free: list[Entry]) -> None:
    """Names with wildcards: anchored ones against the free ones; free ones against all they could meet."""
    for entry in anchored_open:
        for other in free:
            if other.n != entry.n and names_meet(system, entry.form, other.form, entry.prefix, other.prefix):
                _clash(system, entry, other)
    free_open = [e for e in free if e.open]
    if not free_open:
        return
    named = [Entry(form, False, False, key, n) for form, (n, key) in exact.items()]
    everything = sorted((*named, *anchored_open, *free), key=lambda e: _head(system, e.form))
    heads = [_head(system, e.form) for e in everything]
    for entry in free_open:
        head = _head(system, entry.form)
        for other in everything[bisect_left(heads, head):bisect_left(heads, head + "\U0010ffff")]:
            if other.n != entry.n and names_meet(system, entry.form, other.form, entry.prefix, other.prefix):
                _clash(system, entry, other)


def _too_long(system: System, form: str, key: str, n: int) -> None:
    raise StackError(f"names.{key} of instance {n} is {len(form)} characters long ({system.name} allows "
                     f"{system.max_length}): {form[:40]}...", "shorten the template or the namespace")


def _clash(system: System, a: Entry, b: Entry) -> None:
    """Two instances' names meet: one line naming both (the lower instance first)."""
    a, b = sorted((a, b), key=lambda e: (e.n, e.key))

    def shown(e: Entry) -> str:
        return repr(display(system, e.form) + ("*" if e.prefix else ""))

    what = {"mqtt": "MQTT topic", "redis": "Redis/Valkey key", "kafka": "Kafka topic"}.get(system.name,
                                                                                       f"{system.label} name")
    if a.open or b.open:
        message = (f"{what} {shown(a)} (names.{a.key} of instance {a.n}) overlaps {shown(b)} "
                   f"(names.{b.key} of instance {b.n})")
    else:
        message = f"{what} {shown(a)} is names.{a.key} of instance {a.n} and names.{b.key} of instance {b.n}"
    raise StackError(message, "put {namespace} in the scheme's template (namespaces.schemes), "
                              "or give the instances other namespaces or selectors")


def check_stack(stack: Stack) -> dict[int, str]:
    """Every namespace and database name the stack can run is safe and unique.

    Returns instance number -> namespace. Costs one name computation per
    instance in range; run before anything is created or torn down.
    """
    overrides = stack.namespaces.overrides
    pairs: list[tuple[str, str]] = []
    databases: dict[str, str] = {}
    result: dict[int, str] = {}
    planned: dict[int, tuple[str, str]] = {}
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
        planned[n] = (ns, database)
    if any(m.namespace is not None for system in stack.systems.values() for m in system.members):
        from multistack.plan.systems import member_namespaces  # system members' own (templates rendered)

        pairs += member_namespaces(stack)
    check_unique(pairs)
    if stack.namespaces.schemes:  # the built-in names alone cannot meet once the namespaces are unique
        check_names(stack, planned)
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
