"""The ``namespaces:`` section and the uniqueness of every namespace: the exact refusals.

Mutation testing left the collision checks (two owners, Kafka topics that meet), the
override and selector refusals and the names table's "used by" column mostly unchecked.
Seen from the CLI: `inv --dry dev 1 start` checks every namespace the stack can run.
Below those, the rules are called directly (namespace_problem, check_database, check_unique,
parse_namespaces): each problem's exact wording at its edges (63/64 characters, 2/3, the
reserved S3 prefixes and suffix), and every refusal of `preset:`, `schemes:` and `entities:`
with its key path and hint, since those lines are all a user sees of a bad stack.yaml.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from multistack.errors import StackError
from multistack.model.namespaces import (
    NamespaceSection,
    check_database,
    check_namespace,
    check_unique,
    kafka_topics,
    namespace_problem,
    parse_namespaces,
    selector_key,
)
from tests.audit.fake import FakeEngine, engine, run_program  # noqa: F401  (engine: a fixture)

BASE = "project: shop\ninstances: 0-5\nservices:\n  api: {port: 3000}\napps:\n  api: {command: python3 -m http.server}\n"
FIX_NS = "(fix: use 3-63 lowercase letters, digits and single '-', starting with a letter, e.g. shop-dev-1)"


@pytest.mark.parametrize("extra, line", [
    ("namespaces: {instances: {3: shop-dev-1}}\n",
     "namespace 'shop-dev-1' is used by instance 1 (default <project>-dev-N) and by instance 3 "
     "(namespaces.instances.3) (fix: give one of them another namespace under `namespaces:` in stack.yaml)"),
    ("namespaces: {instances: {2: shop-dev-1-writes}}\n",
     "Kafka topic 'shop-dev-1-writes' would belong to instance 1 (default <project>-dev-N) (namespace 'shop-dev-1') "
     "and to instance 2 (namespaces.instances.2) (namespace 'shop-dev-1-writes') "
     "(fix: rename one namespace so that neither ends with -writes or -write-responses of the other)"),
    ("namespaces: {instances: {2: shop-dev-1-write-responses}}\n",
     "Kafka topic 'shop-dev-1-write-responses' would belong to instance 1 (default <project>-dev-N) "
     "(namespace 'shop-dev-1') and to instance 2 (namespaces.instances.2) (namespace 'shop-dev-1-write-responses') "
     "(fix: rename one namespace so that neither ends with -writes or -write-responses of the other)"),
    ("namespaces: {instances: {2: Bad_NS}}\n",
     "stack.yaml: instance 2 (namespaces.instances.2): namespace 'Bad_NS' contains 'B', 'N', 'S', '_' "
     "(allowed: a-z, 0-9, '-') " + FIX_NS),
    ("namespaces: {instances: {2: x}}\n",
     "stack.yaml: instance 2 (namespaces.instances.2): namespace 'x' is 1 characters long "
     "(S3 bucket names need at least 3) " + FIX_NS),
    ("namespaces: {instances: {6: abc}}\n",
     "stack.yaml: namespaces.instances.6: instance 6 is out of range 0-5 (fix: remove the override or widen `instances:`)"),
    ("namespaces: {instances: {'02': abc}}\n",
     "stack.yaml: namespaces.instances: '02' is not an instance number (fix: use a whole number without leading zeros)"),
    ("namespaces: {instances: {true: abc}}\n",
     "stack.yaml: namespaces.instances: 'True' is not an instance number (fix: use a whole number without leading zeros)"),
    ("namespaces: {instances: {2: 5}}\n", "stack.yaml: namespaces.instances.2: must be a namespace string " + FIX_NS),
    ("namespaces: {instances: [1]}\n",
     "stack.yaml: namespaces.instances: must be a mapping of instance number to namespace "
     "(fix: e.g. namespaces: {instances: {3: shop-demo}})"),
    ("namespaces: {selectors: [1]}\n",
     "stack.yaml: namespaces.selectors: must be a mapping of service name to selector (fix: e.g. {worker: site-a})"),
    ("namespaces: {selectors: {nope: a}}\n",
     "stack.yaml: namespaces.selectors.nope: no service or app of that name (fix: use one of: api)"),
    ("namespaces: {selectors: {api: 'a--b'}}\n",
     "stack.yaml: namespaces.selectors.api: 'a--b' is not a valid selector (one topic level) "
     "(fix: use lowercase letters, digits and single '-', no '/', '+' or '#')"),
    ("namespaces: {selectors: {api: 'A'}}\n",
     "stack.yaml: namespaces.selectors.api: 'A' is not a valid selector (one topic level) "
     "(fix: use lowercase letters, digits and single '-', no '/', '+' or '#')"),
    ("namespaces: {bogus: 1}\n",
     "stack.yaml: namespaces: unknown key 'bogus' (fix: check the spelling against multistack/schema/stack.schema.json)"),
])
def test_refused_before_anything_runs(make_stack: Callable[..., Path], engine: FakeEngine, extra: str, line: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    make_stack(BASE + extra)
    code, out, err = run_program(["--dry", "dev", "1", "start"], capsys)
    assert (code, err.strip()) == (2, f"error: {line}")
    assert " up " not in out


def test_an_override_that_collides_with_nothing_is_used(make_stack: Callable[..., Path], engine: FakeEngine,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    make_stack(BASE + "namespaces: {instances: {3: shop-demo}, selectors: {api: site-a}}\n")
    code, out, err = run_program(["dev", "3", "info"], capsys)
    assert code == 0, err
    names = [line.split() for line in out.splitlines() if "names." in line]
    assert names == [
        ["temporal", "names.temporal_namespace", "shop-demo"],
        ["temporal", "names.temporal_task_queue", "shop-demo"],
        ["redis/valkey", "names.redis_prefix", "shop-demo:"],
        ["redis/valkey", "names.redis_write_queue", "shop-demo:writes"],
        ["kafka", "names.kafka_topic", "shop-demo"],
        ["kafka", "names.kafka_health_topic", "shop-demo.health"],
        ["kafka", "names.kafka_writes_topic", "shop-demo-writes"],
        ["kafka", "names.kafka_write_responses_topic", "shop-demo-write-responses"],
        ["mqtt", "names.mqtt_tags_topic", "shop-demo/+/tags/#"],
        ["mqtt", "names.mqtt_write_topic", "shop-demo/+/write"],
        ["postgresql", "names.database", "shop_instance_3"],
        ["object", "storage", "names.bucket", "shop-demo"],
        ["mqtt", "names.selector_api", "shop-demo/site-a/#"],  # an MQTT subscription for its level
    ]
    assert "names of instance 3 (namespace shop-demo)" in out


SYSTEM_APPS = "services:\n  api: {port: 3000}\napps:\n  api: {command: python3 -m http.server}\n"


@pytest.mark.parametrize("member, line", [
    ("{slot: 2, namespace: acme-dev-1}",
     "error: namespace 'acme-dev-1' is used by instance 1 (default <project>-dev-N) and by member leaf of system trio "
     "(systems.trio.members.leaf.namespace) (fix: give one of them another namespace under `namespaces:` in stack.yaml)"),
    ("{slot: 2, namespace: Bad_X}",
     "error: stack.yaml: systems.trio.members.leaf: namespace 'Bad_X' contains 'B', 'X', '_' (allowed: a-z, 0-9, '-') "
     + FIX_NS),
])
def test_system_member_namespaces_take_part(make_stack: Callable[..., Path], engine: FakeEngine, member: str,
                                            line: str, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.plan.test_topology_mutants import COMPOSE, STACK

    make_stack(STACK.replace("leaf: {slot: 2}", "leaf: " + member) + SYSTEM_APPS, {"compose.yml": COMPOSE})
    code, out, err = run_program(["--dry", "dev", "1", "start"], capsys)
    assert (code, err.strip()) == (2, line)


@pytest.mark.parametrize("member", ["{slot: 2, namespace: 'acme-{{ callsign }}'}", "{slot: 2, namespace: acme-other}",
                                    "{slot: 2}"])
def test_templated_or_distinct_member_namespaces_pass(make_stack: Callable[..., Path], engine: FakeEngine,
                                                      member: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Both members are checked: a template (rendered per member) is not refused, nor does it stop the loop."""
    from tests.plan.test_topology_mutants import COMPOSE, STACK

    text = STACK.replace("leaf: {slot: 2}", "leaf: " + member).replace("Far: {slot: 3}", "Far: {slot: 3, namespace: Nope}")
    make_stack(text + SYSTEM_APPS, {"compose.yml": COMPOSE})
    code, out, err = run_program(["--dry", "dev", "1", "start"], capsys)
    assert code == 2 and "systems.trio.members.Far: namespace 'Nope' contains 'N'" in err


# --------------------------------------------------------------------------
# The rules themselves, called directly: exact problems and edges

FILE = "stack.yaml"
TEN = range(0, 10)
HINT_NS = FIX_NS[len("(fix: "):-1]


@pytest.mark.parametrize("name, problem", [
    ("", "is empty"),
    (None, "is empty"),
    (5, "is empty"),  # not a string at all
    ("x" * 64, "is 64 characters long (DNS labels, S3 buckets and PostgreSQL allow 63)"),
    ("ab", "is 2 characters long (S3 bucket names need at least 3)"),
    ("a.b:c", "contains '.', ':' (allowed: a-z, 0-9, '-')"),
    ("9ab", "must start with a letter"),
    ("ab-", "must end with a letter or digit"),
    ("a--b", "contains '--' (reserved for punycode xn-- and S3 suffixes)"),
    ("sthree-a", "starts with the reserved S3 prefix 'sthree-'"),
    ("amzn-s3-demo-a", "starts with the reserved S3 prefix 'amzn-s3-demo-'"),
    ("a-s3alias", "ends with the reserved S3 suffix '-s3alias'"),
])
def test_namespace_problems_exactly(name, problem):
    assert namespace_problem(name) == problem


@pytest.mark.parametrize("name", ["abc", "a" * 63, "a-9", "sthree", "s3alias", "amzn-s3-demo", "zsthree-a"])
def test_namespaces_at_the_edges_pass(name):
    assert namespace_problem(name) is None
    assert check_namespace(name, "w") == name


def test_check_namespace_names_where_it_came_from():
    with pytest.raises(StackError) as info:
        check_namespace("ab-", "stack.yaml: instance 4")
    assert (info.value.message, info.value.hint) == (
        "stack.yaml: instance 4: namespace 'ab-' must end with a letter or digit", HINT_NS)


FIX_DB = ("use at most 63 lowercase letters, digits and '_', not starting with a digit "
          "(a '-' would need quoting in every SQL statement)")


@pytest.mark.parametrize("name", ["a", "_a", "a" * 63, "shop_instance_10"])
def test_plain_database_names_pass(name):
    assert check_database(name, "w") == name


@pytest.mark.parametrize("name", ["", None, "a" * 64, "1a", "a-b", "Ab", "a$"])
def test_other_database_names_are_refused(name):
    with pytest.raises(StackError) as info:
        check_database(name, "stack.yaml: instance 2")
    assert (info.value.message, info.value.hint) == (
        f"stack.yaml: instance 2: database name {name!r} is not a plain PostgreSQL identifier", FIX_DB)


def test_the_kafka_topics_of_a_namespace_and_the_selector_key():
    assert kafka_topics("ab") == ("ab", "ab.health", "ab-writes", "ab-write-responses")
    assert selector_key("line-1-a") == "selector_line_1_a"


FIX_UNIQUE = "give one of them another namespace under `namespaces:` in stack.yaml"
FIX_TOPIC = "rename one namespace so that neither ends with -writes or -write-responses of the other"


def test_one_owner_may_hold_a_namespace_twice_and_its_own_topics():
    check_unique([("member a", "shop"), ("member a", "shop"), ("member a", "shop-writes"), ("b", "other")])


@pytest.mark.parametrize("pairs, message, hint", [
    ([("one", "ab"), ("two", "cd"), ("three", "ab")], "namespace 'ab' is used by one and by three", FIX_UNIQUE),
    # the first owner of a topic is named first, whichever namespace is longer
    ([("two", "ab-writes"), ("one", "ab")],
     "Kafka topic 'ab-writes' would belong to two (namespace 'ab-writes') and to one (namespace 'ab')", FIX_TOPIC),
    ([("one", "ab"), ("two", "ab-write-responses")],
     "Kafka topic 'ab-write-responses' would belong to one (namespace 'ab') and to two "
     "(namespace 'ab-write-responses')", FIX_TOPIC),
])
def test_check_unique_refusals(pairs, message, hint):
    with pytest.raises(StackError) as info:
        check_unique(pairs)
    assert (info.value.message, info.value.hint) == (message, hint)


def refused(raw, known=("api", "line-1"), instances=TEN) -> tuple[str, str | None]:
    with pytest.raises(StackError) as info:
        parse_namespaces(raw, FILE, instances, known)
    return info.value.message, info.value.hint


def test_an_absent_or_empty_section_is_the_default():
    assert parse_namespaces(None, FILE, TEN, []) == NamespaceSection()
    assert parse_namespaces({"instances": None, "selectors": None, "preset": None, "schemes": None,
                             "entities": None}, FILE, TEN, []) == NamespaceSection()


def test_overrides_and_selectors_are_read_as_given():
    section = parse_namespaces({"instances": {"3": "a-b", 9: "c-d", 0: "e"}, "selectors": {"line-1": "7", "api": "x-y"}},
                               FILE, TEN, ["api", "line-1"])
    assert dict(section.overrides) == {3: "a-b", 9: "c-d", 0: "e"}  # checked later, with every other namespace
    assert list(section.selectors.items()) == [("line-1", "7"), ("api", "x-y")]


@pytest.mark.parametrize("raw, known, message, hint", [
    ({"instances": {10: "ab"}}, (), "stack.yaml: namespaces.instances.10: instance 10 is out of range 2-9",
     "remove the override or widen `instances:`"),
    ({"instances": {1: "ab"}}, (), "stack.yaml: namespaces.instances.1: instance 1 is out of range 2-9",
     "remove the override or widen `instances:`"),
    ({"instances": {-3: "ab"}}, (), "stack.yaml: namespaces.instances: '-3' is not an instance number",
     "use a whole number without leading zeros"),
    ({"selectors": {"x": "a"}}, (), "stack.yaml: namespaces.selectors.x: no service or app of that name",
     "use one of: (none declared)"),
    ({"selectors": {"x": "a"}}, ("b", "a"), "stack.yaml: namespaces.selectors.x: no service or app of that name",
     "use one of: a, b"),
    ({"selectors": {"a": 5}}, ("a",), "stack.yaml: namespaces.selectors.a: 5 is not a valid selector (one topic level)",
     "use lowercase letters, digits and single '-', no '/', '+' or '#'"),
    ({"selectors": {"a": "b-"}}, ("a",),
     "stack.yaml: namespaces.selectors.a: 'b-' is not a valid selector (one topic level)",
     "use lowercase letters, digits and single '-', no '/', '+' or '#'"),
    ({"selectors": {"a": "b" * 64}}, ("a",),
     f"stack.yaml: namespaces.selectors.a: {'b' * 64!r} is not a valid selector (one topic level)",
     "use lowercase letters, digits and single '-', no '/', '+' or '#'"),
    ({"selectors": {"a-b": "x", "a_b": "y"}}, ("a-b", "a_b"),
     "stack.yaml: namespaces.selectors: 'a-b' and 'a_b' would both be selector_a_b", "rename one"),
])
def test_section_refusals(raw, known, message, hint):
    assert refused(raw, known, range(2, 10)) == (message, hint)


def test_selectors_at_the_edges_pass():
    section = parse_namespaces({"selectors": {"a": "b" * 63, "c": "9"}}, FILE, TEN, ["a", "c"])
    assert dict(section.selectors) == {"a": "b" * 63, "c": "9"}


# --------------------------------------------------------------------------
# `preset:`, `schemes:` and `entities:`


def keys_of(section: NamespaceSection) -> list[str]:
    return [s.key for s in section.schemes]


def test_own_schemes_replace_the_presets_in_place_and_follow_them():
    section = parse_namespaces({"preset": ["warlink", "warlink"], "schemes": {
        "zeta": {"system": "valkey", "template": "{namespace}:z:", "prefix": True, "purpose": "cache"},
        "mqtt_health": {"system": "mqtt", "template": "{namespace}/h"}}}, FILE, TEN, [])
    assert keys_of(section) == ["mqtt_tags", "mqtt_health", "mqtt_writes", "mqtt_write_responses", "valkey_tags",
                                "valkey_health", "valkey_writes", "valkey_write_responses", "kafka_tags",
                                "kafka_health", "kafka_writes", "kafka_write_responses", "zeta"]
    health, zeta = section.schemes[1], section.schemes[-1]
    assert (health.system.name, health.purpose, health.template.source, health.prefix) == (
        "mqtt", "mqtt_health", "{namespace}/h", False)  # the purpose defaults to the key
    assert (zeta.system.name, zeta.purpose, zeta.template.source, zeta.prefix) == ("redis", "cache", "{namespace}:z:", True)
    assert section.schemes[0].purpose == "tag values"
    assert keys_of(parse_namespaces({"preset": "warlink"}, FILE, TEN, [])) == keys_of(section)[:12]
    assert parse_namespaces({"preset": []}, FILE, TEN, []).schemes == ()


FIX_KEYS = "rename the scheme or the service"


@pytest.mark.parametrize("raw, message, hint", [
    ({"preset": 5}, "stack.yaml: namespaces.preset: must be a preset name or a list of them, got an integer", None),
    ({"preset": "nope"}, "stack.yaml: namespaces.preset: unknown preset 'nope'", "use one of: warlink"),
    ({"preset": ["warlink", 3]}, "stack.yaml: namespaces.preset[1]: unknown preset 3", "use one of: warlink"),
    ({"schemes": {"Bad": {"system": "mqtt", "template": "x"}}},
     "stack.yaml: namespaces.schemes.Bad: scheme keys are lowercase letters, digits and _, starting with a letter "
     "(names.<key>)", "rename the scheme, e.g. alarms or tag_values"),
    ({"schemes": {"a" * 61: {"system": "mqtt", "template": "x"}}},
     f"stack.yaml: namespaces.schemes.{'a' * 61}: scheme keys are lowercase letters, digits and _, starting with a "
     "letter (names.<key>)", "rename the scheme, e.g. alarms or tag_values"),
    ({"schemes": {"redis_prefix": {"system": "redis", "template": "x"}}},
     "stack.yaml: namespaces.schemes.redis_prefix: names.redis_prefix is a built-in name", "give your scheme another key"),
    ({"schemes": {"a": {"system": "amqp", "template": "x"}}}, "stack.yaml: namespaces.schemes.a.system: unknown system "
     "'amqp'", "use one of: mqtt, redis, kafka, temporal, postgresql, s3 (valkey is redis)"),
    ({"schemes": {"a": {"template": "x"}}}, "stack.yaml: namespaces.schemes.a.system: unknown system ''",
     "use one of: mqtt, redis, kafka, temporal, postgresql, s3 (valkey is redis)"),
    ({"schemes": {"a": {"system": "mqtt"}}}, "stack.yaml: namespaces.schemes.a.template: must be a non-empty template "
     "string", "write literal text, {placeholder} and optional [parts], e.g. '{namespace}[/{selector}]/{plc}/health'"),
    ({"schemes": {"a": {"system": "mqtt", "template": "x", "prefix": "yes"}}},
     "stack.yaml: namespaces.schemes.a.prefix: must be true or false, got a string", None),
    ({"schemes": {"a": {"system": "mqtt", "template": "x", "purpose": 5}}},
     "stack.yaml: namespaces.schemes.a.purpose: must be a non-empty string, got an integer", None),
    ({"schemes": {"a": {"system": "mqtt", "template": "x", "colour": 1}}},
     "stack.yaml: namespaces.schemes.a: unknown key 'colour'", "check the spelling against multistack/schema/stack.schema.json"),
    ({"oops": 1}, "stack.yaml: namespaces: unknown key 'oops'", "check the spelling against multistack/schema/stack.schema.json"),
    # names.<key> of one scheme and names.<key>_<service> of another
    ({"selectors": {"api": "l1"}, "schemes": {"q_api": {"system": "kafka", "template": "x"},
                                              "q": {"system": "kafka", "template": "{namespace}[-{selector}]"}}},
     "stack.yaml: namespaces.schemes: names.q_api would be both q_api and q with the selector of api", FIX_KEYS),
    ({"selectors": {"api": "l1"}, "schemes": {"selector_api": {"system": "mqtt", "template": "x"}}},
     "stack.yaml: namespaces.schemes: names.selector_api would be both selector with the selector of api and "
     "selector_api", FIX_KEYS),
])
def test_scheme_refusals(raw, message, hint):
    assert refused(raw) == (message, hint)


def test_a_required_selector_gives_no_key_of_its_own():
    """`{namespace}/{selector}` has only per-service names: its bare key may be another scheme's per-service key."""
    section = parse_namespaces({"selectors": {"api": "l1"}, "schemes": {
        "q_api": {"system": "mqtt", "template": "{namespace}/{selector}"},
        "q": {"system": "mqtt", "template": "{namespace}[/{selector}]/x"}}}, FILE, TEN, ["api"])
    assert keys_of(section) == ["q_api", "q"]


ENTITY_SCHEMES = {"m": {"system": "mqtt", "template": "{namespace}/{plc}/{tag}"},
                  "k": {"system": "kafka", "template": "{namespace}.{plc}"}}


def test_entities_are_read_in_order_as_strings():
    section = parse_namespaces({"schemes": ENTITY_SCHEMES, "entities": [{"plc": "p1", "tag": 7}, {"tag": "a b"}, None]},
                               FILE, TEN, [])
    assert section.entities == ((("plc", "p1"), ("tag", "7")), (("tag", "a b"),), ())


@pytest.mark.parametrize("entities, message, hint", [
    ({"plc": "a"}, "stack.yaml: namespaces.entities: must be a list of mappings, got a mapping",
     "e.g. entities: [{plc: Main PLC, tag: Counter}]"),
    ([{"plc": "a"}, {"plcs": "b"}], "stack.yaml: namespaces.entities[1].plcs: no declared scheme has this placeholder",
     "use one of: plc, tag"),
    ([{"plc": True}], "stack.yaml: namespaces.entities[0].plc: must be a non-empty string, got a boolean", None),
    ([{"plc": 1.5}], "stack.yaml: namespaces.entities[0].plc: must be a non-empty string, got a number", None),
    ([{"plc": ""}], "stack.yaml: namespaces.entities[0].plc: must be a non-empty string, got a string", None),
    ([{"tag": "a/b"}], "stack.yaml: namespaces.entities[0].tag: 'a/b' contains '/', '+' or '#' (a value is one MQTT "
     "topic level, without wildcards) (names.m)", "rename the entity, or leave it out of that scheme's template"),
    # one MQTT level may hold a blank, a Kafka topic may not: every scheme using the placeholder is asked
    ([{"plc": "a b"}], "stack.yaml: namespaces.entities[0].plc: 'a b' contains ' ', which a kafka name cannot hold "
     "(names.k)", "rename the entity, or leave it out of that scheme's template"),
])
def test_entity_refusals(entities, message, hint):
    assert refused({"schemes": ENTITY_SCHEMES, "entities": entities}) == (message, hint)
