"""Name schemes as data: templates, the systems' rules, when two names meet, the presets, `namespaces:`."""
from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multistack.errors import StackError
from multistack.model.namepresets import PRESETS, built_in_schemes, preset_schemes
from multistack.model.namescheme import (
    SYSTEMS,
    WILD,
    Group,
    Part,
    display,
    mqtt_filter,
    names_meet,
    parse_template,
    value_problem,
)
from multistack.model.stack import load_stack

MQTT, REDIS, KAFKA = SYSTEMS["mqtt"], SYSTEMS["redis"], SYSTEMS["kafka"]


# --------------------------------------------------------------------------
# Templates


def test_a_template_is_parsed_into_literal_placeholder_and_optional_pieces():
    t = parse_template("{namespace}[/{selector}]/{plc}/tags/{tag}", MQTT, "here")
    assert t.pieces == (Part("namespace", True), Group((Part("/"), Part("selector", True))), Part("/"),
                        Part("plc", True), Part("/tags/"), Part("tag", True))
    assert (t.placeholders, t.entities, t.selector, t.groups) == (
        ("namespace", "selector", "plc", "tag"), ("plc", "tag"), "optional", 1)
    assert parse_template("{namespace}/{selector}/#", MQTT, "x").selector == "required"
    assert parse_template("{namespace}", KAFKA, "x").selector is None


def test_rendering_fills_values_drops_optional_parts_and_leaves_wildcards():
    t = parse_template("{namespace}[/{selector}]/{plc}/health", MQTT, "x")
    assert t.render({"namespace": "f", "plc": "P"}) == "f/P/health"
    assert t.render({"namespace": "f", "selector": "l1", "plc": "P"}) == "f/l1/P/health"
    assert t.render({"namespace": "f"}) == f"f/{WILD}/health"
    assert t.render({"namespace": "f"}, keep=frozenset({0})) == f"f/{WILD}/{WILD}/health"
    assert display(MQTT, t.render({"namespace": "f"})) == "f/+/health"
    assert display(REDIS, parse_template("{namespace}:{plc}:health", REDIS, "x").render({"namespace": "f"})) == "f:*:health"


def test_an_mqtt_level_holding_a_wildcard_is_a_whole_plus():
    assert mqtt_filter(f"f/line-{WILD}/x") == "f/+/x"


@pytest.mark.parametrize("template, system, problem", [
    ("", MQTT, "must be a non-empty template string"),
    ("{namespace}[/[{selector}]]", MQTT, "optional parts cannot nest"),
    ("{namespace}]", MQTT, "']' without '['"),
    ("{namespace}[/{selector}", MQTT, "'[' without ']'"),
    ("{namespace}[/x]", MQTT, "an optional part needs a placeholder in it"),
    ("{Namespace}", MQTT, "'{Namespace}' is not a placeholder"),
    ("{namespace}}", MQTT, "unbalanced"),
    ("{namespace}/a#", MQTT, "'#' that is not the whole last level"),
    ("{namespace}/#/x", MQTT, "'#' that is not the whole last level"),
    ("{namespace}/a+", MQTT, "'+' that is not a whole level"),
    ("$SYS/{namespace}", MQTT, "starts with '$'"),
    ("{namespace}/{plc}", KAFKA, "contains '/', which a kafka name cannot hold"),
    ("{namespace}:*", REDIS, "contains '*'"),
    ("[{a}][{b}][{c}][{d}][{e}]", REDIS, "has 5 optional parts"),
])
def test_bad_templates_say_why(template, system, problem):
    with pytest.raises(StackError, match=re.escape(problem)) as info:
        parse_template(template, system, "stack.yaml: namespaces.schemes.x.template")
    assert info.value.message.startswith("stack.yaml: namespaces.schemes.x.template: ")


@pytest.mark.parametrize("value, system, problem", [
    ("a/b", MQTT, "one MQTT topic level"),
    ("+", MQTT, "one MQTT topic level"),
    ("a:b", REDIS, "the redis separator"),
    ("a*", REDIS, "contains '*'"),
    ("Main PLC", KAFKA, "contains ' '"),
])
def test_entity_values_stay_one_level(value, system, problem):
    assert problem in value_problem(value, system)
    assert value_problem("Main PLC", MQTT) is None and value_problem("Machine_Status.Clear_Fault", REDIS) is None


# --------------------------------------------------------------------------
# Meeting


@pytest.mark.parametrize("a, b, meet", [
    ("f/+/write", "f/Main PLC/write", True),
    ("f/+/write", "g/+/write", False),
    ("f/#", "f", True),  # `#` also matches its parent level
    ("f/#", "f/a/b/c", True),
    ("f/+", "f", False),
    ("f/+", "f/a/b", False),
    ("+/+/tags/#", "factory-a/Main PLC/tags/x", True),
    ("a/b", "a/b", True),
    ("a/b", "a/c", False),
    (f"f/{WILD}/x", "f/y/x", True),
])
def test_mqtt_filters_meet_level_by_level(a, b, meet):
    assert names_meet(MQTT, a, b) is meet and names_meet(MQTT, b, a) is meet


@pytest.mark.parametrize("system, a, b, prefixes, meet", [
    (REDIS, f"f:{WILD}:tags:{WILD}", "f:Main PLC:tags:x", (False, False), True),
    (REDIS, f"f:{WILD}:health", "f:a:b:health", (False, False), False),  # a wildcard is one segment
    (REDIS, "f:", "f:writes", (True, False), True),  # a prefix holds every key below it
    (REDIS, "f:", "g:writes", (True, False), False),
    (REDIS, "f:", "f", (True, False), False),
    (KAFKA, f"shop-{WILD}", "shop-writes", (False, False), True),
    (KAFKA, f"shop-{WILD}", "shop-", (False, False), False),  # one or more characters
    (KAFKA, f"{WILD}.health", f"shop{WILD}", (False, False), True),
])
def test_patterns_meet(system, a, b, prefixes, meet):
    assert names_meet(system, a, b, *prefixes) is meet
    assert names_meet(system, b, a, prefixes[1], prefixes[0]) is meet


def as_regex(pattern: str, prefix: bool) -> re.Pattern[str]:
    """An independent reading of a pattern: a wildcard is [^:]+, a prefix allows anything after."""
    body = "".join("[^:]+" if ch == WILD else re.escape(ch) for ch in pattern)
    return re.compile(body + (".*" if prefix else ""), re.S)


PATTERN = st.text(alphabet=["a", "b", ":", WILD], min_size=0, max_size=3)


@settings(max_examples=150, deadline=None)
@given(PATTERN, PATTERN, st.booleans(), st.booleans())
def test_glob_meeting_agrees_with_brute_force(a, b, pa, pb):
    """Some string of at most len(a)+len(b)+1 characters over {a, b, :} matches both, or none does."""
    ra, rb = as_regex(a, pa), as_regex(b, pb)
    longest = len(a) + len(b) + 1
    witness = any(ra.fullmatch(s) and rb.fullmatch(s)
                  for size in range(longest + 1) for s in map("".join, itertools.product("ab:", repeat=size)))
    assert names_meet(REDIS, a, b, pa, pb) is witness


# --------------------------------------------------------------------------
# Presets


def test_the_warlink_preset_has_four_purposes_for_each_system():
    schemes = preset_schemes("warlink", "namespaces.preset")
    assert len(schemes) == 12 and len(PRESETS["warlink"]) == 12
    assert {(s.system.name, s.purpose) for s in schemes} == {
        (system, purpose) for system in ("mqtt", "redis", "kafka")
        for purpose in ("tag values", "health", "write requests", "write responses")}
    assert all(s.template.selector == "optional" for s in schemes)


def test_the_built_in_names_keep_their_keys_and_order():
    assert [s.key for s in built_in_schemes()] == [
        "temporal_namespace", "temporal_task_queue", "redis_prefix", "redis_write_queue", "kafka_topic",
        "kafka_health_topic", "kafka_writes_topic", "kafka_write_responses_topic", "mqtt_tags_topic",
        "mqtt_write_topic", "database", "bucket", "selector"]


def test_an_unknown_preset_is_refused():
    with pytest.raises(StackError, match="^stack.yaml: namespaces.preset: unknown preset 'warlnk'$") as info:
        preset_schemes("warlnk", "stack.yaml: namespaces.preset")
    assert info.value.hint == "use one of: warlink"


# --------------------------------------------------------------------------
# The `namespaces:` section


BASE = "project: shop\ninstances: 0-3\napps:\n  api: {command: python3 api.py}\n  line-1: {command: x}\n"


def test_preset_schemes_and_entities_are_read_once_into_typed_values(make_stack):
    stack = load_stack(make_stack(BASE + """\
namespaces:
  preset: [warlink]
  schemes:
    mqtt_health: {system: mqtt, template: "{namespace}/{plc}/status", purpose: health}
    alarms: {system: valkey, template: "{namespace}:alarms:{plc}", prefix: true}
  entities:
    - {plc: Main PLC, tag: 7}
"""))
    schemes = {s.key: s for s in stack.namespaces.schemes}
    assert list(schemes)[:2] == ["mqtt_tags", "mqtt_health"] and list(schemes)[-1] == "alarms"
    assert schemes["mqtt_health"].template.source == "{namespace}/{plc}/status"  # the stack's own replaces the preset's
    assert schemes["alarms"].system.name == "redis" and schemes["alarms"].prefix
    assert stack.namespaces.entities == ((("plc", "Main PLC"), ("tag", "7")),)


@pytest.mark.parametrize("section, message", [
    ("  preset: nope\n", "stack.yaml: namespaces.preset: unknown preset 'nope'"),
    ("  preset: [warlink, x]\n", "stack.yaml: namespaces.preset[1]: unknown preset 'x'"),
    ("  preset: {a: 1}\n", "namespaces.preset: must be a preset name or a list of them, got a mapping"),
    ("  schemes: {Bad: {system: mqtt, template: x}}\n", "namespaces.schemes.Bad: scheme keys are lowercase"),
    ("  schemes: {bucket: {system: s3, template: x}}\n", "namespaces.schemes.bucket: names.bucket is a built-in name"),
    ("  schemes: {a: {system: amqp, template: x}}\n", "namespaces.schemes.a.system: unknown system 'amqp'"),
    ("  schemes: {a: {template: x}}\n", "namespaces.schemes.a.system: unknown system ''"),
    ("  schemes: {a: {system: mqtt}}\n", "namespaces.schemes.a.template: must be a non-empty template string"),
    ("  schemes: {a: {system: mqtt, template: x, prefix: 1}}\n", "namespaces.schemes.a.prefix: must be true or false"),
    ("  schemes: {a: {system: mqtt, template: x, color: red}}\n", "namespaces.schemes.a: unknown key 'color'"),
    ("  preset: warlink\n  selectors: {line-1: l1}\n  schemes: {mqtt_tags_line_1: {system: mqtt, template: x}}\n",
     "names.mqtt_tags_line_1 would be both mqtt_tags with the selector of line-1 and mqtt_tags_line_1"),
    ("  preset: warlink\n  entities: {plc: a}\n", "namespaces.entities: must be a list of mappings, got a mapping"),
    ("  preset: warlink\n  entities: [{plcs: a}]\n",
     "namespaces.entities[0].plcs: no declared scheme has this placeholder"),
    ("  entities: [{plc: a}]\n", "namespaces.entities[0].plc: no declared scheme has this placeholder"),
    ("  preset: warlink\n  entities: [{plc: 'a/b'}]\n", "namespaces.entities[0].plc: 'a/b' contains '/'"),
    ("  preset: warlink\n  entities: [{plc: 'a:b'}]\n", "'a:b' contains ':', the redis separator"),
    ("  preset: warlink\n  entities: [{plc: true}]\n", "namespaces.entities[0].plc: must be a non-empty string"),
])
def test_bad_name_schemes_are_refused_with_their_key_path(make_stack, section, message):
    with pytest.raises(StackError, match=re.escape(message)):
        load_stack(make_stack(BASE + "namespaces:\n" + section))


@pytest.mark.parametrize("section, hint", [
    ("  preset: warlink\n  entities: [{plcs: a}]\n", "use one of: plc, tag"),
    ("  entities: [{plc: a}]\n", "use one of: (no scheme declares an entity)"),
])
def test_an_unknown_entity_names_the_ones_there_are(make_stack, section, hint):
    with pytest.raises(StackError) as info:
        load_stack(make_stack(BASE + "namespaces:\n" + section))
    assert info.value.hint == hint
