"""The instance lifecycle end to end: `inv dev ...` as a subprocess, checked from outside.

What a test looks at is what a user would: HTTP answers on 127.0.0.1, `docker
ps`/`docker volume ls` filtered by the compose project label, `pm2 jlist` of
the test's own daemon. Each test starts from an empty copy of tests/e2e/stack
(see conftest.py) and leaves nothing behind.
"""
from __future__ import annotations

import json
import re
import shutil
import socket

from multistack.io.locks import instance_lock
from multistack.model.stack import load_stack

SERVICES = ("web", "store", "api", "admin")


def assert_serves(e2e, n: int) -> None:
    """Every port of instance n answers, with instance n's own content."""
    for service in SERVICES:
        port = e2e.port(service, n)
        assert e2e.fetch(port) == f"{service} {n}", f"{service} of instance {n} on port {port}"


def assert_nothing_runs(e2e, n: int) -> None:
    assert e2e.containers(n) == []
    assert not any(status == "online" for name, status in e2e.apps().items() if name.endswith(f"-{n}"))
    for service in SERVICES:
        assert not e2e.listening(e2e.port(service, n)), f"{service} of instance {n} still answers"


def status_all(e2e) -> dict[int, dict]:
    result = e2e.inv("dev", "status", "--all", "--json")
    assert result.rc in (0, 6), result  # issue 13: 6 (EXIT_NOT_HEALTHY) when an instance is degraded or down
    return {entry["instance"]: entry for entry in json.loads(result.stdout)}


def test_two_instances_side_by_side_then_stop_all(e2e):
    first = e2e.inv("dev", "1", "start", check=True)
    e2e.inv("dev", "2", "start", check=True)
    assert "instance 1 (" in first.stdout and str(e2e.port("web", 1)) in first.stdout

    assert_serves(e2e, 1)
    assert_serves(e2e, 2)
    one, two = e2e.containers(1), e2e.containers(2)
    assert {c["service"] for c in one} == {c["service"] for c in two} == {"web", "store"}
    assert {c["project"] for c in one} == {e2e.project_name(1)}
    assert {c["project"] for c in two} == {e2e.project_name(2)}
    assert not {c["name"] for c in one} & {c["name"] for c in two}
    p = e2e.project  # issue 13: PM2 names are <project>-<app>-<N>
    assert e2e.apps() == {f"{p}-api-1": "online", f"{p}-admin-1": "online", f"{p}-api-2": "online", f"{p}-admin-2": "online"}

    states = status_all(e2e)
    assert sorted(states) == [1, 2]
    for n, state in states.items():
        assert state["project_name"] == e2e.project_name(n)
        assert state["healthy"] and state["running"], state
        assert [(s["service"], s["state"], s["health"]) for s in state["services"]] == [
            ("store", "running", "healthy"), ("web", "running", "healthy")]
        assert [(a["name"], a["status"]) for a in state["apps"]] == [(f"{p}-admin-{n}", "online"), (f"{p}-api-{n}", "online")]

    # Starting a running instance again is fine: its own ports are not a conflict.
    again = e2e.inv("dev", "1", "start")
    assert again.rc == 0, again
    assert_serves(e2e, 1)
    # Restart right after talking to it: the connections left in TIME_WAIT do not count as taken ports.
    restarted = e2e.inv("dev", "2", "restart")
    assert restarted.rc == 0, restarted
    assert_serves(e2e, 2)

    stopped = e2e.inv("dev", "stop", "--all")
    assert stopped.rc == 0, stopped
    assert "stop --all: 2 ok, 0 failed" in stopped.stdout
    # Every line of a per-instance job carries its instance number.
    job_lines = [line for line in stopped.stderr.splitlines() if "Container" in line]
    assert job_lines and all(re.match(r"\[[12]\] ", line) for line in job_lines), stopped.stderr
    assert e2e.containers() == []
    assert e2e.networks() == []
    assert set(e2e.apps().values()) == {"stopped"}
    assert sorted(e2e.volumes()) == [f"{e2e.project_name(1)}_data", f"{e2e.project_name(2)}_data"]
    for n in (1, 2):
        assert_nothing_runs(e2e, n)
    assert {n: (s["running"], s["healthy"]) for n, s in status_all(e2e).items()} == {1: (False, False), 2: (False, False)}


def test_clean_removes_one_instance_only(e2e):
    e2e.inv("dev", "1", "start", check=True)
    e2e.inv("dev", "2", "start", check=True)

    refused = e2e.inv("dev", "clean", "1")  # stdin is not a terminal: no question, a refusal
    assert refused.rc == 2, refused
    assert "needs confirmation and stdin is not a terminal" in refused.stderr and "--yes" in refused.stderr
    assert len(e2e.containers(1)) == 2 and e2e.instance_dir(1).is_dir()

    cleaned = e2e.inv("dev", "clean", "1", "--yes")
    assert cleaned.rc == 0, cleaned
    assert not e2e.instance_dir(1).exists()
    assert list(e2e.volumes().values()) == [e2e.project_name(2)]
    assert e2e.containers(1) == [] and not any(name.endswith("-1") for name in e2e.apps())
    assert_serves(e2e, 2)  # untouched

    # The other word order; instance 1 is already gone, which is fine.
    assert e2e.inv("dev", "1", "clean", "--yes").rc == 0
    e2e.inv("dev", "2", "clean", "--yes", check=True)
    assert e2e.volumes() == {} and e2e.containers() == [] and e2e.networks() == [] and e2e.apps() == {}
    assert status_all(e2e) == {}


def test_start_refused_when_a_port_is_taken(e2e):
    port = e2e.port("store", 3)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = e2e.inv("dev", "3", "start")
    assert result.rc == 4, result
    assert f"port {port} (store) is already in use" in result.stderr
    assert "held by python" in result.stderr
    assert_nothing_runs(e2e, 3)
    assert e2e.volumes() == {} and e2e.networks() == []
    assert not e2e.instance_dir(3).exists()  # checked before anything is written


def test_second_command_refused_while_the_lock_is_held(e2e):
    stack = load_stack(e2e.root / "stack.yaml")
    with instance_lock(stack, 1, "start"):
        result = e2e.inv("dev", "1", "start")
    assert result.rc == 4, result
    assert "instance 1 is busy: `start`" in result.stderr and "holds its lock" in result.stderr
    assert_nothing_runs(e2e, 1)
    # Released: the lock does not outlive its holder.
    assert e2e.inv("dev", "1", "init").rc == 0


def test_instance_without_its_folder_is_found_by_labels(e2e):
    e2e.inv("dev", "4", "start", check=True)
    assert_serves(e2e, 4)
    folder = e2e.instance_dir(4)
    shutil.rmtree(folder)

    states = status_all(e2e)
    assert list(states) == [4] and states[4]["healthy"], states
    stopped = e2e.inv("dev", "stop", "--all")
    assert stopped.rc == 0, stopped
    assert "stop --all: 1 ok, 0 failed" in stopped.stdout
    assert_nothing_runs(e2e, 4)
    assert e2e.networks() == []
    assert list(e2e.volumes().values()) == [e2e.project_name(4)]
    assert not folder.exists()

    # clean finds the rest (PM2 apps, the volume) without the folder, too.
    e2e.inv("dev", "4", "clean", "--yes", check=True)
    assert e2e.volumes() == {} and e2e.apps() == {}
    assert status_all(e2e) == {}


def test_dry_start_prints_the_commands_and_starts_nothing(e2e):
    result = e2e.inv("--dry", "dev", "1", "start")
    assert result.rc == 0, result
    root, folder = e2e.root, e2e.instance_dir(1)
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in result.stdout.splitlines()]  # invoke's echo colour
    commands = [line for line in plain if line.startswith(("docker ", e2e.machine.pm2))]
    assert commands == [
        f"docker compose -p {e2e.project_name(1)} -f {root}/compose.yml -f {folder}/docker-compose.override.yml "
        f"--env-file {folder}/instance.env up -d --remove-orphans --wait --wait-timeout 300",
        f"{e2e.machine.pm2} startOrRestart {folder}/pm2.config.cjs --update-env",
    ]
    assert "would  create  instance-1/docker-compose.override.yml" in result.stdout
    assert not folder.exists()
    assert e2e.containers() == [] and e2e.volumes() == {}
    assert not (e2e.pm2_home / "pm2.pid").exists()  # PM2 was not even asked
