"""Two stacks with the same app names and the same instance numbers, side by side (issue 13).

Both are copies of tests/e2e/stack under projects of their own, with ports in 31000-31999
(stack A: 31000-31003, stack B: 31010-31013, stride 100), and both talk to ONE PM2 daemon
(the same PM2_HOME) and one engine: what a user with two checkouts has. Starting, stopping
and cleaning one must leave the other's containers, apps (same pids) and ports answering,
checked from outside. Also: a start whose app was deleted behind its back is `degraded`
naming the app (exit 6), and `status` on a fresh PM2_HOME starts no PM2 daemon.
"""
from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Iterator

import pytest

from multistack.errors import EXIT_NOT_HEALTHY
from multistack.model.stack import load_stack
from multistack.plan.instance import plan_instance
from tests.e2e.conftest import BASE_PORTS, E2EStack, Machine, cli_env, copy_stack

SERVICES = ("web", "store", "api", "admin")
#: Base ports of each copy: the e2e stack's 18000-18003 moved into this file's range.
OFFSETS = {"a": 31000, "b": 31010}


class Copy(E2EStack):
    """One copy of the test stack, its own base ports."""

    base: int = 0

    def port(self, service: str, n: int) -> int:
        return self.base + (BASE_PORTS[service] - 18000) + n * 100

    def app_names(self, n: int) -> list[str]:
        """The PM2 names, from the code (not literals): ``<project>-<app>-<N>``."""
        return plan_instance(load_stack(self.root / "stack.yaml"), n).app_names

    def pm2_apps(self) -> dict[str, tuple[str, int]]:
        """Every app of the shared daemon: name -> (status, pid)."""
        done = self.pm2("jlist")
        assert done.returncode == 0, done.stderr
        arrays = [line for line in done.stdout.splitlines() if line.startswith("[") and not line.startswith("[PM2")]
        return {p["name"]: (p["pm2_env"]["status"], p.get("pid") or 0) for p in json.loads(arrays[-1] if arrays else "[]")}


def make_copy(tmp_path: Path, machine: Machine, pm2_home: Path, which: str) -> Copy:
    project = f"p{which}{secrets.token_hex(3)}"
    root = copy_stack(tmp_path / which, project)
    base = OFFSETS[which]
    for name in ("stack.yaml", "compose.yml", "api.env", "admin.env"):
        path = root / name
        text = path.read_text()
        for service, port in BASE_PORTS.items():
            text = text.replace(str(port), str(base + port - 18000))
        path.write_text(text)
    copy = Copy(root, project, pm2_home, machine, cli_env(pm2_home, machine.pm2))
    copy.base = base
    return copy


@pytest.fixture
def two(machine: Machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Copy, Copy]]:
    pm2_home = tmp_path / "pm2"  # short: PM2's socket paths have a 108-byte limit
    pm2_home.mkdir()
    monkeypatch.setenv("PM2_HOME", str(pm2_home))
    a, b = make_copy(tmp_path, machine, pm2_home, "a"), make_copy(tmp_path, machine, pm2_home, "b")
    try:
        yield a, b
    finally:
        for copy in (a, b):
            names = [c["name"] for c in copy.containers()]
            if names:
                copy.docker("rm", "-f", "-v", *names)
            volumes = list(copy.volumes())
            if volumes:
                copy.docker("volume", "rm", "-f", *volumes)
            networks = copy.networks()
            if networks:
                copy.docker("network", "rm", *networks)
        if (pm2_home / "pm2.pid").exists():
            a.pm2("kill")


def assert_serves(copy: Copy, n: int) -> None:
    for service in SERVICES:
        port = copy.port(service, n)
        assert copy.fetch(port) == f"{service} {n}", f"{copy.project}: {service} of instance {n} on port {port}"


def snapshot(copy: Copy, n: int) -> tuple[dict[str, tuple[str, int]], list[tuple[str, str]]]:
    """What the other stack must keep: its apps (status, pid) and its containers (name, state)."""
    apps = copy.pm2_apps()
    mine = {name: apps.get(name) for name in copy.app_names(n)}
    containers = sorted((c["name"], c["state"]) for c in copy.containers(n))
    return mine, containers


def assert_untouched(copy: Copy, n: int, before: tuple[dict, list]) -> None:
    assert snapshot(copy, n) == before, f"{copy.project} instance {n} changed"
    assert all(status == "online" for status, _ in before[0].values())
    assert_serves(copy, n)
    status = copy.inv("dev", str(n), "status", "--json")
    assert status.rc == 0, status
    assert json.loads(status.stdout)[0]["status"] == "healthy"


def test_two_stacks_with_the_same_app_names_stay_apart(two):
    a, b = two
    assert a.app_names(1) != b.app_names(1) and set(a.app_names(1)).isdisjoint(b.app_names(1))
    started = b.inv("dev", "1", "start", timeout=180)
    assert started.rc == 0, started
    started = a.inv("dev", "1", "start", timeout=180)
    assert started.rc == 0, started
    # start shows this instance's URL table, not PM2's table of every app of both stacks
    assert not any(name in started.stdout for name in b.app_names(1)), started.stdout
    assert "│" not in started.stdout and "┌" not in started.stdout, started.stdout
    assert_serves(a, 1)
    assert_serves(b, 1)
    apps = a.pm2_apps()
    assert {name for name in apps} >= {*a.app_names(1), *b.app_names(1)}
    keep = snapshot(b, 1)

    # status of A lists A's apps only, healthy, exit 0
    status = a.inv("dev", "1", "status", "--json")
    assert status.rc == 0, status
    [state] = json.loads(status.stdout)
    assert state["status"] == "healthy" and sorted(x["name"] for x in state["apps"]) == sorted(a.app_names(1))

    # stop A: B keeps everything; A is down (exit 6)
    assert a.inv("dev", "1", "stop", timeout=120).rc == 0
    assert_untouched(b, 1, keep)
    assert a.containers(1) == []
    assert all(a.pm2_apps()[name][0] == "stopped" for name in a.app_names(1))
    down = a.inv("dev", "1", "status")
    assert down.rc == EXIT_NOT_HEALTHY and ": down" in down.stdout, down

    # start A again, then the --all paths of A: stop --all and status --all see A only
    assert a.inv("dev", "1", "start", timeout=180).rc == 0
    keep = snapshot(b, 1)
    every = a.inv("dev", "status", "--all", "--json")
    assert every.rc == 0, every
    listed = {x["name"] for entry in json.loads(every.stdout) for x in entry["apps"]}
    assert listed == set(a.app_names(1))
    assert a.inv("dev", "stop", "--all", timeout=120).rc == 0
    assert_untouched(b, 1, keep)

    # clean A (one instance, then --all with nothing left): B keeps everything; A's apps are gone
    assert a.inv("dev", "1", "start", timeout=180).rc == 0
    keep = snapshot(b, 1)
    assert a.inv("dev", "1", "clean", "--yes", timeout=120).rc == 0
    assert_untouched(b, 1, keep)
    assert not set(a.app_names(1)) & set(a.pm2_apps())
    assert a.containers() == [] and a.volumes() == {}
    assert a.inv("dev", "clean", "--all", "--yes", timeout=120).rc == 0
    assert_untouched(b, 1, keep)


def test_a_start_missing_an_app_is_degraded_naming_it(two):
    a, b = two
    assert a.inv("dev", "1", "start", timeout=180).rc == 0
    api, admin = a.app_names(1)
    deleted = a.pm2("delete", api)  # what a start killed half way leaves: one app never started
    assert deleted.returncode == 0, deleted.stderr
    status = a.inv("dev", "1", "status")
    assert status.rc == EXIT_NOT_HEALTHY, status
    assert f"degraded (app {api} absent)" in status.stdout and f"app {api} absent" in status.stderr, status
    as_json = a.inv("dev", "1", "status", "--json")
    assert as_json.rc == EXIT_NOT_HEALTHY
    [state] = json.loads(as_json.stdout)
    assert state["status"] == "degraded" and state["healthy"] is False
    assert state["missing"] == [{"kind": "app", "name": api, "state": "absent"}]
    every = a.inv("dev", "status", "--all")
    assert every.rc == EXIT_NOT_HEALTHY and f"app {api} absent" in every.stdout, every


def test_status_starts_no_pm2_daemon(two):
    a, _ = two
    home = a.pm2_home
    assert not any(home.iterdir())
    status = a.inv("dev", "1", "status")
    assert status.rc == EXIT_NOT_HEALTHY and ": down" in status.stdout, status
    every = a.inv("dev", "status", "--all")
    assert every.rc == 0, every  # no instance at all: nothing declared is missing
    assert not (home / "pm2.pid").exists() and not (home / "rpc.sock").exists(), sorted(p.name for p in home.iterdir())
