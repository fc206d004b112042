"""stack.yaml loading: every mistake names the file and the key path."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from multistack.errors import StackError
from multistack.model.stack import load_stack, parse_stack

ROOT = Path(__file__).resolve().parents[2]


def parse(text: str):
    return parse_stack(yaml.safe_load(text), Path("/x/stack.yaml"))


def test_example_stack_loads_with_defaults():
    stack = load_stack(ROOT / "stack.yaml")
    assert stack.project == "shipsec"
    assert (stack.first, stack.last, stack.stride) == (0, 9, 100)
    assert [s.name for s in stack.services][:2] == ["frontend", "backend"]
    assert [a.name for a in stack.apps] == ["backend", "worker", "frontend"]


def test_minimal_defaults():
    stack = parse("project: p\n")
    assert (stack.first, stack.last, stack.stride, stack.host_ip) == (0, 9, 100, "127.0.0.1")


@pytest.mark.parametrize("text, message", [
    ("project: p\nservices: {backend: {port: 70000}}", "stack.yaml: services.backend.port: must be 1-65535, got 70000"),
    ("project: p\nservices: {backend: {port: x}}", "services.backend.port: must be an integer"),
    ("project: p\nservices: {backend: {}}", "services.backend: missing required key 'port'"),
    ("project: p\nservices: {backend: {port: 1, prot: 2}}", "services.backend: unknown key 'prot'"),
    ("project: p\nsevrices: {}", "(top level): unknown key 'sevrices'"),
    ("services: {}", "missing required key 'project'"),
    ("project: Bad_Name", "project: 'Bad_Name' is not a valid project name"),
    ("project: p\ninstances: 5-2", "instances: first instance 5 is after last instance 2"),
    ("project: p\ninstances: many", "instances: must be a range"),
    ("project: p\nstride: 0", "stride: must be 1-65535"),
    ("project: p\nservices: {db: {port: 5432, compose: db}}", "services.db: missing 'container_port'"),
    ("project: p\napps: {api: {cwd: x}}", "apps.api: missing required key 'command'"),
    ("project: p\nenv: {'1BAD': x}", "env.1BAD: is not a valid environment variable name"),
    ("project: p\nenv: {A: [1]}", "env.A: must be a string or number"),
    ("project: p\napps: {api: {command: x, env_files: [nope.env]}}", "apps.api.env_files: 'nope.env' is not an instance env file"),
    ("project: p\nenv_files: [a/x.env, b/x.env]", "would both be copied to x.env"),
])
def test_errors_name_the_key_path(text, message):
    with pytest.raises(StackError) as info:
        parse(text)
    assert message in info.value.message


def test_port_over_65535_for_last_instance():
    with pytest.raises(StackError) as info:
        parse("project: p\nservices: {a: {port: 65000}}")
    assert "services.a.port: instance 9 would get port 65900" in info.value.message


def test_colliding_ports_name_both():
    with pytest.raises(StackError) as info:
        parse("project: p\nservices: {a: {port: 9000}, b: {port: 9100}}")
    assert "port 9100 is used by b of instance 0 and by a of instance 1" in info.value.message


def test_stride_avoids_collision():
    stack = parse("project: p\nstride: 1000\ninstances: 0-5\nservices: {a: {port: 9000}, b: {port: 9100}}")
    assert stack.stride == 1000


def test_malformed_yaml_names_line(make_stack):
    path = make_stack("project: p\nservices:\n  a: {port: 1\n")
    with pytest.raises(StackError) as info:
        load_stack(path)
    assert info.value.message.startswith("stack.yaml:")
    assert "malformed YAML" in info.value.message


def test_missing_compose_file(make_stack):
    path = make_stack("project: p\ncompose: {files: [nope.yml]}\n")
    with pytest.raises(StackError) as info:
        load_stack(path)
    assert "compose.files: nope.yml does not exist" in info.value.message


def test_stack_file_env_var(make_stack, monkeypatch, tmp_path):
    make_stack("project: p\n")
    other = tmp_path / "other.yaml"
    other.write_text("project: other\n")
    monkeypatch.setenv("MULTISTACK_FILE", str(other))
    assert load_stack().project == "other"
    monkeypatch.setenv("MULTISTACK_FILE", str(tmp_path / "missing.yaml"))
    with pytest.raises(StackError, match="MULTISTACK_FILE"):
        load_stack()


def test_schema_accepts_example_and_rejects_typos():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "multistack/schema/stack.schema.json").read_text())
    jsonschema.validate(yaml.safe_load((ROOT / "stack.yaml").read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"project": "p", "sevrices": {}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"project": "p", "services": {"a": {"port": 70000}}}, schema)


def test_schema_knows_every_top_level_key_the_loader_accepts():
    schema = json.loads((ROOT / "multistack/schema/stack.schema.json").read_text())
    from multistack.model import stack as module

    accepted = {"project", "instances", "stride", "host_ip", "compose", "pm2", "env_files", "services", "apps",
                "env", "namespace", "database", "instances_dir", *module.SECTIONS}
    assert set(schema["properties"]) == accepted


@pytest.mark.parametrize("name", ["1app", "a--b", "a-", "a_-b", "A", "x" * 41])
def test_project_names_that_would_not_make_a_namespace(name):
    with pytest.raises(StackError, match="is not a valid project name"):
        parse(f"project: '{name}'")


def test_failed_command_on_a_fresh_tree_leaves_no_lock(minimal_stack):
    from multistack.io.locks import instance_lock
    from multistack.model.stack import load_stack

    stack = load_stack(minimal_stack)
    with pytest.raises(RuntimeError):
        with instance_lock(stack, 1, "init"):
            raise RuntimeError("render failed")
    assert not (minimal_stack.parent / ".instances").exists()
    with instance_lock(stack, 1, "init"):
        (minimal_stack.parent / ".instances" / "instance-1").mkdir()
    assert (minimal_stack.parent / ".instances" / ".locks").is_dir()
