#!/usr/bin/env python3
"""Many instances of the e2e stack side by side on one engine (not a test).

    .venv/bin/python bench/scale.py [--instances 100] [--base 40000] [--stride 40] [--no-pool]

Copies tests/e2e/stack to a temporary folder under a project name of its own
(``scale<random>``), with ``instances: 0-(N-1)``, its ports moved to ``--base``
+ N x ``--stride`` (host ports 40000-44999 only), a ``networks:`` pool
(``--pool``, default 10.212.0.0/16 in /24s; ``--no-pool`` leaves it out, so each
instance draws a network from Docker's default pools: the ~31st start then
fails, which this shows and stops at) and a PM2 daemon of its own (PM2_HOME in
the temporary folder). Healthchecks are switched off in the copy
(``--health-interval`` keeps them at that interval): 200 containers checked
every second keep 200 ``runc exec`` a second going, which a 2-core machine
cannot carry; ``up --wait`` then waits for the containers to run, PM2's apps
for their ports, as always.

Measured, in this order: every first start one by one (``inv dev K start``,
each timed); a repeat start of a running instance; ``inv dev status --all``
against ``inv dev K status`` for every K; ``inv dev stop --all``; a second
start of every instance; ``inv dev K stop`` for every K in turn; the peak
memory of the ``inv`` processes (``getrusage(RUSAGE_CHILDREN)``: the largest
one) and of the engine's and PM2's daemons (RSS from /proc, sampled after
every start). Everything is removed at the end, even after an error
(``inv dev clean --all --yes``, then anything left with the project's label,
``pm2 kill``, the folder).
"""
from __future__ import annotations

import argparse
import os
import resource
import secrets
import signal
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
INV = [sys.executable, "-m", "invoke"]
PROJECT_LABEL = "com.docker.compose.project"
BASE_PORTS = (18000, 18001, 18002, 18003)  # tests/e2e/stack: web, store, api, admin
PORT_RANGE = range(40000, 45000)


@dataclass
class Timed:
    seconds: float
    rc: int
    out: str
    err: str


@dataclass
class Memory:
    """Peak RSS in KiB, by process name."""

    peak: dict[str, int] = field(default_factory=dict)

    def sample(self, pm2_home: Path) -> None:
        found: dict[str, int] = {}
        pm2_pid = _read_pid(pm2_home / "pm2.pid")
        apps = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                comm = (entry / "comm").read_text().strip()
                rss = _rss_kib(entry)
                environ = None
                if comm.startswith("python") and rss:
                    environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if comm in ("dockerd", "containerd"):
                found[comm] = found.get(comm, 0) + rss
            elif comm == "containerd-shim" or comm.startswith("containerd-shim"):
                found["containerd-shim (all)"] = found.get("containerd-shim (all)", 0) + rss
            elif int(entry.name) == pm2_pid:
                found["PM2 daemon"] = rss
            elif environ is not None and f"PM2_HOME={pm2_home}".encode() in environ:
                apps += rss
        if apps:
            found["PM2 apps (all)"] = apps
        for name, rss in found.items():
            self.peak[name] = max(self.peak.get(name, 0), rss)


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _rss_kib(proc: Path) -> int:
    for line in (proc / "status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Scale:
    def __init__(self, root: Path, pm2_home: Path, pm2: str) -> None:
        self.root = root
        self.pm2_home = pm2_home
        self.pm2 = pm2
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("MULTISTACK_INSTANCE", "MULTISTACK_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_FILE",
                                 "COMPOSE_PROFILES", "COMPOSE_ENV_FILES")}
        self.env.update(PM2_HOME=str(pm2_home),
                        PATH=os.pathsep.join([str(Path(pm2).parent), str(Path(sys.executable).parent),
                                              self.env.get("PATH", "")]))

    def inv(self, *words: str, check: bool = True) -> Timed:
        began = time.perf_counter()
        done = subprocess.run([*INV, *words], cwd=self.root, env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True)
        timed = Timed(time.perf_counter() - began, done.returncode, done.stdout, done.stderr)
        if check and done.returncode != 0:
            raise RuntimeError(f"`inv {' '.join(words)}` failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
                               f"{done.stderr[-2000:]}")
        return timed


def copy_stack(dest: Path, project: str, count: int, base: int, stride: int, pool: str | None,
               health_interval: str | None) -> None:
    """The e2e stack as ``project`` with ``count`` instances, ports at ``base + N * stride``."""
    shutil.copytree(STACK_SOURCE, dest, ignore=shutil.ignore_patterns(".instances", "__pycache__"))
    stack = (dest / "stack.yaml").read_text()
    stack = stack.replace("\nproject: e2e\n", f"\nproject: {project}\n")
    stack = stack.replace("\ninstances: 0-9\n", f"\ninstances: 0-{count - 1}\n")
    stack = stack.replace("\nstride: 100\n", f"\nstride: {stride}\n")
    compose = (dest / "compose.yml").read_text()
    envs = {name: (dest / name).read_text() for name in ("api.env", "admin.env")}
    for offset, old in enumerate(BASE_PORTS):
        new = str(base + offset)
        stack = stack.replace(f"port: {old}", f"port: {new}")
        compose = compose.replace(f'"{old}:', f'"{new}:')
        envs = {name: text.replace(f"PORT={old}", f"PORT={new}") for name, text in envs.items()}
    if pool:
        stack += f"\nnetworks: {{pool: {pool}, size: 24}}\n"
    if health_interval is None:
        lines = compose.splitlines()
        out, skipping = [], False
        for line in lines:
            if line.strip() == "healthcheck:":  # left out: `disable: true` makes `up --wait` fail
                skipping = True
                continue
            if skipping and line.startswith("      "):
                continue
            skipping = False
            out.append(line)
        compose = "\n".join(out) + "\n"
    else:
        compose = compose.replace("interval: 1s", f"interval: {health_interval}")
    (dest / "stack.yaml").write_text(stack)
    (dest / "compose.yml").write_text(compose)
    for name, text in envs.items():
        (dest / name).write_text(text)


def remove_project(project: str, env: dict[str, str]) -> None:
    """Every container, volume and network labelled with one of the bench's compose projects."""
    label = '{{.Label "com.docker.compose.project"}}'
    for kind, fmt, remove in ((["ps", "-a"], "{{.Names}} ", ["rm", "-f", "-v"]),
                              (["volume", "ls"], "{{.Name}} ", ["volume", "rm", "-f"]),
                              (["network", "ls"], "{{.Name}} ", ["network", "rm"])):
        out = subprocess.run(["docker", *kind, "--filter", f"label={PROJECT_LABEL}", "--format", fmt + label],
                             capture_output=True, text=True, env=env).stdout
        found = [name for name, _, owner in (line.partition(" ") for line in out.splitlines())
                 if owner.startswith(f"{project}-dev-")]
        if found:
            subprocess.run(["docker", *remove, *found], capture_output=True, env=env)


def say(message: str) -> None:
    print(f"scale [{time.strftime('%H:%M:%S')}]: {message}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--base", type=int, default=40000, help="first host port (instance 0's web)")
    parser.add_argument("--stride", type=int, default=40, help="ports between instances")
    parser.add_argument("--pool", default="10.212.0.0/16", help="networks.pool of the copy")
    parser.add_argument("--no-pool", action="store_true", help="no networks: key (Docker's default pools)")
    parser.add_argument("--health-interval", default=None,
                        help="keep the healthchecks at this interval (default: switched off, see above)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of the quick measurements")
    args = parser.parse_args()
    count = args.instances
    last_port = args.base + (count - 1) * args.stride + len(BASE_PORTS) - 1
    if args.base not in PORT_RANGE or last_port not in PORT_RANGE or args.stride < len(BASE_PORTS):
        parser.error(f"ports {args.base}-{last_port} leave 40000-44999 (or stride < {len(BASE_PORTS)})")
    pm2 = str(REPO / "node_modules" / ".bin" / "pm2")
    if not os.access(pm2, os.X_OK):
        pm2 = shutil.which("pm2") or sys.exit("PM2 not found (scripts/setup-engines.sh)")
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        sys.exit("no Docker engine (scripts/setup-engines.sh)")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `kill PID` still cleans up (the finally below)
    project = f"scale{secrets.token_hex(3)}"
    work = Path(tempfile.mkdtemp(prefix="msscale-"))
    root, pm2_home = work / "stack", work / "pm2"
    pool = None if args.no_pool else args.pool
    copy_stack(root, project, count, args.base, args.stride, pool, args.health_interval)
    pm2_home.mkdir()
    scale = Scale(root, pm2_home, pm2)
    memory = Memory()
    numbers = list(range(count))
    say(f"{count} instances as {project} in {work}, ports {args.base}-{last_port}, "
        f"pool {pool or 'none (Docker defaults)'}, healthchecks {args.health_interval or 'off'}")
    results: dict[str, object] = {}
    failed: str | None = None
    try:
        starts: list[float] = []
        for n in numbers:
            run = scale.inv("dev", str(n), "start", check=False)
            if run.rc != 0:
                failed = (f"start of instance {n} (start number {n + 1}) failed, exit {run.rc}: "
                          + (run.err.strip().splitlines() or ["?"])[-1])
                say(failed)
                break
            starts.append(run.seconds)
            memory.sample(pm2_home)
            if n % 10 == 9 or n == count - 1:
                say(f"started {n + 1}/{count}, last {run.seconds:.2f}s")
        results["starts"] = starts
        if failed is None:
            repeat = [scale.inv("dev", "0", "start").seconds for _ in range(args.repeat)]
            results["repeat"] = repeat
            say("status --all")
            results["status_all"] = [scale.inv("dev", "status", "--all").seconds for _ in range(args.repeat)]
            say("status, one by one")
            results["status_loop"] = sum(scale.inv("dev", str(n), "status").seconds for n in numbers)
            say("stop --all")
            results["stop_all"] = scale.inv("dev", "stop", "--all").seconds
            say("start again, every instance")
            again = []
            for n in numbers:
                again.append(scale.inv("dev", str(n), "start").seconds)
                memory.sample(pm2_home)
            results["again"] = again
            say("stop, one by one")
            results["stop_loop"] = sum(scale.inv("dev", str(n), "stop").seconds for n in numbers)
    finally:
        say("clean")
        cleaned = scale.inv("dev", "clean", "--all", "--yes", check=False)
        if cleaned.rc != 0:
            say(f"clean --all exited {cleaned.rc}: {cleaned.err.strip()[-300:]}")
        remove_project(project, scale.env)
        subprocess.run([pm2, "kill"], env=scale.env, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    inv_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report(count, pool, args, results, memory, inv_peak, failed)
    return 1 if failed else 0


def report(count: int, pool: str | None, args: argparse.Namespace, results: dict, memory: Memory,
           inv_peak: int, failed: str | None) -> None:
    starts: list[float] = results.get("starts", [])  # type: ignore[assignment]
    print(f"\n{count} instances of tests/e2e/stack on one engine; pool {pool or 'none'}; healthchecks "
          f"{args.health_interval or 'off'}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the end")
    if failed:
        print(f"STOPPED: {failed}")
    rows: list[tuple[str, str]] = []
    if starts:
        rows.append(("inv dev K start, first 10 (s each)", " ".join(f"{s:.2f}" for s in starts[:10])))
        rows.append(("inv dev K start, last 10 (s each)", " ".join(f"{s:.2f}" for s in starts[-10:])))
        rows.append(("inv dev K start, median / max", f"{statistics.median(starts):.2f} / {max(starts):.2f} "
                     f"({len(starts)} started)"))
    if "repeat" in results:
        repeat = results["repeat"]
        rows.append(("repeat start of running instance 0", f"{statistics.median(repeat):.2f} (median of "
                     f"{len(repeat)}; goal < 1 s)"))
    if "status_all" in results:
        status_all = statistics.median(results["status_all"])
        rows.append((f"inv dev status --all ({count})", f"{status_all:.2f} (goal < 1.5 s)"))
        rows.append((f"inv dev K status, K = 0..{count - 1}", f"{results['status_loop']:.2f} "
                     f"(ratio {status_all / results['status_loop']:.3f})"))
    if "stop_loop" in results:
        rows.append((f"inv dev stop --all ({count})", f"{results['stop_all']:.2f}"))
        rows.append((f"inv dev K stop, K = 0..{count - 1}", f"{results['stop_loop']:.2f} (ratio "
                     f"{results['stop_all'] / results['stop_loop']:.2f}; goal <= 0.3)"))
        rows.append(("inv dev K start after stop, median", f"{statistics.median(results['again']):.2f}"))
    rows.append(("peak RSS, largest inv process", f"{inv_peak / 1024:.0f} MiB"))
    for name, kib in sorted(memory.peak.items()):
        rows.append((f"peak RSS, {name}", f"{kib / 1024:.0f} MiB"))
    width = max(len(what) for what, _ in rows)
    for what, value in rows:
        print(f"{what:<{width}}  {value}")


if __name__ == "__main__":
    sys.exit(main())
