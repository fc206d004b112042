"""Names and numbers: one pattern per kind, matched whole; ASCII digits only; one range reader."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from multistack.errors import StackError
from multistack.model import names
from multistack.model.names import (
    NumbersError,
    format_ranges,
    is_canonical_number,
    is_number,
    parse_instance_number,
    parse_numbers,
    parse_range,
)

NOT_ASCII_DIGITS = ["²", "１", "١", "۳", "৩", "1²", "٣-٥"]


class Range(NamedTuple):
    first: int
    last: int
    path: Path


STACK = Range(0, 9, Path("/x/stack.yaml"))


@pytest.mark.parametrize("pattern", [v for k, v in vars(names).items() if k.endswith("_RE")])
def test_no_pattern_accepts_a_trailing_newline(pattern) -> None:
    for sample in ("a", "ab", "a1", "abc.de", "A", "ssh://h", "1", "1-2"):
        if pattern.fullmatch(sample):
            assert not pattern.fullmatch(sample + "\n"), pattern.pattern
            break
    else:
        pytest.fail(f"no sample matches {pattern.pattern}")


@pytest.mark.parametrize("text", NOT_ASCII_DIGITS)
def test_only_ascii_digits_are_digits(text: str) -> None:
    assert not is_number(text) and not is_canonical_number(text)
    assert parse_range(text) is None


def test_numbers() -> None:
    assert is_number("007") and not is_canonical_number("007")
    assert is_canonical_number("0") and is_canonical_number("10")
    assert not is_number("") and not is_number(" 1") and not is_number("1\n") and not is_number(1)


def test_ranges() -> None:
    assert parse_range("0-9") == (0, 9)
    assert parse_range(" 5-9 ") == (5, 9)
    assert parse_range("9-5") == (9, 5)  # the caller says what is wrong with it
    for text in ("0-10000", "1-", "-1", "1--2", "a-b", "1-2\n-3", 5, None):
        assert parse_range(text) is None, text


def test_number_lists() -> None:
    assert parse_numbers("5-7") == [5, 6, 7]
    assert parse_numbers(7) == [7]
    assert parse_numbers(["1", 3, "5-6"]) == [1, 3, 5, 6]
    assert parse_numbers([]) == []
    with pytest.raises(NumbersError) as info:
        parse_numbers([1, "9-5"])
    assert info.value.item == "9-5" and info.value.reversed_range
    for bad in ("²", "١-٣", True, [[1, 2]], 1.5, "x"):
        with pytest.raises(NumbersError) as info:
            parse_numbers(bad)
        assert not info.value.reversed_range


def test_format_ranges_is_the_inverse() -> None:
    assert format_ranges([0, 3, 4, 5, 9]) == "0, 3-5, 9"
    assert format_ranges([]) == ""


@pytest.mark.parametrize("text", ["abc", "", "-1", "1.0", "1e3", *NOT_ASCII_DIGITS])
def test_instance_numbers_that_are_not_numbers(text: str) -> None:
    with pytest.raises(StackError, match=r"is not a number") as info:
        parse_instance_number(text, STACK)
    assert "leading zero" not in info.value.message


def test_instance_numbers() -> None:
    assert parse_instance_number("3", STACK) == 3
    assert parse_instance_number(" 3 ", STACK) == 3
    assert parse_instance_number(4, STACK) == 4
    with pytest.raises(StackError, match=r"instance '05' has a leading zero"):
        parse_instance_number("05", STACK)
    with pytest.raises(StackError, match=r"instance 10 is out of range 0-9") as info:
        parse_instance_number("10", STACK)
    assert info.value.hint and "stack.yaml" in info.value.hint
    with pytest.raises(StackError, match="is not a number"):
        parse_instance_number(True, STACK)  # type: ignore[arg-type]


def test_stack_yaml_numbers_are_ascii_too(make_stack) -> None:
    from multistack.model.stack import load_stack

    with pytest.raises(StackError, match=r"instances: must be a range"):
        load_stack(make_stack("project: p\ninstances: '٠-٩'\n"))
    with pytest.raises(StackError, match=r"engines.big.slots: must be instance numbers or ranges"):
        load_stack(make_stack("project: p\nengines: {big: {context: b, host: b.lan, slots: ['²']}}\n"))
    with pytest.raises(StackError, match=r"mesh.environments.١: environment names are lowercase"):
        load_stack(make_stack("project: p\nmesh: {compose: [m.yml], profiles: {db: [pg]}, "
                              "environments: {'١': {compose: [l.yml], template: t.env}}}\n"))
