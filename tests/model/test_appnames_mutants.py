"""PM2 app names (model/appnames.py): what a user sees when a pattern is refused, and the inverse
that status relies on for patterns beyond the default (found by mutation testing, issue 11).

Every refusal is one ``error: ... (fix: ...)`` line: the fix is part of what the user reads, so
each one is asserted here, with the offending name as it would be formatted.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from multistack.errors import StackError
from multistack.model.appnames import check_pattern, name_regex, parse_name, pattern_fields
from multistack.model.stack import load_stack


def refusal(pattern: str, project: str = "shop", apps: tuple[str, ...] = ("api",),
            instances: range = range(0, 3)) -> StackError:
    with pytest.raises(StackError) as info:
        check_pattern(pattern, project, list(apps), instances)
    return info.value


def test_a_malformed_pattern_says_how_to_write_one():
    error = refusal("{project}-{app}-{n")
    assert error.message.startswith("pm2.app_name '{project}-{app}-{n':")
    assert error.hint == "use {project}, {app} and {n}, e.g. {project}-{app}-{n}"


def test_an_unknown_placeholder_is_quoted_as_written_with_its_conversion_and_spec():
    assert "unknown placeholder {app!r}" in refusal("{project}-{app!r}-{n}").message
    assert "unknown placeholder {n!s:>3}" in refusal("{project}-{app}-{n!s:>3}").message
    assert refusal("{project}-{app}-{x}").hint == "use only {project}, {app} and {n}"


def test_a_missing_placeholder_says_why_both_are_needed():
    for pattern, missing in (("{project}-{app}", "{n}"), ("{project}-{n}", "{app}")):
        error = refusal(pattern)
        assert error.message == f"pm2.app_name {pattern!r}: must contain {missing}"
        assert error.hint == "every app of every instance needs its own name, e.g. {project}-{app}-{n}"


def test_escaped_braces_are_text_and_the_placeholders_after_them_still_count():
    assert pattern_fields("{{x}}-{app}-{n}") == ["app", "n"]
    assert pattern_fields("{project}.{app}.{n}.{app}") == ["project", "app", "n", "app"]
    # so a literal brace is reported as what it is (not a valid PM2 name), not as a missing {app}
    error = refusal("{{x}}-{app}-{n}")
    assert "makes '{x}-api-0' for app api of instance 0: not a valid PM2 name" in error.message


def test_an_invalid_name_is_shown_with_the_project_and_the_fix():
    error = refusal("{project} {app}-{n}")
    assert error.message == ("pm2.app_name '{project} {app}-{n}' makes 'shop api-0' for app api of instance 0: "
                             "not a valid PM2 name")
    assert error.hint == "use letters, digits, '-', '_' and '.', starting with a letter or digit"


def test_two_apps_given_one_name_shows_that_name_and_the_fix():
    error = refusal("{project}{app}{n}", apps=("a", "a1"), instances=range(0, 11))
    assert error.message == ("pm2.app_name '{project}{app}{n}' gives 'shopa10' to app a1 of instance 0 "
                             "and to app a of instance 10")
    assert error.hint == "put a separator between {app} and {n}, e.g. {project}-{app}-{n}"


def test_a_custom_pattern_over_a_large_range_is_still_checked():
    """Beyond 20000 (app, instance) pairs the check samples the first and last instances: it must
    still run (and refuse) rather than fail, and still accept a good pattern quickly."""
    big = range(0, 15000)
    check_pattern("{app}.{project}.{n}", "shop", ["api", "web"], big)
    error = refusal("{app}{n}", apps=("a", "a10"), instances=big)
    assert error.message == "pm2.app_name '{app}{n}' gives 'a100' to app a10 of instance 0 and to app a of instance 100"
    assert refusal("{app}/{n}", apps=("a", "b"), instances=big).message.endswith("not a valid PM2 name")


def test_a_placeholder_used_twice_is_inverted_only_when_both_places_agree():
    pattern = "{project}-{app}-{n}.{app}-{n}"
    check_pattern(pattern, "shop", ["api", "web"], range(0, 20))
    assert parse_name(pattern, "shop", ["api", "web"], "shop-api-7.api-7") == ("api", 7)
    assert parse_name(pattern, "shop", ["api", "web"], "shop-api-7.web-7") is None
    assert parse_name(pattern, "shop", ["api", "web"], "shop-api-7.api-8") is None
    assert name_regex(pattern, "shop", ["api"]).fullmatch("shop-api-12.api-12")


def test_the_longer_app_wins_when_a_name_could_be_read_two_ways(tmp_path):
    """``{app}{n}`` with apps ``a`` and ``a1`` over 0-9: ``a12`` is app a1 of instance 2 (a of 12 does not exist)."""
    stack = load_stack(stack_file(tmp_path, "0-9"))
    for n in stack.instance_range:
        for app in ("a", "a1"):
            assert stack.app_of_name(stack.app_name(app, n)) == (app, n)


def test_the_inverse_is_exact_over_a_range_that_does_not_start_at_zero(tmp_path):
    stack = load_stack(stack_file(tmp_path, "10-19"))  # accepted: a10..a19 and a110..a119 never meet
    for n in stack.instance_range:
        for app in ("a", "a1"):
            assert stack.app_of_name(stack.app_name(app, n)) == (app, n)


def stack_file(tmp_path: Path, instances: str) -> Path:
    text = f"""\
        project: shop
        instances: {instances}
        pm2: {{app_name: "{{app}}{{n}}"}}
        apps:
          a:
            command: python3 a.py
          a1:
            command: python3 a1.py
        """
    path = tmp_path / "stack.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_without_a_range_a_name_with_two_readings_is_the_longest_apps():
    # "{n}{app}" over apps b and 1b: "21b" reads as 1b of 2 or b of 21; the longest app wins
    from multistack.model.appnames import parse_name
    assert parse_name("{n}{app}", "p", ["b", "1b"], "21b") == ("1b", 2)
    assert parse_name("{n}{app}", "p", ["b", "1b"], "21b", range(20, 30)) == ("b", 21)


def test_the_one_regex_matches_every_app_and_prefers_the_longest():
    from multistack.model.appnames import name_regex
    regex = name_regex("{app}{n}", "p", ["a", "a1", "web"])
    assert regex.fullmatch("a12").group("app", "n") == ("a1", "2")
    assert regex.fullmatch("web3").group("app", "n") == ("web", "3")
