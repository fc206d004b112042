"""The raw-YAML reader (model/reader.py): every refusal as the user reads it, one line with its key
path and its fix (found by mutation testing, issue 11)."""
from __future__ import annotations

import pytest

from multistack.errors import StackError
from multistack.model.names import NAME_RE
from multistack.model.reader import Node, kind


def refusal(call) -> StackError:
    with pytest.raises(StackError) as info:
        call()
    return info.value


def test_kind_of_a_float_and_of_an_unlisted_type():
    assert kind(0.0) == "a number" and kind(False) == "a boolean" and kind((1,)) == "tuple"


def test_a_key_with_blanks_or_a_line_break_is_quoted_so_the_message_stays_one_line():
    node = Node({}, "services", "stack.yaml")
    assert node.where("api") == "services.api"
    assert node.where("api\n") == "services.'api\\n'"
    assert node.where(" api") == "services.' api'"
    assert node.where("a b") == "services.a b"  # an inner blank is printable and not at an edge
    assert Node({}, "", "stack.yaml").where() == "(top level)"
    assert Node({}, "", "stack.yaml").where("project") == "project"


def test_a_clash_of_names_names_both_and_points_at_the_later_one():
    node = Node({}, "services", "stack.yaml")
    node.refuse_clash(["api", "web"], "service")  # no clash: nothing happens
    error = refusal(lambda: node.refuse_clash(["temporal_ui", "db", "Temporal-UI"], "service"))
    assert error.message == ("stack.yaml: services.Temporal-UI: service names 'temporal_ui' and 'Temporal-UI' "
                             "differ only in case or - versus _ (they would share env keys, files or host names)")
    assert error.hint == "rename one of them"


def test_strings_must_be_non_empty_strings():
    node = Node({"a": "", "b": 3, "c": "x y"}, "mesh", "f.yaml")
    assert refusal(lambda: node.string("a")).line() == "error: f.yaml: mesh.a: must be a non-empty string, got a string"
    assert refusal(lambda: node.string("b")).message == "f.yaml: mesh.b: must be a non-empty string, got an integer"
    error = refusal(lambda: node.string("c", pattern=NAME_RE))
    assert error.message == "f.yaml: mesh.c: 'x y' is not a valid name"
    assert error.hint == "write it without spaces, line breaks or other characters the name does not allow"
    assert node.string("missing") is None and node.string("missing", "dflt") == "dflt"


def test_integers_refuse_booleans_and_text_with_the_fix_and_name_their_bounds():
    node = Node({"t": True, "s": "80", "big": 70000, "edge": 65535, "zero": 0}, "router", "f.yaml")
    for key, got in (("t", "a boolean"), ("s", "a string")):
        error = refusal(lambda: node.integer(key))
        assert error.message == f"f.yaml: router.{key}: must be an integer, got {got}"
        assert error.hint == "write a whole number in ASCII digits, unquoted"
    assert refusal(lambda: node.integer("big")).message == "f.yaml: router.big: must be 0-65535, got 70000"
    assert node.integer("edge") == 65535 and node.integer("zero") == 0
    assert refusal(lambda: node.integer("zero", lo=1, hi=9)).message == "f.yaml: router.zero: must be 1-9, got 0"
    assert node.integer("missing") is None


def test_a_list_of_strings_refuses_an_empty_string_and_a_mapping():
    node = Node({"a": ["x", ""], "b": {"x": 1}, "c": []}, "compose", "f.yaml")
    assert refusal(lambda: node.strings("a")).message == "f.yaml: compose.a: must be a list of strings"
    assert refusal(lambda: node.strings("b")).message == "f.yaml: compose.b: must be a list of strings"
    assert node.strings("c") == () and node.strings("missing") == ()


def test_env_maps_refuse_bad_names_with_the_fix_and_values_that_are_not_text():
    error = refusal(lambda: Node({"env": {"A-B": "1"}}, "apps.api", "f.yaml").env_map("env"))
    assert error.message == "f.yaml: apps.api.env.A-B: is not a valid environment variable name"
    assert error.hint == "use letters, digits and _, not starting with a digit"
    for value, got in ((True, "a boolean"), ([1], "a list"), ({"x": 1}, "a mapping")):
        error = refusal(lambda: Node({"env": {"A": value}}, "", "f.yaml").env_map("env"))
        assert error.message == f"f.yaml: env.A: must be a string or number, got {got}"
    assert Node({"env": {"N": 1.5, "S": "x"}}, "", "f.yaml").env_map("env") == (("N", "1.5"), ("S", "x"))
    env = Node({"env": {"A": "1", 7: "x"}}, "", "f.yaml")
    assert refusal(lambda: env.env_map("env")).message == "f.yaml: env.7: is not a valid environment variable name"


def test_an_env_map_read_marks_its_keys_and_section_as_known():
    node = Node({"env": {"A": "1"}}, "", "f.yaml")
    node.env_map("env")
    node.done()  # no unknown key: env and its A were read


def test_items_gives_string_keys_and_marks_them_read():
    node = Node({"a": 1, 2: "b"}, "x", "f.yaml")
    assert list(node.items()) == [("a", 1), ("2", "b")]
    node.done()


def test_the_first_unknown_key_is_named_with_the_schema_fix():
    node = Node({"a": 1, "zz": 2, "b": 3}, "mesh", "f.yaml")
    node.get("a")
    error = refusal(node.done)
    assert error.message == "f.yaml: mesh: unknown key 'zz'"
    assert error.hint == "check the spelling against multistack/schema/stack.schema.json"


def test_children_carry_the_path_and_the_file():
    top = Node({"mesh": {"profiles": {"db": 3}}}, "", "conf/s.yaml")
    profiles = top.child("mesh").child("profiles")
    assert (profiles.path, profiles.file) == ("mesh.profiles", "conf/s.yaml")
    error = refusal(lambda: profiles.child("db"))
    assert error.message == "conf/s.yaml: mesh.profiles.db: must be a mapping, got an integer"
    assert top.child("absent").data == {}
