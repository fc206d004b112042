"""Shared mode and provisioning: the provision: section, rendered commands, what runs (MockContext), --dry."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from invoke import Config, Context, MockContext, Result

from multistack.act import lifecycle
from multistack.io.tools import Engines
from multistack.errors import CommandFailed, StackError
from multistack.plan.instance import plan_instance
from multistack.act.shared import instance_plan
from multistack.act.shared import (
    MODE_FILE,
    infra_down,
    infra_up,
    provision,
    remember_mode,
    resolve_mode,
    step_argv,
    teardown,
)
from multistack.model.stack import load_stack

ROOT = Path(__file__).resolve().parents[2]

COMPOSE = """\
services:
  db:
    image: multistack-test/busybox:1
    ports: ["5432:5432"]
"""

SHARED = """\
project: shop
instances: 0-3
mode: shared
compose:
  files: [compose.yml]
services:
  db: {port: 5432, compose: db, container_port: 5432}
  api: {port: 47310}
apps:
  api:
    command: python3 api.py
    env:
      DATABASE_URL: "postgresql://localhost:{{ ports.db }}/{{ database }}"
provision:
  database:
    run_in: db
    exists: psql -tAc "SELECT 1 FROM pg_database WHERE datname = '{{ database }}'"
    create: >-
      printf '%s\\n' "SELECT 'CREATE DATABASE {{ database }}' WHERE NOT EXISTS
      (SELECT FROM pg_database WHERE datname = '{{ database }}')\\gexec" | psql
    teardown: psql -c "DROP DATABASE IF EXISTS {{ database }} WITH (FORCE)"
  bucket:
    exists: [mc-exists, "{{ names.bucket }}"]
    create: [mc, mb, --ignore-existing, "local/{{ names.bucket }}"]
  queue:
    create: "echo {{ names.redis_write_queue }}"
    teardown: "echo gone {{ names.redis_write_queue }}"
"""


@pytest.fixture
def shared(make_stack):
    return load_stack(make_stack(SHARED, {"compose.yml": COMPOSE}))


def commands(c: MockContext) -> list[str]:
    return [call.args[0] for call in c.run.call_args_list]


def mock(*responses: tuple[str, list[Result]]) -> MockContext:
    """A context answering commands that contain each text in turn; anything else succeeds silently."""
    table = {re.compile(".*" + re.escape(text), re.S): results for text, results in responses}
    table[re.compile(".*", re.S)] = Result("")
    return MockContext(run=table)


# --------------------------------------------------------------------------
# The section


def test_steps_in_the_order_written(shared):
    steps = shared.provision
    assert [s.name for s in steps] == ["database", "bucket", "queue"]
    assert steps[0].run_in == "db" and steps[1].run_in == "host"
    assert steps[1].create == ("mc", "mb", "--ignore-existing", "local/{{ names.bucket }}")
    assert steps[2].exists is None and steps[1].teardown is None


@pytest.mark.parametrize("section, message", [
    ("provision:\n  db: {exists: x}\n", "provision.db: missing required key 'create'"),
    ("provision:\n  db: {create: x, drop: y}\n", "provision.db: unknown key 'drop'"),
    ("provision:\n  db: {create: ''}\n", "provision.db.create: must be a shell command string or a non-empty list"),
    ("provision:\n  db: {create: []}\n", "provision.db.create: must be a shell command string or a non-empty list"),
    ("provision:\n  db: {create: x, run_in: db}\n", "runs in compose service 'db' but the stack lists no compose files"),
    ("provision:\n  Bad: {create: x}\n", "provision.Bad: step names are lowercase"),
    ("provision:\n  db: create me\n", "provision.db: must be a mapping with at least `create`"),
    ("provision: [a, b]\n", "provision: must be a mapping"),
])
def test_bad_steps(make_stack, section, message):
    with pytest.raises(StackError, match=re.escape(message)):
        load_stack(make_stack("project: shop\n" + section))


def test_the_example_stack_provision_section_is_valid():
    stack = load_stack(ROOT / "stack.yaml")
    steps = stack.provision
    assert [s.name for s in steps] == ["database", "bucket", "temporal-namespace"]
    inst = plan_instance(stack, 2, mode="shared")
    argv = step_argv(steps[0], "create", inst)
    assert argv[:4] == ["docker", "compose", "-p", "shipsec-shared"]
    assert "SELECT 'CREATE DATABASE shipsec_instance_2' WHERE NOT EXISTS" in argv[-1]
    assert argv[-1].endswith("\\gexec\" | psql -v ON_ERROR_STOP=1 -U \"$POSTGRES_USER\" -d postgres")


# --------------------------------------------------------------------------
# Mode


def test_mode_comes_from_flag_then_instance_then_stack(shared, make_stack):
    assert resolve_mode(shared, 1) == "shared"
    assert resolve_mode(shared, 1, "isolated") == "isolated"
    inst = plan_instance(shared, 1, mode="isolated")
    remember_mode(inst)
    assert (inst.dir / MODE_FILE).read_text() == "isolated\n"
    assert instance_plan(shared, 1).mode == "isolated"  # remembered, without the flag
    assert instance_plan(shared, 2).mode == "shared"  # the stack's
    assert plan_instance(shared, 1).mode == "shared"  # the plan itself reads no file: the act layer passes the mode
    with pytest.raises(StackError, match="unknown mode 'both'"):
        resolve_mode(shared, 1, "both")


def test_bad_mode(make_stack):
    with pytest.raises(StackError, match="stack.yaml: mode: must be one of isolated, shared, got 'mixed'"):
        load_stack(make_stack("project: shop\nmode: mixed\n"))


def test_shared_mode_points_at_the_shared_infra_ports(shared):
    assert plan_instance(shared, 2, mode="isolated").ports == {"db": 5632, "api": 47510}
    assert plan_instance(shared, 2, mode="shared").ports == {"db": 5432, "api": 47510}
    env = plan_instance(shared, 2).variables()
    assert env["ports"]["db"] == 5432 and env["mode"] == "shared"


# --------------------------------------------------------------------------
# Rendering


def test_step_commands_render_with_the_instance_variables(shared):
    inst = plan_instance(shared, 2)
    database, bucket, queue = shared.provision
    root = shared.root
    assert step_argv(database, "exists", inst) == [
        "docker", "compose", "-p", "shop-shared", "-f", f"{root}/compose.yml", "exec", "-T", "db",
        "sh", "-c", "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = 'shop_instance_2'\""]
    assert step_argv(database, "create", inst)[-1] == (
        "printf '%s\\n' \"SELECT 'CREATE DATABASE shop_instance_2' WHERE NOT EXISTS "
        "(SELECT FROM pg_database WHERE datname = 'shop_instance_2')\\gexec\" | psql")
    assert step_argv(bucket, "create", inst) == ["mc", "mb", "--ignore-existing", "local/shop-dev-2"]
    assert step_argv(queue, "create", inst) == ["sh", "-c", "echo shop-dev-2:writes"]
    assert step_argv(bucket, "teardown", inst) is None


def test_unknown_template_variable_names_the_step(make_stack):
    stack = load_stack(make_stack("project: shop\nmode: shared\nprovision:\n  db: {create: 'createdb {{ dbname }}'}\n"))
    with pytest.raises(StackError, match=r"stack.yaml: provision.db.create: unknown template variable: 'dbname'"):
        step_argv(stack.provision[0], "create", plan_instance(stack, 1))


def test_infra_commands(shared):
    root = shared.root
    assert infra_up(shared) == ["docker", "compose", "-p", "shop-shared", "-f", f"{root}/compose.yml",
                                "up", "-d", "--remove-orphans", "--wait"]
    assert infra_down(shared, volumes=True)[-4:] == ["*", "down", "--remove-orphans", "--volumes"]


# --------------------------------------------------------------------------
# Running (MockContext records; nothing real runs)


def test_first_run_creates_and_says_so(shared):
    c = mock(("sh -c 'psql -tAc", [Result(""), Result("1\n")]), ("mc-exists", [Result(""), Result("yes")]))
    out = io.StringIO()
    outcomes = provision(c, plan_instance(shared, 1), out=out)
    assert [(o.step, o.state) for o in outcomes] == [("database", "created"), ("bucket", "created"), ("queue", "ran")]
    ran = commands(c)
    assert len(ran) == 7  # exists, create, exists again, for two steps; one create
    assert "exec -T db sh -c 'psql -tAc" in ran[0] and "CREATE DATABASE shop_instance_1" in ran[1]
    assert ran[3:6] == ["mc-exists shop-dev-1", "mc mb --ignore-existing local/shop-dev-1", "mc-exists shop-dev-1"]
    assert ran[6] == "sh -c 'echo shop-dev-1:writes'"
    text = out.getvalue()
    assert "database  created" in text and "instance 1: created 2, ran 1 without exists check, 0 already present" in text


def test_second_run_creates_nothing(shared):
    c = mock(("sh -c 'psql -tAc", [Result("1")]), ("mc-exists", [Result("yes")]))
    out = io.StringIO()
    outcomes = provision(c, plan_instance(shared, 1), out=out)
    assert [o.state for o in outcomes] == ["present", "present", "ran"]
    assert not any("CREATE DATABASE" in cmd or "mc mb" in cmd for cmd in commands(c))
    assert "database  present (nothing to do)" in out.getvalue()


def test_nothing_new_when_every_step_has_an_exists_check(make_stack):
    stack = load_stack(make_stack("project: shop\nmode: shared\nprovision:\n  a: {exists: check, create: make}\n"))
    out = io.StringIO()
    provision(mock(("check", [Result("x")])), plan_instance(stack, 1), out=out)
    assert out.getvalue().splitlines()[-1] == "instance 1: nothing new to provision (1 already present)"


def test_a_failing_exists_check_is_an_error_not_absence(shared):
    c = mock(("sh -c 'psql -tAc", [Result("", stderr="could not connect to server", exited=2)]))
    with pytest.raises(CommandFailed, match="`exists` check failed: could not connect to server"):
        provision(c, plan_instance(shared, 1), out=io.StringIO())
    assert not any("CREATE DATABASE" in cmd for cmd in commands(c))


def test_create_that_does_not_create_is_reported(shared):
    c = mock(("sh -c 'psql -tAc", [Result("")]))
    with pytest.raises(CommandFailed, match="`create` succeeded but `exists` still prints nothing"):
        provision(c, plan_instance(shared, 1), out=io.StringIO())


def test_failing_create_names_the_step(shared):
    c = mock(("sh -c 'psql -tAc", [Result("")]), ("sh -c 'printf", [Result("", exited=1)]))
    with pytest.raises(CommandFailed, match="provision step 'database': `create` failed \\(exit 1\\)"):
        provision(c, plan_instance(shared, 1), out=io.StringIO())


def test_teardown_runs_in_reverse_for_this_instance_only(shared):
    c = mock(("sh -c 'psql -tAc", [Result("1")]))
    out = io.StringIO()
    outcomes = teardown(c, plan_instance(shared, 3), out=out)
    assert [(o.step, o.state) for o in outcomes] == [("queue", "removed"), ("bucket", "no teardown"),
                                                    ("database", "removed")]
    ran = commands(c)
    assert ran[0] == "sh -c 'echo gone shop-dev-3:writes'"
    assert "DROP DATABASE IF EXISTS shop_instance_3 WITH (FORCE)" in ran[-1]
    assert not any(re.search(r"shop_instance_[012]|shop-dev-[012]", cmd) for cmd in ran)
    assert "instance 3: removed 2, 0 already absent, 1 without teardown" in out.getvalue()


def test_teardown_of_what_is_absent_runs_nothing(shared):
    c = mock(("sh -c 'psql -tAc", [Result("")]))
    outcomes = teardown(c, plan_instance(shared, 3), out=io.StringIO())
    assert outcomes[-1].state == "absent"
    assert not any("DROP DATABASE" in cmd for cmd in commands(c))


def test_teardown_refuses_when_namespaces_collide(make_stack):
    text = SHARED + "namespaces:\n  instances: {3: shop-dev-1}\n"
    stack = load_stack(make_stack(text, {"compose.yml": COMPOSE}))
    c = mock()
    with pytest.raises(StackError, match="is used by instance 1 .* and by instance 3"):
        teardown(c, plan_instance(stack, 3), out=io.StringIO())
    assert commands(c) == []


def test_dry_run_prints_the_commands_and_creates_nothing(shared, capsys):
    c = Context(Config(overrides={"run": {"dry": True}}))
    outcomes = provision(c, plan_instance(shared, 1))
    assert [o.state for o in outcomes] == ["would create"] * 3
    out = capsys.readouterr().out
    assert "docker compose -p shop-shared" in out and "CREATE DATABASE shop_instance_1" in out
    assert "mc mb --ignore-existing local/shop-dev-1" in out
    assert "instance 1: would create 3 (dry run)" in out


# --------------------------------------------------------------------------
# The lifecycle in shared mode


@pytest.fixture
def engines(monkeypatch):
    """No engine detection, no state query; record which ports the preflight checks."""
    checked: list[dict[str, int]] = []
    monkeypatch.setattr(lifecycle, "_engines", lambda c, stack, engine=True, **kwargs: Engines())
    monkeypatch.setattr(lifecycle, "query_state", lambda c, stack, engines, instances=frozenset(): {})

    def taken(ports, host="127.0.0.1"):
        checked.append(dict(ports))
        return []

    monkeypatch.setattr("multistack.io.hostports.taken_ports", taken)
    monkeypatch.setattr(lifecycle, "wait_for_apps", lambda *args, **kwargs: None, raising=False)
    return checked


def test_shared_start_provisions_then_starts_apps_without_compose_up(shared, engines):
    c = mock(("sh -c 'psql -tAc", [Result("1")]), ("mc-exists", [Result("yes")]))
    lifecycle.dispatch(c, shared, lifecycle.DevCommand("start", 1))
    ran = commands(c)
    assert not any(" up " in cmd for cmd in ran)
    assert ran[-1].startswith("pm2 startOrRestart ") and ran[-1].endswith("instance-1/pm2.config.cjs --update-env")
    assert any("pg_database" in cmd for cmd in ran[:-1])
    assert engines == [{"api": 47410}]  # the shared infra holds db's port: not ours to check
    env = (shared.root / ".instances/instance-1/pm2.config.cjs").read_text()
    assert "postgresql://localhost:5432/shop_instance_1" in env


def test_isolated_start_runs_compose_and_no_provisioning(shared, engines):
    c = mock()
    lifecycle.dispatch(c, shared, lifecycle.DevCommand("start", 1), mode="isolated")
    ran = commands(c)
    assert any(cmd.startswith("docker compose -p shop-dev-1 ") and " up -d" in cmd for cmd in ran)
    assert not any("pg_database" in cmd for cmd in ran)
    assert (shared.root / ".instances/instance-1" / MODE_FILE).read_text() == "isolated\n"
    assert "postgresql://localhost:5532/shop_instance_1" in (shared.root / ".instances/instance-1/pm2.config.cjs").read_text()


def test_shared_stop_never_takes_the_infra_down(shared, engines, capsys):
    c = mock(("pm2 jlist", [Result('[{"name": "shop-api-1", "pm2_env": {"status": "online"}}]')]))
    lifecycle.dispatch(c, shared, lifecycle.DevCommand("stop", 1))
    ran = commands(c)
    assert ran == ["pm2 jlist", "pm2 stop '/^(shop\\-api\\-1)$/'"]
    assert "the shared infra keeps running" in capsys.readouterr().out


def test_shared_clean_deletes_apps_then_tears_down_this_instance(shared, engines):
    (shared.root / ".instances/instance-2").mkdir(parents=True)
    c = mock(("pm2 jlist", [Result('[{"name": "shop-api-2", "pm2_env": {"status": "online"}}]')]),
             ("sh -c 'psql -tAc", [Result("1")]))
    lifecycle.dispatch(c, shared, lifecycle.DevCommand("clean", 2), yes=True)
    ran = commands(c)
    assert ran[1] == "pm2 delete '/^(shop\\-api\\-2)$/'"
    assert "DROP DATABASE IF EXISTS shop_instance_2" in ran[-1]
    assert not any(" down " in cmd for cmd in ran)
    assert not (shared.root / ".instances/instance-2").exists()


def test_shared_clean_asks_first(shared, engines, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO())
    c = mock()
    with pytest.raises(StackError, match="clean of instance 2 needs confirmation"):
        lifecycle.dispatch(c, shared, lifecycle.DevCommand("clean", 2))
    assert commands(c) == []


def test_cli_flags(shared, capsys):
    from multistack.cli.program import build_program

    with pytest.raises(SystemExit) as info:
        build_program().run(["multistack", "dev", "1", "info", "--shared", "--isolated"])
    assert info.value.code == 2 and "both --shared and --isolated" in capsys.readouterr().err
    build_program().run(["multistack", "dev", "1", "info", "--isolated", "--json"], exit=False)
    assert '"mode": "isolated"' in capsys.readouterr().out


def test_dry_infra_tasks(shared, capsys):
    from multistack.cli.program import build_program

    build_program().run(["multistack", "--dry", "dev.infra-up", "dev.infra-down"], exit=False)
    out = capsys.readouterr().out
    assert "docker compose -p shop-shared -f" in out and "up -d --remove-orphans --wait" in out
    assert "--profile '*' down --remove-orphans" in out
