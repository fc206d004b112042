"""Generated files carried in the compose model (plan/configs.py): ``$`` survives compose's
interpolation, keys are compose's characters, and the hash label changes with the text (compose
alone does not recreate a container whose config content changed)."""
from __future__ import annotations

from multistack.plan.configs import HASH_LABEL, InlineConfig, config_key, configs_hash


def test_dollars_are_doubled_for_compose_and_nothing_else_changes():
    config = InlineConfig("k", "price $5 ${HOME} $$\nline two\n", "/etc/x")
    assert config.content == "price $$5 $${HOME} $$$$\nline two\n"
    assert InlineConfig("k", "plain\n", "/x").content == "plain\n"


def test_keys_keep_only_compose_s_characters():
    assert config_key("gateway", "haproxy.cfg") == "gateway_haproxy.cfg"
    assert config_key("rest", "my file/â.conf") == "rest_my_file__.conf"


def test_the_hash_follows_text_and_target_not_order():
    a, b = InlineConfig("a", "one", "/a"), InlineConfig("b", "two", "/b")
    assert configs_hash([a, b]) == configs_hash([b, a])
    assert configs_hash([a]) != configs_hash([InlineConfig("a", "one!", "/a")])
    assert configs_hash([a]) != configs_hash([InlineConfig("a", "one", "/elsewhere")])
    assert len(configs_hash([])) == 16 and HASH_LABEL.startswith("dev.multistack.")
