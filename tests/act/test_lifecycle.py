"""The lifecycle actions with recorded commands: exact argv, how many processes, --dry output, parsing.

The stack is a copy of tests/e2e/stack (project ``e2etry``), so the ``docker ps``
and ``pm2 jlist`` samples below, captured from a real engine and PM2 7 running
that stack, are what these commands really read. A ``RecordingContext``
answers by regex, records every command, and raises like ``Context.run`` on a
failure (``MockContext`` alone never raises).
"""
from __future__ import annotations

import io
import json
import re
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from invoke import Config, Context, Result

from multistack.plan import compose
from multistack.io import hostports
from multistack.act import lifecycle
from multistack.io.tools import Engines
from multistack.errors import CommandFailed, ConflictError, EngineError, NotHealthy, StackError
from multistack.plan.instance import plan_instance
from multistack.io.locks import instance_lock
from multistack.act.parallel import PrefixWriter, fan_out
from multistack.model.stack import load_stack
from tests.recording import RecordingContext
from multistack.io.status import collect, health_of, parse_containers, parse_jlist

E2E_STACK = Path(__file__).resolve().parents[1] / "e2e" / "stack"
PM2 = "/usr/bin/pm2"
PS = shlex.join(compose.ps_all("docker"))

# `docker ps -a --filter label=com.docker.compose.project --format <compose.ps_all>` on
# engine 20.10: instance 3 of the e2e stack (store healthy, web stopped by hand) and two
# projects of someone else, which status must ignore.
PS_SAMPLE = """\
{"project":"e2etry-dev-3","service":"store","name":"e2etry-dev-3-store-1","state":"running","status":"Up 3 seconds (healthy)","ports":"127.0.0.1:18301->8081/tcp"}
{"project":"e2etry-dev-3","service":"web","name":"e2etry-dev-3-web-1","state":"exited","status":"Exited (143) Less than a second ago","ports":""}
{"project":"sysexp-b","service":"mq","name":"sysexp-b-mq-1","state":"exited","status":"Exited (1) 2 minutes ago","ports":""}
{"project":"sysexp-b","service":"rest","name":"sysexp-b-rest-1","state":"running","status":"Up 2 minutes","ports":""}
{"project":"sysexp-a","service":"mq","name":"sysexp-a-mq-1","state":"exited","status":"Exited (1) 2 minutes ago","ports":""}
{"project":"sysexp-a","service":"rest","name":"sysexp-a-rest-1","state":"running","status":"Up 2 minutes","ports":""}
"""

# `pm2 jlist` (PM2 7.0.4; names renamed to the <project>-<app>-<N> scheme of issue 13) with e2etry-api-3 online and e2etry-admin-3 stopped by hand; one line of JSON.
# Trimmed: pm2_env also carries the whole environment of whoever started the daemon.
JLIST_SAMPLE = (
    '[{"pid":670,"name":"e2etry-api-3","pm2_env":{"name":"e2etry-api-3","namespace":"e2etry-dev-3","cwd":"/tmp/e2etry",'
    '"args":["app.py","api"],"exec_interpreter":"none","autorestart":true,"max_restarts":5,"exec_mode":"fork_mode",'
    '"instances":1,"unique_id":"d1932ce0-0fa6-40e6-a0b4-fa2dd05a4007","status":"online","pm_uptime":1795448165904,'
    '"created_at":1795448165904,"pm_id":0,"restart_time":0,"unstable_restarts":0,"version":"N/A",'
    '"env":{"MULTISTACK_INSTANCE":"3","PORT":"18302"}},"pm_id":0,"monit":{"memory":21319680,"cpu":0}},'
    '{"pid":0,"name":"e2etry-admin-3","pm2_env":{"name":"e2etry-admin-3","namespace":"e2etry-dev-3","cwd":"/tmp/e2etry",'
    '"args":["app.py","admin"],"exec_interpreter":"none","autorestart":true,"max_restarts":5,"exec_mode":"fork_mode",'
    '"instances":1,"unique_id":"716bf95d-3e9b-4d73-a2aa-06227d3f13f4","status":"stopped","pm_uptime":1795448165907,'
    '"created_at":1795448165907,"pm_id":1,"restart_time":0,"unstable_restarts":0,"version":"N/A",'
    '"env":{"MULTISTACK_INSTANCE":"3","PORT":"18303"}},"pm_id":1,"monit":{"memory":0,"cpu":0}}]\n'
)

# What `pm2 jlist` prints on stdout when it has to spawn the daemon first (fresh PM2_HOME).
JLIST_SPAWNING = ("\x1b[32m[PM2] \x1b[39mSpawning PM2 daemon with pm2_home=/tmp/pm2x\n"
                  "\x1b[32m[PM2] \x1b[39mPM2 Successfully daemonized\n")


def context(answers: dict[str, Any] | None = None, dry: bool = False, ps: str = PS_SAMPLE,
            jlist: str = JLIST_SAMPLE) -> RecordingContext:
    """Engines present, the samples above as the engine's state, every other command succeeding."""
    table: dict[Any, Any] = {re.compile(f".*?(?:{k})"): v for k, v in (answers or {}).items()}  # search, not match
    table.setdefault(re.compile(r"docker compose version --short$"), Result("2.40.3\n"))
    table.setdefault(re.compile(r"docker info "), Result("20.10.24\n"))
    table.setdefault(re.compile(r"docker ps -a "), Result(ps))
    table.setdefault(re.compile(r"\S*pm2 jlist$"), Result(jlist))
    table[re.compile(".*")] = Result("")
    return RecordingContext(config=Config(overrides={"run": {"dry": dry}}), run=table, repeat=True)


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The e2e test stack as project ``e2etry``; engines found on PATH; every port free and answering."""
    root = tmp_path / "stack"
    shutil.copytree(E2E_STACK, root)
    text = (root / "stack.yaml").read_text()
    (root / "stack.yaml").write_text(text.replace("\nproject: e2e\n", "\nproject: e2etry\n"))
    monkeypatch.chdir(root)
    for key in ("MULTISTACK_FILE", "MULTISTACK_INSTANCE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr("multistack.io.tools.shutil.which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(hostports, "is_free", lambda port, host="127.0.0.1": True)
    monkeypatch.setattr(hostports, "accepts", lambda port, host="127.0.0.1", timeout=0.5: True)
    return root


@pytest.fixture
def stack(stack_dir: Path):
    return load_stack(stack_dir / "stack.yaml")


def dev(c: Context, stack, words: str, **options: Any) -> None:
    """``inv dev WORDS`` through the same parser as the CLI."""
    from multistack.cli.words import parse_words

    split = words.split()
    all_flag = "--all" in split
    command = parse_words([w for w in split if w != "--all"], all_flag, stack)
    lifecycle.dispatch(c, stack, command, **options)


def project_args(root: Path, n: int) -> str:
    folder = root / ".instances" / f"instance-{n}"
    return (f"docker compose -p e2etry-dev-{n} -f {root}/compose.yml -f {folder}/docker-compose.override.yml "
            f"--env-file {folder}/instance.env")


# --------------------------------------------------------------------------
# Parsing what the engines print


def test_parse_containers_sample():
    rows = parse_containers("WARNING: something first\n" + PS_SAMPLE + "not json {\n")
    assert len(rows) == 6
    assert rows[0] == {"project": "e2etry-dev-3", "service": "store", "name": "e2etry-dev-3-store-1",
                       "state": "running", "status": "Up 3 seconds (healthy)", "ports": "127.0.0.1:18301->8081/tcp"}


@pytest.mark.parametrize("status, health", [
    ("Up 3 seconds (healthy)", "healthy"),
    ("Up 2 seconds (health: starting)", "starting"),
    ("Up 40 seconds (unhealthy)", "unhealthy"),
    ("Up 2 minutes", ""),
    ("Exited (143) Less than a second ago", ""),
])
def test_health_of(status, health):
    assert health_of(status) == health


@pytest.mark.parametrize("prefix", ["", JLIST_SPAWNING, "[PM2] In-memory PM2 is out-of-date, do:\n[PM2] $ pm2 update\n"])
def test_parse_jlist_after_notices(prefix):
    processes = parse_jlist(prefix + JLIST_SAMPLE)
    assert [(p["name"], p["pm2_env"]["status"]) for p in processes] == [("e2etry-api-3", "online"), ("e2etry-admin-3", "stopped")]


@pytest.mark.parametrize("text", ["", JLIST_SPAWNING + "[]\n", "[PM2][ERROR] Daemon not launched\n", "[1, 2"])
def test_parse_jlist_nothing(text):
    assert parse_jlist(text) == []


def test_collect_groups_by_instance_and_ignores_other_projects(stack):
    states = collect(stack, parse_containers(PS_SAMPLE), parse_jlist(JLIST_SAMPLE), {1})
    assert sorted(states) == [1, 3]
    three = states[3].to_json()
    assert [(s["service"], s["state"], s["health"]) for s in three["services"]] == [
        ("store", "running", "healthy"), ("web", "exited", "")]
    assert [(a["name"], a["status"], a["pid"]) for a in three["apps"]] == [("e2etry-admin-3", "stopped", 0), ("e2etry-api-3", "online", 670)]
    assert (three["running"], three["healthy"]) == (True, False)
    assert states[1].to_json()["services"] == [] and not states[1].running


# --------------------------------------------------------------------------
# status: one docker ps and one pm2 jlist, whatever the number of instances


def test_status_all_makes_two_process_calls_for_many_instances(stack, capsys):
    for n in range(10):
        (stack.instance_dir(n)).mkdir(parents=True)
    c = context()
    with pytest.raises(NotHealthy) as info:  # issue 13: not every declared service/app is up -> exit 6
        dev(c, stack, "status --all", json=True)
    assert info.value.exit_code == 6 and "instance 3 is degraded (service web exited" in info.value.message
    assert c.commands == [PS, f"{PM2} jlist"]
    data = json.loads(capsys.readouterr().out)
    assert [d["instance"] for d in data] == list(range(10))
    three = data[3]
    assert three["project_name"] == "e2etry-dev-3" and three["running"] and not three["healthy"]
    assert [a["name"] for a in three["apps"]] == ["e2etry-admin-3", "e2etry-api-3"]
    assert all(not d["running"] and d["services"] == [] and d["apps"] == [] for d in data if d["instance"] != 3)
    assert three["status"] == "degraded" and {"kind": "app", "name": "e2etry-admin-3", "state": "stopped"} in three["missing"]
    assert all(d["status"] == "down" for d in data if d["instance"] != 3)


def test_status_of_one_instance(stack, capsys):
    c = context()
    with pytest.raises(NotHealthy):  # issue 13: degraded is exit 6, after the report
        dev(c, stack, "3 status")
    assert c.commands == [PS, f"{PM2} jlist"]
    out = capsys.readouterr().out
    assert out.startswith("instance 3 (e2etry-dev-3): degraded (service web exited, app e2etry-admin-3 stopped)\n")
    assert "e2etry-dev-3-web-1" in out and "sysexp" not in out


def test_status_all_engine_down_is_an_engine_error(stack):
    c = context({r"docker ps -a ": Result("", stderr="Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                                                      "Is the docker daemon running?\n", exited=1)})
    with pytest.raises(EngineError, match="Docker engine not reachable: Cannot connect") as info:
        dev(c, stack, "status --all")
    assert info.value.exit_code == 3


# --------------------------------------------------------------------------
# start / stop / clean: the exact commands


def test_start_exact_commands(stack, stack_dir, capsys):
    c = context(jlist="[]\n")
    dev(c, stack, "1 start")
    folder = stack_dir / ".instances" / "instance-1"
    polls = [cmd for cmd in c.commands if "label=com.docker.compose.project=e2etry-dev-1 " in cmd]
    assert polls  # the progress: one `docker ps` of the project a tick, beside `up --wait`
    assert [cmd for cmd in c.commands if cmd not in polls] == [
        "docker compose version --short",
        PS,
        f"{PM2} jlist",
        f"{project_args(stack_dir, 1)} up -d --remove-orphans --wait --wait-timeout 300",
        f"{PM2} startOrRestart {folder}/pm2.config.cjs --update-env",
    ]
    assert (folder / "docker-compose.override.yml").is_file() and (folder / "logs").is_dir()
    out = capsys.readouterr().out
    assert "create  instance-1/docker-compose.override.yml" in out and "web      18100" in out


def test_start_refused_on_a_taken_port_writes_and_runs_nothing(stack, stack_dir, monkeypatch):
    monkeypatch.setattr(hostports, "is_free", lambda port, host="127.0.0.1": port != 18201)
    monkeypatch.setattr(hostports, "holder_of", lambda port: "python3 (pid 42)")
    c = context(jlist="[]\n")
    with pytest.raises(ConflictError) as info:
        dev(c, stack, "2 start")
    assert info.value.exit_code == 4
    assert info.value.message == ("instance 2 cannot start: port 18201 (store) is already in use, "
                                  "held by python3 (pid 42)")
    assert not any(" up " in cmd or "startOrRestart" in cmd for cmd in c.commands)
    assert not (stack_dir / ".instances" / "instance-2").exists()


def test_start_keeps_the_ports_the_instance_holds_itself(stack, monkeypatch):
    checked: list[int] = []
    monkeypatch.setattr(hostports, "is_free", lambda port, host="127.0.0.1": checked.append(port) or False)
    c = context()  # instance 3: store running, e2etry-api-3 online -> store, api and admin are its own
    with pytest.raises(ConflictError, match=r"port 18300 \(web\) is already in use"):
        dev(c, stack, "3 start")
    assert checked == [18300]


def test_start_refused_while_locked(stack):
    c = context()
    with instance_lock(stack, 1, "stop"):
        with pytest.raises(ConflictError, match=r"instance 1 is busy: `stop` \(pid \d+"):
            dev(c, stack, "1 start")
    assert c.commands == []


def test_start_compose_failure_is_one_line_exit_1(stack, monkeypatch):
    monkeypatch.setattr("multistack.io.pm2home.daemon_running", lambda env=None: True)  # the user's daemon
    c = context({r" up -d ": Result("", stderr="container e2etry-dev-1-web-1 is unhealthy\n", exited=1)}, jlist="[]\n")
    with pytest.raises(CommandFailed) as info:
        dev(c, stack, "1 start")
    assert info.value.message == ("instance 1: service web did not become healthy (container e2etry-dev-1-web-1 "
                                  "is unhealthy); rolled back: containers removed, apps deleted; files kept in "
                                  ".instances/instance-1")  # issue 13: named, rolled back
    assert info.value.exit_code == 1
    assert not any("startOrRestart" in cmd for cmd in c.commands)


def test_start_fails_when_an_app_dies(stack, monkeypatch):
    monkeypatch.setattr(hostports, "accepts", lambda port, host="127.0.0.1", timeout=0.5: port != 18103)
    errored = JLIST_SAMPLE.replace('"name":"e2etry-admin-3"', '"name":"e2etry-admin-1"').replace('"stopped"', '"errored"')
    errored = errored.replace('"restart_time":0,"unstable_restarts":0,"version":"N/A","env":{"MULTISTACK_INSTANCE":"3","PORT":"18303"}',
                              '"restart_time":5,"unstable_restarts":0,"version":"N/A","env":{}')
    c = context(jlist=errored)
    inst = plan_instance(stack, 1)
    with pytest.raises(CommandFailed) as info:
        lifecycle.wait_for_apps(c, inst, Engines(pm2=(PM2,)), timeout=5)
    assert info.value.message == ("instance 1: PM2 app stopped running: e2etry-admin-1 (port 18103): "
                                  "pm2 status errored, 5 restarts")


def test_start_gives_up_on_an_app_that_never_listens(stack, monkeypatch):
    monkeypatch.setattr(hostports, "accepts", lambda port, host="127.0.0.1", timeout=0.5: port != 18102)
    c = context(jlist="[]\n")
    with pytest.raises(CommandFailed, match=r"did not answer on its port within 0s: e2etry-api-1 \(port 18102\): "
                                            r"pm2 status unknown"):
        lifecycle.wait_for_apps(c, plan_instance(stack, 1), Engines(pm2=(PM2,)), timeout=0)
    assert c.commands == [f"{PM2} jlist"]


def test_app_ports_are_the_host_services_named_like_apps(stack):
    assert lifecycle.app_ports(plan_instance(stack, 4)) == {"e2etry-api-4": 18402, "e2etry-admin-4": 18403}


def test_stop_exact_commands(stack, stack_dir):
    dev(context(), stack, "3 init")
    c = context()
    dev(c, stack, "3 stop")
    assert c.commands == [
        "docker compose version --short",
        "docker info --format '{{.ServerVersion}}'",
        f"{PM2} jlist",
        f"{PM2} stop '/^(e2etry\\-api\\-3|e2etry\\-admin\\-3)$/'",
        f"{project_args(stack_dir, 3)} --profile '*' down --remove-orphans",
    ]


def test_stop_without_pm2_apps_or_folder(stack):
    c = context(jlist="[]\n")
    dev(c, stack, "stop 5")
    assert c.commands[2:] == [f"{PM2} jlist", "docker compose -p e2etry-dev-5 --profile '*' down --remove-orphans"]


def test_clean_exact_commands(stack, stack_dir, capsys):
    dev(context(), stack, "3 init")
    c = context()
    dev(c, stack, "clean 3", yes=True)
    assert c.commands[2:] == [
        f"{PM2} jlist",
        f"{PM2} delete '/^(e2etry\\-api\\-3|e2etry\\-admin\\-3)$/'",
        f"{project_args(stack_dir, 3)} --profile '*' down --remove-orphans --volumes",
    ]
    assert not (stack_dir / ".instances" / "instance-3").exists()
    assert f"removed {stack_dir}/.instances/instance-3" in capsys.readouterr().out


def test_clean_without_folder_removes_labelled_volumes(stack):
    volumes = r"docker volume ls --filter label=com.docker.compose.project=e2etry-dev-3 "
    c = context({volumes: Result("e2etry-dev-3_data\n")})
    dev(c, stack, "3 clean", yes=True)
    assert c.commands[4:] == [
        "docker compose -p e2etry-dev-3 --profile '*' down --remove-orphans --volumes",
        "docker volume ls --filter label=com.docker.compose.project=e2etry-dev-3 --format '{{.Name}}'",
        "docker volume rm e2etry-dev-3_data",
    ]


def test_clean_refuses_without_yes_when_stdin_is_not_a_terminal(stack, stack_dir, monkeypatch):
    dev(context(), stack, "1 init")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    c = context()
    with pytest.raises(StackError, match="clean of instance 1 needs confirmation and stdin is not a terminal") as info:
        dev(c, stack, "1 clean")
    assert info.value.exit_code == 2 and info.value.hint == "rerun with --yes"
    assert c.commands == [] and (stack_dir / ".instances" / "instance-1").is_dir()


# --------------------------------------------------------------------------
# --all


def test_stop_all_one_query_one_pm2_stop_then_a_down_per_instance(stack, stack_dir, capsys):
    for n in (1, 2):
        dev(context(), stack, f"{n} init")
    c = context()
    dev(c, stack, "stop --all")
    head, downs = c.commands[:4], c.commands[4:]
    assert head == ["docker compose version --short", PS, f"{PM2} jlist", f"{PM2} stop '/^(e2etry\\-api\\-3)$/'"]
    assert sorted(downs) == [  # in parallel: any order
        f"{project_args(stack_dir, 1)} --profile '*' down --remove-orphans",
        f"{project_args(stack_dir, 2)} --profile '*' down --remove-orphans",
        "docker compose -p e2etry-dev-3 --profile '*' down --remove-orphans",  # no folder: found by its labels
    ]
    # The parallel jobs get prefixed streams and no stdin (no terminal mode fights).
    kwargs = [call.kwargs for call in c.run.call_args_list[4:]]
    assert all(k["in_stream"] is False and isinstance(k["out_stream"], PrefixWriter) for k in kwargs)
    assert capsys.readouterr().out.splitlines()[-1] == "stop --all: 3 ok, 0 failed"


def test_stop_all_reports_failed_instances(stack, capsys):
    c = context({r"-p e2etry-dev-3 .* down": Result("", stderr="boom\n", exited=1)})
    with pytest.raises(CommandFailed, match="stop --all failed for some instances") as info:
        dev(c, stack, "stop --all")
    assert info.value.exit_code == 1
    captured = capsys.readouterr()
    assert "stop --all: 0 ok, 1 failed (instances 3)" in captured.out
    assert "[3] error: command failed with exit code 1" in captured.err


def test_clean_all_deletes_every_app_of_every_instance(stack, stack_dir):
    dev(context(), stack, "1 init")
    volumes_all = shlex.join(compose.volumes_all("docker"))
    c = context({re.escape(volumes_all): Result('"e2etry-dev-7" e2etry-dev-7_data\n"other" other_x\n')})
    dev(c, stack, "clean --all", yes=True)
    assert c.commands[:4] == ["docker compose version --short", PS, f"{PM2} jlist", volumes_all]
    jobs = c.commands[4:]
    assert f"{PM2} delete '/^(e2etry\\-admin\\-3|e2etry\\-api\\-3)$/'" in jobs  # stopped apps too
    assert f"{project_args(stack_dir, 1)} --profile '*' down --remove-orphans --volumes" in jobs
    assert "docker compose -p e2etry-dev-7 --profile '*' down --remove-orphans --volumes" in jobs  # a volume alone
    assert not (stack_dir / ".instances" / "instance-1").exists()


# --------------------------------------------------------------------------
# --dry: the exact commands, printed, nothing run or written


def dry_context() -> Context:
    return Context(Config(overrides={"run": {"dry": True}}))


def echoed(out: str) -> list[str]:
    """The commands invoke echoed (bold white) under --dry."""
    return re.findall(r"\x1b\[1;37m(.*?)\x1b\[0m", out)


def test_dry_start_prints_exact_commands_and_writes_nothing(stack, stack_dir, capsys):
    dev(dry_context(), stack, "1 start")
    out = capsys.readouterr().out
    folder = stack_dir / ".instances" / "instance-1"
    assert echoed(out) == [
        f"{project_args(stack_dir, 1)} up -d --remove-orphans --wait --wait-timeout 300",
        f"{PM2} startOrRestart {folder}/pm2.config.cjs --update-env",
    ]
    assert "would  create  instance-1/pm2.config.cjs" in out
    assert not (stack_dir / ".instances").exists()


def test_dry_stop_and_clean(stack, stack_dir, capsys):
    dev(context(), stack, "2 init")
    capsys.readouterr()
    dev(dry_context(), stack, "2 stop")
    assert echoed(capsys.readouterr().out) == [
        f"{PM2} stop '/^(e2etry\\-api\\-2|e2etry\\-admin\\-2)$/'",
        f"{project_args(stack_dir, 2)} --profile '*' down --remove-orphans",
    ]
    dev(dry_context(), stack, "2 clean")  # --dry needs no --yes: it asks nothing and removes nothing
    out = capsys.readouterr().out
    assert echoed(out) == [
        f"{PM2} delete '/^(e2etry\\-api\\-2|e2etry\\-admin\\-2)$/'",
        f"{project_args(stack_dir, 2)} --profile '*' down --remove-orphans --volumes",
    ]
    assert f"would remove {stack_dir}/.instances/instance-2" in out
    assert (stack_dir / ".instances" / "instance-2").is_dir()


def test_dry_stop_all(stack, stack_dir, capsys):
    for n in (1, 2):
        dev(context(), stack, f"{n} init")
    capsys.readouterr()
    dev(dry_context(), stack, "stop --all")
    out = capsys.readouterr().out
    commands = echoed(out)
    assert commands[0] == f"{PM2} stop '/^(e2etry\\-api\\-1|e2etry\\-admin\\-1|e2etry\\-api\\-2|e2etry\\-admin\\-2)$/'"
    assert sorted(commands[1:]) == [f"{project_args(stack_dir, n)} --profile '*' down --remove-orphans" for n in (1, 2)]
    assert out.splitlines()[-1] == "stop --all: 2 ok, 0 failed"


# --------------------------------------------------------------------------
# [N] prefixed output of parallel jobs


def test_prefix_writer_keeps_lines_whole_across_chunks_and_flushes():
    target = io.StringIO()
    writer = PrefixWriter("[7] ", target)
    # invoke writes chunks cut anywhere and flushes after each one.
    for chunk in (" Container a  Sto", "pped\r", "\n Container b  Removed\n Net", "work x"):
        writer.write(chunk)
        writer.flush()
    assert target.getvalue() == "[7]  Container a  Stopped\n[7]  Container b  Removed\n"
    writer.close()
    assert target.getvalue().splitlines()[-1] == "[7]  Network x"
    writer.close()
    assert len(target.getvalue().splitlines()) == 3


def test_fan_out_prefixes_every_line_and_reports_errors(capsys):
    def job(n: int, out, err) -> None:
        out.write(f"line one of {n}\nline two")
        if n == 2:
            raise StackError("bad thing", "fix it")

    outcomes = fan_out([1, 2, 3], job, lambda exc: exc.line() if isinstance(exc, StackError) else str(exc))
    assert [(o.instance, o.ok) for o in outcomes] == [(1, True), (2, False), (3, True)]
    captured = capsys.readouterr()
    assert sorted(captured.out.splitlines()) == sorted(
        f"[{n}] {text}" for n in (1, 2, 3) for text in (f"line one of {n}", "line two"))
    assert captured.err == "[2] error: bad thing (fix: fix it)\n"


def test_is_free_ignores_time_wait_but_not_listeners():
    import socket

    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as docker-proxy and http.server do
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert not hostports.is_free(port)
        with socket.create_connection(("127.0.0.1", port)):
            conn, _ = listener.accept()
            conn.close()  # the server side closes first: its end waits in TIME_WAIT on `port`
    assert hostports.is_free(port)
