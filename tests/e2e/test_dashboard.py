"""``inv dev.watch`` in a real terminal (tmux) against two running instances of the test stack.

The test stack's ports are moved to 46000-46999 (this test's range): instance N serves
web on 46000 + 100 N. The dashboard runs in a tmux server of the test's own (``-S`` in tmp_path),
keys are sent with ``send-keys`` and the screen read with ``capture-pane``; what the
stop did is checked from outside (docker, PM2, the ports). The tmux server is killed,
and the e2e fixture removes the containers and the PM2 daemon, even when the test fails.
"""
from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import jsonschema
import pytest

from tests.e2e.conftest import BASE_PORTS, E2EStack, missing

SCHEMA = Path(__file__).resolve().parents[2] / "multistack" / "schema" / "output" / "dev.watch.json"
BASE = 46000  # web; store, api and admin follow (the test stack's order)


def move_ports(root: Path) -> None:
    """The copy's base ports 18000-18003 -> 46000-46003 (stack.yaml, compose.yml, the apps' env files)."""
    edits = {"stack.yaml": "port: {old}", "compose.yml": '"{old}:', "api.env": "PORT={old}", "admin.env": "PORT={old}"}
    for name, pattern in edits.items():
        path = root / name
        text = path.read_text()
        for offset, old in enumerate(BASE_PORTS.values()):
            text = text.replace(pattern.format(old=old), pattern.format(old=BASE + offset))
        path.write_text(text)
    assert "18000" not in (root / "compose.yml").read_text()


def port(service: str, n: int) -> int:
    return BASE + list(BASE_PORTS).index(service) + 100 * n


class Terminal:
    """A tmux server of our own, one 200x50 session running a command."""

    def __init__(self, env: dict[str, str], socket: Path) -> None:
        tmux = shutil.which("tmux")
        if not tmux:
            missing("tmux is not installed")
        self.argv = [str(tmux), "-S", str(socket)]  # a server of our own, its socket in tmp_path
        self.env = env

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.argv, *args], capture_output=True, text=True, env=self.env, timeout=30,
                              stdin=subprocess.DEVNULL)

    def start(self, folder: Path, command: list[str]) -> None:
        # If the command ends, its last words and exit code stay on the screen (for a failure message).
        shell = f"{shlex.join(command)}; echo \"exited $?\"; sleep 600"
        done = self.tmux("new-session", "-d", "-s", "watch", "-x", "200", "-y", "50", "-c", str(folder), shell)
        assert done.returncode == 0, done.stderr

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "watch").stdout

    def keys(self, *keys: str) -> None:
        assert self.tmux("send-keys", "-t", "watch", *keys).returncode == 0

    def wait_for(self, check: Callable[[str], bool], seconds: float, what: str) -> str:
        deadline = time.monotonic() + seconds
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"the dashboard never showed {what} within {seconds:g}s; the screen:\n{screen}")
            time.sleep(0.3)

    def close(self) -> None:
        self.tmux("kill-server")


@pytest.fixture
def terminal(e2e: E2EStack, tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(e2e.env, tmp_path / "tmux.sock")
    try:
        yield term
    finally:
        term.close()


def row_of(screen: str, n: int) -> str:
    """The table's line of instance ``n`` (the first: the detail pane's title comes later)."""
    return next((line for line in screen.splitlines() if line.strip().startswith(f"instance {n} ")), "")


def test_stop_key_in_a_real_terminal_stops_the_selected_instance(e2e: E2EStack, terminal: Terminal):
    move_ports(e2e.root)
    for n in (1, 2):
        e2e.inv("dev", str(n), "start", check=True, timeout=180)
    assert e2e.fetch(port("web", 2)) == "web 2" and e2e.fetch(port("api", 1)) is not None

    piped = e2e.inv("dev.watch", "--json", check=True)  # the real snapshot matches its schema
    data = json.loads(piped.stdout)
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(data)
    assert [(r["key"], r["status"]) for r in data["rows"]] == [("instance-1", "healthy"), ("instance-2", "healthy")]
    assert data["tick"]["engine_calls"] == 1 and data["tick"]["pm2_calls"] == 1

    terminal.start(e2e.root, ["env", f"PM2_HOME={e2e.pm2_home}", f"PATH={e2e.env['PATH']}", sys.executable,
                              "-m", "invoke", "dev.watch", "--interval", "1"])
    screen = terminal.wait_for(lambda s: "healthy" in row_of(s, 1) and "healthy" in row_of(s, 2), 30,
                               "both instances healthy")
    assert f"127.0.0.1:{port('web', 2)}" in row_of(screen, 2)
    terminal.keys("Down")
    terminal.wait_for(lambda s: f"instance 2 ({e2e.project_name(2)})" in s, 10, "instance 2 selected")
    terminal.keys("x")
    screen = terminal.wait_for(lambda s: " down " in row_of(s, 2) and "done: inv dev 2 stop" in s, 90,
                               "instance 2 stopped")
    assert "healthy" in row_of(screen, 1)

    # From outside: instance 2 is stopped, instance 1 still runs.
    assert not [c for c in e2e.containers(2) if c["state"] == "running"]
    apps = e2e.apps()
    assert {apps[f"{e2e.project}-api-2"], apps[f"{e2e.project}-admin-2"]} == {"stopped"}
    assert {apps[f"{e2e.project}-api-1"], apps[f"{e2e.project}-admin-1"]} == {"online"}
    assert not e2e.listening(port("web", 2)) and not e2e.listening(port("api", 2))
    assert e2e.fetch(port("web", 1)) == "web 1"
    assert {c["state"] for c in e2e.containers(1)} == {"running"}

    terminal.keys("q")
    terminal.wait_for(lambda s: "exited 0" in s, 10, "the dashboard ended by q")
