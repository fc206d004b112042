"""The linear scanners that replaced quadratic regexes give the same answers as those regexes.

Issue 12: a 1 MB value took init 12 minutes. The growth with size is measured, not
asserted (timing goals belong in benchmarks): bench/masking_growth.py and bench/boundary.py.
"""
from __future__ import annotations

import random
import re

from multistack.plan.envfiles import read_env_values, without_inline_comment
from multistack.plan.masking import userinfo_spans

#: What multistack searched for before issue 12: from every position, the run of scheme characters.
OLD_URL_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://([^/?#\s\"'<>]*)")


def test_userinfo_spans_match_the_old_regex() -> None:
    """Same answers as the regex it replaces, on text mixing URLs, quotes and near-misses."""
    rng = random.Random(3)
    pieces = ["http://", "a", "u:p@h", "@", ":", "/", "?", "#", " ", '"', "x+y.z-", "1://", "://", "ab://c@d"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        old = []
        for match in OLD_URL_AUTHORITY.finditer(text):
            at = match.group(1).rfind("@")
            if at >= 0:
                old.append((match.start(1), match.start(1) + at))
        assert userinfo_spans(text) == old, text


def test_inline_comment_cut_matches_python_dotenv() -> None:
    """The linear cut gives what python-dotenv's ``re.sub(r"\\s+#.*", "", part)`` gives."""
    rng = random.Random(5)
    for _ in range(5000):
        part = "".join(rng.choice(" \t#ab\x0c") for _ in range(rng.randint(0, 14)))
        assert without_inline_comment(part) == re.sub(r"\s+#.*", "", part), repr(part)


def test_reading_values_with_inline_comments_is_unchanged() -> None:
    text = "A=x # c\nB=y#z\nC=  # only a comment\nD='q' # c\nE=a\t#b\n"
    assert read_env_values(text) == {"A": "x", "B": "y#z", "C": "", "D": "q", "E": "a"}


def test_a_malformed_huge_line_is_shown_cut_to_fit_a_terminal() -> None:
    """The error is one line that fits a terminal, not the 300 KB the file holds."""
    import pytest

    from multistack.errors import StackError
    from multistack.plan.envfiles import rewrite_env

    with pytest.raises(StackError) as caught:
        rewrite_env("BLOB=" + '"a"=' * 75_000 + "\n", "x.env", [], [])
    line = caught.value.line()
    assert "x.env:1: malformed line: BLOB=" in line
    assert len(line) < 400 and "(300005 characters)" in line
