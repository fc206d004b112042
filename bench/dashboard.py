#!/usr/bin/env python3
"""The refresh cost of ``inv dev.watch`` with 10 and 100 instances (not a test).

    .venv/bin/python bench/dashboard.py [--ticks 20] [--sizes 10,100] [--no-real]

A fake engine, as in tests/act/test_dashboard.py: a copy of tests/e2e/stack with
``instances: 0-(N-1)`` under a project of its own, and an invoke ``MockContext`` that
answers ``docker ps -a`` with both containers of every instance (each running, healthy,
a published port) and ``pm2 jlist`` with both apps of every instance (online, with
``monit``), as a real engine and PM2 7 print them. Every command the dashboard starts is
counted, so "engine calls per tick" is what the code really does, not what it says.

Measured per size:
  * processes per tick: ``docker ps`` and ``pm2 jlist`` runs (the goal: one each, whatever N);
  * milliseconds per tick of the data side (``Watch.tick``: parse, group, judge, summarise),
    the first tick apart (it reads what each instance declares, once) from the next ones;
  * milliseconds of the screen side: Textual's ``Dashboard.show`` in a headless app, the
    first draw (every row added) and a redraw of the same rows with changed cells (what
    every later tick does), so 100 rows are shown to stay far inside the 1-2 s interval.
Unless ``--no-real``, it also times one real ``docker ps -a`` of the default engine as it
is now (however many containers it has) and a real ``pm2 jlist`` against a PM2 daemon of
its own (a temporary PM2_HOME, killed after): the part of a tick spent waiting for the
tools, which the fake engine leaves out. Nothing else is started or changed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
STACK_SOURCE = REPO / "tests" / "e2e" / "stack"


def copy_stack(dest: Path, project: str, count: int) -> None:
    shutil.copytree(STACK_SOURCE, dest, ignore=shutil.ignore_patterns(".instances", "__pycache__"))
    text = (dest / "stack.yaml").read_text()
    text = text.replace("\nproject: e2e\n", f"\nproject: {project}\n").replace("\ninstances: 0-9\n",
                                                                                f"\ninstances: 0-{count - 1}\n")
    text = text.replace("\nstride: 100\n", "\nstride: 4\n")  # 100 instances inside the port range
    (dest / "stack.yaml").write_text(text)


def answers(project: str, count: int, tick: int) -> tuple[str, str]:
    """``docker ps`` and ``pm2 jlist`` output for ``count`` running instances (CPU varies per tick)."""
    ps, apps = [], []
    for n in range(count):
        for service, port in (("store", 18001), ("web", 18000)):
            ps.append(json.dumps({"project": f"{project}-dev-{n}", "service": service,
                                  "name": f"{project}-dev-{n}-{service}-1", "state": "running",
                                  "status": "Up 2 minutes (healthy)",
                                  "ports": f"127.0.0.1:{port + 4 * n}->8080/tcp"}))
        for app in ("admin", "api"):
            apps.append({"pid": 1000 + n, "name": f"{project}-{app}-{n}",
                         "pm2_env": {"status": "online", "restart_time": 0, "namespace": f"{project}-dev-{n}"},
                         "monit": {"cpu": (n + tick) % 7 * 0.5, "memory": 20000000 + n}})
    return "\n".join(ps) + "\n", json.dumps(apps) + "\n"


class FakeEngine:
    """A MockContext answering the two queries, counting every command it is asked to run."""

    def __init__(self, project: str, count: int) -> None:
        from invoke import Config, MockContext, Result

        self.commands: list[str] = []
        self.project, self.instances = project, count
        self.tick = 0
        engine = self

        class Counting(MockContext):
            def run(self, command: str, *args: Any, **kwargs: Any) -> Result:
                engine.commands.append(command)
                ps, jlist = engine.answers
                if re.match(r"docker ps -a ", command):
                    return Result(ps)
                if re.search(r"pm2 jlist$", command):
                    return Result(jlist)
                return Result("")

        self.context = Counting(config=Config(overrides={"run": {"dry": False}}))

    @property
    def tick(self) -> int:
        return self._tick

    @tick.setter
    def tick(self, value: int) -> None:
        """The answers of tick ``value``, made now: their making is not the dashboard's cost."""
        self._tick = value
        self.answers = answers(self.project, self.instances, value)

    def count(self, word: str) -> int:
        return sum(1 for c in self.commands if word in c)


def fake_pm2_home(folder: Path) -> None:
    """A PM2_HOME whose daemon looks alive (its sockets, a pid file naming this process)."""
    folder.mkdir()
    for name in ("rpc.sock", "pub.sock"):
        (folder / name).touch()
    (folder / "pm2.pid").write_text(str(os.getpid()))
    os.environ["PM2_HOME"] = str(folder)


def data_side(root: Path, project: str, count: int, ticks: int) -> dict[str, Any]:
    from multistack.act.dashboard import Watch
    from multistack.io.tools import Engines
    from multistack.model.stack import load_stack

    stack = load_stack(root / "stack.yaml")
    engine = FakeEngine(project, count)
    watch = Watch(engine.context, stack, Engines())
    times, cpu, snapshot = [], [], None
    for tick in range(ticks):
        engine.tick = tick
        began, began_cpu = time.perf_counter(), time.process_time()
        snapshot = watch.tick()
        times.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    assert snapshot is not None and sum(1 for r in snapshot.rows if r.kind == "instance") == count
    assert all(r.status == "healthy" for r in snapshot.rows), [r.summary for r in snapshot.rows][:3]
    return {"docker_ps": engine.count("docker ps") / ticks, "pm2_jlist": engine.count("pm2 jlist") / ticks,
            "other": (len(engine.commands) - engine.count("docker ps") - engine.count("pm2 jlist")) / ticks,
            "first": times[0], "median": statistics.median(times[1:]), "max": max(times[1:]),
            "cpu": statistics.median(cpu[1:]),
            "watch": watch, "engine": engine}


def screen_side(watch: Any, engine: Any, redraws: int) -> dict[str, float]:
    """Textual's own headless driver: time ``Dashboard.show`` (first draw, then redraws)."""
    from multistack.cli.dashboard import Dashboard

    snapshots = []
    for tick in range(redraws + 1):
        engine.tick = 100 + tick
        snapshots.append(watch.tick())

    class Still:  # the app's own timer must not race the measured draws
        def tick(self) -> Any:
            return snapshots[0]

        def run(self, row: Any, action: str) -> Any:
            raise AssertionError("no action in the bench")

    app = Dashboard(Still(), interval=10)
    found: dict[str, Any] = {}

    async def drive() -> None:
        async with app.run_test(size=(200, 50)) as pilot:
            await pilot.pause(0.3)
            app._shown = {}  # draw the first snapshot from an empty table, timed
            began = time.perf_counter()
            app.show(snapshots[0])
            await pilot.pause()
            found["first"] = (time.perf_counter() - began) * 1000
            times, updates, idle, cpu = [], [], [], []
            for snap in snapshots[1:]:
                began, began_cpu = time.perf_counter(), time.process_time()
                app.show(snap)
                shown = time.perf_counter()
                await pilot.pause()
                times.append((time.perf_counter() - began) * 1000)
                cpu.append((time.process_time() - began_cpu) * 1000)
                updates.append((shown - began) * 1000)
            for _ in snapshots[1:]:  # the same wait with nothing to draw: the driver's own cost
                began = time.perf_counter()
                await pilot.pause()
                idle.append((time.perf_counter() - began) * 1000)
            found.update(median=statistics.median(times), max=max(times), update=statistics.median(updates),
                         idle=statistics.median(idle), cpu=statistics.median(cpu))

    asyncio.run(drive())
    return found


def real_tools() -> list[tuple[str, str]]:
    """One real ``docker ps -a`` (the engine as it is) and, with a PM2 daemon for $PM2_HOME, one ``pm2 jlist``."""
    from multistack.plan.compose import DockerCli

    rows = []
    docker = shutil.which("docker")
    if docker:
        argv = DockerCli().ps_all()
        began = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True)
        seconds = (time.perf_counter() - began) * 1000
        if done.returncode == 0:
            rows.append(("real docker ps -a (default engine, as it is now)",
                         f"{seconds:.0f} ms, {len(done.stdout.splitlines())} containers listed"))
    pm2 = REPO / "node_modules" / ".bin" / "pm2"
    if pm2.exists():
        rows.append(("real pm2 jlist (a daemon of its own, no apps; median of 3)", f"{real_jlist(str(pm2)):.0f} ms"))
    return rows


def real_jlist(pm2: str) -> float:
    """``pm2 jlist`` against a daemon started for this in a PM2_HOME of its own, killed after."""
    home = Path(tempfile.mkdtemp(prefix="msdashpm2-"))
    env = {**os.environ, "PM2_HOME": str(home)}
    try:
        subprocess.run([pm2, "ping"], capture_output=True, env=env, timeout=60)  # spawns the daemon
        times = []
        for _ in range(3):
            began = time.perf_counter()
            subprocess.run([pm2, "jlist"], capture_output=True, env=env, timeout=60)
            times.append((time.perf_counter() - began) * 1000)
        return statistics.median(times)
    finally:
        subprocess.run([pm2, "kill"], capture_output=True, env=env, timeout=60)
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--sizes", default="10,100")
    parser.add_argument("--no-real", action="store_true", help="do not time the real docker ps / pm2 jlist")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="msdash-"))
    rows: list[tuple[str, str]] = []
    try:
        fake_pm2_home(work / "pm2")
        for count in (int(s) for s in args.sizes.split(",")):
            project = f"dash{secrets.token_hex(3)}"
            root = work / f"stack{count}"
            copy_stack(root, project, count)
            os.chdir(root)
            data = data_side(root, project, count, args.ticks)
            screen = screen_side(data["watch"], data["engine"], min(args.ticks, 10))
            rows += [
                (f"{count} instances: processes per tick", f"{data['docker_ps']:g} docker ps + {data['pm2_jlist']:g} "
                 f"pm2 jlist + {data['other']:g} other"),
                (f"{count} instances: data per tick (Watch.tick)", f"first {data['first']:.1f} ms, then median "
                 f"{data['median']:.1f} ms (CPU {data['cpu']:.1f} ms), max {data['max']:.1f} ms ({args.ticks} ticks)"),
                (f"{count} instances: screen per tick (Dashboard.show)", f"first draw {screen['first']:.1f} ms, "
                 f"redraw median {screen['median']:.1f} ms (CPU {screen['cpu']:.1f} ms; cell updates "
                 f"{screen['update']:.1f} ms), max "
                 f"{screen['max']:.1f} ms; an idle frame {screen['idle']:.1f} ms"),
            ]
        if not args.no_real:
            rows += real_tools()
    finally:
        os.chdir(REPO)
        shutil.rmtree(work, ignore_errors=True)
    print(f"inv dev.watch refresh cost; fake engine (no process started); {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f}")
    width = max(len(what) for what, _ in rows)
    for what, value in rows:
        print(f"{what:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
