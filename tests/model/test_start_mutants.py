"""The ``start:`` section (model/start.py): the bound on a start's waiting, its default and its edges
(found by mutation testing, issue 11)."""
from __future__ import annotations

import pytest

from multistack.errors import StackError
from multistack.model.start import DEFAULT_WAIT_TIMEOUT, MAX_WAIT_TIMEOUT, parse_start


def test_without_the_section_or_the_key_a_start_waits_five_minutes():
    assert DEFAULT_WAIT_TIMEOUT == 300
    assert parse_start(None, "s.yaml").wait_timeout == 300
    assert parse_start({}, "s.yaml").wait_timeout == 300
    assert parse_start({"wait_timeout": None}, "s.yaml").wait_timeout == 300  # `wait_timeout:` left empty


@pytest.mark.parametrize("seconds", [1, 86400])
def test_one_second_to_a_day_is_accepted(seconds):
    assert MAX_WAIT_TIMEOUT == 86400
    assert parse_start({"wait_timeout": seconds}, "s.yaml").wait_timeout == seconds


@pytest.mark.parametrize("raw, line", [
    ({"wait_timeout": 0}, "error: conf/s.yaml: start.wait_timeout: must be 1-86400, got 0"),
    ({"wait_timeout": 86401}, "error: conf/s.yaml: start.wait_timeout: must be 1-86400, got 86401"),
    ({"wait": 5}, "error: conf/s.yaml: start: unknown key 'wait' "
                  "(fix: check the spelling against multistack/schema/stack.schema.json)"),
])
def test_refusals_name_the_file_and_the_key(raw, line):
    with pytest.raises(StackError) as info:
        parse_start(raw, "conf/s.yaml")
    assert info.value.line() == line
