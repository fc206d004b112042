"""What one TAB costs: `inv --complete` for the words that read the stack, against invoke itself.

Each keypress runs `inv --complete -- inv WORDS ''` (the script of `multistack completion bash`).
Prints, per line completed, the median and minimum wall and CPU time of N runs in a subprocess, the
import time (`python -X importtime`: all modules, and multistack's share) and whether a heavy
module (jinja2, dotenv, rich, filelock) or an engine command ran. Baselines: `inv --version` (no
tasks loaded) and `inv --complete -- inv ''` (task names only, invoke's own answer).

    python bench/completion.py [--runs 15] [--stack DIR]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

LINES = [["--version"], ["--complete", "--", "inv", ""], ["--complete", "--", "inv", "dev", ""],
         ["--complete", "--", "inv", "dev", "1", ""], ["--complete", "--", "inv", "system.logs", "sim", ""],
         ["--complete", "--", "inv", "mesh.up", "--profile", ""]]
HEAVY = ("jinja2", "dotenv", "rich", "filelock")
PROBE = ("import sys, invoke.runners, subprocess\n"
         "ran = []\n"
         "real = subprocess.Popen.__init__\n"
         "def spy(self, args, *a, **k):\n"
         "    ran.append(args)\n"
         "    real(self, args, *a, **k)\n"
         "subprocess.Popen.__init__ = spy\n"
         "sys.argv = ['inv', *sys.argv[1:]]\n"
         "from invoke.main import program\n"
         "program.run(exit=False)\n"
         "print('RAN', len(ran), file=sys.stderr)\n")


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one run; CPU (user + system of the child) is the steadier figure on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_profile(args: list[str], cwd: Path) -> tuple[float, float, list[str], int]:
    """(all imports ms, multistack's ms, heavy modules imported, processes started) of one run."""
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", PROBE, *args], cwd=cwd, stderr=subprocess.PIPE,
                         text=True, stdout=subprocess.DEVNULL).stderr
    total = ours = 0.0
    names: set[str] = set()
    ran = 0
    for line in err.splitlines():
        if line.startswith("RAN "):
            ran = int(line.split()[1])
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        self_us, _cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        total += int(self_us) / 1000
        if name.startswith("multistack"):
            ours += int(self_us) / 1000
        names.add(name.split(".")[0])
    return total, ours, [m for m in HEAVY if m in names], ran


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--stack", type=Path, default=Path(__file__).resolve().parents[1])
    opts = parser.parse_args()
    inv = str(Path(sys.executable).parent / "inv")
    print(f"stack: {opts.stack}  runs: {opts.runs}  load average: {os.getloadavg()[0]:.1f}")
    print(f"{'inv ...':<44} {'wall ms':>7} {'min':>5} {'CPU ms':>6} {'min':>5} {'imports ms':>10} {'multistack':>10}"
          f"  heavy  processes")
    for args in LINES:
        runs = [timed([inv, *args], opts.stack) for _ in range(opts.runs)]
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        total, ours, heavy, ran = import_profile(args, opts.stack)
        shown = " ".join(a if a else "''" for a in args)
        print(f"{shown:<44} {statistics.median(walls) * 1000:>7.0f} {min(walls) * 1000:>5.0f} "
              f"{statistics.median(cpus) * 1000:>6.0f} {min(cpus) * 1000:>5.0f} {total:>10.0f} {ours:>10.0f}"
              f"  {','.join(heavy) or '-':<5}  {ran}")


if __name__ == "__main__":
    main()
