"""The one raw-YAML reader: key paths in every message, unknown keys refused, whole-string patterns."""
from __future__ import annotations

import re

import pytest

from multistack.errors import StackError
from multistack.model.names import NAME_RE
from multistack.model.reader import Node, kind


def test_kind_names_a_value_for_a_person() -> None:
    assert [kind(v) for v in ({}, [], "x", True, 1, 1.5, None)] == [
        "a mapping", "a list", "a string", "a boolean", "an integer", "a number", "nothing"]
    assert kind(b"x") == "bytes"


def test_errors_name_the_file_and_the_key_path() -> None:
    node = Node({"port": "80"}, "services.api", "stack.yaml")
    with pytest.raises(StackError, match=r"^stack.yaml: services.api.port: must be an integer, got a string$"):
        node.integer("port")


def test_a_non_mapping_is_refused_where_it_is() -> None:
    with pytest.raises(StackError, match=r"stack.yaml: mesh: must be a mapping, got a list"):
        Node([1], "mesh", "stack.yaml")
    assert Node(None, "mesh", "stack.yaml").data == {}  # an empty section is an empty mapping


def test_top_level_errors_say_so() -> None:
    with pytest.raises(StackError, match=r"stack.yaml: \(top level\): unknown key 'sevrices'"):
        node = Node({"sevrices": {}}, "", "stack.yaml")
        node.done()


def test_unknown_keys_are_refused_after_the_known_ones_are_read() -> None:
    node = Node({"a": 1, "b": 2}, "x", "f.yaml")
    node.get("a")
    with pytest.raises(StackError, match=r"f.yaml: x: unknown key 'b'") as info:
        node.done()
    assert info.value.hint and "schema" in info.value.hint


def test_an_explicit_null_is_the_default() -> None:
    node = Node({"stride": None}, "", "stack.yaml")
    assert node.integer("stride", 100) == 100


@pytest.mark.parametrize("value", ["x\n", "x\n\n", "\nx", "x y", "X"])
def test_patterns_must_match_the_whole_string(value: str) -> None:
    node = Node({"name": value}, "", "stack.yaml")
    with pytest.raises(StackError, match=re.escape(f"{value!r} is not a valid service name")):
        node.string("name", pattern=NAME_RE, what="service name")


def test_child_paths_and_env_maps() -> None:
    top = Node({"env": {"A": 1, "B": "x"}, "apps": {"api": {"env": {"1X": "y"}}}}, "", "stack.yaml")
    assert top.env_map("env") == (("A", "1"), ("B", "x"))
    app = top.child("apps").child("api")
    with pytest.raises(StackError, match=r"stack.yaml: apps.api.env.1X: is not a valid environment variable name"):
        app.env_map("env")


def test_env_names_with_a_trailing_newline_are_refused() -> None:
    with pytest.raises(StackError, match="is not a valid environment variable name"):
        Node({"env": {"A\n": "1"}}, "", "stack.yaml").env_map("env")


def test_strings_takes_one_string_or_a_list() -> None:
    node = Node({"a": "x", "b": ["x", "y"], "c": ["x", 1]}, "", "stack.yaml")
    assert node.strings("a") == ("x",) and node.strings("b") == ("x", "y")
    with pytest.raises(StackError, match="c: must be a list of strings"):
        node.strings("c")
