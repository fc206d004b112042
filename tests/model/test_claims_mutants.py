"""The claim registry file, byte for byte, and every refusal of a damaged one as the whole line.

Every worktree of a repository reads and rewrites this one file, so its exact text (order,
indentation, keys, the trailing newline) is what keeps an unchanged registry unchanged on
disk, and a damaged file must be named with the one fix that works. Mutation testing left
the text, the edges of ``version`` and ``instance`` and the messages mostly unchecked.
"""
from __future__ import annotations

import pytest

from multistack.errors import StackError
from multistack.model.claims import REGISTRY_VERSION, Claim, Registry, parse_registry, stack_key

KEY = "shop:stack.yaml"
FIX = "move it away (mv /r/claims.json /r/claims.json.broken); every checkout then claims again"

TEXT = """\
{
  "claims": [
    {
      "checkout": "/b",
      "claimed_at": "2026-12-01T10:00:00Z",
      "instance": 1,
      "stack": "a:stack.yaml"
    },
    {
      "checkout": "/a",
      "claimed_at": "2026-12-01T09:00:00Z",
      "instance": 0,
      "stack": "shop:stack.yaml"
    },
    {
      "checkout": "/c",
      "claimed_at": "",
      "instance": 2,
      "stack": "shop:stack.yaml"
    }
  ],
  "version": 1
}
"""


def claims() -> tuple[Claim, ...]:
    return (Claim(KEY, 2, "/c", ""), Claim("a:stack.yaml", 1, "/b", "2026-12-01T10:00:00Z"),
            Claim(KEY, 0, "/a", "2026-12-01T09:00:00Z"))


def test_the_file_text_is_sorted_by_stack_then_instance_indented_and_ends_with_a_newline() -> None:
    assert REGISTRY_VERSION == 1
    assert Registry(claims()).to_text() == TEXT
    assert Registry().to_text() == '{\n  "claims": [],\n  "version": 1\n}\n'


def test_the_text_reads_back_as_the_same_claims() -> None:
    assert set(parse_registry(TEXT, "/r/claims.json").claims) == set(claims())
    assert parse_registry(Registry().to_text(), "/r/claims.json") == Registry()


def test_a_claim_without_a_time_or_with_a_wrong_one_reads_as_no_time() -> None:
    text = ('{"version": 1, "claims": [{"stack": "s", "instance": 0, "checkout": "/a"},'
            ' {"stack": "s", "instance": 1, "checkout": "/b", "claimed_at": 5}]}')
    assert parse_registry(text, "f").claims == (Claim("s", 0, "/a", ""), Claim("s", 1, "/b", ""))


def test_instance_zero_and_an_empty_stack_name_are_claims() -> None:
    text = '{"version": 1, "claims": [{"stack": "", "instance": 0, "checkout": "/a", "claimed_at": "t"}]}'
    assert parse_registry(text, "f").claims == (Claim("", 0, "/a", "t"),)


def test_stack_key_is_project_colon_file() -> None:
    assert stack_key("shop", "services/stack.yaml") == "shop:services/stack.yaml"


def test_of_stack_is_that_stacks_claims_lowest_number_first() -> None:
    registry = Registry(claims())
    assert registry.of_stack(KEY) == [Claim(KEY, 0, "/a", "2026-12-01T09:00:00Z"), Claim(KEY, 2, "/c", "")]
    assert registry.of_stack("nope:stack.yaml") == []


def test_holder_and_held_by_need_both_the_stack_and_the_number_or_checkout() -> None:
    registry = Registry(claims())
    assert registry.holder(KEY, 2) == Claim(KEY, 2, "/c", "")
    assert registry.holder(KEY, 1) is None  # number 1 is held, but of another stack
    assert registry.holder("a:stack.yaml", 1) == Claim("a:stack.yaml", 1, "/b", "2026-12-01T10:00:00Z")
    assert registry.held_by(KEY, "/a") == Claim(KEY, 0, "/a", "2026-12-01T09:00:00Z")
    assert registry.held_by(KEY, "/b") is None  # /b holds a claim, on another stack
    assert registry.held_by("a:stack.yaml", "/b").instance == 1


def damaged(text: str) -> StackError:
    with pytest.raises(StackError) as info:
        parse_registry(text, "/r/claims.json")
    assert info.value.hint == FIX
    return info.value


@pytest.mark.parametrize("text, reason", [
    ('{"version": 1, "claims": [', "not JSON: Expecting value: line 1 column 27 (char 26)"),
    ("[]", "no `claims` list"),
    ('{"version": 1}', "no `claims` list"),
    ('{"version": 1, "claims": {}}', "no `claims` list"),
    ('{"claims": []}', "no valid `version`"),
    ('{"version": 0, "claims": []}', "no valid `version`"),
    ('{"version": true, "claims": []}', "no valid `version`"),
    ('{"version": "1", "claims": []}', "no valid `version`"),
    ('{"version": 1.0, "claims": []}', "no valid `version`"),
    ('{"version": 1, "claims": [[]]}', "a claim that is not an object"),
    ('{"version": 1, "claims": [{"stack": "s", "instance": -1, "checkout": "/a"}]}',
     'a claim without stack, instance or checkout: {"stack": "s", "instance": -1, "checkout": "/a"}'),
    ('{"version": 1, "claims": [{"stack": "s", "instance": true, "checkout": "/a"}]}',
     'a claim without stack, instance or checkout: {"stack": "s", "instance": true, "checkout": "/a"}'),
    ('{"version": 1, "claims": [{"stack": 1, "instance": 1, "checkout": "/a"}]}',
     'a claim without stack, instance or checkout: {"stack": 1, "instance": 1, "checkout": "/a"}'),
    ('{"version": 1, "claims": [{"stack": "s", "instance": 1, "checkout": ""}]}',
     'a claim without stack, instance or checkout: {"stack": "s", "instance": 1, "checkout": ""}'),
    ('{"version": 1, "claims": [{"stack": "s", "instance": 1, "checkout": 7}]}',
     'a claim without stack, instance or checkout: {"stack": "s", "instance": 1, "checkout": 7}'),
    ('{"version": 1, "claims": [{"stack": "s", "instance": 1}]}',
     'a claim without stack, instance or checkout: {"stack": "s", "instance": 1}'),
    ('{"version": 1, "claims": [{"stack": "s", "instance": 1, "checkout": "/a"},'
     ' {"stack": "s", "instance": 1, "checkout": "/b"}]}', "s 1 is claimed twice"),
    ('{"version": 1, "claims": [{"stack": "s", "instance": 1, "checkout": "/a"},'
     ' {"stack": "s", "instance": 2, "checkout": "/a"}]}', "s /a is claimed twice"),
])
def test_a_damaged_registry_is_one_line_with_the_fix(text: str, reason: str) -> None:
    assert damaged(text).message == f"claim registry /r/claims.json is damaged: {reason}"


def test_the_quoted_claim_and_the_json_error_are_cut_at_80_characters() -> None:
    item = '{"stack": "' + "s" * 100 + '", "instance": -1, "checkout": "/a"}'
    message = damaged('{"version": 1, "claims": [' + item + "]}").message
    assert message == ("claim registry /r/claims.json is damaged: a claim without stack, instance or checkout: "
                       + ('{"stack": "' + "s" * 100)[:80])
    long_error = damaged("[" * 100000).message  # too deep for the parser: a RecursionError, not a traceback
    assert long_error.startswith("claim registry /r/claims.json is damaged: not JSON: ")
    # "maximum recursion depth exceeded while decoding a JSON array from a unicode string": 82 characters
    assert long_error == ("claim registry /r/claims.json is damaged: not JSON: "
                          "maximum recursion depth exceeded while decoding a JSON array from a unicode stri")


def test_the_same_number_or_checkout_in_two_stacks_is_not_a_clash() -> None:
    text = ('{"version": 1, "claims": [{"stack": "a", "instance": 1, "checkout": "/a"},'
            ' {"stack": "b", "instance": 1, "checkout": "/a"}]}')
    assert len(parse_registry(text, "f").claims) == 2


def test_a_registry_of_a_newer_multistack_is_refused_with_the_upgrade() -> None:
    with pytest.raises(StackError) as info:
        parse_registry('{"version": 2, "claims": []}', "/r/claims.json")
    assert info.value.line() == ("error: /r/claims.json was written by a newer multistack (registry version 2) "
                                 "(fix: upgrade multistack in this checkout)")
