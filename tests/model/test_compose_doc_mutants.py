"""A compose file as data (pure): what render, doctor and systems read from it, and how a bad one is refused.

Pins :func:`parse_compose` (a base file needs ``services:``; an override need not; each refusal is one
line with its hint), the plain views :meth:`ComposeDoc.section` / :meth:`ComposeDoc.services` and
:func:`untag` (merge tags dropped, odd values read as empty), and the merges :func:`base_services` /
:func:`base_networks` (by name, later keys winning).
"""
from __future__ import annotations

import pytest

from multistack.errors import StackError
from multistack.model.compose_doc import ComposeDoc, base_networks, base_services, parse_compose, untag
from multistack.model.yamldoc import Tagged


def refusal(text: str, **kw) -> tuple[str, str | None]:
    with pytest.raises(StackError) as info:
        parse_compose(text, "compose/app.yml", **kw)
    return info.value.message, info.value.hint


def test_a_base_file_keeps_its_tags():
    doc = parse_compose("services:\n  api:\n    ports: !reset []\n", "compose/app.yml")
    assert doc == ComposeDoc("compose/app.yml", {"services": {"api": {"ports": Tagged("!reset", [])}}})


def test_an_override_file_needs_no_services():
    assert parse_compose("networks: {}\n", "o.yml", base=False) == ComposeDoc("o.yml", {"networks": {}})
    assert parse_compose("", "o.yml", base=False) == ComposeDoc("o.yml", {})
    assert parse_compose("# nothing\n", "o.yml", base=False).data == {}


@pytest.mark.parametrize("text", ["", "networks: {}\n", "services: [api]\n", "services:\n", "services: !reset {}\n"])
def test_a_base_file_without_a_services_mapping_is_refused(text):
    assert refusal(text) == ("compose/app.yml: no `services:` mapping", "a compose file needs a services: section")


@pytest.mark.parametrize("base", [True, False])
@pytest.mark.parametrize("text", ["- api\n", "api\n", "3\n"])
def test_a_document_that_is_not_a_mapping_is_refused(text, base):
    assert refusal(text, base=base) == ("compose/app.yml: a compose file must be a mapping", "start it with `services:`")


def test_malformed_yaml_names_the_line_and_the_compose_hint():
    assert refusal("services: [a\n") == (
        "compose/app.yml:2:1: malformed YAML: did not find expected ',' or ']'", "fix the compose file")


def test_sections_are_plain_data():
    doc = ComposeDoc("c.yml", {"services": {"api": {"environment": Tagged("!override", {"A": Tagged("!reset", "1")})},
                                            1: None, "db": ["not", "a", "mapping"]},
                               "networks": Tagged("!override", {"front": {"driver": "bridge"}}),
                               "volumes": ["odd"]})
    assert doc.section("networks") == {"front": {"driver": "bridge"}}
    assert doc.section("volumes") == {}
    assert doc.section("configs") == {}
    assert doc.services() == {"api": {"environment": {"A": "1"}}, "1": {}, "db": {}}
    assert ComposeDoc("empty.yml").data == {} and ComposeDoc("empty.yml").services() == {}


def test_untag():
    assert untag(Tagged("!reset", Tagged("!override", [Tagged("!reset", 1), {"k": Tagged("!x", [2])}]))) == [
        1, {"k": [2]}]
    assert untag({"a": (1, Tagged("!t", 2))}) == {"a": (1, Tagged("!t", 2))}  # only YAML's lists and mappings
    assert untag("text") == "text" and untag(None) is None


def test_base_services_merge_by_name_later_keys_winning():
    first = ComposeDoc("a.yml", {"services": {"api": {"image": "api:1", "ports": ["3000"]}, "db": {"image": "pg"}}})
    second = ComposeDoc("b.yml", {"services": {"api": {"image": "api:2", "command": Tagged("!reset", None)},
                                               "cache": "odd"}})
    assert base_services([first, second]) == {
        "api": {"image": "api:2", "ports": ["3000"], "command": None}, "db": {"image": "pg"}, "cache": {}}
    assert first.data["services"]["api"] == {"image": "api:1", "ports": ["3000"]}  # the documents are not changed
    assert base_services([]) == {}


def test_base_networks_merge_by_name_later_keys_winning():
    first = ComposeDoc("a.yml", {"networks": {"front": {"driver": "bridge", "internal": False}, 5: None}})
    second = ComposeDoc("b.yml", {"services": {}, "networks": {"front": {"internal": True}, "back": "odd"}})
    third = ComposeDoc("c.yml", {"services": {}})
    assert base_networks([first, second, third]) == {
        "front": {"driver": "bridge", "internal": True}, "5": {}, "back": {}}
    assert first.data["networks"]["front"] == {"driver": "bridge", "internal": False}
    assert base_networks([]) == {}
