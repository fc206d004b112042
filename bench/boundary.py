#!/usr/bin/env python3
"""Cost of hostile sizes at the boundary: masking, env rewriting, init, load_stack (not a test).

    .venv/bin/python bench/boundary.py [--sizes 10000,100000,1000000] [--yaml-sizes ...] [--no-init]

Issue 12 found the URL-authority regex of masking quadratic: a 1 MB base64-like
env value made ``inv dev 1 init`` run for about 12 minutes. This prints, for
each input size, the seconds of:

* ``mask``: ``mask_line`` of ``BLOB=<n characters of base64>`` (what an error or
  a table would print);
* ``rewrite``: ``rewrite_env`` of an env file whose one value is that blob;
* ``init``: ``inv dev 1 init`` end to end (a subprocess) on a temporary copy of
  tests/e2e/stack whose api.env carries the blob (project ``sbench``, nothing
  started: init only writes files);
* ``load_stack``: of a stack.yaml grown to the size by a huge ``env:`` map and a
  long comment (10 MB by default, its own sizes).

and a ``ratio`` column: the time over the time of the previous size. Linear
means the ratio follows the size ratio (10x the input, about 10x the time, or
less while fixed costs dominate); quadratic means about 100x.

To measure the committed version (``before``), run this same file with the
HEAD package first on the path (the tree is not touched)::

    mkdir /tmp/s-head && git archive HEAD multistack | tar -x -C /tmp/s-head
    PYTHONPATH=/tmp/s-head .venv/bin/python bench/boundary.py --sizes 10000,160000 --yaml-sizes 1000000
"""
from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
E2E_STACK = REPO / "tests" / "e2e" / "stack"
INV = Path(sys.executable).parent / "inv"


def blob(size: int, seed: int = 12) -> str:
    """``size`` characters of base64 with ``+`` for ``/`` (random bytes: what a key looks like).

    Without slashes the value is one run of URL-scheme characters, the worst case of the
    old ``[A-Za-z][A-Za-z0-9+.-]*://`` search (it rescanned the run from every position).
    """
    rng = random.Random(seed)
    return base64.b64encode(rng.randbytes(size * 3 // 4 + 3)).decode()[:size].replace("/", "+")


def seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def time_mask(size: int) -> float:
    from multistack.plan.masking import mask_line

    line = "BLOB=" + blob(size)
    return seconds(lambda: mask_line(line))


def time_rewrite(size: int) -> float:
    from multistack.plan.envfiles import PortRule, rewrite_env

    text = f"PORT=18002\nBLOB={blob(size)}\nURL=http://localhost:18002/api\n"
    return seconds(lambda: rewrite_env(text, "api.env", [PortRule(18002, 18102, "api")], [("ROLE", "api")]))


def time_init(size: int, workdir: Path) -> float:
    """``inv dev 1 init`` in a fresh copy of the e2e stack whose api.env holds the blob."""
    stack = Path(tempfile.mkdtemp(prefix=f"init-{size}-", dir=workdir)) / "stack"
    shutil.copytree(E2E_STACK, stack)
    yaml = stack / "stack.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8").replace("project: e2e\n", "project: sbench\n", 1),
                    encoding="utf-8")
    with (stack / "api.env").open("a", encoding="utf-8") as env:
        env.write(f"BLOB={blob(size)}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MULTISTACK_", "COMPOSE_"))}
    start = time.perf_counter()
    result = subprocess.run([str(INV), "dev", "1", "init"], cwd=stack, env=env, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"inv dev 1 init failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    return elapsed


def huge_stack_yaml(size: int) -> str:
    """The e2e stack.yaml grown to about ``size`` bytes: half a long comment, half an env map
    of 1000 long values."""
    base = E2E_STACK.joinpath("stack.yaml").read_text(encoding="utf-8")
    comment = "# " + "x" * max(0, size // 2) + "\n"
    count = 1000  # entries (a YAML node limit refuses far more: an alias-bomb guard counts nodes)
    value = "v" * max(1, size // 2 // count - len("  BENCH_0000: \n"))
    entries = "".join(f"  BENCH_{i:04d}: {value}\n" for i in range(count))
    if "\nenv:\n" in base:
        return comment + base.replace("\nenv:\n", "\nenv:\n" + entries, 1)
    return comment + base + "env:\n" + entries


def time_load_stack(size: int, workdir: Path) -> float:
    from multistack.model.stack import load_stack

    stack = Path(tempfile.mkdtemp(prefix=f"yaml-{size}-", dir=workdir)) / "stack"
    shutil.copytree(E2E_STACK, stack)
    path = stack / "stack.yaml"
    path.write_text(huge_stack_yaml(size), encoding="utf-8")
    return seconds(lambda: load_stack(path))


def human(size: int) -> str:
    return f"{size // 1_000_000} MB" if size >= 1_000_000 else f"{size // 1000} KB"


def print_table(title: str, sizes: list[int], columns: dict[str, Callable[[int], float]]) -> None:
    print(title)
    header = ["size"] + [f"{name} s" for name in columns] + [f"{name} ratio" for name in columns]
    print("  ".join(f"{h:>14}" for h in header))
    previous: dict[str, float] = {}
    for measure in columns.values():  # warm up: imports and first-call costs are not the input's
        measure(min(sizes))
    for size in sizes:
        times = {name: measure(size) for name, measure in columns.items()}
        ratios = [f"{times[n] / previous[n]:.1f}x" if previous.get(n) else "-" for n in columns]
        cells = [human(size)] + [f"{times[n]:.3f}" for n in columns] + ratios
        print("  ".join(f"{c:>14}" for c in cells), flush=True)
        previous = times
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="env value sizes, comma-separated")
    parser.add_argument("--yaml-sizes", default="10000,100000,1000000,10000000",
                        help="stack.yaml sizes for load_stack, comma-separated")
    parser.add_argument("--no-init", action="store_true", help="skip the end-to-end `inv dev 1 init` column")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    yaml_sizes = [int(s) for s in args.yaml_sizes.split(",")]
    import multistack

    print(f"multistack from {Path(multistack.__file__).parent}")
    with tempfile.TemporaryDirectory(prefix="bench-boundary-") as tmp:
        workdir = Path(tmp)
        columns: dict[str, Callable[[int], float]] = {"mask": time_mask, "rewrite": time_rewrite}
        if not args.no_init:
            columns["init"] = lambda size: time_init(size, workdir)
        print_table("one huge base64 env value", sizes, columns)
        print_table("stack.yaml of this size (long comment + huge env: map)", yaml_sizes,
                    {"load_stack": lambda size: time_load_stack(size, workdir)})


if __name__ == "__main__":
    main()
