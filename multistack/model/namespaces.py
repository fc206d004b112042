"""One namespace per instance, and every name derived from it: the rules, and ``namespaces:`` (pure).

When several instances share a broker or a database server, the namespace is
the only thing that keeps instance 1's writes away from instance 2's
consumers. So it is computed once (:func:`multistack.plan.namespaces.instance_names`:
``<project>-dev-N``, or the ``namespace:`` template, or an override under
``namespaces: {instances: {N: name}}``), checked by the rules here (applied to
every instance by :func:`multistack.plan.namespaces.check_stack`), and every other name
(topics, key prefixes, queues, bucket) is *derived* from it by one scheme, so
two services of one instance can never disagree about them.

The namespace charset is the intersection of the rules of every place the
namespace appears verbatim:

- DNS label (hostnames, compose/k8s names): ``[a-z0-9-]``, 1-63 characters,
  starting and ending with a letter or digit; ``--`` at positions 3-4 marks
  punycode (``xn--``).
- S3 bucket: lowercase letters, digits, ``.`` and ``-``, 3-63 characters,
  starting and ending with a letter or digit, no ``xn--``/``sthree-``/
  ``amzn-s3-demo-`` prefix, no ``-s3alias``/``--ol-s3``/``--x-s3``/
  ``--table-s3``/``.mrap`` suffix. (``.`` also breaks virtual-host TLS.)
- Kafka topic: ``[a-zA-Z0-9._-]``, up to 249 characters; ``.`` and ``_``
  collide in metric names, so ``.`` is used only as our own separator.
- MQTT topic level: anything but ``/`` (the separator), ``+`` and ``#``
  (wildcards); a leading ``$`` marks broker topics.
- Redis/Valkey keys: any bytes, but ``:`` is the separator by convention, so
  ``<ns>:`` must not be the prefix of another namespace.
- PostgreSQL identifier: unquoted ones are ``[a-z_][a-z0-9_$]*``, at most 63
  bytes; ``-`` needs double quotes. The database name therefore has its own
  scheme (``<project>_instance_N``, ``_`` instead of ``-``) and its own check.
- Temporal namespaces and task queues accept all of the above.

What survives all of them: lowercase letters, digits and ``-``, starting with
a letter (a leading digit reads as a number to some tools and cannot start an
unquoted identifier), ending with a letter or digit, 3-63 characters, no
``--`` (one rule instead of the punycode and S3 suffix rules).

Uniqueness is checked across every instance the stack can run, and across the
names the scheme derives: instance ``shop``'s write topic ``shop-writes``
would be the main topic of an instance named ``shop-writes``, so that pair
is refused too. System members that declare a ``namespace:``
(:mod:`multistack.model.systems`) take part in the same :func:`check_unique`.

``namespaces:`` also declares the names the apps use (``preset:``,
``schemes:``, ``entities:``): read here once into
:class:`~multistack.model.namescheme.Scheme` values, derived and checked
across instances by :mod:`multistack.plan.namespaces`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from multistack.errors import StackError
from multistack.model.names import is_canonical_number
from multistack.model.namepresets import built_in_keys, built_in_schemes, preset_schemes
from multistack.model.namescheme import KEY_RE, Scheme, parse_template, system_named, value_problem
from multistack.model.reader import Node, kind

NAMESPACE_RE = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")
NAMESPACE_MIN = 3
#: An unquoted PostgreSQL identifier; 63 bytes is NAMEDATALEN - 1 (longer names are silently truncated).
DATABASE_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: A selector is one extra topic level: the namespace charset, but it may start with a digit (device ids).
SELECTOR_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_SUFFIXES = ("-s3alias",)
NAMESPACE_HINT = "use 3-63 lowercase letters, digits and single '-', starting with a letter, e.g. shop-dev-1"

def namespace_problem(name: str) -> str | None:
    """Why ``name`` is not a safe namespace, or None."""
    if not isinstance(name, str) or not name:
        return "is empty"
    if len(name) > 63:
        return f"is {len(name)} characters long (DNS labels, S3 buckets and PostgreSQL allow 63)"
    if len(name) < NAMESPACE_MIN:
        return f"is {len(name)} characters long (S3 bucket names need at least {NAMESPACE_MIN})"
    bad = sorted(set(re.findall(r"[^a-z0-9-]", name)))
    if bad:
        return f"contains {', '.join(repr(ch) for ch in bad)} (allowed: a-z, 0-9, '-')"
    if not name[0].isalpha():
        return "must start with a letter"
    if name.endswith("-"):
        return "must end with a letter or digit"
    if "--" in name:
        return "contains '--' (reserved for punycode xn-- and S3 suffixes)"
    for prefix in RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"starts with the reserved S3 prefix {prefix!r}"
    for suffix in RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"ends with the reserved S3 suffix {suffix!r}"
    return None


def check_namespace(name: str, where: str) -> str:
    """``name`` if it is safe everywhere; else a StackError naming ``where`` it came from."""
    problem = namespace_problem(name)
    if problem:
        raise StackError(f"{where}: namespace {name!r} {problem}", NAMESPACE_HINT)
    return name


def check_database(name: str, where: str) -> str:
    if not DATABASE_RE.fullmatch(name or ""):
        raise StackError(f"{where}: database name {name!r} is not a plain PostgreSQL identifier",
                         "use at most 63 lowercase letters, digits and '_', not starting with a digit "
                         "(a '-' would need quoting in every SQL statement)")
    return name


def selector_key(service: str) -> str:
    """The key of a service's selector in the derived names (a jinja-friendly name)."""
    return "selector_" + service.replace("-", "_")


def kafka_topics(ns: str) -> tuple[str, ...]:
    """The topics a namespace owns: the only derived names that can collide across namespaces.

    Redis, MQTT and Temporal names add ``:``, ``/`` or nothing, characters a
    namespace cannot contain, so they are equal only if the namespaces are.
    Kafka's ``-writes`` suffix uses a namespace character.
    """
    return (ns, f"{ns}.health", f"{ns}-writes", f"{ns}-write-responses")


def check_unique(pairs: Iterable[tuple[str, str]]) -> None:
    """Refuse two owners with one namespace, or whose Kafka topics would meet.

    ``pairs`` are ``(owner, namespace)``, the owner described for a person
    (``instance 3 (namespaces.instances.3)``, ``member api of system shop``).
    The error names both owners.
    """
    namespaces: dict[str, str] = {}
    topics: dict[str, tuple[str, str]] = {}
    for owner, ns in pairs:
        if ns in namespaces and namespaces[ns] != owner:
            raise StackError(f"namespace {ns!r} is used by {namespaces[ns]} and by {owner}",
                             "give one of them another namespace under `namespaces:` in stack.yaml")
        namespaces.setdefault(ns, owner)
    for ns, owner in namespaces.items():
        for topic in kafka_topics(ns):
            other = topics.get(topic)
            if other and other[0] != owner:
                raise StackError(f"Kafka topic {topic!r} would belong to {other[0]} (namespace {other[1]!r}) "
                                 f"and to {owner} (namespace {ns!r})",
                                 "rename one namespace so that neither ends with -writes or -write-responses "
                                 "of the other")
            topics[topic] = (owner, ns)


# --------------------------------------------------------------------------
# The `namespaces:` section


#: ``namespaces.entities``: each entity a tuple of (placeholder, value).
Entities = tuple[tuple[tuple[str, str], ...], ...]


@dataclass(frozen=True)
class NamespaceSection:
    """``namespaces:``: per-instance namespace overrides and per-service selectors, as read."""

    overrides: Mapping[int, str] = field(default_factory=dict)  # instance number -> namespace (unchecked)
    selectors: Mapping[str, str] = field(default_factory=dict)  # service or app name -> one topic level
    #: ``preset:`` then ``schemes:``, in that order (a scheme of the same key replaces the preset's).
    schemes: tuple[Scheme, ...] = ()
    #: ``entities:``: each a set of placeholder values (``plc``, ``tag``) the names are listed for.
    entities: Entities = ()


def parse_namespaces(raw: Any, file: str, instances: range, known: Iterable[str]) -> NamespaceSection:
    """Read ``namespaces:`` (None when absent); ``known`` are the stack's service and app names.

    The override names themselves are checked by :func:`multistack.plan.namespaces.check_stack`, with
    every other namespace the stack can run.
    """
    node = Node(raw, "namespaces", file)
    for key in ("instances", "selectors", "preset", "schemes", "entities"):
        node.get(key)
    node.done()
    selectors = _selectors(node.data.get("selectors") or {}, file, set(known))
    schemes = declared_schemes(node, selectors)
    return NamespaceSection(_overrides(node.data.get("instances") or {}, file, instances), selectors,
                            schemes, parse_entities(node.data.get("entities"), schemes, node.where("entities"), file))


def _overrides(raw: Any, file: str, instances: range) -> dict[int, str]:
    """``namespaces.instances``: instance number -> namespace, checked against the instance range."""
    where = f"{file}: namespaces.instances"
    if not isinstance(raw, dict):
        raise StackError(f"{where}: must be a mapping of instance number to namespace",
                         "e.g. namespaces: {instances: {3: shop-demo}}")
    overrides: dict[int, str] = {}
    for key, value in raw.items():
        text = str(key)
        if isinstance(key, bool) or not is_canonical_number(text):
            raise StackError(f"{where}: {text!r} is not an instance number", "use a whole number without leading zeros")
        n = int(text)
        if n not in instances:
            raise StackError(f"{where}.{n}: instance {n} is out of range {instances[0]}-{instances[-1]}",
                             "remove the override or widen `instances:`")
        if not isinstance(value, str):
            raise StackError(f"{where}.{n}: must be a namespace string", NAMESPACE_HINT)
        overrides[n] = value
    return overrides


def _selectors(raw: Any, file: str, known: set[str]) -> dict[str, str]:
    """``namespaces.selectors``: service or app name -> one extra topic level."""
    where = f"{file}: namespaces.selectors"
    if not isinstance(raw, dict):
        raise StackError(f"{where}: must be a mapping of service name to selector", "e.g. {worker: site-a}")
    found: dict[str, str] = {}
    keys: dict[str, str] = {}
    for service, selector in raw.items():
        service = str(service)
        if service not in known:
            raise StackError(f"{where}.{service}: no service or app of that name",
                             f"use one of: {', '.join(sorted(known)) or '(none declared)'}")
        if not isinstance(selector, str) or not SELECTOR_RE.fullmatch(selector) or "--" in selector:
            raise StackError(f"{where}.{service}: {selector!r} is not a valid selector (one topic level)",
                             "use lowercase letters, digits and single '-', no '/', '+' or '#'")
        key = selector_key(service)
        if key in keys:
            raise StackError(f"{where}: {keys[key]!r} and {service!r} would both be {key}", "rename one")
        keys[key] = service
        found[service] = selector
    return found


def declared_schemes(node: Node, selectors: Mapping[str, str]) -> tuple[Scheme, ...]:
    """``preset:`` (a name or a list of names) then ``schemes:``: the names the stack declares.

    A key of the stack's own replaces the preset's scheme of that key in
    place; a built-in key (``redis_prefix``...) cannot be redeclared. Every
    key, and every ``<key>_<service>`` a selector adds, is checked unique.
    """
    raw_presets = node.data.get("preset")
    presets = [raw_presets] if isinstance(raw_presets, str) else raw_presets or []
    if not isinstance(presets, list):
        node.fail(f"must be a preset name or a list of them, got {kind(presets)}", "preset")
    schemes: dict[str, Scheme] = {}
    for i, name in enumerate(presets):
        where = node.where("preset") + (f"[{i}]" if isinstance(raw_presets, list) else "")
        for scheme in preset_schemes(name, f"{node.file}: {where}"):
            schemes[scheme.key] = scheme
    own = node.child("schemes")
    for key, value in own.items():
        schemes[key] = _scheme(own, key, value)
    result = tuple(schemes.values())
    _check_keys(node, result, selectors)
    return result


def _scheme(own: Node, key: str, value: Any) -> Scheme:
    if not KEY_RE.fullmatch(key):
        own.fail("scheme keys are lowercase letters, digits and _, starting with a letter (names.<key>)", key,
                 "rename the scheme, e.g. alarms or tag_values")
    if key in built_in_keys():
        own.fail(f"names.{key} is a built-in name", key, "give your scheme another key")
    node = Node(value, own.where(key), own.file)
    system = system_named(node.string("system") or "", f"{node.file}: {node.where('system')}")
    template = parse_template(node.get("template"), system, f"{node.file}: {node.where('template')}")
    purpose = node.string("purpose", key) or key
    prefix = node.get("prefix", False)
    if not isinstance(prefix, bool):
        node.fail(f"must be true or false, got {kind(prefix)}", "prefix")
    node.done()
    return Scheme(key, system, purpose, template, prefix)


def selector_keys(scheme: Scheme, selectors: Mapping[str, str]) -> dict[str, str]:
    """``names.<key>_<service>`` -> service, for each service with a selector (schemes with ``{selector}``)."""
    if scheme.template.selector is None:
        return {}
    return {f"{scheme.key}_{service.replace('-', '_')}": service for service in selectors}


def _check_keys(node: Node, schemes: tuple[Scheme, ...], selectors: Mapping[str, str]) -> None:
    """No two names may be one ``names.<key>`` (or one env key: MULTISTACK_NAME_<KEY>)."""
    owners: dict[str, str] = {}
    for scheme in (*built_in_schemes(), *schemes):
        keys = {scheme.key: scheme.key} if scheme.template.selector != "required" else {}
        keys.update({key: f"{scheme.key} with the selector of {service}"
                     for key, service in selector_keys(scheme, selectors).items()})
        for key, what in keys.items():
            if key in owners:
                node.fail(f"names.{key} would be both {owners[key]} and {what}", "schemes",
                          "rename the scheme or the service")
            owners[key] = what


def parse_entities(raw: Any, schemes: tuple[Scheme, ...], where: str, file: str) -> Entities:
    """``entities:``: a list of placeholder values (``{plc: Main PLC, tag: Counter}``), each checked
    against the rules of every system whose schemes use that placeholder."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise StackError(f"{file}: {where}: must be a list of mappings, got {kind(raw)}",
                         "e.g. entities: [{plc: Main PLC, tag: Counter}]")
    users: dict[str, list[Scheme]] = {}
    for scheme in schemes:
        for name in scheme.template.entities:
            users.setdefault(name, []).append(scheme)
    found = []
    for i, item in enumerate(raw):
        node = Node(item, f"{where}[{i}]", file)
        pairs = []
        for name, value in node.items():
            if name not in users:
                node.fail("no declared scheme has this placeholder", name,
                          f"use one of: {', '.join(sorted(users)) or '(no scheme declares an entity)'}")
            if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
                node.fail(f"must be a non-empty string, got {kind(value)}", name)
            for scheme in users[name]:
                problem = value_problem(str(value), scheme.system)
                if problem:
                    node.fail(f"{str(value)!r} {problem} (names.{scheme.key})", name,
                              "rename the entity, or leave it out of that scheme's template")
            pairs.append((name, str(value)))
        found.append(tuple(pairs))
    return tuple(found)
