"""Generated files carried in the compose model (plan/configs.py), pinned exactly: the characters a config
key keeps, and the configs-hash label's value, which must not change between versions for the same files
(a changed value recreates every container that carries a config) (found by mutation testing, issue 11)."""
from __future__ import annotations

from multistack.plan.configs import HASH_LABEL, InlineConfig, config_key, configs_hash


def test_the_label_name():
    assert HASH_LABEL == "dev.multistack.configs-hash"


def test_keys_keep_letters_digits_underscore_dot_and_dash():
    assert config_key("Az09_.-") == "Az09_.-"
    assert config_key("a b", "c:d", "e/f") == "a_b_c_d_e_f"
    assert config_key("one") == "one"


def test_only_dollars_are_doubled():
    assert InlineConfig("k", "$", "/t").content == "$$"
    assert InlineConfig("k", "a\\b {x} %y", "/t").content == "a\\b {x} %y"


def test_the_hash_of_known_configs():
    # sha256 of "a\0/a\0one\0" + "b\0/b\0two\0", first 16 hex digits
    configs = [InlineConfig("b", "two", "/b"), InlineConfig("a", "one", "/a")]
    assert configs_hash(configs) == "ea2d482bd68f0aa6"
    assert configs_hash([]) == "e3b0c44298fc1c14"  # sha256 of nothing


def test_the_hash_separates_key_target_and_text():
    assert configs_hash([InlineConfig("ab", "c", "/t")]) != configs_hash([InlineConfig("a", "bc", "/t")])
    assert configs_hash([InlineConfig("a", "x", "/t")]) != configs_hash([InlineConfig("b", "x", "/t")])


def test_configs_with_one_key_are_ordered_by_target():
    one, two = InlineConfig("k", "1", "/a"), InlineConfig("k", "2", "/b")
    assert configs_hash([one, two]) == configs_hash([two, one])
