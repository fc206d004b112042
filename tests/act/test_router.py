"""start/stop/clean keep the shared router in step: recorded commands, real files in a router folder of the test's.

The stack is the e2e stack (tests/act/test_lifecycle.py fixtures) with ``router:`` and
two http services; ``MULTISTACK_ROUTER_HOME`` points at tmp_path, so nothing of the
user's is read or written.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from invoke import Result

from multistack.act.router import check_port
from multistack.errors import CommandFailed, ConflictError
from multistack.io import hostports
from multistack.model.stack import load_stack
from multistack.plan.instance import plan_instance
from multistack.plan.router import project_name, route_file_name
from tests.act.test_lifecycle import context, dev, stack_dir  # noqa: F401 (fixtures)

ROUTER = "multistack-router-"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "router-home"
    monkeypatch.setenv("MULTISTACK_ROUTER_HOME", str(folder))
    return folder


@pytest.fixture
def routed(stack_dir: Path, home: Path):
    """The e2e stack with hostnames for web (a container) and api (a PM2 app), router on 45990."""
    path = stack_dir / "stack.yaml"
    text = path.read_text()
    text = text.replace("  web: {port: 18000,", "  web: {url: 'http://localhost:{{ port }}/', port: 18000,")
    text = text.replace("  api: {port: 18002}", "  api: {port: 18002, url: 'http://localhost:{{ port }}/'}")
    path.write_text(text + "\nrouter: {port: 45990, image: 'multistack-test/haproxy:1'}\n")
    return load_stack(path)


def router_commands(c) -> list[str]:
    return [cmd.split(" -f ", 1)[1].split(" ", 1)[1] for cmd in c.commands if f"-p {ROUTER}" in cmd]


def running(answer: str = "running\n") -> dict[str, Result]:
    return {rf"label=com.docker.compose.project={ROUTER}\S+ --format": Result(answer)}


def test_the_first_start_writes_the_routes_and_starts_the_router(routed, home, capsys):
    c = context(jlist="[]\n")
    dev(c, routed, "1 start")
    assert router_commands(c) == ["up -d --remove-orphans --wait --wait-timeout 60"]
    routes = json.loads((home / "routes" / route_file_name(routed)).read_text())
    assert routes["instances"] == {"1": {"web.1.e2etry.localhost": "127.0.0.1:18100",
                                         "api.1.e2etry.localhost": "127.0.0.1:18102"}}
    config = (home / "config" / "haproxy.cfg").read_text()
    assert "    bind 127.0.0.1:45990\n" in config and "server web.1.e2etry.localhost 127.0.0.1:18100" in config
    assert "multistack-test/haproxy:1" in (home / "compose.yml").read_text()
    out = capsys.readouterr().out
    assert "router started on 127.0.0.1:45990" in out
    assert out.index("router started") < out.index("http://web.1.e2etry.localhost:45990/")  # then the table


def test_another_instance_reloads_the_running_router_in_place(routed, home):
    dev(context(jlist="[]\n"), routed, "1 start")
    c = context(running(), jlist="[]\n")
    dev(c, routed, "2 start")
    assert router_commands(c) == ["kill -s SIGUSR2 router"]
    routes = json.loads((home / "routes" / route_file_name(routed)).read_text())
    assert sorted(routes["instances"]) == ["1", "2"]


def test_an_unchanged_router_is_neither_restarted_nor_reloaded(routed, home):
    dev(context(jlist="[]\n"), routed, "1 start")
    config = home / "config" / "haproxy.cfg"
    before = config.stat().st_mtime_ns
    c = context(running(), jlist="[]\n")
    dev(c, routed, "1 start")  # the same routes: nothing to tell the running router
    assert router_commands(c) == [] and config.stat().st_mtime_ns == before


def test_stop_takes_the_instance_s_routes_and_the_last_one_stops_the_router(routed, home, capsys):
    dev(context(jlist="[]\n"), routed, "1 start")
    dev(context(running(), jlist="[]\n"), routed, "2 start")
    c = context(running(), jlist="[]\n")
    dev(c, routed, "1 stop")
    assert router_commands(c) == ["kill -s SIGUSR2 router"]
    config = (home / "config" / "haproxy.cfg").read_text()
    assert "web.1.e2etry" not in config and "web.2.e2etry" in config
    c = context(running(), jlist="[]\n")
    dev(c, routed, "2 clean", yes=True)
    assert router_commands(c) == ["--profile '*' down --remove-orphans"]
    assert not (home / "routes" / route_file_name(routed)).exists()
    assert "router stopped: no instance of any stack has a hostname now" in capsys.readouterr().out


def test_another_stack_s_routes_are_kept_and_a_gone_stack_s_dropped(routed, home, tmp_path, capsys):
    (home / "routes").mkdir(parents=True)
    other = tmp_path / "other" / "stack.yaml"
    other.parent.mkdir()
    other.write_text("project: other\n")
    keep = {"version": 1, "stack": str(other), "project": "other", "listen": "127.0.0.1:80", "image": "i",
            "instances": {"4": {"web.4.other.localhost": "127.0.0.1:8400"}}}
    gone = {**keep, "stack": str(tmp_path / "deleted" / "stack.yaml"), "project": "gone",
            "instances": {"5": {"web.5.gone.localhost": "127.0.0.1:8500"}}}
    (home / "routes" / "other-1.json").write_text(json.dumps(keep))
    (home / "routes" / "gone-1.json").write_text(json.dumps(gone))
    (home / "routes" / "broken-1.json").write_text("{")
    dev(context(jlist="[]\n"), routed, "1 start")
    config = (home / "config" / "haproxy.cfg").read_text()
    assert "web.4.other.localhost" in config and "web.1.e2etry.localhost" in config
    assert "web.5.gone" not in config and not (home / "routes" / "gone-1.json").exists()
    assert "    bind 127.0.0.1:45990\n    bind 127.0.0.1:80\n" in config  # every stack's own port
    assert (home / "routes" / "broken-1.json").read_text() == "{"  # not ours to remove: said, left alone
    err = capsys.readouterr().err
    assert "broken-1.json is not a route file" in err and "deleted/stack.yaml is gone" in err


def test_dry_writes_nothing_and_shows_the_router_command(routed, home, capsys):
    c = context(dry=True, jlist="[]\n")
    dev(c, routed, "1 start")
    assert not home.exists()
    out = capsys.readouterr().out
    assert f"would write {home}/routes/{route_file_name(routed)}" in out and f"would write {home}/compose.yml" in out
    assert "router started" not in out
    assert router_commands(c) == ["up -d --remove-orphans --wait --wait-timeout 60"]  # invoke prints it, runs nothing
    assert [cmd for cmd in c.commands if f"-p {project_name(home, False)} " in cmd]


def test_a_stack_without_router_never_touches_the_router(stack_dir, home):
    stack = load_stack(stack_dir / "stack.yaml")
    c = context(jlist="[]\n")
    dev(c, stack, "1 start")
    dev(c, stack, "1 stop")
    assert router_commands(c) == [] and not home.exists()
    assert "MULTISTACK_URL_" not in (stack.instance_dir(1) / "instance.env").read_text()


def test_a_router_failure_says_the_instance_runs(routed, home):
    c = context({r"multistack-router-\S+ -f \S+ up -d": Result("", stderr="bind: address in use\n", exited=1)},
                jlist="[]\n")
    with pytest.raises(CommandFailed) as info:
        dev(c, routed, "1 start")
    assert info.value.message.startswith("instance 1 is running, but the router (compose project multistack-router-")
    assert info.value.message.endswith("failed: bind: address in use")


def test_the_router_port_is_checked_before_a_start(routed, home, monkeypatch):
    monkeypatch.setattr(hostports, "is_free", lambda port, host="127.0.0.1": port != 45990)
    monkeypatch.setattr(hostports, "holder_of", lambda port: "nginx (pid 7)")
    c = context(jlist="[]\n")
    with pytest.raises(ConflictError) as info:
        dev(c, routed, "1 start")
    assert info.value.message == "instance 1 cannot start: port 45990 (router) is already in use, held by nginx (pid 7)"
    assert "router: {port: N}" in str(info.value.hint)
    assert not any(" up " in cmd for cmd in c.commands)


def test_the_router_holding_its_own_port_is_no_conflict(routed, home, monkeypatch):
    dev(context(jlist="[]\n"), routed, "1 start")  # the config now binds 45990
    monkeypatch.setattr(hostports, "is_free", lambda port, host="127.0.0.1": port != 45990)
    monkeypatch.setattr(hostports, "holder_of", lambda port: "haproxy (pid 9)")
    check_port(plan_instance(routed, 2))  # no error
    monkeypatch.setattr(hostports, "holder_of", lambda port: "nginx (pid 7)")
    with pytest.raises(ConflictError):
        check_port(plan_instance(routed, 2))


def test_a_running_unchanged_instance_gets_its_lost_route_back(routed, home, capsys):
    """The left-alone start needs no compose of its own; the router's `up` then finds compose first."""
    from tests.act.test_start_idempotent import online_jlist, running_ps

    dev(context(jlist="[]\n"), routed, "1 init")
    inst = plan_instance(routed, 1)
    ps = {r"label=com.docker.compose.project --format": Result(running_ps(inst.project_name))}
    c = context(ps, jlist=online_jlist(inst.app_names))
    dev(c, routed, "1 start")
    assert "running and unchanged: left alone" in capsys.readouterr().out
    assert router_commands(c) == ["up -d --remove-orphans --wait --wait-timeout 60"]
    assert c.commands.index("docker compose version --short") < next(
        i for i, cmd in enumerate(c.commands) if f"-p {ROUTER}" in cmd)
    assert json.loads((home / "routes" / route_file_name(routed)).read_text())["instances"].keys() == {"1"}


def test_concurrent_changes_of_two_stacks_lose_no_route(routed, home, tmp_path, monkeypatch):
    """Read, change, write under the router's lock: eight instances of two stacks synced at the same
    moment (each read made slow, so without the lock every one would overwrite the others) all stay."""
    import threading
    import time

    from multistack.act import router as act_router
    from multistack.plan import router as plan_router

    other_root = tmp_path / "other"
    other_root.mkdir()
    (other_root / "stack.yaml").write_text((routed.path.read_text()).replace("project: e2etry", "project: other"))
    for name in ("compose.yml", "api.env", "admin.env", "app.py"):
        (other_root / name).write_text((routed.root / name).read_text())
    other = load_stack(other_root / "stack.yaml")
    slow = plan_router.parse_route_file
    monkeypatch.setattr(act_router, "parse_route_file", lambda text: time.sleep(0.05) or slow(text))
    errors: list[BaseException] = []

    def sync(stack, n: int) -> None:
        try:
            act_router.sync_routes(context(running()), plan_instance(stack, n), None, serving=True)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sync, args=(stack, n)) for n in (1, 2, 3, 4) for stack in (routed, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for stack in (routed, other):
        routes = json.loads((home / "routes" / route_file_name(stack)).read_text())
        assert sorted(routes["instances"]) == ["1", "2", "3", "4"]
    config = (home / "config" / "haproxy.cfg").read_text()
    assert all(f"backend web.{n}.{p}.localhost\n" in config for n in (1, 2, 3, 4) for p in ("e2etry", "other"))
