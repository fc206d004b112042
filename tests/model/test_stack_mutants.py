"""stack.yaml's wrong values and where the file is found: the exact line a person reads.

Mutation testing left the type names of the messages (``got a list`` ...), the stack-file
search and the instance-number checks mostly unchecked.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from multistack.errors import StackError
from multistack.model.stack import find_stack_file, load_stack
from tests.audit.fake import run_program

API = "services: {api: {port: 3000}}\n"


def assert_line(error: StackError, line: str) -> None:
    """``line`` as printed; written without ``(fix: ...)``, only the message is compared."""
    message, _, hint = line.partition(" (fix: ")
    assert error.message == message
    if hint:
        assert error.hint == hint[:-1]


@pytest.mark.parametrize("text, line", [
    ("project: [x]\n" + API, "project: must be a non-empty string, got a list"),
    ("project: 12\n" + API, "project: must be a non-empty string, got an integer"),
    ("project: shop\nservices: {api: {port: true}}\n", "services.api.port: must be an integer, got a boolean"),
    ("project: shop\nservices: {api: {port: 3.5}}\n", "services.api.port: must be an integer, got a number"),
    ("project: shop\nservices: {api: {port: '3000'}}\n", "services.api.port: must be an integer, got a string"),
    ("project: shop\nservices: {api: {port: {a: 1}}}\n", "services.api.port: must be an integer, got a mapping"),
    ("project: shop\nservices: [api]\n", "services: must be a mapping, got a list"),
    ("project: shop\nservices: {api: 5}\n", "services.api: must be a mapping with at least `port`, got an integer"),
    ("project: shop\n" + API + "apps: {api: {command: 7}}\n", "apps.api.command: must be a non-empty string, got an integer"),
    ("project: shop\n" + API + "env: {A: [1]}\n", "env.A: must be a string or number, got a list"),
    ("project: shop\n" + API + "env: {A: 2020-01-01}\n", "env.A: must be a string or number, got date"),
])
def test_wrong_types_are_named_for_a_person(make_stack: Callable[..., Path], text: str, line: str) -> None:
    with pytest.raises(StackError) as info:
        load_stack(make_stack(text))
    assert_line(info.value, f"stack.yaml: {line}")


def test_the_stack_file_is_found_in_a_folder_above(make_stack: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    stack = make_stack("project: shop\n" + API)
    deep = stack.parent / "a" / "b"
    deep.mkdir(parents=True)
    assert find_stack_file(deep) == stack
    monkeypatch.chdir(deep)
    assert find_stack_file() == stack
    assert load_stack().path == stack


def test_multistack_file_wins_and_must_exist(make_stack: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    make_stack("project: shop\n" + API)
    other = tmp_path / "elsewhere" / "other.yaml"
    other.parent.mkdir()
    other.write_text("project: other\n" + API)
    monkeypatch.setenv("MULTISTACK_FILE", str(other))
    assert find_stack_file() == other
    assert load_stack().project == "other"
    monkeypatch.setenv("MULTISTACK_FILE", str(tmp_path / "nope.yaml"))
    with pytest.raises(StackError) as info:
        find_stack_file()
    assert info.value.line() == (f"error: MULTISTACK_FILE={tmp_path / 'nope.yaml'}: no such file "
                                 "(fix: point MULTISTACK_FILE at an existing stack.yaml or unset it)")


def test_no_stack_file_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MULTISTACK_FILE", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(StackError) as info:
        find_stack_file(empty)
    assert info.value.line() == (f"error: no stack.yaml in {empty.resolve()} or any folder above it "
                                 "(fix: run from your stack's folder or set MULTISTACK_FILE)")


@pytest.mark.parametrize("word, line", [
    ("05", "error: instance '05' has a leading zero (fix: write it as 5)"),
    ("use abc", "error: instance 'abc' is not a number (fix: give a whole number 2-6 without leading zeros, "
            "e.g. `inv dev 2 start`)"),
    ("use ²", "error: instance '²' is not a number (fix: give a whole number 2-6 without leading zeros, "
          "e.g. `inv dev 2 start`)"),
    ("7", "error: instance 7 is out of range 2-6 (fix: use 2-6, or widen `instances:` in stack.yaml)"),
    ("1", "error: instance 1 is out of range 2-6 (fix: use 2-6, or widen `instances:` in stack.yaml)"),
])
def test_instance_numbers_on_the_command_line(make_stack: Callable[..., Path], word: str, line: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    make_stack("project: shop\ninstances: 2-6\n" + API)
    argv = ["dev.use", word.split()[1]] if word.startswith("use ") else ["dev", word, "project-name"]
    code, out, err = run_program(argv, capsys)
    assert (code, err.strip()) == (2, line)


@pytest.mark.parametrize("word, name", [("2", "shop-dev-2"), ("6", "shop-dev-6")])
def test_the_ends_of_the_range_are_instances(make_stack: Callable[..., Path], word: str, name: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    make_stack("project: shop\ninstances: 2-6\n" + API)
    assert run_program(["dev", word, "project-name"], capsys)[:2] == (0, name + "\n")


@pytest.mark.parametrize("text, files, line", [
    ("project: shop\nservices: {api: {port: 3000}\n", {},
     "stack.yaml:3:1: malformed YAML: did not find expected ',' or '}' (fix: fix the YAML syntax at that line)"),
    ("project: shop\nservices:\n  api: {port: 3000}\n bad: 1\n", {},
     "stack.yaml:4:2: malformed YAML: did not find expected key (fix: fix the YAML syntax at that line)"),
    ("project: shop\n" + API + "apps: {api: {command: '  '}}\n", {},
     "stack.yaml: apps.api.command: has no program to run (fix: give the command PM2 runs, e.g. `python3 server.py`)"),
    ("project: shop\n" + API + "env_files: [a/app.env, b/app.env]\n", {"a/app.env": "A=1\n", "b/app.env": "A=1\n"},
     "stack.yaml: env_files: 'b/app.env' and 'a/app.env' would both be copied to app.env (fix: rename one of them)"),
    ("project: shop\n" + API + "env_files: [.env]\napps: {api: {command: x, env_files: [nope.env]}}\n", {".env": "A=1\n"},
     "stack.yaml: apps.api.env_files: 'nope.env' is not an instance env file; known: .env, instance.env"),
    ("project: shop\nservices: {api: {port: 3000, compose: api}}\n", {},
     "stack.yaml: services.api: missing 'container_port' for a compose service (fix: the port inside the container)"),
    ("project: shop\nservices: {api: {port: null}}\n", {},
     "stack.yaml: services.api: missing required key 'port' (fix: give the service's base port (instance 0))"),
    ("project: shop\n" + API + "mode: true\n", {},
     "stack.yaml: mode: must be one of isolated, shared, got True "
     "(fix: isolated runs one infra per instance; shared runs it once)"),
    ("project: shop\nservices: {api: {port: 3000, compose: api, container_port: 80}}\n", {},
     "stack.yaml: compose.files: services name compose services but no compose file is listed "
     "(fix: list your docker-compose.yml under compose.files)"),
])
def test_more_refusals(make_stack: Callable[..., Path], text: str, files: dict[str, str], line: str) -> None:
    with pytest.raises(StackError) as info:
        load_stack(make_stack(text, files))
    assert_line(info.value, line)


def test_utf8_stack_file_with_non_ascii_text(make_stack: Callable[..., Path]) -> None:
    stack = load_stack(make_stack("project: shop\n" + API + "env: {GREETING: 'grüß dich ✓'}\n"))
    assert dict(stack.env)["GREETING"] == "grüß dich ✓"


COMPOSE_WEB = {"compose.yml": "services:\n  web:\n    image: x\n"}


@pytest.mark.parametrize("text, line", [
    ("project: shop\nservices: {Web!: {port: 3000}}\n",
     "services.Web!: service names are lowercase letters, digits, - and _"),
    ("project: shop\ncompose: {files: [compose.yml]}\nservices: {web: {port: 3000, compose: 'Bad Name', container_port: 80}}\n",
     "services.web.compose: 'Bad Name' is not a valid compose service name"),
    ("project: shop\nservices: {web: {port: 3000, container_port: 80}}\n",
     "services.web.container_port: 'container_port' needs 'compose' (the compose service name)"),
    ("project: shop\nservices: {web: {port: 3000, env_keys: ['1BAD']}}\n",
     "services.web.env_keys: '1BAD' is not a valid environment variable name"),
    ("project: shop\nservices: {web: {port: 65536}}\n", "services.web.port: must be 1-65535, got 65536"),
    ("project: shop\nservices: {web: {port: 0}}\n", "services.web.port: must be 1-65535, got 0"),
    ("project: shop\ninstances: 0-9\nservices: {web: {port: 65535}}\n",
     "services.web.port: instance 9 would get port 66435 (> 65535) (fix: lower the base port, the stride or the last instance)"),
    ("project: shop\ninstances: {first: 10000, last: 10000}\nservices: {web: {port: 3000}}\n",
     "instances.first: must be 0-9999, got 10000"),
    ("project: shop\ncompose: {files: [compose.yml], services: {'Bad!': {}}}\nservices: {web: {port: 3000}}\n",
     "compose.services.Bad!: is not a valid compose service name"),
    ("project: shop\ncompose: {files: [compose.yml], services: {web: {nope: 1}}}\nservices: {web: {port: 3000}}\n",
     "compose.services.web: unknown key 'nope' (fix: check the spelling against multistack/schema/stack.schema.json)"),
])
def test_refusals_of_services_and_ranges(make_stack: Callable[..., Path], text: str, line: str) -> None:
    with pytest.raises(StackError) as info:
        load_stack(make_stack(text, COMPOSE_WEB))
    assert_line(info.value, f"stack.yaml: {line}")


def test_the_edges_that_are_accepted(make_stack: Callable[..., Path]) -> None:
    stack = load_stack(make_stack("project: shop\ninstances: {last: 0}\nservices: {web: {port: 65535}, db: {port: 1}}\n"))
    assert (stack.first, stack.last) == (0, 0)
    assert [(s.name, s.port) for s in stack.services] == [("web", 65535), ("db", 1)]
    top = load_stack(make_stack("project: shop\ninstances: {first: 9999, last: 9999}\nstride: 1\n"
                                "services: {web: {port: 1000}}\n"))
    assert (top.first, top.last, top.stride) == (9999, 9999, 1)
