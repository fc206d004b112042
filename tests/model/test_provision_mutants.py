"""stack.yaml's ``mode:`` and ``provision:`` (pure): the steps a shared-mode start runs, and every refusal's line.

Pins what :func:`parse_mode` and :func:`parse_steps` hand :mod:`multistack.act.shared` (commands as
strings or argv, ``run_in`` defaulting to this machine, stack.yaml order) and the exact line and hint
of each mistake, since the user fixes stack.yaml from that line alone.
"""
from __future__ import annotations

from typing import Any

import pytest

from multistack.errors import StackError
from multistack.model.provision import DEFAULT_MODE, HOST, Step, parse_mode, parse_steps

FILE = "stack.yaml"
COMPOSE = ("compose/infra.yml",)


def refusal(raw: Any, compose_files: tuple[str, ...] = COMPOSE) -> tuple[str, str | None]:
    with pytest.raises(StackError) as info:
        parse_steps(raw, FILE, compose_files)
    return info.value.message, info.value.hint


def test_modes():
    assert DEFAULT_MODE == "isolated" and HOST == "host"
    assert parse_mode(None, FILE) == "isolated"
    assert parse_mode("isolated", FILE) == "isolated"
    assert parse_mode("shared", FILE) == "shared"


@pytest.mark.parametrize("raw, shown", [("both", "'both'"), ("Shared", "'Shared'"), (1, "1"), ("", "''")])
def test_an_unknown_mode_is_refused(raw, shown):
    with pytest.raises(StackError) as info:
        parse_mode(raw, "my.yaml")
    assert info.value.message == f"my.yaml: mode: must be one of isolated, shared, got {shown}"
    assert info.value.hint == "isolated runs one infra per instance; shared runs it once"


def test_no_section_and_an_empty_one_have_no_steps():
    assert parse_steps(None, FILE, ()) == ()
    assert parse_steps({}, FILE, ()) == ()


def test_steps_in_the_order_written_with_every_form_of_command():
    raw = {
        "db": {"create": "createdb shop", "exists": ["psql", "-c", 1], "teardown": "dropdb shop", "run_in": "pg"},
        "bucket": {"create": ["mc", "mb", "x"]},
        "2": {"create": "true", "run_in": "host"},
    }
    assert parse_steps(raw, FILE, COMPOSE) == (
        Step("db", "createdb shop", ("psql", "-c", "1"), "dropdb shop", "pg"),
        Step("bucket", ("mc", "mb", "x"), None, None, "host"),
        Step("2", "true", None, None, "host"),
    )


def test_a_host_step_needs_no_compose_files():
    (step,) = parse_steps({"x": {"create": " true "}}, FILE, ())
    assert step == Step("x", " true ", None, None, HOST)


def test_an_integer_yaml_key_is_read_as_its_name():
    (step,) = parse_steps({7: {"create": "true"}}, FILE, ())
    assert step.name == "7"


@pytest.mark.parametrize("raw, message, hint", [
    ({"Db": {"create": "x"}}, "stack.yaml: provision.Db: step names are lowercase letters, digits, - and _", None),
    ({"db": "createdb"}, "stack.yaml: provision.db: must be a mapping with at least `create`", None),
    ({"db": None}, "stack.yaml: provision.db: must be a mapping with at least `create`", None),
    ({"db": ["createdb"]}, "stack.yaml: provision.db: must be a mapping with at least `create`", None),
    ({"db": {"exists": "true"}}, "stack.yaml: provision.db: missing required key 'create'",
     "the command that creates the thing, idempotently"),
    ({"db": {"create": "x", "crate": "y"}}, "stack.yaml: provision.db: unknown key 'crate'",
     "check the spelling against multistack/schema/stack.schema.json"),
    ({"db": {"create": "x", "run_in": "a b"}},
     "stack.yaml: provision.db.run_in: 'a b' is neither `host` nor a compose service name", None),
    ({"db": {"create": "x", "run_in": ""}}, "stack.yaml: provision.db.run_in: must be a non-empty string, got a string",
     None),
])
def test_bad_steps(raw, message, hint):
    assert refusal(raw) == (message, hint)


def test_a_step_in_a_service_needs_compose_files():
    assert refusal({"ok": {"create": "true"}, "db": {"create": "x", "run_in": "pg"}}, ()) == (
        "stack.yaml: provision.db.run_in: runs in compose service 'pg' but the stack lists no compose files",
        "use `run_in: host`, or list the shared infra's compose files under compose.files")


@pytest.mark.parametrize("key", ["create", "exists", "teardown"])
@pytest.mark.parametrize("value", ["", "   ", [], ["createdb", True], ["createdb", 1.5], ["a", None], {"a": 1}, 5])
def test_bad_commands(key, value):
    step = {"create": "true", key: value}
    assert refusal({"db": step}) == (
        f"stack.yaml: provision.db.{key}: must be a shell command string or a non-empty list of arguments", None)
