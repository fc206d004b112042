"""Names and numbers (model/names.py) at their edges, and the exact line a user reads when an instance
number is refused (found by mutation testing, issue 11)."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from multistack.errors import StackError
from multistack.model.names import (NumbersError, first_clash, format_ranges, normal_name, parse_instance_number,
                                    parse_numbers, parse_range)


class Range(NamedTuple):
    first: int
    last: int
    path: Path


STACK = Range(3, 12, Path("/x/shop.yaml"))


def refusal(text) -> StackError:
    with pytest.raises(StackError) as info:
        parse_instance_number(text, STACK)
    return info.value


def test_normal_name_folds_case_fully_and_reads_underscore_as_dash():
    assert normal_name("Temporal_UI") == "temporal-ui"
    assert normal_name("STRASSE") == normal_name("straße")  # casefold, not lower: one file on a folding disk


def test_first_clash_gives_the_earlier_and_the_later_name():
    assert first_clash(["db", "temporal_ui", "web", "Temporal-UI", "temporal-ui"]) == ("temporal_ui", "Temporal-UI")
    assert first_clash(["api", "web", "api2"]) is None
    assert first_clash(["api", "api"]) is None  # one name written twice is not two names meeting
    assert first_clash([]) is None


def test_ranges_take_up_to_four_digits_each():
    assert parse_range("9999-9999") == (9999, 9999)
    assert parse_range("0-0") == (0, 0)


def test_number_lists_keep_order_and_repeats_and_read_blanks_around_a_number():
    assert parse_numbers([" 7 ", "2-3", 2, "5-5"]) == [7, 2, 3, 2, 5]
    assert parse_numbers(0) == [0]
    for bad in (False, None, "7 8", "-3"):
        with pytest.raises(NumbersError) as info:
            parse_numbers([1, bad])
        assert info.value.item == bad and info.value.reversed_range is False


def test_format_ranges_joins_runs_and_keeps_singles():
    assert format_ranges([5]) == "5"
    assert format_ranges([1, 2]) == "1-2"
    assert format_ranges([1, 2, 4, 5, 6, 8]) == "1-2, 4-6, 8"
    assert format_ranges([3, 2]) == "3, 2"  # in the order given: not sorted behind the caller's back
    assert format_ranges((0, 1, 2)) == "0-2"


def test_the_edges_of_the_range_are_instances():
    assert parse_instance_number("3", STACK) == 3 and parse_instance_number("12", STACK) == 12
    assert parse_instance_number(12, STACK) == 12


@pytest.mark.parametrize("text, value", [(2, 2), ("13", 13), (-1, -1)])
def test_out_of_range_names_the_range_and_the_stack_file(text, value):
    error = refusal(text)
    assert error.message == f"instance {value} is out of range 3-12"
    assert error.hint == "use 3-12, or widen `instances:` in shop.yaml"


def test_a_leading_zero_says_how_to_write_it():
    error = refusal("05")
    assert (error.message, error.hint) == ("instance '05' has a leading zero", "write it as 5")
    assert refusal(" 007 ").hint == "write it as 7"


def test_not_a_number_gives_the_range_and_an_example():
    error = refusal("abc")
    assert error.message == "instance 'abc' is not a number"
    assert error.hint == "give a whole number 3-12 without leading zeros, e.g. `inv dev 3 start`"
    assert refusal(False).message == "instance False is not a number"
