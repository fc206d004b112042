"""The ``clone:`` section of stack.yaml: the values a clone runs with, and each refusal as its whole line.

``clone.database`` decides which psql a shared-mode clone runs and where (the host or a compose
service), and which provision step's database it copies; a wrong default sends the copy to
the wrong server. Mutation testing left the defaults, the step choice and the messages
(with their fixes) mostly unchecked: they were only matched in part, by the slow act tests.
"""
from __future__ import annotations

from typing import Any

import pytest

from multistack.errors import StackError
from multistack.model.clone import DEFAULT_DATABASE_STEP, CloneSettings, DatabaseCopy, parse_clone

FILES = ("compose.yml",)


def parse(raw: Any, compose_files: tuple[str, ...] = FILES, steps: tuple[str, ...] = ()) -> CloneSettings:
    return parse_clone(raw, "stack.yaml", compose_files, steps)


def test_no_section_and_an_empty_one_are_the_defaults() -> None:
    assert parse(None) == CloneSettings(None, None) == CloneSettings()
    assert parse({}) == CloneSettings()
    assert parse({"database": None}) == CloneSettings()
    assert DEFAULT_DATABASE_STEP == "database"


def test_the_image_is_kept_as_written() -> None:
    assert parse({"image": "multistack-demo/services:1"}) == CloneSettings("multistack-demo/services:1", None)


def test_psql_as_a_string_is_split_like_a_shell_and_runs_on_the_host_by_default() -> None:
    got = parse({"database": {"psql": "psql -X -U 'the app' -d postgres"}}, compose_files=())
    assert got == CloneSettings(None, DatabaseCopy(("psql", "-X", "-U", "the app", "-d", "postgres"), "host", None))


def test_psql_as_a_list_is_taken_word_for_word() -> None:
    got = parse({"database": {"psql": ["psql", "-U", "a b"], "run_in": "postgres"}})
    assert got.database == DatabaseCopy(("psql", "-U", "a b"), "postgres", None)


def test_the_step_is_database_when_the_stack_has_that_step_else_none_unless_given() -> None:
    db = {"psql": "psql"}
    assert parse({"database": db}, steps=("schema", "database")).database.step == "database"
    assert parse({"database": db}, steps=("schema",)).database.step is None
    assert parse({"database": {**db, "step": "schema"}}, steps=("schema", "database")).database.step == "schema"
    assert DatabaseCopy(("psql",)) == DatabaseCopy(("psql",), "host", "database")


def test_run_in_host_needs_no_compose_file() -> None:
    assert parse({"database": {"psql": "psql", "run_in": "host"}}, compose_files=()).database.run_in == "host"


def refusal(raw: Any, compose_files: tuple[str, ...] = FILES, steps: tuple[str, ...] = ()) -> str:
    with pytest.raises(StackError) as info:
        parse(raw, compose_files, steps)
    return info.value.line()


PSQL_FIX = "(fix: e.g. `psql: psql -X -U postgres -d postgres`)"


@pytest.mark.parametrize("raw, line", [
    ({"database": {"run_in": "db"}},
     "error: stack.yaml: clone.database.psql: must be psql's command (a string or a list of arguments), got nothing "
     + PSQL_FIX),
    ({"database": {"psql": "   "}},
     "error: stack.yaml: clone.database.psql: must be psql's command (a string or a list of arguments), got a string "
     + PSQL_FIX),
    ({"database": {"psql": []}},
     "error: stack.yaml: clone.database.psql: must be psql's command (a string or a list of arguments), got a list "
     + PSQL_FIX),
    ({"database": {"psql": ["psql", ""]}},
     "error: stack.yaml: clone.database.psql: must be psql's command (a string or a list of arguments), got a list "
     + PSQL_FIX),
    ({"database": {"psql": ["psql", 3]}},
     "error: stack.yaml: clone.database.psql: must be psql's command (a string or a list of arguments), got a list "
     + PSQL_FIX),
    ({"database": {"psql": 5}},
     "error: stack.yaml: clone.database.psql: must be psql's command (a string or a list of arguments), "
     "got an integer " + PSQL_FIX),
    ({"database": {"psql": "psql 'x"}},
     "error: stack.yaml: clone.database.psql: cannot be split into arguments: No closing quotation"),
    ({"database": {"psql": "psql", "run_in": "a b"}},
     "error: stack.yaml: clone.database.run_in: 'a b' is neither `host` nor a compose service name"),
    ({"database": {"psql": "psql", "step": "nope"}},
     "error: stack.yaml: clone.database.step: 'nope' is not a provision step (fix: steps: none)"),
    ({"database": {"psql": "psql"}, "images": "x"},
     "error: stack.yaml: clone: unknown key 'images' "
     "(fix: check the spelling against multistack/schema/stack.schema.json)"),
    ({"database": {"psql": "psql", "sql": "x"}},
     "error: stack.yaml: clone.database: unknown key 'sql' "
     "(fix: check the spelling against multistack/schema/stack.schema.json)"),
    ({"image": ""}, "error: stack.yaml: clone.image: must be a non-empty string, got a string"),
    ("x", "error: stack.yaml: clone: must be a mapping, got a string"),
])
def test_refusals(raw: Any, line: str) -> None:
    assert refusal(raw) == line


def test_an_unknown_step_names_the_steps_there_are() -> None:
    assert refusal({"database": {"psql": "psql", "step": "db"}}, steps=("schema", "database")) == (
        "error: stack.yaml: clone.database.step: 'db' is not a provision step (fix: steps: schema, database)")


def test_a_compose_service_needs_a_compose_file() -> None:
    assert refusal({"database": {"psql": "psql", "run_in": "postgres"}}, compose_files=()) == (
        "error: stack.yaml: clone.database.run_in: runs in compose service 'postgres' but the stack lists no "
        "compose files (fix: use `run_in: host`)")
