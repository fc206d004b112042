"""The dashboard's data (act/dashboard.py): one query per engine and one ``pm2 jlist`` a tick, the rows.

The stack is a copy of tests/e2e/stack (project ``e2etry``) with a mesh and a system
added; the engine's answers are the samples of tests/act/test_lifecycle.py (captured
from a real engine and PM2 7) plus rows of the mesh's and the system's projects.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from invoke import Config, Result

from multistack.act import dashboard
from multistack.act.dashboard import Done, Observed, Watch, action_words, build, render_text
from multistack.io.status import parse_containers, parse_jlist
from multistack.io.tools import Engines
from multistack.model.stack import load_stack
from tests.act.test_lifecycle import JLIST_SAMPLE, PS_SAMPLE
from tests.recording import RecordingContext

E2E_STACK = Path(__file__).resolve().parents[1] / "e2e" / "stack"
EXTRA = """
systems:
  suite:
    compose_files: [compose.yml]
    gateway: {forward: ["80:web:8080"]}
    members:
      storer: {slot: 1}
      retriever: {slot: 2}

mesh:
  compose: [compose.yml]
  profiles:
    web: [web]
  environments:
    local: {compose: compose.yml, template: api.env}
"""
MORE_PS = """\
{"project":"e2etry-mesh","service":"web","name":"e2etry-mesh-web-1","state":"running","status":"Up 1 minute","ports":"127.0.0.1:9000->8080/tcp"}
{"project":"e2etry-suite-storer","service":"web","name":"e2etry-suite-storer-web-1","state":"running","status":"Up 1 minute (healthy)","ports":""}
{"project":"e2etry-suite-retriever","service":"web","name":"e2etry-suite-retriever-web-1","state":"exited","status":"Exited (1) 1 minute ago","ports":""}
"""


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "stack"
    shutil.copytree(E2E_STACK, root)
    text = (root / "stack.yaml").read_text().replace("\nproject: e2e\n", "\nproject: e2etry\n")
    (root / "stack.yaml").write_text(text + EXTRA)
    monkeypatch.chdir(root)
    for key in ("MULTISTACK_FILE", "MULTISTACK_INSTANCE"):
        monkeypatch.delenv(key, raising=False)
    return load_stack(root / "stack.yaml")


def context(ps: str = PS_SAMPLE + MORE_PS, jlist: str = JLIST_SAMPLE, ps_ok: bool = True) -> RecordingContext:
    table = {
        re.compile(r"docker ps -a "): Result(ps) if ps_ok else Result("", stderr="Cannot connect to the Docker daemon",
                                                                      exited=1),
        re.compile(r"\S*pm2 jlist$"): Result(jlist),
        re.compile(".*"): Result(""),
    }
    return RecordingContext(config=Config(overrides={"run": {"dry": False}}), run=table, repeat=True)


def test_a_tick_is_one_docker_ps_and_one_pm2_jlist_for_every_instance_mesh_and_system(stack):
    c = context()
    snapshot = Watch(c, stack, Engines(pm2=("pm2",))).tick()
    assert [cmd.split()[:2] for cmd in c.commands] == [["docker", "ps"], ["pm2", "jlist"]]
    assert [r.key for r in snapshot.rows] == ["instance-3", "mesh", "system-suite"]
    assert (snapshot.engine_calls, snapshot.pm2_calls) == (1, 1)


def test_instance_row_has_services_apps_with_cpu_memory_restarts_urls_and_a_summary(stack):
    snapshot = Watch(context(), stack, Engines()).tick()
    row = snapshot.row("instance-3")
    assert row is not None and row.status == "degraded"
    assert [(s.service, s.state, s.health, s.ports) for s in row.services] == [
        ("store", "running", "healthy", "127.0.0.1:18301->8081/tcp"), ("web", "exited", "", "")]
    assert [(a.name, a.status, a.restarts, a.memory, a.pid) for a in row.apps] == [
        ("e2etry-admin-3", "stopped", 0, 0, 0), ("e2etry-api-3", "online", 0, 21319680, 670)]
    assert [(u.service, u.port, u.url) for u in row.urls] == [
        ("web", 18300, "127.0.0.1:18300"), ("store", 18301, "127.0.0.1:18301"),
        ("api", 18302, "127.0.0.1:18302"), ("admin", 18303, "127.0.0.1:18303")]
    assert row.summary == ("degraded: 1/2 services, 1/2 apps, cpu 0%, 20 MiB "
                           "(service web exited, app e2etry-admin-3 stopped)")


def test_mesh_and_system_rows_come_from_the_same_docker_ps(stack):
    (stack.root / "env").mkdir()
    (stack.root / "env" / ".env").write_text("ENVIRONMENT=local\n")
    snapshot = Watch(context(), stack, Engines()).tick()
    mesh, suite = snapshot.row("mesh"), snapshot.row("system-suite")
    assert mesh is not None and suite is not None
    assert (mesh.status, mesh.summary) == ("healthy", "healthy: 1/1 containers up, environment local")
    assert suite.projects == ("e2etry-suite-storer", "e2etry-suite-retriever")
    assert [s.service for s in suite.services] == ["storer/web", "retriever/web"]
    assert (suite.status, suite.summary) == ("degraded", "degraded: 1/2 members running, 1/2 containers up")
    assert "sysexp" not in json.dumps(snapshot.to_json())  # another stack's projects are not shown


def test_idle_instances_with_a_folder_are_rows_and_nothing_running_is_down(stack):
    (stack.root / ".instances" / "instance-1").mkdir(parents=True)
    snapshot = Watch(context(ps="", jlist="[]\n"), stack, Engines()).tick()
    row = snapshot.row("instance-1")
    assert row is not None and (row.status, row.summary) == ("down", "down: 0/2 services, 0/2 apps")


def test_no_pm2_daemon_means_no_pm2_query(stack, monkeypatch):
    monkeypatch.setenv("PM2_HOME", str(stack.root / "no-daemon"))
    c = context()
    snapshot = Watch(c, stack, Engines()).tick()
    assert not any("jlist" in cmd for cmd in c.commands)
    assert snapshot.pm2_calls == 0


def test_an_engine_that_does_not_answer_makes_its_instances_unknown(stack):
    (stack.root / ".instances" / "instance-2").mkdir(parents=True)
    snapshot = Watch(context(ps_ok=False, jlist="[]\n"), stack, Engines()).tick()
    assert snapshot.unreachable == {"local": "Cannot connect to the Docker daemon"}
    row = snapshot.row("instance-2")
    assert row is not None and row.status == "unknown"
    assert "unreachable" in row.summary


def test_what_an_instance_declares_is_read_once_not_per_tick(stack, monkeypatch):
    calls = []
    real = dashboard.declared_instance
    monkeypatch.setattr(dashboard, "declared_instance", lambda *a: calls.append(a[1]) or real(*a))
    watch = Watch(context(), stack, Engines())
    for _ in range(3):
        watch.tick()
    assert calls == [3]
    watch.facts.forget(3)  # after an action on it
    watch.tick()
    assert calls == [3, 3]


def test_build_is_pure_over_many_instances(stack):
    rows = [json.dumps({"project": f"e2etry-dev-{n}", "service": "web", "name": f"e2etry-dev-{n}-web-1",
                        "state": "running", "status": "Up", "ports": ""}) for n in range(10)]
    observed = Observed(parse_containers("\n".join(rows)), parse_jlist(JLIST_SAMPLE), {}, 1, 1)
    facts = dashboard.Facts(stack)
    snapshot = build(stack, observed, facts.of)
    assert [r.instance for r in snapshot.rows if r.kind == "instance"] == list(range(10))
    assert "instance 9" in render_text(snapshot)


def test_action_words_are_the_cli_words_of_the_row():
    def row(kind: str, name: str) -> dashboard.Row:
        return dashboard.Row("k", kind, name, 2 if kind == "instance" else None, (), "down", "")

    assert action_words(row("instance", "2"), "stop") == ["dev", "2", "stop"]
    assert action_words(row("instance", "2"), "logs") == ["dev", "2", "logs", "--tail", "40"]
    assert action_words(row("system", "suite"), "start") == ["system.up", "suite"]
    assert action_words(row("mesh", "mesh"), "start") is None
    assert "inv mesh.up --profile" in dashboard.why_not(row("mesh", "mesh"), "start")


def test_perform_runs_the_program_for_this_stack_and_keeps_its_error_line(stack):
    table = {re.compile(".*dev 2 stop$"): Result("", stderr="error: instance 2 is locked (fix: wait)\n", exited=4)}
    c = RecordingContext(config=Config(overrides={"run": {"dry": False}}), run=table, repeat=True)
    done = dashboard.perform(c, stack, ["dev", "2", "stop"])
    assert c.commands[0].endswith("main()' dev 2 stop")
    assert c.run.call_args.kwargs["env"] == {"MULTISTACK_FILE": str(stack.path)}
    assert done == Done(("dev", "2", "stop"), 4, "error: instance 2 is locked (fix: wait)")
    assert done.line() == "failed (exit 4): inv dev 2 stop: instance 2 is locked (fix: wait)"


def test_with_a_router_each_url_has_its_hostname(stack):
    text = stack.path.read_text() + "\nrouter: {port: 8088, services: [web]}\n"
    stack.path.write_text(text)
    snapshot = Watch(context(), load_stack(stack.path), Engines()).tick()
    row = snapshot.row("instance-3")
    assert row is not None
    assert [(u.service, u.hostname) for u in row.urls][:2] == [
        ("web", "http://web.3.e2etry.localhost:8088/"), ("store", "")]
    assert "web http://web.3.e2etry.localhost:8088/" in render_text(snapshot)


SIDE_BY_SIDE = """
mesh:
  project: "{{ project }}-mesh-{{ environment }}"
  compose: [compose.yml]
  profiles:
    web: [web]
  environments:
    local: {compose: compose.yml, template: api.env}
    staging: {compose: compose.yml, template: api.env}
    production: {compose: compose.yml, template: api.env}
"""
PRODUCTION_PS = """\
{"project":"e2etry-mesh-production","service":"web","name":"e2etry-mesh-production-web-1","state":"running","status":"Up 1 minute (healthy)","ports":"127.0.0.1:9001->8080/tcp"}
"""


@pytest.fixture
def side_by_side(stack):
    """The mesh's project names its environment: staging has its env file, production has containers."""
    text = stack.path.read_text()
    stack.path.write_text(text[:text.index("\nmesh:\n")] + SIDE_BY_SIDE)
    (stack.root / "env").mkdir()
    (stack.root / "env" / ".env.staging").write_text("ENVIRONMENT=staging\n")
    return load_stack(stack.path)


def test_side_by_side_each_environment_with_an_env_file_or_containers_is_its_own_row(side_by_side):
    c = context(ps=PS_SAMPLE + PRODUCTION_PS)
    snapshot = Watch(c, side_by_side, Engines(pm2=("pm2",))).tick()
    assert [cmd.split()[:2] for cmd in c.commands] == [["docker", "ps"], ["pm2", "jlist"]]  # still one of each
    assert [r.key for r in snapshot.rows] == ["instance-3", "mesh-staging", "mesh-production", "system-suite"]
    staging, production = snapshot.row("mesh-staging"), snapshot.row("mesh-production")
    assert staging is not None and production is not None
    assert (staging.name, staging.projects, staging.environment) == ("mesh staging", ("e2etry-mesh-staging",), "staging")
    assert (staging.status, staging.summary) == ("down", "down: 0/0 containers up, environment staging")
    assert production.projects == ("e2etry-mesh-production",)
    assert [(s.service, s.state, s.health) for s in production.services] == [("web", "running", "healthy")]
    assert (production.status, production.summary) == (
        "healthy", "healthy: 1/1 containers up, environment production, no env file env/.env.production")
    assert "{{" not in json.dumps(snapshot.to_json())  # never the unfilled template
    text = render_text(snapshot)
    assert "mesh production (e2etry-mesh-production): healthy" in text


def test_side_by_side_stop_and_logs_pass_the_rows_environment(side_by_side):
    snapshot = Watch(context(ps=PS_SAMPLE + PRODUCTION_PS), side_by_side, Engines()).tick()
    production = snapshot.row("mesh-production")
    assert production is not None
    assert action_words(production, "stop") == ["mesh.down", "--env", "production"]
    assert action_words(production, "logs") == ["mesh.logs", "--tail", "40", "--env", "production"]
    assert action_words(production, "start") is None
    assert "inv mesh.up --env production --profile P" in dashboard.why_not(production, "start")


def test_side_by_side_with_no_environment_up_is_one_row_saying_so(side_by_side):
    (side_by_side.root / "env" / ".env.staging").unlink()
    snapshot = Watch(context(ps=PS_SAMPLE), side_by_side, Engines()).tick()
    assert [r.key for r in snapshot.rows if r.kind == "mesh"] == ["mesh"]
    mesh = snapshot.row("mesh")
    assert mesh is not None and mesh.status == "down"
    assert mesh.projects == ("e2etry-mesh-local", "e2etry-mesh-staging", "e2etry-mesh-production")
    assert mesh.summary == "down: 0/0 containers up, no environment has an env file or containers"


def test_one_project_mesh_is_one_row_and_its_stop_takes_no_env(stack):
    (stack.root / "env").mkdir()
    (stack.root / "env" / ".env").write_text("ENVIRONMENT=local\n")
    snapshot = Watch(context(), stack, Engines()).tick()
    mesh = snapshot.row("mesh")
    assert [r.key for r in snapshot.rows if r.kind == "mesh"] == ["mesh"]
    assert mesh is not None and (mesh.name, mesh.environment) == ("mesh", "local")
    assert action_words(mesh, "stop") == ["mesh.down"]
