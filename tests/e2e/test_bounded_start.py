"""issue 13: `start` waits within a bound, names what blocked it and rolls back; a repeat
start of a running, unchanged instance touches nothing. Checked from outside (docker ps,
pm2 jlist). Host ports 32000-32999 only; the `e2e` fixture gives each test its own project
name and PM2 daemon and removes everything afterwards.
"""
from __future__ import annotations

import json
import re
import time

import pytest

from tests.e2e.conftest import E2EStack

#: Instance 1 of the copied stack, moved to this file's port range (32100-32103).
N = 1


def _own_ports(e2e: E2EStack) -> None:
    """Base ports 18000-18003 become 32000-32003, wherever the stack's files name them."""
    for name in ("stack.yaml", "compose.yml", "api.env", "admin.env"):
        path = e2e.root / name
        path.write_text(re.sub(r"\b180(0[0-3])\b", r"320\1", path.read_text()))


def _never_healthy(e2e: E2EStack) -> None:
    """The store's healthcheck runs longer than any bound here: it stays `starting`."""
    compose = e2e.root / "compose.yml"
    text = compose.read_text()
    marker = '''      test: ["CMD", "wget", "-q", "-O", "-", "http://127.0.0.1:8081/"]
      interval: 1s
      timeout: 2s'''
    assert marker in text
    compose.write_text(text.replace(marker, '''      test: ["CMD", "sleep", "600"]
      interval: 1s
      timeout: 600s'''))


def _pids(e2e: E2EStack) -> dict[str, int]:
    done = e2e.pm2("jlist")
    arrays = [line for line in done.stdout.splitlines() if line.startswith("[") and not line.startswith("[PM2")]
    return {p["name"]: p["pid"] for p in json.loads(arrays[-1] if arrays else "[]")}


def _container_ids(e2e: E2EStack) -> dict[str, str]:
    done = e2e.docker("ps", "-a", "--filter", f"label=com.docker.compose.project={e2e.project_name(N)}",
                      "--format", "{{.Names}} {{.ID}}")
    return dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)


def test_a_start_that_never_gets_healthy_fails_in_its_bound_names_the_service_and_rolls_back(e2e: E2EStack) -> None:
    _own_ports(e2e)
    _never_healthy(e2e)
    began = time.monotonic()
    result = e2e.inv("dev", str(N), "start", "--wait-timeout", "8", timeout=90)
    took = time.monotonic() - began
    assert result.rc == 1, str(result)
    assert took < 8 + 20, f"took {took:.1f}s for a bound of 8s"
    error = result.stderr.strip().splitlines()[-1]
    assert "store" in error and "did not become healthy" in error and "web" not in error.split("rolled back")[0], str(result)
    # compose failed before PM2 was asked to start anything: no app and no PM2 daemon to undo
    assert "rolled back: containers removed; files kept in .instances/instance-1" in error, error
    assert not (e2e.pm2_home / "pm2.pid").exists()  # no daemon left behind (none ran before)
    assert "last log lines of store" in result.stderr
    assert e2e.containers(N) == []  # from outside: nothing of instance 1 is left
    assert not any(name.endswith(f"-{N}") for name in e2e.apps())
    assert (e2e.instance_dir(N) / "instance.json").is_file()  # the files stay
    status = e2e.inv("dev", str(N), "status")
    assert "down" in status.stdout or "stopped" in status.stdout or "down" in status.stderr, str(status)


def test_a_repeat_start_of_a_running_unchanged_instance_touches_nothing(e2e: E2EStack) -> None:
    _own_ports(e2e)
    first = e2e.inv("dev", str(N), "start", timeout=120)
    assert first.rc == 0, str(first)
    pids, ids = _pids(e2e), _container_ids(e2e)
    assert len(ids) == 2 and len(pids) == 2 and all(pids.values()), (pids, ids)
    began = time.monotonic()
    again = e2e.inv("dev", str(N), "start", timeout=60)
    took = time.monotonic() - began
    assert again.rc == 0, str(again)
    assert "running and unchanged: left alone" in again.stdout
    assert _pids(e2e) == pids and _container_ids(e2e) == ids  # same processes, same containers
    assert took < 5, took  # in a subprocess with Python's start-up; bench/lifecycle.py measures it
    # A changed app env restarts the apps only: the containers stay.
    env = e2e.root / "api.env"
    env.write_text(env.read_text() + "\nEXTRA=1\n")
    changed = e2e.inv("dev", str(N), "start", timeout=120)
    assert changed.rc == 0, str(changed)
    assert _container_ids(e2e) == ids
    assert "containers running, unchanged" in changed.stdout
    assert _pids(e2e) != pids


def test_an_app_that_never_listens_fails_in_the_bound_and_leaves_no_app_and_no_daemon(e2e: E2EStack) -> None:
    _own_ports(e2e)
    stack = e2e.root / "stack.yaml"
    stack.write_text(stack.read_text().replace("command: python3 app.py admin",
                                               'command: python3 -c "import time; time.sleep(600)"'))
    began = time.monotonic()
    result = e2e.inv("dev", str(N), "start", "--wait-timeout", "10", timeout=120)
    took = time.monotonic() - began
    assert result.rc == 1, str(result)
    assert took < 10 + 25, f"took {took:.1f}s for a bound of 10s"
    error = result.stderr.strip().splitlines()[-1]
    assert "PM2 app did not answer on its port" in error and "-admin-1" in error, error
    assert "rolled back: containers removed, apps deleted, PM2 daemon stopped" in error, error
    assert e2e.containers(N) == []
    pid_file = e2e.pm2_home / "pm2.pid"
    assert not pid_file.exists() or not _alive(int(pid_file.read_text().strip() or 0)), "a PM2 daemon was left"


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return pid > 0
