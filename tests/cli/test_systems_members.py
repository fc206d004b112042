"""Per-member system commands (logs, restart, exec, down --volumes), member names, volume names, namespaces.

The task bodies run with the recording context of tests/act/test_systems.py (nothing
real runs); the whole program runs in-process where the command line itself matters
(`--` and the exact words after it).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest
from invoke import Collection, Result
from invoke.exceptions import Exit

from multistack.act import systems as core
from multistack.cli import system as tasks
from multistack.cli.argv import remainder_words
from multistack.cli.program import task
from multistack.errors import StackError
from multistack.model.stack import load_stack
from tests.act.test_systems import (  # noqa: F401 - fixtures
    COMPOSE,
    MW_TEMPLATE,
    NETWORK_MISSING,
    SUITE,
    Recorder,
    no_engines,
    parse_error,
    ps_line,
    suite,
    with_system,
)
from tests.cli.test_program import run_program

RUNNING = ("docker ps", Result("\n".join([ps_line("acme-suite-storer", "rest"), ps_line("acme-suite-retriever", "rest")])))
STORER_ONLY = ("docker ps", Result(ps_line("acme-suite-storer", "rest")))
COMPOSE_OF = "docker compose -p acme-suite-{0} -f {1}/compose.yml -f {1}/.instances/system-suite/{0}/docker-compose.member.yml"


def compose_of(suite_stack, member: str) -> str:
    return COMPOSE_OF.format(member, suite_stack.root)


# --------------------------------------------------------------------------
# Member names: as the document writes them, or as host names


@pytest.mark.parametrize("written", ["retriever", "RETRIEVER", "Retriever", "retriever"])
def test_a_member_by_any_spelling_of_its_name(suite, written):
    assert suite.systems["suite"].member(written).name == "retriever"


def test_dun_a_lon_b_and_lon_underscore_b_are_one_member(make_stack):
    text = SUITE.replace("storer: {slot: 1, vars: {ebus: 1}, env: {ROLE: master}}", "LON-B: {slot: 1, vars: {ebus: 1}}")
    stack = load_stack(make_stack(text.replace("hub: storer", "hub: lon-b"),
                                  {"compose.yml": COMPOSE, "mw.conf.j2": MW_TEMPLATE}))
    system = stack.systems["suite"]
    assert {system.member(w).callsign for w in ("LON-B", "lon-b", "lon_b", "Lon-B")} == {"LON-B"}
    with pytest.raises(StackError, match="system suite has no member 'lon-c'"):
        system.member("lon-c")


def test_the_words_name_system_then_member(suite):
    assert tasks._load_member(["suite", "RETRIEVER"], "logs")[2] == "retriever"
    assert tasks._load_member(["retriever"], "logs")[2] == "retriever"  # the only system may be left out
    assert tasks._load_member(["suite"], "logs")[2] is None
    assert tasks._load_member(None, "logs")[2] is None
    with pytest.raises(StackError, match="one member at a time, got storer retriever"):
        tasks._load_member(["suite", "storer", "retriever"], "logs")
    with pytest.raises(StackError, match=r"which member of system suite\? \(storer, retriever\)"):
        tasks._load_member(["suite"], "exec", required=True)
    with pytest.raises(StackError, match="system suite has no member 'nope'"):
        tasks._load_member(["nope"], "logs")


# --------------------------------------------------------------------------
# logs


def test_logs_of_one_member_and_of_all(suite, no_engines, capsys):
    c = Recorder()
    tasks.logs(c, arg=["suite", "storer"], tail="5")  # never up: no files, by project name (no error, no lines)
    assert c.commands == ["docker compose -p acme-suite-storer logs --no-color --tail 5"]
    tasks.up(Recorder([NETWORK_MISSING]), arg=["suite"])
    c = Recorder()
    tasks.logs(c, arg=["suite", "storer"], tail="5")
    assert c.commands == [f"{compose_of(suite, 'storer')} -f {suite.root}/.instances/system-suite/storer/"
                          f"docker-compose.system.yml --env-file {suite.root}/.instances/system-suite/storer/member.env "
                          "logs --no-color --tail 5"]
    c = Recorder()
    tasks.logs(c, arg=["suite"], follow=True)
    # followed logs run side by side (cli/system._each_member): each member once, in no fixed order
    assert sorted(cmd.split()[3] for cmd in c.commands) == ["acme-suite-retriever", "acme-suite-storer"]
    assert all(cmd.endswith("logs --no-color --follow") for cmd in c.commands)


def test_logs_as_json(suite, no_engines, capsys):
    import jsonschema

    text = ("rest-1     | GET / 200\ngateway-1  | [NOTICE] started\nacme-suite-storer-mq-12 | old compose prefix\n"
            "a line of its own\n")
    c = Recorder([("acme-suite-storer.* logs", Result(text))])
    tasks.logs(c, arg=["suite", "storer"], json=True, tail="3")
    data = json.loads(capsys.readouterr().out)
    root = Path(__file__).resolve().parents[2]
    jsonschema.validate(data, json.loads((root / "multistack/schema/output/system.logs.json").read_text()))
    assert data == {"system": "suite", "members": [{
        "name": "storer", "callsign": "storer", "project_name": "acme-suite-storer", "lines": [
            {"service": "rest", "container": "rest-1", "text": "GET / 200"},
            {"service": "gateway", "container": "gateway-1", "text": "[NOTICE] started"},
            {"service": "mq", "container": "acme-suite-storer-mq-12", "text": "old compose prefix"},
            {"service": "", "container": "", "text": "a line of its own"}]}]}
    assert c.commands[0].endswith("logs --no-color --tail 3")


def test_logs_mistakes(suite, no_engines):
    with pytest.raises(Exit) as info:
        tasks.logs(Recorder(), arg=["suite"], json=True, follow=True)
    assert info.value.code == 2 and "--json and --follow do not go together" in str(info.value.message)
    with pytest.raises(Exit) as info:
        tasks.logs(Recorder(), arg=["suite"], tail="five")
    assert info.value.code == 2 and "--tail 'five' is not a number of lines" in str(info.value.message)
    with pytest.raises(Exit) as info:
        tasks.logs(Recorder([("logs", Result(exited=1, stderr="Cannot connect to the Docker daemon"))]),
                   arg=["suite", "storer"], json=True)
    assert info.value.code == 1 and "Cannot connect to the Docker daemon" in str(info.value.message)


# --------------------------------------------------------------------------
# restart


def test_restart_one_member_or_all(suite, no_engines, capsys):
    c = Recorder([RUNNING])
    tasks.restart(c, arg=["suite", "RETRIEVER"])
    restarts = [cmd for cmd in c.commands if cmd.endswith(" restart")]
    assert len(restarts) == 1 and restarts[0].startswith(compose_of(suite, "retriever"))
    assert "system suite: restarted retriever" in capsys.readouterr().out
    c = Recorder([RUNNING])
    tasks.restart(c, arg=["suite"])
    assert [cmd.split()[3] for cmd in c.commands if cmd.endswith(" restart")] == [
        "acme-suite-storer", "acme-suite-retriever"]
    assert len([cmd for cmd in c.commands if cmd.startswith("docker ps")]) == 1  # one query for all members


def test_restart_of_a_member_that_does_not_run_is_refused(suite, no_engines):
    c = Recorder([STORER_ONLY])
    with pytest.raises(Exit) as info:
        tasks.restart(c, arg=["suite"])
    assert info.value.code == 2
    assert str(info.value.message) == ("error: system suite: retriever not running "
                                       "(fix: start it with `inv system.up suite`)")
    assert not [cmd for cmd in c.commands if "restart" in cmd]


def test_a_failed_restart_names_the_member(suite, no_engines, capsys):
    c = Recorder([RUNNING, ("acme-suite-retriever .* restart", Result(exited=1, stderr="boom"))])
    with pytest.raises(Exit) as info:
        tasks.restart(c, arg=["suite"])
    assert info.value.code == 1 and "restart failed for retriever" in str(info.value.message)


# --------------------------------------------------------------------------
# exec


def test_exec_runs_the_words_after_the_double_dash_and_exits_with_their_code(suite, no_engines):
    c = Recorder([RUNNING, ("exec", Result(exited=3))])
    c._set(remainder="sh -c 'echo a b; exit 3'")
    with pytest.raises(Exit) as info:
        tasks.exec_(c, arg=["suite", "storer"], service="rest")
    assert info.value.code == 3
    assert c.commands[-1].endswith(" exec -T rest sh -c 'echo a b; exit 3'")
    c = Recorder([RUNNING])
    c._set(remainder="ping -c1 retriever")
    tasks.exec_(c, arg=["storer"])  # default service: the first shared one (rest)
    assert c.commands[-1].startswith(compose_of(suite, "storer"))
    assert c.commands[-1].endswith(" exec -T rest ping -c1 retriever")


def test_exec_mistakes(suite, no_engines):
    c = Recorder([RUNNING])
    with pytest.raises(Exit) as info:
        tasks.exec_(c, arg=["suite", "storer"])
    assert str(info.value.message) == ("error: no command to run (fix: put it after --: "
                                       "`inv system.exec suite storer -- ping -c1 retriever`)")
    c._set(remainder="true")
    with pytest.raises(Exit) as info:
        tasks.exec_(c, arg=["suite", "storer"], service="nope")
    assert "system suite has no service 'nope'" in str(info.value.message)
    c = Recorder([STORER_ONLY])
    c._set(remainder="true")
    with pytest.raises(Exit, match="retriever not running"):
        tasks.exec_(c, arg=["suite", "retriever"])


def test_exec_service_choice(suite, make_stack):
    plan = core.plan_system(suite, suite.systems["suite"])
    assert core.exec_service(plan, None) == "rest"
    assert core.exec_service(plan, "mq") == "mq" and core.exec_service(plan, "gateway") == "gateway"
    bare = load_stack(make_stack(with_system("shared_services: []"), {"compose.yml": COMPOSE, "mw.conf.j2": MW_TEMPLATE}))
    with pytest.raises(StackError, match=r"which service of system suite\? its members run mq, rest, smc"):
        core.exec_service(core.plan_system(bare, bare.systems["suite"]), None)


def test_the_words_after_double_dash_reach_the_task_exactly(capsys, minimal_stack):
    """invoke joins them with spaces; argv.keep_remainder keeps them as given (quotes, empty words)."""
    seen: list[list[str]] = []

    @task
    def echo(c):  # type: ignore[no-untyped-def]
        seen.append(remainder_words(c))

    code, _, err = run_program(["echo", "--", "sh", "-c", "echo a  b", ""], capsys, Collection(echo))
    assert code == 0, err
    assert seen == [["sh", "-c", "echo a  b", ""]]
    run_program(["echo"], capsys, Collection(echo))
    assert seen[-1] == []


# --------------------------------------------------------------------------
# down --volumes asks first


def test_down_volumes_needs_yes_off_a_terminal(suite, no_engines, monkeypatch):
    monkeypatch.setattr("sys.stdin", None)
    c = Recorder()
    with pytest.raises(Exit) as info:
        tasks.down(c, arg=["suite"], volumes=True)
    assert info.value.code == 2 and "system.down --volumes needs confirmation" in str(info.value.message)
    assert c.commands == []
    tasks.down(Recorder(dry=True), arg=["suite"], volumes=True)  # --dry removes nothing: no question


# --------------------------------------------------------------------------
# Volume names


LONG_VOLUME = 'volumes: {data: {name: "acme-{{ name }}-data", mounts: {mq: /data}}}'


def test_a_volume_name_template_is_exact_and_in_the_merged_model(make_stack):
    stack = load_stack(make_stack(with_system(LONG_VOLUME), {"compose.yml": COMPOSE, "mw.conf.j2": MW_TEMPLATE}))
    plan = core.plan_system(stack, stack.systems["suite"])
    assert [dict(mp.volume_names) for mp in plan.members] == [{"data": "acme-storer-data"}, {"data": "acme-retriever-data"}]
    text = core.render_system(plan)["storer/docker-compose.member.yml"].text
    assert 'volumes:\n  "data":\n    name: "acme-storer-data"\n' in text
    short = load_stack(make_stack(SUITE, {"compose.yml": COMPOSE, "mw.conf.j2": MW_TEMPLATE}))
    plan = core.plan_system(short, short.systems["suite"])
    assert plan.member("storer").volume_names == {"data": "acme-suite-storer_data"}
    assert 'volumes:\n  "data": {}\n' in core.render_system(plan)["storer/docker-compose.member.yml"].text


@pytest.mark.parametrize("extra, message", [
    ('volumes: {data: {name: "acme-data", mounts: {mq: /data}}}',
     "stack.yaml: systems.suite.volumes.data: docker volume 'acme-data' would be both volume data of member storer "
     "of system suite and volume data of member retriever of system suite (fix: make the name: template differ per "
     "member, e.g. with {{ name }})"),
    ('volumes: {data: {name: "{{ name }}-x", mounts: {mq: /data}}, logs: {name: "{{ name }}-x", mounts: {rest: /l}}}',
     "docker volume 'storer-x' would be both volume data of member storer of system suite and volume logs of member "
     "storer"),
    ('volumes: {data: {name: "acme suite {{ name }}", mounts: {mq: /data}}}',
     "stack.yaml: systems.suite.volumes.data.name: 'acme suite storer' (member storer) is not a valid docker volume name"),
    ('volumes: {data: {name: "{{ nope }}", mounts: {mq: /data}}}',
     "stack.yaml: systems.suite.volumes.data.name:"),
    ('volumes: {data: {name: "x-{{ name }}", mounts: {}}}', "systems.suite.volumes.data.mounts: must map services"),
    ('volumes: {data: {name: "x-{{ name }}", mounts: {mq: /data}, size: 3}}',
     "systems.suite.volumes.data: unknown key 'size'"),
    ('volumes: {data: {name: "acme-suite-retriever_data", mounts: {mq: /data}}}',
     "docker volume 'acme-suite-retriever_data' would be both"),  # a template that hits another's default
])
def test_volume_name_mistakes(make_stack, extra, message):
    assert message in parse_error(make_stack, with_system(extra), plan=True)


def test_volume_names_are_unique_across_systems(make_stack):
    text = with_system(LONG_VOLUME)
    text += ("  other:\n    compose_files: [compose.yml]\n    project_network: appnet\n    network: othernet\n"
             "    gateway: {forward: ['80:rest:80']}\n"
             "    volumes: {data: {name: 'acme-{{ name }}-data', mounts: {mq: /data}}}\n"
             "    members: {storer: {slot: 5}}\n")
    assert "docker volume 'acme-storer-data' would be both volume data of member storer of system suite and " \
           "volume data of member storer of system other" in parse_error(make_stack, text, plan=True)


# --------------------------------------------------------------------------
# Members' own namespaces


def test_member_namespace_templates_are_rendered_per_member_and_checked(make_stack: Callable[..., Path]) -> None:
    from multistack.plan.namespaces import check_stack
    from multistack.plan.systems import member_namespaces

    text = with_system("members: {storer: {slot: 1, namespace: 'acme-{{ name }}'}, "
                       "retriever: {slot: 2, namespace: 'acme-{{ name }}'}}")
    stack = load_stack(make_stack(text, {"compose.yml": COMPOSE, "mw.conf.j2": MW_TEMPLATE}))
    assert member_namespaces(stack) == [
        ("member storer of system suite (systems.suite.members.storer.namespace)", "acme-storer"),
        ("member retriever of system suite (systems.suite.members.retriever.namespace)", "acme-retriever")]
    check_stack(stack)
    plan = core.plan_system(stack, stack.systems["suite"])
    assert ("MULTISTACK_NAMESPACE", "acme-storer") in core.member_env(plan, plan.member("storer"))
    same = with_system("members: {storer: {slot: 1, namespace: 'acme-{{ system }}'}, "
                       "retriever: {slot: 2, namespace: 'acme-{{ system }}'}}")
    stack = load_stack(make_stack(same, {"compose.yml": COMPOSE, "mw.conf.j2": MW_TEMPLATE}))
    with pytest.raises(StackError) as info:
        check_stack(stack)
    assert info.value.line() == (
        "error: namespace 'acme-suite' is used by member storer of system suite (systems.suite.members.storer.namespace) "
        "and by member retriever of system suite (systems.suite.members.retriever.namespace) "
        "(fix: give one of them another namespace under `namespaces:` in stack.yaml)")
    bad = with_system("members: {storer: {slot: 1, namespace: 'Acme-{{ callsign }}'}}")
    stack = load_stack(make_stack(bad, {"compose.yml": COMPOSE, "mw.conf.j2": MW_TEMPLATE}))
    with pytest.raises(StackError, match="systems.suite.members.storer: namespace 'Acme-storer' contains 'A'"):
        check_stack(stack)
