"""Start-up cost of the read commands (`ports`, `info`, `project-name`) and of `init` of an
unchanged instance, against invoke itself.

Prints, per command, the median wall and CPU time of N runs in a subprocess and
whether the heavy modules (jinja2, dotenv, filelock, rich) were imported: read
commands must add little to invoke's own ~0.2 s and import none of them. `dev 1 init`
runs after one warm-up init, so the instance is unchanged: it takes its lock (filelock)
and reads the manifest's hashes, renders nothing (no jinja2); goal <= 1.6x `inv --version`.

    python bench/startup.py [--runs 15] [--stack DIR]
"""
from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = [["--version"], ["--list"], ["dev", "1", "ports"], ["dev", "1", "ports", "--json"],
            ["dev", "1", "info"], ["dev", "1", "project-name"], ["dev", "1", "init"]]
HEAVY = ("jinja2", "dotenv", "filelock", "rich")
#: Goal of issue 13: ``inv dev 1 init`` of an unchanged instance (its lock, no render) at most this x ``inv --version``.
INIT_GOAL = 1.6


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def imported(args: list[str], cwd: Path) -> list[str]:
    err = subprocess.run([sys.executable, "-X", "importtime", "-m", "invoke", *args], cwd=cwd,
                         capture_output=True, text=True).stderr
    names = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in err.splitlines() if "|" in line}
    return [m for m in HEAVY if m in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--stack", type=Path, default=Path(__file__).resolve().parents[1])
    opts = parser.parse_args()
    inv = str(Path(sys.executable).parent / "inv")
    # A pip-installed package has its bytecode; a checkout under PYTHONDONTWRITEBYTECODE=1
    # would recompile every module on every run (~60 ms here), which users do not pay.
    import compileall

    import multistack

    compileall.compile_dir(str(Path(multistack.__file__).parent), quiet=1)
    rows = []
    # `init` writes: it runs in a copy of the e2e test stack, never in the stack measured here.
    scratch = Path(tempfile.mkdtemp(prefix="msstartup-"))
    e2e = scratch / "stack"
    shutil.copytree(Path(__file__).resolve().parents[1] / "tests" / "e2e" / "stack", e2e)
    try:
        for args in COMMANDS:
            cwd = e2e if args[-1] == "init" else opts.stack
            timed([inv, *args], cwd)  # warm the page cache (and, for init, generate the instance once)
            samples = [timed([inv, *args], cwd) for _ in range(opts.runs)]
            wall = statistics.median(s[0] for s in samples)
            cpu = statistics.median(s[1] for s in samples)
            rows.append((" ".join(["inv", *args]), wall, cpu, ", ".join(imported(args, cwd)) or "none"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    base = rows[0][2]
    base_wall = rows[0][1]
    print(f"{'command':<28} {'wall (median)':>13} {'cpu (median)':>12} {'cpu over inv':>12} {'x --version':>11}  heavy imports")
    for name, wall, cpu, heavy in rows:
        print(f"{name:<28} {wall * 1000:>10.0f} ms {cpu * 1000:>9.0f} ms {(cpu - base) * 1000:>+9.0f} ms "
              f"{wall / base_wall:>10.2f}x  {heavy}")
    init = next(r for r in rows if r[0] == "inv dev 1 init")
    print(f"inv dev 1 init (unchanged instance): {init[1] / base_wall:.2f}x inv --version wall, "
          f"{init[2] / base:.2f}x cpu (goal <= {INIT_GOAL}x)")


if __name__ == "__main__":
    main()
