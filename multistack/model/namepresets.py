"""The name schemes multistack ships: the built-in names every instance has, and presets (pure).

The built-in table is what ``names.<key>`` always held (docs/namespaces.md);
a preset is a whole family of names one kind of app uses, declared with
``namespaces: {preset: warlink}`` instead of writing each template. Both are
plain templates (:mod:`multistack.model.namescheme`), read by the same parser
as a user's own ``namespaces.schemes``.
"""
from __future__ import annotations

from functools import lru_cache

from multistack.errors import StackError
from multistack.model.namescheme import SYSTEMS, Scheme, parse_template

#: key, system, purpose, template (and whether the name is a key prefix), in the order ``info`` prints them.
_BUILT_IN: tuple[tuple[str, str, str, str, bool], ...] = (
    ("temporal_namespace", "temporal", "namespace", "{namespace}", False),
    ("temporal_task_queue", "temporal", "task queue", "{namespace}", False),
    ("redis_prefix", "redis", "key prefix", "{namespace}:", True),
    ("redis_write_queue", "redis", "write queue", "{namespace}:writes", False),
    ("kafka_topic", "kafka", "topic", "{namespace}", False),
    ("kafka_health_topic", "kafka", "health topic", "{namespace}.health", False),
    ("kafka_writes_topic", "kafka", "writes topic", "{namespace}-writes", False),
    ("kafka_write_responses_topic", "kafka", "write responses topic", "{namespace}-write-responses", False),
    ("mqtt_tags_topic", "mqtt", "tags (<ns>/<device>/tags/...)", "{namespace}/+/tags/#", False),
    ("mqtt_write_topic", "mqtt", "writes (<ns>/<device>/write)", "{namespace}/+/write", False),
    ("database", "postgresql", "database", "{database}", False),
    ("bucket", "s3", "bucket", "{namespace}", False),
    # only per service with a selector: names.selector_<service> = <ns>/<selector>/#
    ("selector", "mqtt", "selector", "{namespace}/{selector}/#", False),
)

#: WarLink's unified namespace (its multi-instance guide, "Topic/Key Structure Summary", and its
#: MQTT, Valkey and Kafka pages for the optional per-connection selector).
_WARLINK: tuple[tuple[str, str, str, str, bool], ...] = (
    ("mqtt_tags", "mqtt", "tag values", "{namespace}[/{selector}]/{plc}/tags/{tag}", False),
    ("mqtt_health", "mqtt", "health", "{namespace}[/{selector}]/{plc}/health", False),
    ("mqtt_writes", "mqtt", "write requests", "{namespace}[/{selector}]/{plc}/write", False),
    ("mqtt_write_responses", "mqtt", "write responses", "{namespace}[/{selector}]/{plc}/write/response", False),
    ("valkey_tags", "redis", "tag values", "{namespace}[:{selector}]:{plc}:tags:{tag}", False),
    ("valkey_health", "redis", "health", "{namespace}[:{selector}]:{plc}:health", False),
    ("valkey_writes", "redis", "write requests", "{namespace}[:{selector}]:writes", False),
    ("valkey_write_responses", "redis", "write responses", "{namespace}[:{selector}]:write:responses", False),
    ("kafka_tags", "kafka", "tag values", "{namespace}[-{selector}]", False),
    ("kafka_health", "kafka", "health", "{namespace}[-{selector}].health", False),
    ("kafka_writes", "kafka", "write requests", "{namespace}[-{selector}]-writes", False),
    ("kafka_write_responses", "kafka", "write responses", "{namespace}[-{selector}]-write-responses", False),
)

PRESETS = {"warlink": _WARLINK}


def _schemes(rows: tuple[tuple[str, str, str, str, bool], ...], where: str) -> tuple[Scheme, ...]:
    return tuple(Scheme(key, SYSTEMS[system], purpose, parse_template(template, SYSTEMS[system], f"{where}.{key}"),
                        prefix)
                 for key, system, purpose, template, prefix in rows)


@lru_cache(maxsize=None)
def built_in_schemes() -> tuple[Scheme, ...]:
    """The names every instance has (parsed once per process)."""
    return _schemes(_BUILT_IN, "built-in names")


def preset_schemes(name: object, where: str) -> tuple[Scheme, ...]:
    """The schemes of preset ``name``; ``where`` names the key that asked for it."""
    if not isinstance(name, str) or name not in PRESETS:
        raise StackError(f"{where}: unknown preset {name!r}", f"use one of: {', '.join(PRESETS)}")
    return _schemes(PRESETS[name], f"preset {name}")


def built_in_keys() -> frozenset[str]:
    return frozenset(s.key for s in built_in_schemes())
