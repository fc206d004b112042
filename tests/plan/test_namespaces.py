"""Namespaces: one safe charset, uniqueness across everything the stack can run, one naming scheme."""
from __future__ import annotations

import ipaddress
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from multistack.errors import StackError
from multistack.plan.instance import plan_instance
from multistack.model.namespaces import check_namespace, check_unique, kafka_topics, namespace_problem
from multistack.plan.namespaces import check_stack, derived_names
from multistack.plan.render import instance_env_vars
from multistack.model.stack import load_stack

SHOP = """\
project: shop
instances: 0-5
services:
  api: {port: 3000}
  worker: {port: 4000}
apps:
  api: {command: python3 api.py}
"""


@pytest.fixture
def shop(make_stack):
    return load_stack(make_stack(SHOP))


# --------------------------------------------------------------------------
# Charset


@pytest.mark.parametrize("name", ["shop-dev-1", "abc", "a1b", "shop-dev-9999", "x" * 63, "a-b-c-d"])
def test_safe_namespaces(name):
    assert namespace_problem(name) is None
    assert check_namespace(name, "here") == name


@pytest.mark.parametrize("name, problem", [
    ("", "is empty"),
    ("ab", "at least 3"),
    ("x" * 64, "is 64 characters long"),
    ("Shop-dev-1", "contains 'S'"),
    ("shop_dev_1", "contains '_'"),
    ("shop/dev", "contains '/'"),  # MQTT level separator
    ("shop+dev", "contains '+'"),  # MQTT single-level wildcard
    ("shop#dev", "contains '#'"),  # MQTT multi-level wildcard
    ("shop:dev", "contains ':'"),  # Redis key separator
    ("shop.dev", "contains '.'"),  # Kafka health-topic separator; breaks S3 virtual-host TLS
    ("shop dev", "contains ' '"),
    ("café-1", "contains 'é'"),
    ("1shop", "must start with a letter"),
    ("-shop", "must start with a letter"),
    ("shop-", "must end with a letter or digit"),
    ("shop--dev", "contains '--'"),
    ("xn--shop", "contains '--'"),
    ("sthree-shop", "reserved S3 prefix 'sthree-'"),
    ("amzn-s3-demo-shop", "reserved S3 prefix 'amzn-s3-demo-'"),
    ("shop-s3alias", "reserved S3 suffix '-s3alias'"),
])
def test_unsafe_namespaces_say_why(name, problem):
    assert problem in namespace_problem(name)
    with pytest.raises(StackError, match=re.escape(problem)) as info:
        check_namespace(name, "stack.yaml: namespaces.instances.3")
    assert info.value.message.startswith("stack.yaml: namespaces.instances.3: namespace ")
    assert "lowercase letters, digits" in info.value.hint


DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
KAFKA_TOPIC = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")
PG_UNQUOTED = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")


def s3_bucket_ok(name: str) -> bool:
    """The S3 general purpose bucket rules, written out independently of multistack."""
    try:
        ipaddress.ip_address(name)
        return False
    except ValueError:
        pass
    return (3 <= len(name) <= 63 and re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name) is not None
            and ".." not in name and not name.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
            and not name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")))


@given(st.from_regex(r"\A[a-z][a-z0-9-]{1,61}[a-z0-9]\Z"))
def test_every_accepted_namespace_is_valid_everywhere_it_goes(name):
    if namespace_problem(name) is not None:
        return
    assert DNS_LABEL.match(name)
    assert s3_bucket_ok(name)
    assert all(KAFKA_TOPIC.match(topic) for topic in kafka_topics(name))
    assert not set("/+#") & set(name) and not name.startswith("$")  # one MQTT topic level
    assert ":" not in name  # `<ns>:` cannot be a prefix of another namespace's keys
    assert PG_UNQUOTED.match(name.replace("-", "_"))


@given(st.text(max_size=70))
def test_nothing_unsafe_gets_through(name):
    if namespace_problem(name) is None:
        assert DNS_LABEL.match(name) and s3_bucket_ok(name) and name[0].isalpha() and "--" not in name


# --------------------------------------------------------------------------
# Uniqueness


def test_check_unique_names_both_owners():
    with pytest.raises(StackError) as info:
        check_unique([("instance 1", "shop-dev-1"), ("instance 2", "shop-dev-2"),
                      ("member api of system demo", "shop-dev-1")])
    assert info.value.message == "namespace 'shop-dev-1' is used by instance 1 and by member api of system demo"


def test_check_unique_catches_kafka_topics_meeting():
    """`shop`'s write topic is `shop-writes`: an instance named `shop-writes` would read it."""
    with pytest.raises(StackError) as info:
        check_unique([("instance 1", "shop"), ("instance 2", "shop-writes")])
    assert "Kafka topic 'shop-writes'" in info.value.message
    assert "instance 1 (namespace 'shop')" in info.value.message
    assert "instance 2 (namespace 'shop-writes')" in info.value.message
    check_unique([("instance 1", "shop"), ("instance 2", "shop-write")])  # no topic in common


def test_every_instance_in_range_is_checked(make_stack):
    stack = load_stack(make_stack(SHOP + "namespaces:\n  instances:\n    4: shop-dev-1\n"))
    with pytest.raises(StackError) as info:
        check_stack(stack)
    assert info.value.message == ("namespace 'shop-dev-1' is used by instance 1 (default <project>-dev-N) "
                                  "and by instance 4 (namespaces.instances.4)")


def test_override_replaces_the_default(make_stack):
    stack = load_stack(make_stack(SHOP + "namespaces:\n  instances: {3: shop-demo}\n"))
    assert check_stack(stack)[3] == "shop-demo"
    assert plan_instance(stack, 3).namespace == "shop-demo"
    assert plan_instance(stack, 2).namespace == "shop-dev-2"


def test_a_template_without_n_collides(make_stack):
    stack = load_stack(make_stack(SHOP + "namespace: shop-dev\n"))
    with pytest.raises(StackError, match=r"namespace 'shop-dev' is used by instance 0 \(namespace template\) "
                                         r"and by instance 1 \(namespace template\)"):
        check_stack(stack)


def test_a_database_shared_by_two_instances_is_refused(make_stack):
    stack = load_stack(make_stack(SHOP + "database: shop\n"))
    with pytest.raises(StackError, match="database 'shop' is used by instance 0 and by instance 1"):
        check_stack(stack)


def test_database_must_be_a_plain_identifier(make_stack):
    stack = load_stack(make_stack(SHOP + 'database: "shop-{{ n }}"\n'))
    with pytest.raises(StackError, match="database name 'shop-0' is not a plain PostgreSQL identifier"):
        check_stack(stack)


DEMO_SYSTEM = "systems:\n  demo:\n    compose_files: [compose.yml]\n    gateway: {forward: ['80:web:80']}\n"


def test_system_members_with_a_namespace_take_part(make_stack):
    text = SHOP + DEMO_SYSTEM + "    members:\n      billing: {namespace: shop-dev-2}\n      other: {}\n"
    with pytest.raises(StackError) as info:
        check_stack(load_stack(make_stack(text)))
    assert "instance 2 (default <project>-dev-N)" in info.value.message
    assert "member billing of system demo" in info.value.message


def test_systems_of_another_shape_are_refused_when_the_stack_is_loaded(make_stack):
    with pytest.raises(StackError, match=r"stack.yaml: systems.demo.members: must be a mapping, got a list"):
        load_stack(make_stack(SHOP + DEMO_SYSTEM + "    members: [a, b]\n"))


@pytest.mark.parametrize("section, message", [
    ("namespaces:\n  instances: {9: shop-nine}\n", "namespaces.instances.9: instance 9 is out of range 0-5"),
    ("namespaces:\n  instances: {'03': shop-three}\n", "'03' is not an instance number"),
    ("namespaces:\n  instances: {3: Shop}\n", "namespace 'Shop' contains 'S'"),
    ("namespaces:\n  instances: [shop]\n", "namespaces.instances: must be a mapping"),
    ("namespaces:\n  instance: {3: shop-three}\n", "unknown key 'instance'"),
    ("namespaces:\n  selectors: {nope: a}\n", "namespaces.selectors.nope: no service or app of that name"),
    ("namespaces:\n  selectors: {api: a/b}\n", "'a/b' is not a valid selector"),
    ("namespaces:\n  selectors: {api: '+'}\n", "'+' is not a valid selector"),
])
def test_bad_namespaces_section(make_stack, section, message):
    with pytest.raises(StackError, match=re.escape(message)):
        check_stack(load_stack(make_stack(SHOP + section)))


def test_default_namespace_uses_dashes_for_a_project_with_underscores(make_stack):
    stack = load_stack(make_stack(SHOP.replace("project: shop", "project: my_shop")))
    inst = plan_instance(stack, 1)
    assert (inst.namespace, inst.database, inst.project_name) == ("my-shop-dev-1", "my_shop_instance_1", "my_shop-dev-1")
    check_stack(stack)


# --------------------------------------------------------------------------
# The derived names


def test_derived_names_of_two_instances_follow_the_scheme_exactly(shop):
    assert derived_names(plan_instance(shop, 1)) == {
        "temporal_namespace": "shop-dev-1",
        "temporal_task_queue": "shop-dev-1",
        "redis_prefix": "shop-dev-1:",
        "redis_write_queue": "shop-dev-1:writes",
        "kafka_topic": "shop-dev-1",
        "kafka_health_topic": "shop-dev-1.health",
        "kafka_writes_topic": "shop-dev-1-writes",
        "kafka_write_responses_topic": "shop-dev-1-write-responses",
        "mqtt_tags_topic": "shop-dev-1/+/tags/#",
        "mqtt_write_topic": "shop-dev-1/+/write",
        "database": "shop_instance_1",
        "bucket": "shop-dev-1",
    }
    two = derived_names(plan_instance(shop, 2))
    assert list(two.values()) == [
        "shop-dev-2", "shop-dev-2", "shop-dev-2:", "shop-dev-2:writes",
        "shop-dev-2", "shop-dev-2.health", "shop-dev-2-writes", "shop-dev-2-write-responses",
        "shop-dev-2/+/tags/#", "shop-dev-2/+/write", "shop_instance_2", "shop-dev-2",
    ]
    assert list(two) == list(derived_names(plan_instance(shop, 1)))  # same keys, same order


def test_selectors_add_one_level_per_service(make_stack):
    stack = load_stack(make_stack(SHOP + "namespaces:\n  selectors: {worker: site-a, api: '42'}\n"))
    names = derived_names(plan_instance(stack, 1))
    assert names["selector_worker"] == "shop-dev-1/site-a/#"
    assert names["selector_api"] == "shop-dev-1/42/#"
    assert list(names)[-2:] == ["selector_worker", "selector_api"]


def test_names_reach_templates_and_env_files(make_stack):
    stack = load_stack(make_stack(SHOP + 'env:\n  WRITES: "{{ names.kafka_writes_topic }}"\n'
                                         '  BUCKET: "{{ names.bucket }}"\n  Q: "{{ names.redis_write_queue }}"\n'))
    inst = plan_instance(stack, 3)
    assert inst.variables()["names"]["database"] == "shop_instance_3"
    env = dict(instance_env_vars(inst))
    assert (env["WRITES"], env["BUCKET"], env["Q"]) == ("shop-dev-3-writes", "shop-dev-3", "shop-dev-3:writes")


SHOP_2_NAMES = {
    "temporal_namespace": "shop-dev-2", "temporal_task_queue": "shop-dev-2", "redis_prefix": "shop-dev-2:",
    "redis_write_queue": "shop-dev-2:writes", "kafka_topic": "shop-dev-2", "kafka_health_topic": "shop-dev-2.health",
    "kafka_writes_topic": "shop-dev-2-writes", "kafka_write_responses_topic": "shop-dev-2-write-responses",
    "mqtt_tags_topic": "shop-dev-2/+/tags/#", "mqtt_write_topic": "shop-dev-2/+/write",
    "database": "shop_instance_2", "bucket": "shop-dev-2",
}


def test_info_prints_the_names_table(shop, capsys):
    from multistack.cli.program import build_program

    build_program().run(["multistack", "dev", "2", "info"], exit=False)
    out = capsys.readouterr().out
    assert "names of instance 2 (namespace shop-dev-2)" in out
    rows = {}
    for line in out.splitlines():
        words = line.split()
        keys = [w for w in words if w.startswith("names.")]
        if keys:
            rows[keys[0]] = words[-1]
    assert rows == {f"names.{k}": v for k, v in SHOP_2_NAMES.items()}  # literal: not recomputed by the code under test
    assert re.search(r"^kafka\s+names\.kafka_writes_topic\s+shop-dev-2-writes$", out, re.M)

    build_program().run(["multistack", "dev", "2", "info", "--json"], exit=False)
    data = json.loads(capsys.readouterr().out)
    assert data["names"] == SHOP_2_NAMES and data["mode"] == "isolated"


def test_an_unsafe_namespace_stops_start_before_anything_runs(make_stack, capsys):
    from multistack.cli.program import build_program

    make_stack(SHOP + "namespaces:\n  instances: {1: shop_one}\n")
    with pytest.raises(SystemExit) as info:
        build_program().run(["multistack", "--dry", "dev", "1", "start"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "instance 1 (namespaces.instances.1): namespace 'shop_one' contains '_'" in err
