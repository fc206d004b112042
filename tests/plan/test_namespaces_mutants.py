"""The names an instance derives, their tables, their shapes and the check across instances: exact values.

Mutation testing of multistack/plan/namespaces.py left much of it unpinned: which keys a
scheme gives per selector, what ``{n}``/``{project}``/``{database}`` are filled with, every
column of ``info``'s two tables, the forms the uniqueness check compares (each optional
part kept and dropped, which ones are "anchored"), the exact clash lines, and where each
instance's namespace comes from (override, template, default) with its error lines.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, NamedTuple

import pytest

from multistack.errors import StackError
from multistack.model.namescheme import WILD
from multistack.model.stack import Stack, load_stack
from multistack.plan.namespaces import (
    Shape,
    Variant,
    check_names,
    check_stack,
    declared_names,
    derived_names,
    instance_names,
    name_shapes,
    name_table,
    names_rows,
    table_rows,
    variants,
)

BASE = "project: shop\ninstances: 0-2\napps:\n  api: {command: python3 api.py}\n  line-1: {command: x}\n"
FIX_CLASH = ("put {namespace} in the scheme's template (namespaces.schemes), "
             "or give the instances other namespaces or selectors")


class Inst(NamedTuple):
    """What the derived names read of a planned instance (the Named protocol)."""

    stack: Stack
    n: int
    namespace: str
    database: str


MakeStack = Callable[..., Path]


def stack_of(make_stack: MakeStack, namespaces: str = "", extra: str = "", instances: str = "0-2") -> Stack:
    text = BASE.replace("0-2", instances) + extra + ("namespaces:\n" + namespaces if namespaces else "")
    return load_stack(make_stack(text))


def refusal(stack: Stack) -> tuple[str, str | None]:
    with pytest.raises(StackError) as info:
        check_stack(stack)
    return info.value.message, info.value.hint


def scheme(stack: Stack, key: str):
    return next(s for s in stack.namespaces.schemes if s.key == key)


# --------------------------------------------------------------------------
# The keys a scheme gives, and what its placeholders are filled with

SELECTED = ("  selectors: {api: l1, line-1: l2}\n  schemes:\n"
            "    req: {system: mqtt, template: '{namespace}/{selector}/x'}\n"
            "    opt: {system: kafka, template: '{namespace}[-{selector}]-{plc}', purpose: orders}\n"
            "    own: {system: s3, template: '{project}-{n}-{database}'}\n")


def test_a_scheme_gives_its_own_key_unless_the_selector_is_required_then_one_per_selector(make_stack):
    stack = stack_of(make_stack, SELECTED)
    selectors = stack.namespaces.selectors
    assert variants(scheme(stack, "req"), selectors) == [Variant("req_api", "api", "l1"),
                                                        Variant("req_line_1", "line-1", "l2")]
    assert variants(scheme(stack, "opt"), selectors) == [Variant("opt", None, None), Variant("opt_api", "api", "l1"),
                                                        Variant("opt_line_1", "line-1", "l2")]
    assert variants(scheme(stack, "own"), selectors) == [Variant("own", None, None)]


def test_declared_names_fill_the_instance_placeholders_and_leave_entities_open(make_stack):
    inst = Inst(stack_of(make_stack, SELECTED), 1, "ns-a", "db_a")
    declared = {"req_api": "ns-a/l1/x", "req_line_1": "ns-a/l2/x", "opt": "ns-a-*", "opt_api": "ns-a-l1-*",
                "opt_line_1": "ns-a-l2-*", "own": "shop-1-db_a"}
    assert declared_names(inst) == declared
    names = derived_names(inst)
    assert list(names)[-len(declared):] == list(declared)  # the declared ones come after the built-in ones
    assert (names["selector_api"], names["selector_line_1"], names["database"]) == ("ns-a/l1/#", "ns-a/l2/#", "db_a")


def test_names_rows_label_each_name_with_its_system(make_stack):
    inst = Inst(stack_of(make_stack, SELECTED), 2, "ns-b", "db_b")
    rows = names_rows(inst)
    assert rows[0] == ["temporal", "names.temporal_namespace", "ns-b"]
    assert rows[-8:] == [
        ["mqtt", "names.selector_api", "ns-b/l1/#"],
        ["mqtt", "names.selector_line_1", "ns-b/l2/#"],
        ["mqtt", "names.req_api", "ns-b/l1/x"],
        ["mqtt", "names.req_line_1", "ns-b/l2/x"],
        ["kafka", "names.opt", "ns-b-*"],
        ["kafka", "names.opt_api", "ns-b-l1-*"],
        ["kafka", "names.opt_line_1", "ns-b-l2-*"],
        ["object storage", "names.own", "shop-2-db_b"],
    ]


# --------------------------------------------------------------------------
# info's table of declared names: one row per distinct name, selector and entity

TABLED = ("  selectors: {api: l1, line-1: l1}\n  schemes:\n"
          "    req: {system: mqtt, template: '{namespace}/{selector}/x'}\n"
          "    tags: {system: redis, template: '{namespace}:{plc}:{tag}', purpose: tag values}\n"
          "    pg: {system: postgresql, template: '{database}_{n}'}\n"
          "  entities:\n    - {plc: p1, tag: t1}\n    - {plc: p1, tag: t1}\n    - {plc: p2}\n    - {tag: t9}\n")


def test_the_name_table_has_one_row_per_distinct_name_of_each_key(make_stack):
    rows = name_table(Inst(stack_of(make_stack, TABLED), 1, "ns-a", "db_a"))
    req = {"system": "mqtt", "purpose": "req", "template": "{namespace}/{selector}/x", "selector": "l1",
           "entity": {}, "name": "ns-a/l1/x"}
    tags = {"key": "tags", "system": "redis", "purpose": "tag values", "template": "{namespace}:{plc}:{tag}",
            "selector": None, "service": None}
    assert rows == [
        {"key": "req_api", "service": "api", **req},  # two services, one selector: one row each
        {"key": "req_line_1", "service": "line-1", **req},
        {**tags, "entity": {"plc": "p1", "tag": "t1"}, "name": "ns-a:p1:t1"},  # the repeated entity: once
        {**tags, "entity": {"plc": "p2"}, "name": "ns-a:p2:*"},
        {**tags, "entity": {"tag": "t9"}, "name": "ns-a:*:t9"},
        {"key": "pg", "system": "postgresql", "purpose": "pg", "template": "{database}_{n}", "selector": None,
         "service": None, "entity": {}, "name": "db_a_1"},  # entities it has no placeholder for: one row
    ]


def test_table_rows_show_a_missing_selector_or_entity_as_a_dash(make_stack):
    assert table_rows(Inst(stack_of(make_stack, TABLED), 1, "ns-a", "db_a")) == [
        ["mqtt", "req", "l1", "-", "ns-a/l1/x"],
        ["mqtt", "req", "l1", "-", "ns-a/l1/x"],
        ["redis/valkey", "tag values", "-", "plc=p1, tag=t1", "ns-a:p1:t1"],
        ["redis/valkey", "tag values", "-", "plc=p2", "ns-a:p2:*"],
        ["redis/valkey", "tag values", "-", "tag=t9", "ns-a:*:t9"],
        ["postgresql", "pg", "-", "-", "db_a_1"],
    ]


# --------------------------------------------------------------------------
# The shapes the check compares

SHAPED = ("  selectors: {api: l1}\n  schemes:\n"
          "    health: {system: mqtt, template: '{namespace}[/{selector}]/{plc}/health'}\n"
          "    opt: {system: kafka, template: '{namespace}[-{plc}]'}\n"
          "    two: {system: kafka, template: '{namespace}[.{plc}][_{tag}]'}\n"
          "    num: {system: kafka, template: '{namespace}{n}'}\n"
          "    under: {system: kafka, template: '{namespace}_x'}\n"
          "    free: {system: kafka, template: '{project}-{n}'}\n"
          "    plus: {system: mqtt, template: 'plant/+/x'}\n"
          "    hash: {system: mqtt, template: '{namespace}/#'}\n"
          "    topic: {system: mqtt, template: '{namespace}/X'}\n"
          "    plain: {system: redis, template: '{namespace}:a+b#'}\n"
          "    cache: {system: redis, template: '{namespace}:c', prefix: true}\n")


@pytest.mark.parametrize("key, selector, shapes", [
    # the optional part with the selector: kept exactly when the variant has a selector
    ("health", None, [Shape(f"{{namespace}}/{WILD}/health", True, True)]),
    ("health", "l1", [Shape(f"{{namespace}}/l1/{WILD}/health", True, True)]),
    # one without: dropped and kept; `-` is a namespace character, so that form is not anchored
    ("opt", None, [Shape("{namespace}", False, True), Shape(f"{{namespace}}-{WILD}", True, False)]),
    ("two", None, [Shape("{namespace}", False, True), Shape(f"{{namespace}}_{WILD}", True, True),
                   Shape(f"{{namespace}}.{WILD}", True, True), Shape(f"{{namespace}}.{WILD}_{WILD}", True, True)]),
    ("num", None, [Shape("{namespace}{n}", False, False)]),  # digits follow: not anchored
    ("under", None, [Shape("{namespace}_x", False, True)]),
    ("free", None, [Shape("{project}-{n}", False, False)]),
    ("plus", None, [Shape("plant/+/x", True, False)]),  # an MQTT `+` level is open
    ("hash", None, [Shape("{namespace}/#", True, True)]),
    ("topic", None, [Shape("{namespace}/X", False, True)]),  # a plain topic is not
    ("plain", None, [Shape("{namespace}:a+b#", False, True)]),  # `+`, `#` are plain characters in Redis
    ("cache", None, [Shape("{namespace}:c", True, True)]),  # a prefix is open
])
def test_name_shapes(make_stack, key, selector, shapes):
    stack = stack_of(make_stack, SHAPED)
    found = {v.selector: v for v in variants(scheme(stack, key), stack.namespaces.selectors)}
    assert name_shapes(scheme(stack, key), found[selector]) == shapes


# --------------------------------------------------------------------------
# The check across instances: the exact lines


@pytest.mark.parametrize("schemes, instances, message", [
    # equal names: the lower instance first, whichever is found first
    ("    q: {system: temporal, template: 'queue'}\n", "0-2",
     "temporal name 'queue' is names.q of instance 0 and names.q of instance 1"),
    ("    q: {system: s3, template: 'bucket'}\n", "0-2",
     "object storage name 'bucket' is names.q of instance 0 and names.q of instance 1"),
    ("    q: {system: postgresql, template: 'db'}\n", "0-2",
     "postgresql name 'db' is names.q of instance 0 and names.q of instance 1"),
    ("    q: {system: redis, template: 'q:{n}'}\n    r: {system: redis, template: 'q:1'}\n", "0-2",
     "Redis/Valkey key 'q:1' is names.r of instance 0 and names.q of instance 1"),
    # a prefix is shown with a `*`, and meets the keys it starts
    ("    q: {system: redis, template: 'q:{n}', prefix: true}\n    r: {system: redis, template: 'q:1{n}'}\n", "0-2",
     "Redis/Valkey key 'q:10' (names.r of instance 0) overlaps 'q:1*' (names.q of instance 1)"),
    # a prefix meets what it starts, whichever side the check holds it on
    ("    q: {system: redis, template: '{project}-dev-1', prefix: true}\n", "0-2",
     "Redis/Valkey key 'shop-dev-1*' (names.q of instance 0) overlaps 'shop-dev-1:*' (names.redis_prefix of instance 1)"),
    ("    q: {system: redis, template: '{n}{plc}y'}\n    r: {system: redis, template: '1x{n}', prefix: true}\n", "0-2",
     "Redis/Valkey key '1x0*' (names.r of instance 0) overlaps '1*y' (names.q of instance 1)"),
    # a wildcard is compared from the text before its first wildcard on
    ("    q: {system: kafka, template: '{project}{n}.{plc}.{tag}'}\n    r: {system: kafka, template: '{project}0.a.{n}'}\n",
     "0-2", "Kafka topic 'shop0.*.*' (names.q of instance 0) overlaps 'shop0.a.1' (names.r of instance 1)"),
    # an MQTT `#` also matches its parent level: `x/10/#` holds `x/10`
    ("    q: {system: mqtt, template: 'x/{n}'}\n    r: {system: mqtt, template: 'x/{n}0/#'}\n", "0-10",
     "MQTT topic 'x/10/#' (names.r of instance 1) overlaps 'x/10' (names.q of instance 10)"),
    ("    q: {system: mqtt, template: 'x/{n}'}\n    r: {system: mqtt, template: 'x/{n}0/#'}\n", "0-9", None),
])
def test_names_that_meet_are_refused_in_one_line(make_stack, schemes, instances, message):
    stack = stack_of(make_stack, "  schemes:\n" + schemes, instances=instances)
    if message is None:
        assert check_stack(stack) == {n: f"shop-dev-{n}" for n in range(10)}
        return
    assert refusal(stack) == (message, FIX_CLASH)


# --------------------------------------------------------------------------
# Each instance's namespace and database, and where a bad one came from


def test_the_defaults_swap_underscores_and_dashes_each_where_it_is_safe(make_stack):
    stack = load_stack(make_stack(BASE.replace("project: shop", "project: my-shop_x")))
    assert instance_names(stack, 2) == ("my-shop-x-dev-2", "my_shop_x_instance_2")


def test_the_templates_see_the_instance_and_the_database_sees_the_namespace(make_stack):
    stack = stack_of(make_stack, "  instances: {1: shop-demo}\n",
                     extra="namespace: '{{ project_name }}-i{{ instance }}'\n"
                           "database: '{{ project }}_{{ n }}_{{ namespace }}'\n")
    assert instance_names(stack, 2) == ("shop-dev-2-i2", "shop_2_shop-dev-2-i2")
    assert instance_names(stack, 1) == ("shop-demo", "shop_1_shop-demo")  # the override wins over the template


@pytest.mark.parametrize("extra, start", [
    ("namespace: '{{ nope }}'\n", "stack.yaml: namespace: "),
    ("database: '{{ nope }}'\n", "stack.yaml: database: "),
])
def test_a_template_error_names_its_key(make_stack, extra, start):
    stack = stack_of(make_stack, extra=extra)
    with pytest.raises(StackError) as info:
        instance_names(stack, 1)
    assert info.value.message.startswith(start) and "nope" in info.value.message


FIX_NS = "use 3-63 lowercase letters, digits and single '-', starting with a letter, e.g. shop-dev-1"
FIX_DB = ("use at most 63 lowercase letters, digits and '_', not starting with a digit "
          "(a '-' would need quoting in every SQL statement)")


@pytest.mark.parametrize("extra, namespaces, message, hint", [
    ("namespace: 'Shop-{{ n }}'\n", "",
     "stack.yaml: instance 0 (namespace template): namespace 'Shop-0' contains 'S' (allowed: a-z, 0-9, '-')", FIX_NS),
    ("namespace: 'Shop-{{ n }}'\n", "  instances: {0: shop-zero}\n",  # an override is not the template's
     "stack.yaml: instance 1 (namespace template): namespace 'Shop-1' contains 'S' (allowed: a-z, 0-9, '-')", FIX_NS),
    ("", "  instances: {1: shop_one}\n",
     "stack.yaml: instance 1 (namespaces.instances.1): namespace 'shop_one' contains '_' (allowed: a-z, 0-9, '-')",
     FIX_NS),
    ("", "  instances: {2: shop-dev-1}\n",
     "namespace 'shop-dev-1' is used by instance 1 (default <project>-dev-N) and by instance 2 (namespaces.instances.2)",
     "give one of them another namespace under `namespaces:` in stack.yaml"),
    ("database: 'db-{{ n }}'\n", "",
     "stack.yaml: instance 0: database name 'db-0' is not a plain PostgreSQL identifier", FIX_DB),
    ("database: 'db_{{ n }}'\n", "  instances: {1: shop-x}\n  schemes: {q: {system: kafka, template: 'q'}}\n",
     "Kafka topic 'q' is names.q of instance 0 and names.q of instance 1",  # declared names are checked too
     FIX_CLASH),
    ("database: '{{ \"d\" if n < 2 else \"e\" }}_x'\n", "",
     "database 'd_x' is used by instance 0 and by instance 1", "make the `database:` template depend on {{ n }}"),
])
def test_check_stack_refusals(make_stack, extra, namespaces, message, hint):
    assert refusal(stack_of(make_stack, namespaces, extra=extra)) == (message, hint)


def test_check_stack_returns_every_namespace_the_stack_can_run(make_stack):
    stack = stack_of(make_stack, "  instances: {1: shop-one}\n  schemes: {q: {system: kafka, template: 'q-{n}'}}\n",
                     extra="database: 'db_{{ n }}'\n")
    assert check_stack(stack) == {0: "shop-dev-0", 1: "shop-one", 2: "shop-dev-2"}


def test_a_name_too_long_for_its_system_is_refused_with_its_start(make_stack):
    stack = stack_of(make_stack, "  schemes: {q: {system: kafka, template: 'a{n}" + "b" * 248 + "'}}\n")
    with pytest.raises(StackError) as info:
        check_stack(stack)
    assert (info.value.message, info.value.hint) == (
        "names.q of instance 0 is 250 characters long (kafka allows 249): a0" + "b" * 38 + "...",
        "shorten the template or the namespace")


def test_a_key_under_another_instances_redis_prefix_is_refused(make_stack):
    """`names.redis_prefix` is a key prefix: instance 1 owns every key that starts with `shop-dev-1:`."""
    stack = stack_of(make_stack, "  schemes: {q: {system: redis, template: '{project}-dev-1:{n}'}}\n")
    assert refusal(stack) == ("Redis/Valkey key 'shop-dev-1:0' (names.q of instance 0) overlaps 'shop-dev-1:*' "
                              "(names.redis_prefix of instance 1)", FIX_CLASH)


def test_namespaces_that_start_one_another_do_not_make_their_names_meet(make_stack):
    """`shop-dev-1` starts `shop-dev-10`, yet none of their built-in or anchored names are shared."""
    stack = stack_of(make_stack, "  selectors: {api: l1}\n  preset: warlink\n"
                                 "  schemes: {q: {system: kafka, template: '{namespace}.q.{plc}'}}\n", instances="0-11")
    assert check_stack(stack) == {n: f"shop-dev-{n}" for n in range(12)}


def test_a_name_of_exactly_the_systems_length_passes(make_stack):
    stack = stack_of(make_stack, "  schemes: {q: {system: kafka, template: 'a{n}" + "b" * 247 + "'}}\n")
    assert check_stack(stack) == {0: "shop-dev-0", 1: "shop-dev-1", 2: "shop-dev-2"}


def test_members_that_all_declare_a_namespace_take_part(make_stack):
    stack = stack_of(make_stack, extra="systems:\n  demo:\n    compose_files: [compose.yml]\n"
                                       "    gateway: {forward: ['80:web:80']}\n"
                                       "    members:\n      billing: {namespace: shop-dev-2}\n")
    assert refusal(stack) == (
        "namespace 'shop-dev-2' is used by instance 2 (default <project>-dev-N) and by member billing of system demo "
        "(systems.demo.members.billing.namespace)", "give one of them another namespace under `namespaces:` in stack.yaml")
