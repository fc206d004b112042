"""A start killed half way (SIGKILL, no cleanup) leaves an instance `status` calls degraded (issue 13).

A copy of tests/e2e/stack under a project of its own, ports moved into 36000-36999, whose compose
healthchecks pass only ~4 s after each container starts (the command touches /tmp/ready after a
sleep). So `inv dev 1 start`, run in its own process group, is deterministically inside
`compose up --wait` while the containers are running but not yet healthy: that is where the whole
group is SIGKILLed, before multistack reached its PM2 step. Then, once the containers turned
healthy on their own, `status` (text and --json) must say degraded, name every declared app as
absent, and exit 6 (docs/exit-codes.md).
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from multistack.errors import EXIT_NOT_HEALTHY
from multistack.model.stack import load_stack
from multistack.plan.instance import plan_instance
from tests.e2e.conftest import BASE_PORTS, PROJECT_LABEL, SCRUBBED_ENV, E2EStack, Machine, cli_env, copy_stack

#: Base port of this file's copy: the e2e stack's 18000-18003 moved to 36000-36003 (instance 1: 361xx).
BASE = 36000
#: Seconds each container waits before its healthcheck can pass: the window the kill lands in.
READY_AFTER = 4


def slow_healthchecks(compose: Path) -> None:
    """Each service becomes healthy only READY_AFTER s after it starts, so `up --wait` is slow."""
    text = compose.read_text()
    assert text.count('["sh", "-c", "') == 2
    text = text.replace('["sh", "-c", "', f'["sh", "-c", "(sleep {READY_AFTER}; touch /tmp/ready) & ')
    for port in ("8080", "8081"):
        old = f'test: ["CMD", "wget", "-q", "-O", "-", "http://127.0.0.1:{port}/"]'
        assert old in text
        text = text.replace(old, 'test: ["CMD", "test", "-f", "/tmp/ready"]')
    compose.write_text(text)


@pytest.fixture
def stack(machine: Machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[E2EStack]:
    """The test stack on 36000-36999 with slow healthchecks, its own PM2_HOME; all removed afterwards."""
    project = f"pk{secrets.token_hex(3)}"
    root = copy_stack(tmp_path / "stack", project)
    for name in ("stack.yaml", "compose.yml", "api.env", "admin.env"):
        path = root / name
        text = path.read_text()
        for port in BASE_PORTS.values():
            text = text.replace(str(port), str(BASE + port - 18000))
        path.write_text(text)
    slow_healthchecks(root / "compose.yml")
    pm2_home = tmp_path / "pm2"  # short: PM2's socket paths have a 108-byte limit
    pm2_home.mkdir()
    for key in SCRUBBED_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PM2_HOME", str(pm2_home))
    copy = E2EStack(root, project, pm2_home, machine, cli_env(pm2_home, machine.pm2))
    try:
        yield copy
    finally:
        copy.remove_everything()


def health(copy: E2EStack, n: int) -> dict[str, str]:
    """Service -> docker's status text (``Up 2 seconds (health: starting)``) of instance ``n``, from outside."""
    done = copy.docker("ps", "-a", "--filter", f"label={PROJECT_LABEL}={copy.project_name(n)}",
                       "--format", '{{.Label "com.docker.compose.service"}} {{.State}} {{.Status}}')
    assert done.returncode == 0, done.stderr
    rows = (line.split(" ", 2) for line in done.stdout.splitlines() if line.strip())
    return {service: f"{state} {status}" for service, state, status in rows}


def wait_for(what: str, test, timeout: float, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test():
            return
        time.sleep(step)
    pytest.fail(f"timed out after {timeout}s waiting for {what}", pytrace=False)


def kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def test_a_killed_start_is_degraded_naming_every_missing_app(stack: E2EStack):
    apps = plan_instance(load_stack(stack.root / "stack.yaml"), 1).app_names
    assert len(apps) == 2
    proc = subprocess.Popen([sys.executable, "-m", "invoke", "dev", "1", "start"], cwd=stack.root, env=stack.env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)  # its own process group: compose dies with it
    try:
        def both_running_none_healthy() -> bool:
            seen = health(stack, 1)
            assert proc.poll() is None, f"start ended before the kill: {seen}\n{proc.stdout.read()}"
            return len(seen) == 2 and all(s.startswith("running ") for s in seen.values())

        wait_for("the containers of instance 1 to run", both_running_none_healthy, timeout=90)
        before = health(stack, 1)
        kill_group(proc)
    finally:
        if proc.poll() is None:
            kill_group(proc)
    # The kill landed inside `up --wait`: no container was healthy yet, no app was started.
    assert all("(health: starting)" in s for s in before.values()), before
    assert not (stack.pm2_home / "pm2.pid").exists() or not set(apps) & set(stack.apps())

    # The containers get healthy on their own; the apps stay missing.
    wait_for("the containers to turn healthy", lambda: all("(healthy)" in s for s in health(stack, 1).values()),
             timeout=60, step=0.5)
    status = stack.inv("dev", "1", "status")
    assert status.rc == EXIT_NOT_HEALTHY, status
    absent = ", ".join(f"app {name} absent" for name in apps)
    assert f"degraded ({absent})" in status.stdout, status
    assert f"instance 1 is degraded ({absent})" in status.stderr, status
    as_json = stack.inv("dev", "1", "status", "--json")
    assert as_json.rc == EXIT_NOT_HEALTHY, as_json
    [state] = json.loads(as_json.stdout)
    assert state["status"] == "degraded" and state["healthy"] is False and state["running"] is True, state
    assert state["missing"] == [{"kind": "app", "name": name, "state": "absent"} for name in apps], state
    assert sorted(state["declared_apps"]) == sorted(apps)
