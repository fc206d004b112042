"""Names derived from declared schemes: per instance, per selector, per entity; unique across instances."""
from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multistack.errors import StackError
from multistack.model.namescheme import names_meet
from multistack.model.stack import load_stack
from multistack.plan.instance import plan_instance
from multistack.plan.namespaces import (
    name_shapes,
    all_schemes,
    check_stack,
    declared_names,
    derived_names,
    name_table,
    names_rows,
    variants,
)
from multistack.plan.render import instance_env_vars

BASE = "project: shop\ninstances: 0-3\napps:\n  api: {command: python3 api.py}\n  line-1: {command: x}\n"
BUILT_IN_1 = {
    "temporal_namespace": "shop-dev-1", "temporal_task_queue": "shop-dev-1", "redis_prefix": "shop-dev-1:",
    "redis_write_queue": "shop-dev-1:writes", "kafka_topic": "shop-dev-1", "kafka_health_topic": "shop-dev-1.health",
    "kafka_writes_topic": "shop-dev-1-writes", "kafka_write_responses_topic": "shop-dev-1-write-responses",
    "mqtt_tags_topic": "shop-dev-1/+/tags/#", "mqtt_write_topic": "shop-dev-1/+/write",
    "database": "shop_instance_1", "bucket": "shop-dev-1",
}


def stack_with(make_stack, section: str):
    return load_stack(make_stack(BASE + "namespaces:\n" + section))


def test_without_schemes_the_names_are_the_built_in_ones_exactly(make_stack):
    inst = plan_instance(load_stack(make_stack(BASE)), 1)
    assert derived_names(inst) == BUILT_IN_1
    assert declared_names(inst) == {} and name_table(inst) == []
    assert not [k for k, _ in instance_env_vars(inst) if k.startswith("MULTISTACK_NAME_")]


def test_a_preset_adds_its_names_after_the_built_in_ones(make_stack):
    inst = plan_instance(stack_with(make_stack, "  preset: warlink\n"), 1)
    names = derived_names(inst)
    assert list(names)[:12] == list(BUILT_IN_1) and {k: names[k] for k in BUILT_IN_1} == BUILT_IN_1
    assert {k: v for k, v in names.items() if k not in BUILT_IN_1} == {
        "mqtt_tags": "shop-dev-1/+/tags/+", "mqtt_health": "shop-dev-1/+/health",
        "mqtt_writes": "shop-dev-1/+/write", "mqtt_write_responses": "shop-dev-1/+/write/response",
        "valkey_tags": "shop-dev-1:*:tags:*", "valkey_health": "shop-dev-1:*:health",
        "valkey_writes": "shop-dev-1:writes", "valkey_write_responses": "shop-dev-1:write:responses",
        "kafka_tags": "shop-dev-1", "kafka_health": "shop-dev-1.health", "kafka_writes": "shop-dev-1-writes",
        "kafka_write_responses": "shop-dev-1-write-responses",
    }
    env = dict(instance_env_vars(inst))
    assert env["MULTISTACK_NAME_MQTT_HEALTH"] == "shop-dev-1/+/health"
    assert env["MULTISTACK_NAME_VALKEY_TAGS"] == "shop-dev-1:*:tags:*"
    assert "MULTISTACK_NAME_REDIS_PREFIX" not in env  # the built-in names stay template variables only
    rows = {row[1]: row for row in names_rows(inst)}
    assert rows["names.valkey_health"] == ["redis/valkey", "names.valkey_health", "shop-dev-1:*:health"]


def test_a_selector_gives_each_scheme_one_more_name_per_service(make_stack):
    inst = plan_instance(stack_with(make_stack, "  preset: warlink\n  selectors: {line-1: l1}\n"), 2)
    names = derived_names(inst)
    assert names["selector_line_1"] == "shop-dev-2/l1/#"  # the built-in one, as before
    assert (names["mqtt_writes_line_1"], names["valkey_writes_line_1"], names["kafka_writes_line_1"]) == (
        "shop-dev-2/l1/+/write", "shop-dev-2:l1:writes", "shop-dev-2-l1-writes")
    assert names["mqtt_writes"] == "shop-dev-2/+/write"  # and the name without a selector stays


def test_the_name_table_lists_each_entity_once_per_name(make_stack):
    stack = stack_with(make_stack, "  preset: warlink\n  entities:\n    - {plc: Main PLC, tag: A}\n"
                                   "    - {plc: Main PLC, tag: B}\n    - {plc: Line PLC}\n")
    rows = name_table(plan_instance(stack, 1))
    health = [(r["entity"], r["name"]) for r in rows if r["key"] == "mqtt_health"]
    assert health == [({"plc": "Main PLC"}, "shop-dev-1/Main PLC/health"), ({"plc": "Line PLC"}, "shop-dev-1/Line PLC/health")]
    tags = [r["name"] for r in rows if r["key"] == "valkey_tags"]
    assert tags == ["shop-dev-1:Main PLC:tags:A", "shop-dev-1:Main PLC:tags:B", "shop-dev-1:Line PLC:tags:*"]
    assert [r["name"] for r in rows if r["key"] == "kafka_writes"] == ["shop-dev-1-writes"]
    assert set(rows[0]) == {"key", "system", "purpose", "template", "selector", "service", "entity", "name"}


@pytest.mark.parametrize("section, message", [
    ("  schemes: {q: {system: kafka, template: 'orders'}}\n",
     "Kafka topic 'orders' is names.q of instance 0 and names.q of instance 1"),
    ("  schemes: {q: {system: mqtt, template: 'plant/{plc}/alarm'}}\n",
     "MQTT topic 'plant/+/alarm' (names.q of instance 0) overlaps 'plant/+/alarm' (names.q of instance 1)"),
    ("  schemes: {q: {system: mqtt, template: '+/+/write'}}\n",
     "MQTT topic 'shop-dev-0/+/write' (names.mqtt_write_topic of instance 0) overlaps '+/+/write' (names.q of instance 1)"),
    ("  schemes: {q: {system: redis, template: 'cache:{n}', prefix: true}}\n  instances: {0: shop-a, 1: shop-b, 2: shop-c, 3: shop-d}\n",
     None),
    ("  schemes: {q: {system: redis, template: 'cache:{n}', prefix: true}}\n",
     None),
    ("  schemes: {q: {system: redis, template: '{plc}:writes'}}\n",
     "Redis/Valkey key 'shop-dev-0:*' (names.redis_prefix of instance 0) overlaps '*:writes' (names.q of instance 1)"),
    ("  instances: {1: shop, 2: shop-l1}\n  preset: warlink\n  selectors: {api: l1}\n",
     "Kafka topic 'shop-l1' is names.kafka_tags_api of instance 1 and names.kafka_topic of instance 2"),
    ("  instances: {0: shop, 1: shop-x, 2: other-a, 3: other-b}\n"
     "  schemes: {q: {system: kafka, template: '{namespace}-{plc}'}}\n",
     "Kafka topic 'shop-*' (names.q of instance 0) overlaps 'shop-x' (names.kafka_topic of instance 1)"),
    ("  schemes: {q: {system: kafka, template: '{namespace}" + "x" * 240 + "'}}\n",
     "names.q of instance 0 is 250 characters long (kafka allows 249): shop-dev-0" + "x" * 30 + "..."),
])
def test_names_of_two_instances_may_not_meet(make_stack, section, message):
    stack = stack_with(make_stack, section)
    if message is None:
        check_stack(stack)  # cache:0 .. cache:3: prefixes of one another's keys? no: `cache:1` is not in `cache:2`
        return
    with pytest.raises(StackError) as info:
        check_stack(stack)
    assert info.value.message == message
    assert "put {namespace} in the scheme's template" in info.value.hint or "shorten" in info.value.hint


def test_a_prefix_holds_the_keys_of_a_longer_instance_number(make_stack):
    """`cache:1` is a prefix of `cache:10`: instance 1 would own instance 10's keys."""
    stack = load_stack(make_stack(BASE.replace("0-3", "0-10") + "namespaces:\n"
                                  "  schemes: {q: {system: redis, template: 'cache:{n}', prefix: true}}\n"))
    with pytest.raises(StackError, match=re.escape("Redis/Valkey key 'cache:1*' (names.q of instance 1) overlaps "
                                                   "'cache:10*' (names.q of instance 10)")):
        check_stack(stack)


def test_two_factories_with_the_preset_and_selectors_pass(make_stack):
    stack = stack_with(make_stack, "  instances: {0: factory-a, 1: factory-b, 2: factory-c, 3: factory-d}\n"
                                   "  preset: warlink\n  selectors: {api: line1, line-1: line2}\n"
                                   "  entities: [{plc: Main PLC, tag: T}]\n")
    assert check_stack(stack) == {0: "factory-a", 1: "factory-b", 2: "factory-c", 3: "factory-d"}


# --------------------------------------------------------------------------
# The fast check equals the plain one: every pair of names of two instances compared


TEMPLATES = [
    ("mqtt", "{namespace}[/{selector}]/{plc}/health"), ("mqtt", "plant/{plc}"), ("mqtt", "+/{n}/x"),
    ("mqtt", "{project}/#"), ("redis", "{namespace}[:{selector}]:{plc}"), ("redis", "{plc}:{n}"),
    ("redis", "x{n}"), ("kafka", "{namespace}[-{selector}]"), ("kafka", "{project}-{n}"), ("kafka", "{plc}.x"),
]
NAMESPACES = ["shop", "shop-a", "shop-a-b", "shopa", "a-shop", "line1"]


def plain_clash(stack) -> bool:
    """Compare every form of every name of every instance with every other instance's: no shortcuts."""
    from multistack.plan.namespaces import instance_names, placeholder_values

    forms: dict[str, list[tuple[int, str, bool]]] = {}
    for n in stack.instance_range:
        base = placeholder_values(stack, n, *instance_names(stack, n))
        for scheme in all_schemes(stack):
            for variant in variants(scheme, stack.namespaces.selectors):
                for shape in name_shapes(scheme, variant):
                    forms.setdefault(scheme.system.name, []).append((n, shape.text.format_map(base), scheme.prefix))
    systems = {s.system.name: s.system for s in all_schemes(stack)}
    return any(a[0] != b[0] and names_meet(systems[name], a[1], b[1], a[2], b[2])
               for name, entries in forms.items() for a, b in itertools.combinations(entries, 2))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(TEMPLATES), min_size=1, max_size=3, unique=True),
       st.lists(st.sampled_from(NAMESPACES), min_size=3, max_size=3, unique=True),
       st.booleans())
def test_the_check_finds_exactly_the_clashes_a_plain_comparison_finds(tmp_path_factory, templates, namespaces,
                                                                      selector):
    schemes = "".join(f"    s{i}: {{system: {system}, template: '{t}'}}\n" for i, (system, t) in enumerate(templates))
    text = (BASE.replace("0-3", "0-2") + "namespaces:\n  instances: {"
            + ", ".join(f"{n}: {ns}" for n, ns in enumerate(namespaces)) + "}\n"
            + ("  selectors: {api: a}\n" if selector else "") + "  schemes:\n" + schemes)
    folder = tmp_path_factory.mktemp("stack")
    (folder / "stack.yaml").write_text(text)
    stack = load_stack(folder / "stack.yaml")
    try:
        check_stack(stack)
        refused = False
    except StackError as error:
        refused = "namespace" not in error.message.split("'")[0]  # a clash of names, not of namespaces
        assert refused, error.message
    assert refused is plain_clash(stack)
