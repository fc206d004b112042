"""The one YAML loader: safe, compose tags kept or dropped by a switch, alias bombs refused, one error format."""
from __future__ import annotations

import time

import pytest

from multistack.errors import StackError
from multistack.model.yamldoc import MAX_NODES, Tagged, expanded_size, load_yaml, yaml_error

TAGGED = "services:\n  web:\n    ports: !override ['8100:80']\n    volumes: !reset []\n"


def bomb(levels: int = 9, width: int = 10) -> str:
    """The classic billion laughs: each level repeats the previous one ``width`` times."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_plain_documents_and_empty_ones():
    assert load_yaml("a: 1\nb: [x, y]\n", "f.yml") == {"a": 1, "b": ["x", "y"]}
    assert load_yaml("", "f.yml") is None
    assert load_yaml("# only a comment\n", "f.yml") is None


def test_compose_tags_kept_as_tagged_values():
    web = load_yaml(TAGGED, "c.yml", tags="keep")["services"]["web"]
    assert web["ports"] == Tagged("!override", ["8100:80"])
    assert web["volumes"] == Tagged("!reset", [])


def test_compose_tags_dropped_keep_the_value():
    web = load_yaml(TAGGED, "c.yml", tags="drop")["services"]["web"]
    assert web == {"ports": ["8100:80"], "volumes": []}


def test_tags_on_mappings_and_scalars():
    data = load_yaml("a: !override {x: {y: 1}}\nb: !reset null\nc: !override text\n", "c.yml", tags="keep")
    assert data == {"a": Tagged("!override", {"x": {"y": 1}}), "b": Tagged("!reset", "null"),
                    "c": Tagged("!override", "text")}


def test_tags_rejected_by_default_like_safe_load():
    with pytest.raises(StackError) as info:
        load_yaml(TAGGED, "stack.yaml")
    assert info.value.message == ("stack.yaml:3:12: malformed YAML: could not determine a constructor for the tag "
                                  "'!override'")


def test_python_objects_are_never_constructed():
    with pytest.raises(StackError, match="malformed YAML"):
        load_yaml("a: !!python/object/apply:os.system ['true']\n", "stack.yaml", tags="drop")


def test_error_names_file_line_column_problem_and_fix():
    with pytest.raises(StackError) as info:
        load_yaml("services:\n  web:\n   - [\n", "compose.yml", hint="fix the compose file")
    assert info.value.line() == "error: compose.yml:4:1: malformed YAML: did not find expected node content " \
                                "(fix: fix the compose file)"
    with pytest.raises(StackError) as info:
        load_yaml("project: p\nservices:\n  a: {port: 1\n", "stack.yaml")
    assert info.value.message.startswith("stack.yaml:4:1: malformed YAML: ")
    assert info.value.hint == "fix the YAML syntax at that line"


def test_error_without_a_mark_uses_the_first_line():
    import yaml

    error = yaml_error(yaml.YAMLError("something odd\nmore detail"), "x.yml", "fix it")
    assert (error.message, error.hint) == ("x.yml: malformed YAML: something odd", "fix it")


def test_several_documents_are_an_error():
    with pytest.raises(StackError, match=r"f.yml:2:1: malformed YAML: but found another document"):
        load_yaml("a: 1\n---\nb: 2\n", "f.yml")


def test_alias_bomb_refused_in_one_line_and_fast():
    started = time.monotonic()
    with pytest.raises(StackError) as info:
        load_yaml(bomb(), "compose.yml", tags="keep")
    assert time.monotonic() - started < 1.0
    assert "\n" not in info.value.line()
    assert info.value.message == (f"compose.yml: its YAML aliases expand to more than {MAX_NODES:,} nodes "
                                  "(an alias bomb?): refused before compose reads it")
    assert info.value.hint == "write the repeated parts out, or use fewer nested aliases"


def test_ordinary_aliases_are_fine():
    text = "x-common: &common {image: busybox, environment: {A: '1'}}\nservices:\n  a: *common\n  b: {<<: *common}\n"
    data = load_yaml(text, "compose.yml", tags="keep")
    assert data["services"]["a"] == data["services"]["b"] == {"image": "busybox", "environment": {"A": "1"}}


def test_expanded_size_counts_aliases_as_copies():
    import yaml

    # Sizes go into plain ints first: a failing assert must never repr a bomb's node graph.
    small = expanded_size(yaml.compose("a: &a [1, 2]\nb: [*a, *a]\n"))
    assert small == 1 + 2 + 3 + 7  # mapping + keys a, b + [1, 2] + [*a, *a] (1 + 3 + 3)
    laughs = expanded_size(yaml.compose(bomb(levels=3, width=10)))
    assert laughs == 1 + 3 + 11 + 111 + 1111  # mapping, keys, then each level ten times the one before
    capped = expanded_size(yaml.compose(bomb()), limit=50)
    assert capped == 51  # stops counting past the limit


def test_a_node_containing_itself_counts_as_too_big():
    with pytest.raises(StackError, match="alias bomb"):
        load_yaml("a: &a [1, *a]\n", "c.yml")


def test_limit_is_a_parameter():
    text = bomb(levels=3, width=10)  # 1,000 leaves
    assert load_yaml(text, "c.yml")["l2"][0][0] == ["lol"] * 10
    with pytest.raises(StackError, match="more than 100 nodes"):
        load_yaml(text, "c.yml", max_nodes=100)


def test_deep_nesting_is_sized_without_recursion():
    import sys

    import yaml

    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML's pure-Python composer is itself recursive")
    depth = 900
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)  # the size walk must not need a frame per level
    try:
        data = load_yaml("[" * depth + "]" * depth, "deep.yml")
    finally:
        sys.setrecursionlimit(limit)
    levels = 0
    while data:
        data, levels = data[0], levels + 1
    assert levels == depth - 1
