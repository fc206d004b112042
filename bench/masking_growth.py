"""Growth of masking and env rewriting with input size, for hostile shapes (issue 12).

For each shape, the time at 300 KB over the time at 10 KB: linear is about 30x, a
quadratic scan about 900x (the old URL-authority regex is shown for contrast, on small
sizes). Figures only: timing goals live here, not in the test suite.

    python bench/masking_growth.py
"""
from __future__ import annotations

import base64
import random
import re
import time
from typing import Callable

from multistack.plan.envfiles import PortRule, rewrite_env
from multistack.plan.masking import mask_line, mask_text

SMALL, LARGE = 10_000, 300_000
OLD_URL_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://([^/?#\s\"'<>]*)")


def blob(size: int) -> str:
    """Base64 without ``/``: one long run of scheme characters, the old regex's worst case."""
    return base64.b64encode(random.Random(size).randbytes(size)).decode()[:size].replace("/", "+")


def per_call(action: Callable[[], object]) -> float:
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            action()
        elapsed = time.perf_counter() - start
        if elapsed >= 0.01:
            return elapsed / loops
        loops *= 4


def growth(make: Callable[[int], Callable[[], object]], small: int, large: int, rounds: int = 2) -> float:
    small_job, large_job = make(small), make(large)
    smalls = [per_call(small_job) for _ in range(rounds)]
    larges = [per_call(large_job) for _ in range(rounds)]
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


def main() -> None:
    print(f"{'shape':<14} {'mask_text':>10} {'rewrite_env':>12} {'mask_line':>10}   (time at {LARGE // 1000} KB / time at {SMALL // 1000} KB)")
    for shape, make in sorted(HOSTILE.items()):
        text = growth(lambda n: (lambda t=make(n): mask_text(t)), SMALL, LARGE)
        env = growth(lambda n: (lambda t="PORT=3000\nBLOB=" + make(n).replace('"', "").replace("'", "") + "\n":
                                rewrite_env(t, "x.env", [PortRule(3000, 3100, "api")], [("A", "1")])), SMALL, LARGE)
        line = growth(lambda n: (lambda t="BLOB=" + make(n): mask_line(t)), SMALL, LARGE)
        print(f"{shape:<14} {text:>9.0f}x {env:>11.0f}x {line:>9.0f}x")
    old = growth(lambda n: (lambda t=blob(n): list(OLD_URL_AUTHORITY.finditer(t))), 600, 18_000)
    print(f"old URL regex, 600 B -> 18 KB (30x the size): {old:.0f}x the time")


if __name__ == "__main__":
    main()
