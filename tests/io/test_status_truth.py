"""``status`` tells the truth (issue 13): healthy only when every declared compose service and
PM2 app is up; degraded or down otherwise, naming what is missing; read commands start no PM2 daemon."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from multistack.io.status import (DEGRADED, DOWN, HEALTHY, AppState, InstanceState, ServiceState,
                                  declared_services, not_healthy, render_state)
from multistack.io.pm2home import daemon_running as pm2_daemon_running, pm2_home
from multistack.model.compose_doc import parse_compose


def state(services=(), apps=(), declared=(("web", "db"), ("p-api-1", "p-admin-1"))) -> InstanceState:
    s = InstanceState(1, "p-dev-1", [ServiceState(n, f"p-dev-1-{n}-1", st, h, "") for n, st, h in services],
                      [AppState(n, st, 7, 0) for n, st in apps])
    s.declared_services, s.declared_apps = declared
    return s


ALL_UP = dict(services=[("web", "running", "healthy"), ("db", "running", "")],
              apps=[("p-api-1", "online"), ("p-admin-1", "online")])


def test_everything_declared_up_is_healthy():
    s = state(**ALL_UP)
    assert (s.condition, s.healthy, s.missing) == (HEALTHY, True, [])
    assert not_healthy([s]) == []
    assert render_state(s).startswith("instance 1 (p-dev-1): healthy\n")


def test_a_missing_app_makes_it_degraded_and_is_named():
    s = state(services=ALL_UP["services"], apps=[("p-api-1", "online")])
    assert s.condition == DEGRADED and not s.healthy
    assert [m.describe() for m in s.missing] == ["app p-admin-1 absent"]
    data = s.to_json()
    assert data["status"] == "degraded" and data["missing"] == [{"kind": "app", "name": "p-admin-1", "state": "absent"}]
    assert not_healthy([s]) == ["instance 1 is degraded (app p-admin-1 absent)"]
    text = render_state(s)
    assert text.startswith("instance 1 (p-dev-1): degraded (app p-admin-1 absent)\n")
    assert "p-admin-1" in text.split("\n", 1)[1] and "missing" in text  # a row for what is missing, too


@pytest.mark.parametrize("services, apps, named", [
    ([("web", "running", "unhealthy"), ("db", "running", "")], ALL_UP["apps"], "service web unhealthy"),
    ([("web", "running", "starting"), ("db", "running", "")], ALL_UP["apps"], "service web starting"),
    ([("web", "running", ""), ("db", "exited", "")], ALL_UP["apps"], "service db exited"),
    ([("web", "running", "")], ALL_UP["apps"], "service db absent"),
    (ALL_UP["services"], [("p-api-1", "online"), ("p-admin-1", "stopped")], "app p-admin-1 stopped"),
    (ALL_UP["services"], [("p-api-1", "errored"), ("p-admin-1", "online")], "app p-api-1 errored"),
])
def test_anything_declared_not_up_is_degraded(services, apps, named):
    s = state(services=services, apps=apps)
    assert s.condition == DEGRADED
    assert named in [m.describe() for m in s.missing]


def test_nothing_up_is_down():
    s = state()
    assert s.condition == DOWN and len(s.missing) == 4
    assert not_healthy([s]) == ["instance 1 is down"]
    s = state(services=[("web", "exited", ""), ("db", "exited", "")])
    assert s.condition == DOWN


def test_without_declarations_only_what_exists_is_judged():
    s = state(services=[("web", "running", "")], declared=(None, None))
    assert s.condition == HEALTHY


def test_declared_services_respect_profiles():
    base = parse_compose("services:\n  web: {image: x}\n  debug: {image: x, profiles: [debug]}\n"
                         "  tools: {image: x, profiles: [tools, ci]}\n", "compose.yml")
    assert declared_services([base]) == ("web",)
    assert declared_services([base], ["ci"]) == ("tools", "web")
    assert declared_services([base], ["*"]) == ("debug", "tools", "web")
    later = parse_compose("services:\n  web: {profiles: [debug]}\n", "compose.more.yml", base=False)
    assert declared_services([base, later]) == ()  # a later file's profiles win, as compose merges


# --------------------------------------------------------------------------
# The PM2 daemon check: `pm2 jlist` would spawn a daemon


def test_pm2_home_is_the_variable_or_dot_pm2(tmp_path):
    assert pm2_home({"PM2_HOME": str(tmp_path)}) == tmp_path
    assert pm2_home({}) == pm2_home({"PM2_HOME": ""}) == __import__("pathlib").Path.home() / ".pm2"


def test_no_daemon_without_its_sockets_and_a_live_pid(tmp_path):
    assert not pm2_daemon_running(tmp_path)  # a fresh PM2_HOME
    (tmp_path / "pm2.pid").write_text(str(os.getpid()))
    assert not pm2_daemon_running(tmp_path)  # no sockets
    (tmp_path / "rpc.sock").touch()
    (tmp_path / "pub.sock").touch()
    assert pm2_daemon_running(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / "pm2.pid").write_text(dead.stdout.strip())
    assert not pm2_daemon_running(tmp_path)  # a pid file left by a daemon that died
    for junk in ("", "abc", "0", "-1"):
        (tmp_path / "pm2.pid").write_text(junk)
        assert not pm2_daemon_running(tmp_path), junk
    (tmp_path / "pm2.pid").write_text("1")  # pid 1 is alive (maybe not ours to signal): running
    assert pm2_daemon_running(tmp_path)


# --------------------------------------------------------------------------
# The act layer's use of both: no `pm2 jlist` without a daemon; what an instance declares


def test_no_pm2_jlist_when_no_daemon_runs(tmp_path, monkeypatch):
    from tests.recording import RecordingContext
    from multistack.act import lifecycle
    from multistack.io.tools import Engines

    monkeypatch.setenv("PM2_HOME", str(tmp_path / "fresh"))
    c = RecordingContext(run={}, repeat=True)
    assert lifecycle.pm2_apps(c, Engines()) == []
    assert c.commands == []  # nothing asked, so nothing spawned


def test_an_instance_declares_its_compose_services_and_its_own_app_names(minimal_stack):
    from multistack.act import lifecycle
    from multistack.model.stack import load_stack

    stack = load_stack(minimal_stack)
    declared = lifecycle.declared_of(stack)
    assert declared(1) == (("db", "web"), ("demo-api-1",))
    assert declared(4) == (("db", "web"), ("demo-api-4",))
