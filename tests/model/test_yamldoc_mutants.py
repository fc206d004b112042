"""The YAML loader of user files (model/yamldoc.py): duplicate keys, alias bombs and syntax errors as
the one line a user reads (found by mutation testing, issue 11)."""
from __future__ import annotations

import pytest

from multistack.errors import StackError
from multistack.model import yamldoc
from multistack.model.yamldoc import MAX_NODES, Tagged, expanded_size, load_yaml


def refused(text: str, **options) -> str:
    with pytest.raises(StackError) as info:
        load_yaml(text, "compose/c.yml", **options)
    return info.value.line()


def test_a_key_written_twice_names_it_and_both_lines():
    assert refused("a: 1\nb: 2\na: 3\n") == (
        "error: compose/c.yml: duplicate key 'a' at lines 1 and 3 (YAML would silently keep the last one) "
        "(fix: keep one of them)")


def test_a_nested_duplicate_is_found_and_a_quoted_key_is_the_same_key():
    assert "duplicate key 'inner' at lines 3 and 4" in refused("top: 1\nouter:\n  inner: 1\n  inner: 2\n")
    assert "duplicate key 'a' at lines 1 and 2" in refused('a: 1\n"a": 2\n')
    assert "duplicate key 'x' at lines 2 and 4" in refused("l:\n  - x: 1\n    y: 2\n    x: 3\n")


def test_keys_of_different_types_and_merged_keys_are_not_duplicates():
    assert load_yaml('1: x\n"1": y\n', "c.yml") == {1: "x", "1": "y"}
    merged = "base: &b {x: 1, y: 1}\nsvc:\n  <<: *b\n  x: 2\n"
    assert load_yaml(merged, "c.yml") == {"base": {"x": 1, "y": 1}, "svc": {"x": 2, "y": 1}}
    assert load_yaml("- a\n- a\n", "c.yml") == ["a", "a"]  # a list may repeat


def test_an_alias_bomb_is_refused_with_its_limit_and_the_fix():
    bomb = "a: &a [1, 2]\nb: [*a, *a, *a]\n"  # root, a, [1, 2] (3), b, [*a x 3] (1 + 3 x 3): 16 nodes
    assert refused(bomb, max_nodes=15) == (
        "error: compose/c.yml: its YAML aliases expand to more than 15 nodes (an alias bomb?): refused before "
        "compose reads it (fix: write the repeated parts out, or use fewer nested aliases)")
    assert load_yaml(bomb, "c.yml", max_nodes=16)["b"] == [[1, 2]] * 3
    assert MAX_NODES == 100_000 and "100,000 nodes" in refused("a: &a [" + "1, " * 10 + "1]\n"
                                                                + "b: [" + "*a, " * 9100 + "*a]\n")


def test_syntax_errors_name_line_column_and_the_given_fix():
    assert refused("a: [1,\n") == (
        "error: compose/c.yml:2:1: malformed YAML: did not find expected node content "
        "(fix: fix the YAML syntax at that line)")
    assert refused("a: 1\n---\nb: 2\n", hint="see the compose docs").endswith(
        "malformed YAML: but found another document (fix: see the compose docs)")


def test_merge_tags_kept_dropped_or_refused():
    assert load_yaml("x: !reset []\n", "c.yml", tags="keep") == {"x": Tagged("!reset", [])}
    assert load_yaml("x: !override {a: 1}\n", "c.yml", tags="keep") == {"x": Tagged("!override", {"a": 1})}
    assert load_yaml("x: !override {a: 1}\n", "c.yml", tags="drop") == {"x": {"a": 1}}
    assert "malformed YAML" in refused("x: !reset []\n")
    assert load_yaml("", "c.yml") is None and load_yaml("# only a comment\n", "c.yml") is None


def test_keys_after_a_merge_or_a_complex_key_are_still_checked():
    assert "duplicate key 'k' at lines 4 and 5" in refused("a: &a {x: 1}\nc:\n  <<: *a\n  k: 1\n  k: 2\n")
    two_merges = "a: &a {x: 1}\nb: &b {y: 1}\nc:\n  <<: *a\n  <<: *b\n"  # merge keys are not duplicates
    assert load_yaml(two_merges, "c.yml")["c"] == {"x": 1, "y": 1}
    assert refused("? [a, b]\n: 1\n") == ("error: compose/c.yml:1:3: malformed YAML: found unhashable key "
                                           "(fix: fix the YAML syntax at that line)")


def test_a_node_reached_twice_through_aliases_does_not_end_the_check():
    assert "duplicate key 'd'" in refused("z: {d: 1, d: 2}\nx: &a {k: 1}\ny: [*a, *a]\n")


def test_a_limit_above_the_default_is_honoured():
    big = "a: &a [" + "1, " * 10 + "1]\n" + "b: [" + "*a, " * 19999 + "*a]\n"  # about 220,000 nodes
    assert "more than 150,000 nodes" in refused(big, max_nodes=150_000)


def test_a_node_containing_itself_is_counted_one_past_the_limit():
    import yaml

    assert expanded_size(yaml.compose("a: &a [*a]\n"), 10) == 11


@pytest.fixture
def fresh_loaders(monkeypatch):
    """The loader classes are built on first use and kept: build them again for this test."""
    monkeypatch.setattr(yamldoc, "_LOADERS", {})


def test_each_tag_mode_builds_its_own_safe_loader(fresh_loaders):
    assert load_yaml("x: !reset []\n", "c.yml", tags="keep") == {"x": Tagged("!reset", [])}
    assert load_yaml("x: !reset [1]\n", "c.yml", tags="drop") == {"x": [1]}
    assert "malformed YAML" in refused("x: !reset []\n")
    for tags in ("keep", "drop", "reject"):
        assert "could not determine a constructor" in refused("!!python/object:os.system {}\n", tags=tags)
    assert load_yaml("x: !reset []\n", "c.yml", tags="keep") == {"x": Tagged("!reset", [])}  # built once, kept


def test_the_c_loader_is_used_when_pyyaml_has_it(fresh_loaders):
    """Big compose files load several times faster with libyaml; its messages show which one read them."""
    import yaml

    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("this PyYAML has no libyaml binding")
    for tags in ("keep", "drop", "reject"):
        assert "malformed YAML: did not find expected node content" in refused("a: [1,\n", tags=tags)
