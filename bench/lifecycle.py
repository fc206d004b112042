#!/usr/bin/env python3
"""Benchmark of the instance lifecycle on 10 instances of the e2e test stack (not a test).

    .venv/bin/python bench/lifecycle.py [--instances 10] [--repeat 3]

Needs what the e2e tests need (a Docker engine, the compose plugin, PM2, the
image multistack-test/busybox:1). Works on a temporary copy of tests/e2e/stack
under a project name of its own (``bench<random>``), with its ports moved up by
1000 (19000-19999, out of the e2e tests' way) and its own PM2 daemon
(``PM2_HOME`` in the temporary folder); everything it created is removed at the
end, even after an error. Its healthchecks run every 5s instead of 1s
(``--health-interval``): 20 containers checked every second keep 20 ``runc
exec`` a second going, which saturates a 2-core machine and would measure that
rather than multistack (it adds the interval to every ``up --wait``, raw or not).

Compared, with 10 instances running:
  * ``inv dev status --all`` against ``inv dev N status`` for every N in turn;
  * ``inv dev stop --all`` against ``inv dev N stop`` for every N in turn;
  * ``inv dev N start`` against the raw ``docker compose ... up -d --wait`` (and
    ``pm2 startOrRestart``) on the same generated files, from the same state
    (containers down, volumes kept);
  * ``inv dev N start`` again on the running, unchanged instances: left alone
    (one ``docker ps`` + one ``pm2 jlist``, no render, no ``up``, no restart).

How processes are counted: every command multistack runs goes through invoke's
``Context.run``, and invoke starts each one with ``invoke.runners.Local.start``
(never under ``--dry``). Each ``inv`` is launched here as ``python -c LAUNCHER``:
the launcher wraps ``Local.start`` to record the command, then runs invoke's own
``program`` exactly as the ``inv`` script does, and writes the list to a file
at exit. So "processes" are the external commands multistack itself starts
(``docker ...``, ``docker compose ...``, ``pm2 ...``), not the children those
start (compose's plugin process, PM2's daemon), and not the ``inv`` process
itself (counted separately as "inv runs"). Wall times are measured around the
whole ``inv`` process, as a user waits for it, Python start-up included.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STACK_SOURCE = REPO / "tests" / "e2e" / "stack"
PORT_SHIFT = 1000
PROJECT_LABEL = "com.docker.compose.project"

LAUNCHER = r"""
import atexit, json, os, sys
import invoke.runners
calls = []
real_start = invoke.runners.Local.start
def start(self, command, shell, env):
    calls.append(command)
    return real_start(self, command, shell, env)
invoke.runners.Local.start = start
atexit.register(lambda: open(os.environ["BENCH_CALLS"], "w").write(json.dumps(calls)))
sys.argv = ["inv", *sys.argv[1:]]
from invoke.main import program
program.run()
"""


@dataclass
class Run:
    seconds: float
    calls: list[str]
    rc: int


@dataclass
class Row:
    what: str
    seconds: list[float] = field(default_factory=list)
    processes: int = 0
    inv_runs: int = 0
    note: str = ""


class Bench:
    def __init__(self, root: Path, pm2_home: Path, pm2: str) -> None:
        self.root = root
        self.pm2_home = pm2_home
        self.pm2 = pm2
        self.calls_file = root.parent / "calls.json"
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("MULTISTACK_INSTANCE", "MULTISTACK_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_FILE")}
        self.env.update(PM2_HOME=str(pm2_home), BENCH_CALLS=str(self.calls_file),
                        PATH=os.pathsep.join([str(Path(pm2).parent), self.env.get("PATH", "")]))

    def inv(self, *words: str) -> Run:
        self.calls_file.unlink(missing_ok=True)
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", LAUNCHER, *words], cwd=self.root, env=self.env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True)
        seconds = time.perf_counter() - began
        if done.returncode != 0:
            raise SystemExit(f"`inv {' '.join(words)}` failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        calls = json.loads(self.calls_file.read_text()) if self.calls_file.exists() else []
        return Run(seconds, calls, done.returncode)

    def raw(self, argv: list[str]) -> float:
        began = time.perf_counter()
        done = subprocess.run(argv, cwd=self.root, env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"`{' '.join(argv)}` failed:\n{done.stdout}\n{done.stderr}")
        return time.perf_counter() - began

    def folder(self, n: int) -> Path:
        return self.root / ".instances" / f"instance-{n}"

    def compose_up(self, project: str, n: int) -> list[str]:
        """The same command ``inv dev N start`` runs (see ``inv --dry dev N start``)."""
        folder = self.folder(n)
        return ["docker", "compose", "-p", f"{project}-dev-{n}", "-f", str(self.root / "compose.yml"),
                "-f", str(folder / "docker-compose.override.yml"), "--env-file", str(folder / "instance.env"),
                "up", "-d", "--remove-orphans", "--wait", "--wait-timeout", "300"]


def copy_stack(dest: Path, project: str, health_interval: str = "1s") -> None:
    """The e2e test stack under ``project``, every port moved up by PORT_SHIFT, its healthchecks every ``health_interval``."""
    shutil.copytree(STACK_SOURCE, dest, ignore=shutil.ignore_patterns(".instances", "__pycache__"))
    replacements = {"stack.yaml": [("\nproject: e2e\n", f"\nproject: {project}\n")],
                    "compose.yml": [("interval: 1s", f"interval: {health_interval}")]}
    for base in range(18000, 18004):
        moved = str(base + PORT_SHIFT)
        replacements.setdefault("stack.yaml", []).append((f"port: {base}", f"port: {moved}"))
        replacements.setdefault("compose.yml", []).append((f'"{base}:', f'"{moved}:'))
        replacements.setdefault("api.env", []).append((f"PORT={base}", f"PORT={moved}"))
        replacements.setdefault("admin.env", []).append((f"PORT={base}", f"PORT={moved}"))
    for name, pairs in replacements.items():
        path = dest / name
        text = path.read_text()
        for old, new in pairs:
            text = text.replace(old, new)
        path.write_text(text)


def remove_project(project: str, env: dict[str, str]) -> None:
    """Every container, volume and network labelled with one of the bench's projects."""
    def names(kind: list[str], fmt: str) -> list[str]:
        out = subprocess.run(["docker", *kind, "--filter", f"label={PROJECT_LABEL}", "--format", fmt],
                             capture_output=True, text=True, env=env).stdout
        pairs = (line.split(" ", 1) for line in out.splitlines() if " " in line)
        return [name for name, owner in pairs if owner.startswith(f"{project}-dev-")]

    label = '{{.Label "com.docker.compose.project"}}'
    for kind, remove in ((["ps", "-a"], ["rm", "-f", "-v"]), (["volume", "ls"], ["volume", "rm", "-f"]),
                         (["network", "ls"], ["network", "rm"])):
        found = names(kind, ("{{.Names}} " if kind[0] == "ps" else "{{.Name}} ") + label)
        if found:
            subprocess.run(["docker", *remove, *found], capture_output=True, env=env)


def fmt_seconds(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} (median of {len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10, help="how many instances (0..N-1), at most 10")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of the read-only measurements")
    parser.add_argument("--health-interval", default="5s",
                        help="healthcheck interval of the copy (the e2e stack's 1s makes 20 containers run 20 "
                             "healthcheck processes a second, which saturates 2 cores; default %(default)s)")
    args = parser.parse_args()
    count = max(1, min(args.instances, 10))
    numbers = list(range(count))

    pm2 = str(REPO / "node_modules" / ".bin" / "pm2")
    if not os.access(pm2, os.X_OK):
        pm2 = shutil.which("pm2") or sys.exit("PM2 not found (scripts/setup-engines.sh)")
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        sys.exit("no Docker engine (scripts/setup-engines.sh)")

    project = f"bench{secrets.token_hex(3)}"
    work = Path(tempfile.mkdtemp(prefix="msbench-"))
    root, pm2_home = work / "stack", work / "pm2"
    copy_stack(root, project, args.health_interval)
    pm2_home.mkdir()
    bench = Bench(root, pm2_home, pm2)
    rows: list[Row] = []
    print(f"bench: {count} instances of {STACK_SOURCE.relative_to(REPO)} as project {project} in {work}, "
          f"healthchecks every {args.health_interval}; load average {os.getloadavg()[0]:.1f}", file=sys.stderr)

    def step(message: str) -> None:
        print(f"bench: {message}", file=sys.stderr, flush=True)

    try:
        step("first start of every instance (inv dev N start)")
        first = Row(f"inv dev N start, first time (x{count}, per instance)")
        for n in numbers:
            run = bench.inv("dev", str(n), "start")
            first.seconds.append(run.seconds)
            first.processes = len(run.calls)
            first.inv_runs = 1
        first.note = f"min {min(first.seconds):.2f} max {max(first.seconds):.2f}; generates files"
        first.seconds = [statistics.median(first.seconds)]
        rows.append(first)

        step("status")
        row = Row("inv dev status --all", inv_runs=1)
        for _ in range(args.repeat):
            run = bench.inv("dev", "status", "--all", "--json")
            row.seconds.append(run.seconds)
            row.processes = len(run.calls)
        rows.append(row)
        row = Row(f"inv dev N status, N = 0..{count - 1} in turn", inv_runs=count)
        for _ in range(args.repeat):
            total, processes = 0.0, 0
            for n in numbers:
                run = bench.inv("dev", str(n), "status", "--json")
                total += run.seconds
                processes += len(run.calls)
            row.seconds.append(total)
            row.processes = processes
        rows.append(row)

        step("stop --all")
        run = bench.inv("dev", "stop", "--all")
        rows.append(Row("inv dev stop --all", [run.seconds], len(run.calls), 1))

        step("raw docker compose up --wait (+ pm2 startOrRestart) on the generated files")
        compose_times, pm2_times = [], []
        for n in numbers:
            compose_times.append(bench.raw(bench.compose_up(project, n)))
            pm2_times.append(bench.raw([pm2, "startOrRestart", str(bench.folder(n) / "pm2.config.cjs"), "--update-env"]))
        step("inv dev N stop in turn")
        seq = Row(f"inv dev N stop, N = 0..{count - 1} in turn", inv_runs=count)
        total, processes = 0.0, 0
        for n in numbers:
            run = bench.inv("dev", str(n), "stop")
            total += run.seconds
            processes += len(run.calls)
        seq.seconds, seq.processes = [total], processes
        rows.append(seq)

        step("inv dev N start again (same state as the raw compose up: down, volumes kept)")
        again = [bench.inv("dev", str(n), "start") for n in numbers]
        rows.append(Row("inv dev N start (per instance)", [statistics.median(r.seconds for r in again)],
                        len(again[-1].calls), 1,
                        f"min {min(r.seconds for r in again):.2f} max {max(r.seconds for r in again):.2f}"))
        step("inv dev N start of a running, unchanged instance (left alone: no up, no PM2 restart)")
        repeat = [bench.inv("dev", str(n), "start") for n in numbers]
        rows.append(Row("inv dev N start, running and unchanged (per instance)",
                        [statistics.median(r.seconds for r in repeat)], len(repeat[-1].calls), 1,
                        f"min {min(r.seconds for r in repeat):.2f} max {max(r.seconds for r in repeat):.2f}; "
                        "goal < 1 s (issue 13)"))
        rows.append(Row("raw docker compose up -d --wait (per instance)", [statistics.median(compose_times)], 1, 0,
                        f"min {min(compose_times):.2f} max {max(compose_times):.2f}"))
        rows.append(Row("raw compose up --wait + pm2 startOrRestart (per instance)",
                        [statistics.median(c + p for c, p in zip(compose_times, pm2_times))], 2, 0,
                        "what inv dev N start runs, without its checks"))
        step("clean --all")
        run = bench.inv("dev", "clean", "--all", "--yes")
        rows.append(Row("inv dev clean --all --yes", [run.seconds], len(run.calls), 1, "cleanup, for the record"))
        calls_of_start = again[-1].calls
    finally:
        remove_project(project, bench.env)
        subprocess.run([pm2, "kill"], env=bench.env, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)

    print(f"{count} instances, healthchecks every {args.health_interval}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    width = max(len(r.what) for r in rows)
    print(f"{'operation':<{width}}  {'wall s':>22}  {'processes':>9}  {'inv runs':>8}  note")
    print(f"{'-' * width}  {'-' * 22}  {'-' * 9}  {'-' * 8}  ----")
    for r in rows:
        print(f"{r.what:<{width}}  {fmt_seconds(r.seconds):>22}  {r.processes:>9}  {r.inv_runs:>8}  {r.note}")
    print()
    print(f"processes of one `inv dev N start`: {len(calls_of_start)}")
    for command in calls_of_start:
        print(f"  {command[:150]}")


if __name__ == "__main__":
    main()
