"""Masking and env rewriting are linear in their input (issue 12: a 1 MB value took init 12 minutes).

Loose checks only: the time for 300 KB over the time for 10 KB must stay far below the
900x of a quadratic scan (timing goals with figures live in bench/boundary.py). The
check itself is shown to catch the old quadratic regex, on sizes small enough to run.
"""
from __future__ import annotations

import base64
import random
import re
import time
from typing import Callable

import pytest

from multistack.plan.envfiles import PortRule, read_env_values, rewrite_env, without_inline_comment
from multistack.plan.masking import mask_line, mask_text, userinfo_spans

#: Sizes compared: 30x apart, so linear is ~30x and quadratic ~900x; the bound, 150x, leaves room
#: for the noise of a shared machine on either side.
BOUND = 150
SMALL, LARGE = 10_000, 300_000
#: What multistack searched for before issue 12: from every position, the run of scheme characters.
OLD_URL_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://([^/?#\s\"'<>]*)")


def blob(size: int) -> str:
    """Base64 without ``/``: one long run of scheme characters, the old regex's worst case."""
    return base64.b64encode(random.Random(size).randbytes(size)).decode()[:size].replace("/", "+")


def per_call(action: Callable[[], object]) -> float:
    """Seconds per call, looping quick actions so that timer noise does not dominate."""
    loops, elapsed = 1, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            action()
        elapsed = time.perf_counter() - start
        if elapsed >= 0.01:
            return elapsed / loops
        loops *= 4


def growth(make: Callable[[int], Callable[[], object]], small: int, large: int, rounds: int = 2) -> float:
    """Time at ``large`` over time at ``small``: the best of interleaved rounds, so a burst of load
    on a shared machine hits both sizes or neither."""
    small_job, large_job = make(small), make(large)
    smalls, larges = [], []
    for _ in range(rounds):
        smalls.append(per_call(small_job))
        larges.append(per_call(large_job))
    return min(larges) / min(smalls)


HOSTILE = {
    "base64": blob,
    "spaces": lambda n: "a" + " " * n + "b",
    "jwt-heads": lambda n: "eyJ" * (n // 3),
    "urls": lambda n: "x://a:1@h " * (n // 10),
    "assignments": lambda n: "a=b" * (n // 3),
    "quoted-names": lambda n: '"a"=' * (n // 4),
    "colons": lambda n: "p: " * (n // 3),
    "pem-heads": lambda n: "-----BEGIN " * (n // 11),
    "secret-fields": lambda n: "password=x " * (n // 11),
}


@pytest.mark.parametrize("shape", sorted(HOSTILE))
def test_mask_text_is_linear(shape: str) -> None:
    make = HOSTILE[shape]
    assert growth(lambda n: (lambda text=make(n): mask_text(text)), SMALL, LARGE) < BOUND


@pytest.mark.parametrize("shape", sorted(HOSTILE))
def test_rewrite_env_is_linear(shape: str) -> None:
    make = HOSTILE[shape]

    def job(n: int) -> Callable[[], object]:
        text = "PORT=3000\nBLOB=" + make(n).replace('"', "").replace("'", "") + "\n"
        return lambda: rewrite_env(text, "x.env", [PortRule(3000, 3100, "api")], [("A", "1")])

    assert growth(job, SMALL, LARGE) < BOUND


def test_a_megabyte_value_is_masked_and_rewritten_in_well_under_seconds() -> None:
    """Loose: the issue's 1 MB case took minutes; here a generous bound on a shared machine."""
    value = blob(1_000_000)
    start = time.perf_counter()
    assert mask_line("BLOB=" + value) == "BLOB=****"
    rewrite_env(f"BLOB={value}\n", "x.env", [], [])
    assert time.perf_counter() - start < 10


def test_the_growth_check_catches_a_quadratic_scan() -> None:
    """The old authority regex, 600 characters against 18 KB: about 900x, well over the bound."""
    def old(n: int) -> Callable[[], object]:
        text = blob(n)
        return lambda: list(OLD_URL_AUTHORITY.finditer(text))

    assert growth(old, 600, 18_000) > BOUND


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


@pytest.mark.parametrize("prefix", ["BLOB=", "DB_PASSWORD ", "KEY", "export A=", "'Q'="])
def test_mask_line_is_linear(prefix: str) -> None:
    for shape in ("base64", "spaces", "assignments"):
        make = HOSTILE[shape]
        assert growth(lambda n: (lambda line=prefix + make(n): mask_line(line)), SMALL, LARGE) < BOUND, shape
