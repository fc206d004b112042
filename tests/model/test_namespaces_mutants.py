"""The ``namespaces:`` section and the uniqueness of every namespace: the exact refusals.

Mutation testing left the collision checks (two owners, Kafka topics that meet), the
override and selector refusals and the names table's "used by" column mostly unchecked.
Seen from the CLI: `inv --dry dev 1 start` checks every namespace the stack can run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

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
