"""The claim registry as data: the same claims are the same bytes, a damaged file is refused."""
from __future__ import annotations

import json

import pytest

from multistack.errors import StackError
from multistack.model.claims import Claim, Registry, parse_registry, stack_key


def test_round_trip_is_sorted_and_stable() -> None:
    a, b = Claim("s:stack.yaml", 3, "/b", "t"), Claim("s:stack.yaml", 1, "/a", "t")
    text = Registry((a, b)).to_text()
    assert text == Registry((b, a)).to_text()
    assert [c["instance"] for c in json.loads(text)["claims"]] == [1, 3]
    assert parse_registry(text, "f") == Registry((b, a))


@pytest.mark.parametrize("text, reason", [
    ("[", "not JSON"),
    ("[]", "no `claims` list"),
    ('{"claims": []}', "no valid `version`"),
    ('{"version": 1, "claims": [1]}', "not an object"),
    ('{"version": 1, "claims": [{"stack": "s", "instance": "1", "checkout": "/a"}]}', "without stack"),
    ('{"version": 1, "claims": [{"stack": "s", "instance": 1, "checkout": "/a"},'
     ' {"stack": "s", "instance": 1, "checkout": "/b"}]}', "s 1 is claimed twice"),
    ('{"version": 1, "claims": [{"stack": "s", "instance": 1, "checkout": "/a"},'
     ' {"stack": "s", "instance": 2, "checkout": "/a"}]}', "s /a is claimed twice"),
])
def test_damaged(text: str, reason: str) -> None:
    with pytest.raises(StackError, match=reason):
        parse_registry(text, "claims.json")


def test_newer_version_is_refused_with_the_fix() -> None:
    with pytest.raises(StackError, match="newer multistack") as info:
        parse_registry('{"version": 2, "claims": []}', "claims.json")
    assert info.value.hint == "upgrade multistack in this checkout"


def test_lookups_and_key() -> None:
    key = stack_key("shop", "stack.yaml")
    registry = Registry((Claim(key, 1, "/a", ""), Claim("other:stack.yaml", 1, "/b", "")))
    assert registry.holder(key, 1).checkout == "/a"
    assert registry.holder(key, 2) is None
    assert registry.held_by(key, "/b") is None
    assert [c.checkout for c in registry.of_stack(key)] == ["/a"]
