"""The names multistack ships: the built-in table and the `warlink` preset, as docs/namespaces.md prints them.

Mutation testing of multistack/model/namepresets.py found the tables' templates, systems and
prefix flags pinned only in part. The expected rows are copied from docs/namespaces.md (the
built-in "Derived names" table and "The `warlink` preset"), never recomputed; the built-ins'
``purpose`` is not among them, since no command prints it (info's declared-names table lists
only the stack's own schemes).
"""
from __future__ import annotations

import pytest

from multistack.errors import StackError
from multistack.model.namepresets import built_in_keys, built_in_schemes, preset_schemes

BUILT_IN = [
    ("temporal_namespace", "temporal", "{namespace}", False),
    ("temporal_task_queue", "temporal", "{namespace}", False),
    ("redis_prefix", "redis", "{namespace}:", True),  # a key prefix: every key under it is the instance's
    ("redis_write_queue", "redis", "{namespace}:writes", False),
    ("kafka_topic", "kafka", "{namespace}", False),
    ("kafka_health_topic", "kafka", "{namespace}.health", False),
    ("kafka_writes_topic", "kafka", "{namespace}-writes", False),
    ("kafka_write_responses_topic", "kafka", "{namespace}-write-responses", False),
    ("mqtt_tags_topic", "mqtt", "{namespace}/+/tags/#", False),
    ("mqtt_write_topic", "mqtt", "{namespace}/+/write", False),
    ("database", "postgresql", "{database}", False),
    ("bucket", "s3", "{namespace}", False),
    ("selector", "mqtt", "{namespace}/{selector}/#", False),
]

WARLINK = [
    ("mqtt_tags", "mqtt", "tag values", "{namespace}[/{selector}]/{plc}/tags/{tag}"),
    ("mqtt_health", "mqtt", "health", "{namespace}[/{selector}]/{plc}/health"),
    ("mqtt_writes", "mqtt", "write requests", "{namespace}[/{selector}]/{plc}/write"),
    ("mqtt_write_responses", "mqtt", "write responses", "{namespace}[/{selector}]/{plc}/write/response"),
    ("valkey_tags", "redis", "tag values", "{namespace}[:{selector}]:{plc}:tags:{tag}"),
    ("valkey_health", "redis", "health", "{namespace}[:{selector}]:{plc}:health"),
    ("valkey_writes", "redis", "write requests", "{namespace}[:{selector}]:writes"),
    ("valkey_write_responses", "redis", "write responses", "{namespace}[:{selector}]:write:responses"),
    ("kafka_tags", "kafka", "tag values", "{namespace}[-{selector}]"),
    ("kafka_health", "kafka", "health", "{namespace}[-{selector}].health"),
    ("kafka_writes", "kafka", "write requests", "{namespace}[-{selector}]-writes"),
    ("kafka_write_responses", "kafka", "write responses", "{namespace}[-{selector}]-write-responses"),
]


def test_the_built_in_table():
    built_in_schemes.cache_clear()  # read the table afresh, whatever ran before in this process
    assert [(s.key, s.system.name, s.template.source, s.prefix) for s in built_in_schemes()] == BUILT_IN
    assert built_in_schemes() is built_in_schemes()  # parsed once per process
    assert built_in_keys() == frozenset(row[0] for row in BUILT_IN)


def test_the_warlink_preset_table():
    schemes = preset_schemes("warlink", "stack.yaml: namespaces.preset")
    assert [(s.key, s.system.name, s.purpose, s.template.source) for s in schemes] == WARLINK
    assert not any(s.prefix for s in schemes)


@pytest.mark.parametrize("name, shown", [("nope", "'nope'"), (3, "3"), (["warlink"], "['warlink']"), (None, "None")])
def test_only_a_preset_name_is_a_preset(name, shown):
    with pytest.raises(StackError) as info:
        preset_schemes(name, "stack.yaml: namespaces.preset[0]")
    assert (info.value.message, info.value.hint) == (f"stack.yaml: namespaces.preset[0]: unknown preset {shown}",
                                                     "use one of: warlink")
