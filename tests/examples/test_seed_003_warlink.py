"""Seed 003 (WarLink unified namespace): its tables reproduced through `inv dev N info --json`.

The stack is written the way a WarLink user would: two instances (Factory A and B) with
their own namespaces, the `warlink` preset for the names, and the one PLC and tag the
document's tables show. Every row of "Topic/Key Structure Summary" (both factories) must
come out of the CLI's JSON exactly; so must the subscriptions of "How Isolation Works",
the selector topics of "Using Selectors", and the refusal of "What Happens Without
Namespacing". The expected values are copied from the document, never recomputed.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

from tests.audit.fake import FakeEngine, engine, run_program  # noqa: F401  (engine: a fixture)

STACK = """\
project: warlink
instances: 1-2
services:
  warlink-api: {port: 8080}
apps:
  warlink: {command: python3 -m http.server}
namespaces:
  instances: {1: factory-a, 2: factory-b}
  preset: warlink
  entities:
    - {plc: Main PLC, tag: Machine_Status.Clear_Fault}
"""

PURPOSES = {"Tag values": "tag values", "Health": "health", "Write requests": "write requests",
            "Write responses": "write responses"}
COLUMNS = {"MQTT Topic": "mqtt", "Valkey Key": "redis", "Kafka Topic": "kafka"}

# "Topic/Key Structure Summary", as the document prints it.
SUMMARY = {
    1: """\
| Purpose | MQTT Topic | Valkey Key | Kafka Topic |
|---------|------------|------------|-------------|
| Tag values | `factory-a/Main PLC/tags/Machine_Status.Clear_Fault` | `factory-a:Main PLC:tags:Machine_Status.Clear_Fault` | `factory-a` |
| Health | `factory-a/Main PLC/health` | `factory-a:Main PLC:health` | `factory-a.health` |
| Write requests | `factory-a/Main PLC/write` | `factory-a:writes` | `factory-a-writes` |
| Write responses | `factory-a/Main PLC/write/response` | `factory-a:write:responses` | `factory-a-write-responses` |
""",
    2: """\
| Purpose | MQTT Topic | Valkey Key | Kafka Topic |
|---------|------------|------------|-------------|
| Tag values | `factory-b/Main PLC/tags/Machine_Status.Clear_Fault` | `factory-b:Main PLC:tags:Machine_Status.Clear_Fault` | `factory-b` |
| Health | `factory-b/Main PLC/health` | `factory-b:Main PLC:health` | `factory-b.health` |
| Write requests | `factory-b/Main PLC/write` | `factory-b:writes` | `factory-b-writes` |
| Write responses | `factory-b/Main PLC/write/response` | `factory-b:write:responses` | `factory-b-write-responses` |
""",
}


def document_rows(table: str) -> list[tuple[str, str, str]]:
    """(purpose, column, name) for every cell of a markdown table of the document."""
    lines = [line.strip().strip("|").split("|") for line in table.strip().splitlines()]
    header = [cell.strip() for cell in lines[0]]
    rows = []
    for cells in lines[2:]:
        cells = [cell.strip().strip("`") for cell in cells]
        rows += [(cells[0], header[i], cells[i]) for i in range(1, len(header))]
    return rows


def info(n: int, capsys: pytest.CaptureFixture[str]) -> dict:
    code, out, err = run_program(["dev", str(n), "info", "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def warlink(make_stack: Callable[..., Path], engine: FakeEngine) -> Path:
    return make_stack(STACK)


@pytest.mark.parametrize("n", [1, 2])
def test_the_summary_table_row_by_row(warlink: Path, n: int, capsys: pytest.CaptureFixture[str]) -> None:
    data = info(n, capsys)
    assert data["namespace"] == {1: "factory-a", 2: "factory-b"}[n]
    plain = [row for row in data["name_table"] if row["selector"] is None]
    rows = document_rows(SUMMARY[n])
    assert len(rows) == 12
    for purpose, column, expected in rows:
        found = [row["name"] for row in plain
                 if row["purpose"] == PURPOSES[purpose] and row["system"] == COLUMNS[column]]
        assert found == [expected], (purpose, column)
    assert len(plain) == 12  # nothing the document does not list


def test_how_isolation_works_the_subscriptions(warlink: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Instance 1 subscribes to factory-a/+/write, pops factory-a:writes, consumes factory-a-writes."""
    one, two = info(1, capsys)["names"], info(2, capsys)["names"]
    assert (one["mqtt_writes"], two["mqtt_writes"]) == ("factory-a/+/write", "factory-b/+/write")
    assert (one["valkey_writes"], two["valkey_writes"]) == ("factory-a:writes", "factory-b:writes")
    assert (one["kafka_writes"], two["kafka_writes"]) == ("factory-a-writes", "factory-b-writes")
    # the names the older built-in table already had stay as they were
    assert (one["redis_write_queue"], one["mqtt_write_topic"], one["kafka_writes_topic"]) == (
        "factory-a:writes", "factory-a/+/write", "factory-a-writes")


def test_the_names_reach_the_instance_env(warlink: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_program(["dev", "1", "init"], capsys)
    assert code == 0, err
    env = (warlink.parent / ".instances" / "instance-1" / "instance.env").read_text()
    for line in ("MULTISTACK_NAME_MQTT_WRITES=factory-a/+/write", "MULTISTACK_NAME_VALKEY_WRITES=factory-a:writes",
                 "MULTISTACK_NAME_KAFKA_WRITE_RESPONSES=factory-a-write-responses",
                 "MULTISTACK_NAME_MQTT_HEALTH=factory-a/+/health"):
        assert line in env.splitlines(), line


def test_using_selectors(make_stack: Callable[..., Path], engine: FakeEngine,
                         capsys: pytest.CaptureFixture[str]) -> None:
    """`selector: line1` -> Topics: factory-a/line1/{plc}/... (one selector per connection: here per app)."""
    make_stack(STACK.replace("  warlink: {command: python3 -m http.server}",
                             "  line1: {command: python3 -m http.server}\n"
                             "  line2: {command: python3 -m http.server}")
               + "  selectors: {line1: line1, line2: line2}\n")
    data = info(1, capsys)
    assert data["names"]["mqtt_health_line1"] == "factory-a/line1/+/health"
    assert data["names"]["mqtt_health_line2"] == "factory-a/line2/+/health"
    by_key = {row["key"]: row["name"] for row in data["name_table"]}
    assert by_key["mqtt_tags_line1"] == "factory-a/line1/Main PLC/tags/Machine_Status.Clear_Fault"
    assert by_key["mqtt_write_responses_line2"] == "factory-a/line2/Main PLC/write/response"
    assert by_key["mqtt_health"] == "factory-a/Main PLC/health"  # the connection without a selector


def test_without_namespacing_both_instances_are_refused(make_stack: Callable[..., Path], engine: FakeEngine,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Both instances on `namespace: factory` would both subscribe to factory/+/write: refused up front."""
    make_stack(STACK.replace("instances: {1: factory-a, 2: factory-b}", "instances: {1: factory, 2: factory}"))
    code, out, err = run_program(["--dry", "dev", "1", "start"], capsys)
    assert code == 2
    assert err.strip().startswith("error: namespace 'factory' is used by instance 1 (namespaces.instances.1) "
                                  "and by instance 2 (namespaces.instances.2)")


def test_a_scheme_without_the_namespace_is_refused(make_stack: Callable[..., Path], engine: FakeEngine,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A user's own topic that forgets {namespace} would mix the factories' health: refused, naming both."""
    make_stack(STACK + "  schemes:\n    alarms: {system: mqtt, template: 'plant/{plc}/alarms'}\n")
    code, _, err = run_program(["dev", "1", "info"], capsys)
    assert code == 2
    assert err.strip() == ("error: MQTT topic 'plant/+/alarms' (names.alarms of instance 1) overlaps "
                           "'plant/+/alarms' (names.alarms of instance 2) (fix: put {namespace} in the scheme's "
                           "template (namespaces.schemes), or give the instances other namespaces or selectors)")


def test_monitoring_filters_of_the_document_see_every_factory(warlink: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """"All tag changes from all factories: +/+/tags/#" matches both instances' tag topics."""
    from multistack.model.namescheme import SYSTEMS, names_meet

    mqtt = SYSTEMS["mqtt"]
    for n in (1, 2):
        tags = [row["name"] for row in info(n, capsys)["name_table"] if row["key"] == "mqtt_tags"]
        assert tags and all(names_meet(mqtt, "+/+/tags/#", name) for name in tags)
        assert all(names_meet(mqtt, {1: "factory-a/#", 2: "factory-b/#"}[n], name) for name in tags)
        assert not any(names_meet(mqtt, {1: "factory-b/#", 2: "factory-a/#"}[n], name) for name in tags)


def test_the_json_follows_its_published_schema(warlink: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).resolve().parents[2] / "multistack" / "schema" / "output"
                         / "dev.info.json").read_text())
    data = info(1, capsys)
    jsonschema.validate(data, schema)
    assert len(data["name_table"]) == 12


def test_the_stack_follows_the_stack_schema() -> None:
    """Editors' completion (stack.schema.json) accepts the stack, and refuses a misspelt scheme key."""
    jsonschema = pytest.importorskip("jsonschema")
    yaml = pytest.importorskip("yaml")
    schema = json.loads((Path(__file__).resolve().parents[2] / "multistack" / "schema" / "stack.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(STACK + "  schemes:\n    alarms: {system: mqtt, template: '{namespace}/a'}\n"),
                        schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(STACK + "  schemes:\n    alarms: {system: mqtt, templat: x}\n"), schema)
