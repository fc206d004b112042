"""Name schemes, pinned where mutation testing found them unchecked.

What `stack.yaml` users see of multistack/model/namescheme.py: the systems and
their labels, the whole error lines (message and hint) for a bad system, template
or entity value, what a template renders to with and without its optional parts,
and when two names of one system meet (MQTT levels, Redis/Kafka patterns). Each
expected value is written out by hand from docs/namespaces.md and the systems'
own rules, never computed by the module.
"""
from __future__ import annotations

import pytest

from multistack.errors import StackError
from multistack.model.namescheme import (
    SYSTEMS,
    TEMPLATE_HINT,
    WILD,
    Part,
    Scheme,
    display,
    mqtt_filter,
    names_meet,
    parse_template,
    system_named,
    value_problem,
)

MQTT, REDIS, KAFKA, TEMPORAL = SYSTEMS["mqtt"], SYSTEMS["redis"], SYSTEMS["kafka"], SYSTEMS["temporal"]
HINT = ("write literal text, {placeholder} and optional [parts], "
        "e.g. '{namespace}[/{selector}]/{plc}/health'")
W = "stack.yaml: namespaces.schemes.x.template"


def refusal(call, *args) -> tuple[str, str | None]:
    with pytest.raises(StackError) as info:
        call(*args)
    return info.value.message, info.value.hint


# --------------------------------------------------------------------------
# Systems


def test_the_systems_and_their_rules():
    assert list(SYSTEMS) == ["mqtt", "redis", "kafka", "temporal", "postgresql", "s3"]
    assert [s.label for s in SYSTEMS.values()] == [
        "mqtt", "redis/valkey", "kafka", "temporal", "postgresql", "object storage"]
    assert (MQTT.separator, REDIS.separator, KAFKA.separator, TEMPORAL.separator) == ("/", ":", "", "")
    assert KAFKA.max_length == 249 and MQTT.max_length == 0 and REDIS.max_length == 0
    assert TEMPLATE_HINT == HINT


@pytest.mark.parametrize("name, system", [
    ("mqtt", "mqtt"), ("redis", "redis"), ("valkey", "redis"), ("redis/valkey", "redis"),
    ("kafka", "kafka"), ("temporal", "temporal"), ("postgresql", "postgresql"), ("s3", "s3"),
    ("object storage", "s3"),
])
def test_a_system_is_named_by_its_key_or_an_alias(name, system):
    assert system_named(name, "here") is SYSTEMS[system]


def test_an_unknown_system_names_every_known_one():
    assert refusal(system_named, "amqp", "stack.yaml: namespaces.schemes.a.system") == (
        "stack.yaml: namespaces.schemes.a.system: unknown system 'amqp'",
        "use one of: mqtt, redis, kafka, temporal, postgresql, s3 (valkey is redis)")
    assert refusal(system_named, 3, "w")[0] == "w: unknown system 3"
    assert refusal(system_named, "MQTT", "w")[0] == "w: unknown system 'MQTT'"


def test_a_scheme_is_labelled_by_its_system():
    template = parse_template("{namespace}:x", REDIS, "w")
    scheme = Scheme("alarms", REDIS, "alarms", template)
    assert scheme.label == "redis/valkey" and scheme.prefix is False
    s3 = SYSTEMS["s3"]
    assert Scheme("b", s3, "files", parse_template("{namespace}", s3, "w")).label == "object storage"


# --------------------------------------------------------------------------
# Templates


def test_placeholders_are_listed_once_in_order_and_blanks_in_braces_are_dropped():
    t = parse_template("{ plc }/{namespace}[/{selector}]/{plc}/{n}/{tag}[-{database}{project}]", MQTT, W)
    assert t.placeholders == ("plc", "namespace", "selector", "n", "tag", "database", "project")
    assert t.entities == ("plc", "tag")
    assert t.groups == 2
    assert t.pieces[0] == Part("plc", True)


def test_a_required_selector_after_an_optional_part_is_required():
    assert parse_template("{namespace}[/{plc}]/{selector}", MQTT, W).selector == "required"
    assert parse_template("{namespace}[/{plc}][/{selector}]", MQTT, W).selector == "optional"
    assert parse_template("{namespace}[/{plc}]", MQTT, W).selector is None


def test_rendering_keeps_an_optional_part_only_when_every_placeholder_in_it_has_a_value():
    t = parse_template("{namespace}[:{selector}-{plc}]:x[:{tag}]", REDIS, W)
    assert t.render({"namespace": "f", "selector": "s"}) == "f:x"
    assert t.render({"namespace": "f", "selector": "s", "plc": "p"}) == "f:s-p:x"
    assert t.render({"namespace": "f", "selector": "s", "plc": WILD, "tag": "t"}) == f"f:s-{WILD}:x:t"
    assert t.render({"namespace": "f", "tag": "t"}, keep=frozenset({1})) == "f:x:t"
    assert t.render({"namespace": "f", "tag": "t"}, keep=frozenset({0})) == f"f:{WILD}-{WILD}:x"
    assert t.render({"namespace": "f", "tag": "t"}, keep=frozenset()) == "f:x"
    assert t.render({}) == f"{WILD}:x"
    three = parse_template("{namespace}[:{a}][:{b}][:{c}]", REDIS, W)
    assert three.render({"namespace": "f", "a": "1", "b": "2", "c": "3"}, keep=frozenset({2})) == "f:3"
    assert three.render({"namespace": "f", "a": "1", "b": "2", "c": "3"}, keep=frozenset({0, 1})) == "f:1:2"


@pytest.mark.parametrize("template, message", [
    ("", f"{W}: must be a non-empty template string"),
    ("[{a}[{b}]]", f"{W}: '[{{a}}[{{b}}]]': optional parts cannot nest"),
    ("{namespace}]", f"{W}: '{{namespace}}]': ']' without '['"),
    ("{namespace}[/{selector}", f"{W}: '{{namespace}}[/{{selector}}': '[' without ']'"),
    ("{namespace}[/x]", f"{W}: '{{namespace}}[/x]': an optional part needs a placeholder in it"),
    ("{namespace}[]", f"{W}: '{{namespace}}[]': an optional part needs a placeholder in it"),
    ("{namespace}}", f"{W}: '{{namespace}}}}': unbalanced '{{' or '}}'"),
    ("a{b", f"{W}: 'a{{b': unbalanced '{{' or '}}'"),
    ("[{a}][{b}][{c}][{d}][{e}]", f"{W}: '[{{a}}][{{b}}][{{c}}][{{d}}][{{e}}]' has 5 optional parts"),
    ("{namespace}/a+", f"{W}: '{{namespace}}/a+' has '+' that is not a whole level"),
    ("{namespace}/#/x", f"{W}: '{{namespace}}/#/x' has '#' that is not the whole last level"),
    ("{namespace}/{plc}", f"{W}: '{{namespace}}/{{plc}}' contains '/', which a kafka name cannot hold"),
])
def test_bad_templates_are_refused_with_their_whole_line(template, message):
    system = KAFKA if "plc" in template and "/" in template else MQTT
    text, hint = refusal(parse_template, template, system, W)
    assert text == message
    assert hint == ("use at most 4" if "optional parts" in message and "has" in message else HINT)


def test_a_template_that_is_not_a_string_is_refused():
    assert refusal(parse_template, 7, MQTT, W) == (f"{W}: must be a non-empty template string", HINT)
    assert refusal(parse_template, None, MQTT, W) == (f"{W}: must be a non-empty template string", HINT)


@pytest.mark.parametrize("token", ["{Plc}", "{}", "{1plc}", "{p-l}", "{" + "a" * 41 + "}"])
def test_a_bad_placeholder_says_how_placeholders_are_written(token):
    assert refusal(parse_template, "{namespace}/" + token, MQTT, W) == (
        f"{W}: {'{namespace}/' + token!r}: {token!r} is not a placeholder",
        "placeholders are {lowercase_name}: {namespace}, {selector}, {plc}...")


def test_placeholder_names_up_to_40_characters_and_four_optional_parts_are_taken():
    name = "a" + "b_9" * 13
    assert len(name) == 40
    assert parse_template("{namespace}/{" + name + "}", MQTT, W).entities == (name,)
    assert parse_template("{n}[{a}][{b}][{c}][{d}]", REDIS, W).groups == 4


def test_literals_are_checked_with_every_optional_part_kept():
    """A bad literal inside an optional part is refused too (the part may be kept)."""
    assert refusal(parse_template, "{namespace}[/a+{plc}]", MQTT, W)[0] == (
        f"{W}: '{{namespace}}[/a+{{plc}}]' has '+' that is not a whole level")
    assert refusal(parse_template, "{n}[{a}][{b}][{c}][:*{d}]", REDIS, W)[0] == (
        f"{W}: '{{n}}[{{a}}][{{b}}][{{c}}][:*{{d}}]' contains '*', which a redis name cannot hold")


def test_placeholders_filled_in_do_not_trip_the_literal_check():
    """The check fills placeholders with a harmless letter: a Kafka template of placeholders only is fine."""
    t = parse_template("{namespace}.{plc}-{tag}", KAFKA, W)
    assert t.render({"namespace": "a", "plc": "b", "tag": "c"}) == "a.b-c"
    assert parse_template("{namespace}/+/#", MQTT, W).source == "{namespace}/+/#"
    assert parse_template("XX/{namespace}", MQTT, W).pieces == (Part("XX/"), Part("namespace", True))


# --------------------------------------------------------------------------
# What a name may hold


@pytest.mark.parametrize("text, system, problem", [
    ("a\nb", MQTT, "contains U+000A, a character that does not print"),
    ("a\u200bb\x1b\u00a0", REDIS, "contains U+001B, U+00A0, U+200B, a character that does not print"),
    ("Main PLC", KAFKA, "contains ' ', which a kafka name cannot hold"),
    ("a/b:c", KAFKA, "contains '/', ':', which a kafka name cannot hold"),
    ("a*", REDIS, "contains '*', which a redis name cannot hold"),
    ("a*", TEMPORAL, "contains '*', which a temporal name cannot hold"),
    (f"a{WILD}", MQTT, "contains U+0000, a character that does not print"),
    ("$SYS", MQTT, "starts with '$' (MQTT reserves those topics for the broker)"),
    ("a/b", MQTT, "contains '/', '+' or '#' (a value is one MQTT topic level, without wildcards)"),
    ("#", MQTT, "contains '/', '+' or '#' (a value is one MQTT topic level, without wildcards)"),
    ("a+", MQTT, "contains '/', '+' or '#' (a value is one MQTT topic level, without wildcards)"),
    ("a:b", REDIS, "contains ':', the redis separator (a value is one segment)"),
])
def test_value_problems_are_whole_sentences(text, system, problem):
    assert value_problem(text, system) == problem


@pytest.mark.parametrize("text, system", [
    ("Main PLC", MQTT), ("X-ray", MQTT), ("a.b-c_D9", KAFKA), ("a:b/c", TEMPORAL), ("x$", MQTT),
    ("é", REDIS), ("", MQTT),
])
def test_values_a_system_takes(text, system):
    assert value_problem(text, system) is None


@pytest.mark.parametrize("literal, problem", [
    ("a/+/b/#", None),
    ("+", None),
    ("#", None),
    ("a/#/", "has '#' that is not the whole last level"),
    ("a/b#", "has '#' that is not the whole last level"),
    ("a/+b", "has '+' that is not a whole level"),
    ("$x/a", "starts with '$' (MQTT reserves those topics for the broker)"),
])
def test_mqtt_literals_may_hold_whole_level_wildcards(literal, problem):
    assert value_problem(literal, MQTT, literal=True) == problem


def test_separators_are_allowed_in_literals_not_in_values():
    assert value_problem("a:b", REDIS, literal=True) is None
    assert value_problem("a/b", TEMPORAL) is None  # a flat name has no separator


# --------------------------------------------------------------------------
# Meeting


@pytest.mark.parametrize("a, b, meet", [
    ("f/a", "f/a/b", False),  # a longer name is another topic
    ("f/a/b", "f/a", False),
    ("f/#", "f/a", True),
    ("#", "x/y", True),
    ("f/+/x", "f/+/y", False),
    ("+/a", "b/+", True),
    (f"f/l{WILD}", "f/#", True),
    (f"f/{WILD}", "f/a/b", False),
    ("f", "f", True),
    ("f", "g", False),
])
def test_mqtt_names_meet_level_by_level(a, b, meet):
    assert names_meet(MQTT, a, b) is meet
    assert names_meet(MQTT, b, a) is meet


@pytest.mark.parametrize("system, a, b, prefixes, meet", [
    (REDIS, f"a:{WILD}", "a:b:c", (False, False), False),  # a wildcard never takes the separator
    (REDIS, f"a:{WILD}", "a:bc", (False, False), True),
    (REDIS, f"a:{WILD}", f"a:{WILD}", (False, False), True),
    (REDIS, f"{WILD}", "", (False, False), False),
    (REDIS, "a:", "a:b:c", (True, False), True),  # a prefix takes the separator too
    (REDIS, "a:", "a:", (True, True), True),
    (REDIS, "a:b", "a:", (False, True), True),
    (REDIS, "a:b", "a:c", (True, True), False),
    (REDIS, "a", "ab", (False, False), False),
    (REDIS, "ab", "a", (False, False), False),
    (REDIS, f"{WILD}:x", f"a{WILD}", (False, False), False),  # a* cannot end with ':x'
    (REDIS, f"{WILD}x", f"a{WILD}", (False, False), True),
    (REDIS, f"{WILD}", ":", (False, False), False),
    (REDIS, f"{WILD}", f":{WILD}", (False, False), False),
    (REDIS, f"{WILD}", "a", (True, False), True),
    (REDIS, f"{WILD}", ":", (True, False), False),  # the wildcard still needs one character before the ':'
    (REDIS, f"a{WILD}", "a:", (True, True), False),  # a* needs a character other than ':' after the a
    (REDIS, f"a{WILD}", "ab:", (True, True), True),
    (KAFKA, f"{WILD}", "a.b-c", (False, False), True),  # no separator: a wildcard takes anything
    (KAFKA, f"x{WILD}y", "xy", (False, False), False),
    (KAFKA, f"x{WILD}y", "xaby", (False, False), True),
    (TEMPORAL, "a", "a", (False, False), True),
    (TEMPORAL, "a", "b", (False, False), False),
])
def test_patterns_meet_when_one_key_matches_both(system, a, b, prefixes, meet):
    assert names_meet(system, a, b, *prefixes) is meet
    assert names_meet(system, b, a, prefixes[1], prefixes[0]) is meet


def test_names_are_no_prefixes_unless_told():
    assert names_meet(REDIS, "a", "ab") is False
    assert names_meet(REDIS, "ab", "a") is False
    assert names_meet(REDIS, "a", "ab", True) is True
    assert names_meet(REDIS, "ab", "a", False, True) is True


def test_a_wildcard_before_a_separator_meets_only_names_with_it():
    assert names_meet(REDIS, f"{WILD}:{WILD}", "a:b") is True
    assert names_meet(REDIS, f"{WILD}:{WILD}", "ab") is False
    assert names_meet(REDIS, f"{WILD}{WILD}", "a:b") is False
    assert names_meet(REDIS, f"{WILD}{WILD}", "ab") is True
    assert names_meet(REDIS, f"{WILD}{WILD}", "a") is False  # each wildcard is one character at least


def test_display_writes_wildcards_the_way_subscribers_do():
    assert display(MQTT, f"f/{WILD}/x{WILD}/#") == "f/+/+/#"
    assert display(REDIS, f"f:{WILD}:x{WILD}") == "f:*:x*"
    assert display(KAFKA, f"{WILD}.h") == "*.h"
    assert mqtt_filter("a/b") == "a/b"
