"""issue 13, start within a bound: the argv, the `start:` key, the rollback sequence, the
failure messages (services named, pull failures parsed), the progress renderer (plain).

Commands are recorded (tests/recording.py) against the e2e test stack as project ``e2etry``.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from invoke import Result

from multistack.act import lifecycle
from multistack.act.progress import Deadline, Outcome, Running, follow, pull_failures, pull_hint
from multistack.cli.dev import _seconds
from multistack.errors import CommandFailed, StackError
from multistack.io.progress import PlainView, service_state, service_states, view_for
from multistack.model.stack import load_stack, parse_stack
from multistack.plan.compose import ComposeProject
from multistack.plan.instance import plan_instance
from tests.act.test_lifecycle import context, dev, stack, stack_dir  # noqa: F401 (fixtures)


# --------------------------------------------------------------------------
# The bound: argv, option, stack.yaml


def test_up_argv_carries_the_wait_timeout() -> None:
    argv = ComposeProject("p").up(wait_timeout=8)
    assert argv[-5:] == ["up", "-d", "--remove-orphans", "--wait", "--wait-timeout", "8"][-5:]
    assert argv.index("--wait-timeout") == argv.index("--wait") + 1 and argv[-1] == "8"


def test_start_key_default_and_value(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    assert parse_stack({"project": "p"}, path).start.wait_timeout == 300
    assert parse_stack({"project": "p", "start": {"wait_timeout": 45}}, path).start.wait_timeout == 45
    assert parse_stack({"project": "p", "start": None}, path).start.wait_timeout == 300


@pytest.mark.parametrize("raw, message", [
    ({"wait_timeout": 0}, "start.wait_timeout"),
    ({"wait_timeout": "ten"}, "must be an integer"),
    ({"wait": 10}, "unknown key 'wait'"),
])
def test_start_key_mistakes_are_one_line(tmp_path: Path, raw: dict, message: str) -> None:
    with pytest.raises(StackError, match=re.escape(message)):
        parse_stack({"project": "p", "start": raw}, tmp_path / "stack.yaml")


def test_wait_timeout_option_is_whole_seconds() -> None:
    assert _seconds(None) is None and _seconds("12") == 12
    for bad in ("0", "-1", "1.5", "soon"):
        with pytest.raises(StackError, match="--wait-timeout"):
            _seconds(bad)


def test_dry_start_uses_the_stack_value_and_the_option_wins(stack_dir: Path, capsys) -> None:
    text = (stack_dir / "stack.yaml").read_text()
    (stack_dir / "stack.yaml").write_text(text + "\nstart:\n  wait_timeout: 42\n")
    configured = load_stack(stack_dir / "stack.yaml")
    c = context(dry=True)
    dev(c, configured, "1 start")
    assert any(cmd.endswith(" up -d --remove-orphans --wait --wait-timeout 42") for cmd in c.commands), c.commands
    c = context(dry=True)
    dev(c, configured, "1 start", wait_timeout=7)
    assert any(cmd.endswith(" up -d --remove-orphans --wait --wait-timeout 7") for cmd in c.commands), c.commands


def test_the_apps_wait_gets_what_is_left_of_the_bound() -> None:
    now = [100.0]
    bound = Deadline(10, clock=lambda: now[0])
    assert bound.left() == 10
    now[0] = 107.2
    assert bound.left() == 3
    now[0] = 200.0
    assert bound.left() == 1  # a step always gets a try


# --------------------------------------------------------------------------
# Failure: named, logged, rolled back


def test_a_failed_up_names_the_service_prints_its_logs_then_rolls_back_in_order(stack, capsys, monkeypatch) -> None:
    monkeypatch.setattr("multistack.io.pm2home.daemon_running", lambda env=None: True)
    unhealthy = ('{"project":"e2etry-dev-1","service":"store","name":"e2etry-dev-1-store-1","state":"running",'
                 '"status":"Up 9 seconds (unhealthy)","ports":""}\n'
                 '{"project":"e2etry-dev-1","service":"web","name":"e2etry-dev-1-web-1","state":"running",'
                 '"status":"Up 9 seconds (healthy)","ports":""}\n')
    c = context({r" up -d ": Result("", stderr="container e2etry-dev-1-store-1 is unhealthy\n", exited=1),
                 r" logs --no-color --tail 20 store$": Result("store-1  | boom\n")},
                ps=unhealthy, jlist="[]\n")
    with pytest.raises(CommandFailed) as info:
        dev(c, stack, "1 start", wait_timeout=30)
    assert info.value.message.startswith("instance 1: service store did not become healthy")
    assert info.value.message.endswith("rolled back: containers removed, apps deleted; files kept in .instances/instance-1")
    assert "store-1  | boom" in capsys.readouterr().err
    after = c.commands[next(i for i, cmd in enumerate(c.commands) if " up -d " in cmd) + 1:]
    acting = [cmd for cmd in after if " ps -a " not in cmd]
    assert [re.sub(r" -f \S+| --env-file \S+", "", cmd) for cmd in acting] == [
        "docker compose -p e2etry-dev-1 logs --no-color --tail 20 store",
        "docker compose -p e2etry-dev-1 --profile '*' down --remove-orphans",  # volumes kept
        "/usr/bin/pm2 delete '/^(e2etry\\-api\\-1|e2etry\\-admin\\-1)$/'",  # exactly this instance's apps
    ]
    assert not any("startOrRestart" in cmd for cmd in c.commands)
    assert (stack.instance_dir(1) / "instance.json").is_file()  # the files stay


def test_no_daemon_before_the_start_means_none_after_the_rollback(stack, monkeypatch) -> None:
    c = context(jlist="[]\n")
    # None before the start; the start's `pm2 startOrRestart` spawns one, as the real PM2 does.
    monkeypatch.setattr("multistack.io.pm2home.daemon_running",
                        lambda home=None: any("startOrRestart" in cmd for cmd in c.commands))
    monkeypatch.setattr(lifecycle, "wait_for_apps", _app_never_answers)
    with pytest.raises(CommandFailed, match="PM2 daemon stopped; files kept"):
        dev(c, stack, "1 start")
    assert c.commands[-2:] == ["/usr/bin/pm2 delete '/^(e2etry\\-api\\-1|e2etry\\-admin\\-1)$/'", "/usr/bin/pm2 kill"]


def test_a_start_that_failed_before_any_pm2_command_runs_none_in_its_rollback(stack, monkeypatch) -> None:
    monkeypatch.setattr("multistack.io.pm2home.daemon_running", lambda env=None: False)
    c = context({r" up -d ": Result("", stderr="container e2etry-dev-1-web-1 is unhealthy\n", exited=1)}, jlist="[]\n")
    with pytest.raises(CommandFailed) as info:
        dev(c, stack, "1 start")
    assert info.value.message.endswith("rolled back: containers removed; files kept in .instances/instance-1")
    after = c.commands[next(i for i, cmd in enumerate(c.commands) if " up -d " in cmd):]
    assert not any("pm2" in cmd for cmd in after)  # a pm2 command would spawn the daemon it then must kill


def test_a_daemon_the_user_had_is_kept(stack, monkeypatch) -> None:
    monkeypatch.setattr("multistack.io.pm2home.daemon_running", lambda env=None: True)
    monkeypatch.setattr(lifecycle, "wait_for_apps", _app_never_answers)
    c = context(jlist="[]\n")
    with pytest.raises(CommandFailed, match="apps deleted; files kept"):
        dev(c, stack, "1 start")
    assert not any(cmd.endswith(" kill") for cmd in c.commands)


def _app_never_answers(*args, **kwargs) -> None:
    raise CommandFailed("instance 1: PM2 app did not answer on its port within 1s: e2etry-api-1", "hint")


# --------------------------------------------------------------------------
# Pull failures (lines as Compose 2.40 prints them on this machine)

PULL_OUTPUT = """\
 nope Pulling
 nope Error Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host
Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host
"""
NEVER_OUTPUT = """\
 Container wty-never-1  Creating
 Container wty-never-1  Error response from daemon: No such image: multistack-test/nothere:2
Error response from daemon: No such image: multistack-test/nothere:2
"""


def test_a_pull_failure_names_the_image_and_the_registry_error() -> None:
    [failure] = pull_failures(PULL_OUTPUT, {"nope": "multistack-test/nothere:1", "ok": "busybox"})
    assert failure.service == "nope" and failure.image == "multistack-test/nothere:1"
    assert "no such host" in failure.error
    assert "docker load" in pull_hint([failure]) and "pull_policy: never" in pull_hint([failure])


def test_pull_policy_never_without_the_image_is_a_pull_failure_too() -> None:
    [failure] = pull_failures(NEVER_OUTPUT, {"never": "multistack-test/nothere:2"})
    assert (failure.service, failure.image) == ("never", "multistack-test/nothere:2")


def test_an_unhealthy_container_is_not_a_pull_failure() -> None:
    assert pull_failures("container e2etry-dev-1-web-1 is unhealthy\n", {"web": "x"}) == []


def test_a_pull_failure_at_start_says_how_to_provide_the_image(stack) -> None:
    c = context({r" up -d ": Result("", stderr=NEVER_OUTPUT.replace("multistack-test/nothere:2",
                                                                    "multistack-test/busybox:1"), exited=1)},
                jlist="[]\n")
    with pytest.raises(CommandFailed) as info:
        dev(c, stack, "1 start")
    assert "image multistack-test/busybox:1 of service" in info.value.message
    assert "did not become healthy" not in info.value.message
    assert "docker load" in (info.value.hint or "") and "inv dev 1 logs" not in (info.value.hint or "")


# --------------------------------------------------------------------------
# Progress


@pytest.mark.parametrize("row, state", [
    (None, "waiting"),
    ({"state": "created", "status": "Created"}, "created"),
    ({"state": "running", "status": "Up 2 seconds (health: starting)"}, "starting"),
    ({"state": "running", "status": "Up 5 seconds (healthy)"}, "healthy"),
    ({"state": "running", "status": "Up 5 seconds (unhealthy)"}, "unhealthy"),
    ({"state": "running", "status": "Up 5 seconds"}, "running"),
    ({"state": "exited", "status": "Exited (1) 1 second ago"}, "exited"),
])
def test_container_rows_become_state_words(row, state) -> None:
    assert service_state(row) == state


def test_declared_services_without_a_container_are_waiting() -> None:
    rows = [{"service": "web", "state": "running", "status": "Up (healthy)"}, {"service": "extra", "state": "exited"}]
    assert service_states(["web", "store"], rows) == {"web": "healthy", "store": "waiting", "extra": "exited"}


def test_plain_view_prints_a_line_per_change_only() -> None:
    out = io.StringIO()
    view = PlainView(out, "instance 1: waiting up to 8s")
    view.update({"web": "waiting", "store": "waiting"}, 0.2)
    view.update({"web": "waiting", "store": "waiting"}, 1.2)
    view.update({"web": "healthy", "store": "starting"}, 3.0)
    view.close()
    assert out.getvalue().splitlines() == [
        "instance 1: waiting up to 8s",
        "  [   0s] web: waiting", "  [   0s] store: waiting",
        "  [   3s] web: healthy", "  [   3s] store: starting",
    ]
    assert isinstance(view_for(io.StringIO(), "t"), PlainView)  # piped: plain lines, no rich


def test_follow_polls_once_a_tick_until_compose_ends() -> None:
    polls: list[int] = []
    answers = iter(['{"project":"p","service":"web","state":"running","status":"Up (health: starting)"}',
                    '{"project":"p","service":"web","state":"running","status":"Up (healthy)"}'])

    def poll() -> Result:
        polls.append(1)
        return Result(next(answers))

    ticks = iter([False, True])
    handle = Running(lambda: Result("", exited=0))
    handle.done = lambda: next(ticks)  # type: ignore[method-assign]
    out = io.StringIO()
    outcome = follow(handle, poll, ["web"], PlainView(out, "t"), sleep=lambda s: None, project="p")
    assert len(polls) == 2 and outcome.ok and outcome.states == {"web": "healthy"}
    assert outcome.not_up() == []


def test_blame_goes_to_unhealthy_then_to_what_compose_names() -> None:
    failed = Result("", stderr="container p-dev-1-store-1 is unhealthy\n", exited=1)
    assert Outcome(failed, {"web": "healthy", "store": "unhealthy"}, 3).blocking("p-dev-1") == ["store"]
    assert Outcome(failed, {"web": "waiting", "store": "waiting"}, 3).blocking("p-dev-1") == ["store"]
    assert Outcome(Result("", exited=1), {"web": "starting"}, 3).blocking("p-dev-1") == ["web"]


def test_a_pull_of_an_image_the_caller_does_not_know_is_still_named_by_service() -> None:
    [failure] = pull_failures(PULL_OUTPUT, {})
    assert failure.service == "nope" and failure.describe().startswith("the image of service nope could not be pulled")


def test_compose_saying_yes_while_a_healthcheck_starts_is_not_believed() -> None:
    from multistack.act.progress import settle

    starting = '{"project":"p","service":"store","state":"running","status":"Up 1 second (health: starting)"}'
    healthy = starting.replace("(health: starting)", "(healthy)")
    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s

    early = Outcome(Result("", exited=0), {"store": "starting"}, 1.0)
    answers = iter([Result(starting), Result(healthy)])
    done = settle(early, lambda: next(answers), ["store"], 8, clock=lambda: now[0], sleep=sleep, project="p")
    assert done.ok and done.states == {"store": "healthy"}
    never = settle(early, lambda: Result(starting), ["store"], 8, clock=lambda: now[0], sleep=sleep, project="p")
    assert not never.ok and never.blocking("p") == ["store"] and "not healthy after 8s" in never.result.stderr


def test_read_commands_do_not_import_rich(tmp_path: Path) -> None:
    """rich is for start's live progress only (a terminal): a read command never pays for it."""
    import shutil
    import subprocess
    import sys

    root = tmp_path / "stack"
    shutil.copytree(Path(__file__).resolve().parents[1] / "e2e" / "stack", root)
    for words in (["dev", "1", "ports"], ["dev", "1", "info"]):
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "invoke", *words], cwd=root,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert not [line for line in done.stderr.splitlines() if line.rstrip().endswith("| rich")], words
