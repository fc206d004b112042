"""Mesh environments side by side: which environment, each its own env file, argv per project, the preflight.

The stack is the e2e test mesh made side by side the way a user would
(tests/e2e/mesh_environments.py); commands are recorded (``Recording``) or
printed (``--dry``), never run.
"""
from __future__ import annotations

import io
import json
import shlex
import sys
from pathlib import Path

import pytest
from invoke import Result

from multistack.act import mesh as core
from multistack.cli import mesh as tasks
from multistack.errors import StackError
from multistack.io.tools import Engines
from multistack.model.stack import load_stack
from tests.act.test_mesh import Recording, config_of, run_cli
from tests.e2e.mesh_environments import PORTS, make_side_by_side

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "multistack" / "schema" / "output" / "mesh.ps.json"


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_side_by_side(tmp_path / "stack", "athy")
    monkeypatch.chdir(root)
    monkeypatch.delenv("MULTISTACK_FILE", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal
    monkeypatch.setattr(tasks, "_engines", lambda c: Engines())
    return root


def mesh_of(root: Path) -> core.Mesh:
    return core.load_mesh(load_stack(root / "stack.yaml"))


def ps_line(project: str, service: str, state: str = "running", ports: str = "") -> str:
    return json.dumps({"project": project, "service": service, "name": f"{project}-{service}-1", "state": state,
                       "status": "Up 3 seconds (healthy)", "ports": ports})


# --------------------------------------------------------------------------
# Each environment its own env file and project


def test_env_files_are_written_per_environment_and_never_each_other(stack, capsys):
    assert run_cli(["mesh.env", "staging"]) == 0
    assert run_cli(["mesh.env", "production"]) == 0
    out = capsys.readouterr().out
    assert "create  env/.env.staging from env/staging.env.example" in out
    assert "create  env/.env.production from env/production.env.example" in out
    assert "ENVIRONMENT=staging" in (stack / "env/.env.staging").read_text()
    assert "ENVIRONMENT=production" in (stack / "env/.env.production").read_text()
    assert not (stack / "env/.env").exists()
    (stack / "env/.env.staging").write_text((stack / "env/.env.staging").read_text() + "MY_EDIT=1\n")
    assert run_cli(["mesh.env", "production", "--force"]) == 0  # replaces production's only
    assert "MY_EDIT=1" in (stack / "env/.env.staging").read_text()
    capsys.readouterr()
    assert run_cli(["mesh.env"]) == 0
    assert capsys.readouterr().out.splitlines() == ["env/.env.staging: staging", "env/.env.production: production"]


def test_dry_up_names_the_environments_project_and_env_file(stack, capsys):
    assert run_cli(["--dry", "mesh.up", "--env", "staging", "--profile", "db"]) == 0
    out = capsys.readouterr().out
    assert "would create  env/.env.staging from env/staging.env.example" in out
    assert (f"docker compose -p athy-mesh-staging -f {stack}/compose/docker-compose.yml "
            f"-f {stack}/compose/docker-compose.override.yml -f {stack}/compose/docker-compose.remote.yml "
            f"--env-file {stack}/env/.env.staging --profile db up -d --wait") in out
    assert list((stack / "env").glob(".env*")) == []


@pytest.mark.parametrize("argv, tail", [
    (["mesh.down", "--env", "production", "--volumes", "--yes"],
     "-p athy-mesh-production --profile '*' down --remove-orphans --volumes"),
    (["mesh.down", "--env", "staging"], "-p athy-mesh-staging --profile '*' down --remove-orphans"),
    (["mesh.ps", "--env", "staging"], "--filter label=com.docker.compose.project=athy-mesh-staging --format"),
])
def test_dry_commands_without_env_files_go_by_project_name(stack, capsys, argv, tail):
    assert run_cli(["--dry", *argv]) == 0
    assert tail in capsys.readouterr().out


def test_commands_name_the_environment_given(stack, capsys):
    for env in ("staging", "production"):
        assert run_cli(["mesh.env", env]) == 0
    capsys.readouterr()
    assert run_cli(["--dry", "mesh.logs", "db", "--env", "production", "--tail", "5"]) == 0
    assert (f"-p athy-mesh-production -f {stack}/compose/docker-compose.yml" in (out := capsys.readouterr().out)
            and f"--env-file {stack}/env/.env.production --profile '*' logs --no-color --tail 5 db" in out)
    assert run_cli(["--dry", "mesh.init-data", "--env", "staging"]) == 0
    assert "-p athy-mesh-staging" in capsys.readouterr().out
    assert run_cli(["--dry", "mesh.down", "--env", "staging", "--profile", "mesh"]) == 0
    assert capsys.readouterr().out.strip().endswith(
        f"--env-file {stack}/env/.env.staging --profile mesh down")


@pytest.mark.parametrize("argv, message", [
    (["mesh.down"], "error: environments staging, production each have their env file and no --env given "
                    "(fix: pass --env staging|production)"),
    (["mesh.logs"], "error: environments staging, production each have their env file"),
    (["mesh.up"], "error: environments staging, production each have their env file"),
    (["mesh.down", "--env", "staging", "--volumes"], "error: removing the mesh's volumes needs confirmation"),
])
def test_several_environments_need_env(stack, capsys, argv, message):
    for env in ("staging", "production"):
        assert run_cli(["mesh.env", env]) == 0
    capsys.readouterr()
    assert run_cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(message), err


def test_one_env_file_is_the_default_environment_and_none_is_an_error(stack, capsys):
    assert run_cli(["mesh.logs"]) == 2
    assert capsys.readouterr().err.startswith(
        "error: no env file of any environment (env/.env.staging, env/.env.production) and no --env given")
    assert run_cli(["mesh.env", "production"]) == 0
    capsys.readouterr()
    assert run_cli(["--dry", "mesh.logs"]) == 0
    assert "-p athy-mesh-production" in capsys.readouterr().out
    assert run_cli(["mesh.logs", "--env", "staging"]) == 2
    assert "error: no active env file env/.env.staging (staging)" in capsys.readouterr().err


def test_an_env_file_naming_another_environment_is_refused(stack, capsys):
    (stack / "env/.env.staging").write_text((stack / "env/production.env.example").read_text())
    assert run_cli(["--dry", "mesh.up", "--env", "staging"]) == 2
    assert ("error: env/.env.staging: has ENVIRONMENT=production, but it is the env file of staging"
            in capsys.readouterr().err)


def test_hosts_read_each_environments_own_file(stack, capsys):
    assert run_cli(["mesh.env", "staging"]) == 0
    env_file = stack / "env/.env.staging"
    env_file.write_text(env_file.read_text().replace("mesh-staging.e2e.test", "mine.test"))
    capsys.readouterr()
    assert run_cli(["mesh.hosts", "--env", "staging"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == ["# athy-mesh-staging (staging): inv mesh.hosts",
                                                        "127.0.0.1\tgateway.mine.test"]
    assert run_cli(["mesh.hosts", "--env", "production"]) == 0
    assert "127.0.0.1\tgateway.mesh-production.e2e.test" in capsys.readouterr().out


# --------------------------------------------------------------------------
# Status of every environment from one docker ps


def test_ps_of_every_environment_is_one_docker_ps(stack, capsys):
    jsonschema = pytest.importorskip("jsonschema")
    lines = "\n".join([ps_line("athy-mesh-staging", "db", ports="127.0.0.1:37101->8080/tcp"),
                       ps_line("athy-mesh-production", "gateway"), ps_line("athy-mesh-production", "db"),
                       ps_line("someone-else", "db")])
    c = Recording({r"^docker ps -a --filter label=com.docker.compose.project --format": Result(lines + "\n")})
    tasks.ps(c, json=True)
    assert len(c.commands) == 1  # one engine query for every environment
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    by_env = {e["environment"]: e for e in data["environments"]}
    assert list(by_env) == ["staging", "production"]
    assert by_env["staging"]["project"] == "athy-mesh-staging"
    assert by_env["staging"]["env_file"] == "env/.env.staging"
    running = {name: sorted(r["service"] for r in e["services"] if r["state"] == "running")
               for name, e in by_env.items()}
    assert running == {"staging": ["db"], "production": ["db", "gateway"]}
    tasks.ps(c)
    out = capsys.readouterr().out
    assert "mesh athy-mesh-staging (staging): 1/7 running" in out
    assert "mesh athy-mesh-production (production): 2/7 running" in out
    assert "someone-else" not in out


def test_ps_of_one_environment_validates_against_the_schema(stack, capsys):
    jsonschema = pytest.importorskip("jsonschema")
    c = Recording({r"label=com.docker.compose.project=athy-mesh-production ": Result(
        json.dumps({"service": "db", "name": "x", "state": "running", "status": "Up", "ports": ""}) + "\n")})
    tasks.ps(c, env="production", json=True)
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    assert (data["project"], data["environment"], data["env_file"]) == (
        "athy-mesh-production", "production", "env/.env.production")


# --------------------------------------------------------------------------
# The preflight: host ports and fixed names


def staging_config(**top) -> str:
    return config_of("db", "pool-app", "pool-iam", ports={"db": ["127.0.0.1:37101:8080"],
                                                            "pool-app": ["127.0.0.1:37102:8080"],
                                                            "pool-iam": ["37103-37104:8080-8081"]}, **top)


def test_up_refuses_host_ports_another_environment_publishes(stack, capsys):
    others = "\n".join([ps_line("athy-mesh-production", "db", ports="127.0.0.1:37101->8080/tcp"),
                        ps_line("athy-mesh-production", "gw", ports="0.0.0.0:37104->80/tcp, :::37104->80/tcp"),
                        ps_line("athy-mesh-staging", "pool-app", ports="127.0.0.1:37102->8080/tcp")])
    (stack / "env/.env.staging").write_text((stack / "env/staging.env.example").read_text())
    c = Recording({r"config --format json$": Result(staging_config()),
                   r"^docker ps -a --filter label=com.docker.compose.project --format": Result(others)})
    with pytest.raises(StackError) as info:
        tasks.up.body.__wrapped__(c, profile="db", env="staging")
    assert info.value.message == (
        "mesh athy-mesh-staging (staging): host port 37101 of db (DB_PORT=37101 in env/.env.staging) is published "
        "by athy-mesh-production (environment production, service db); host port 37104 of pool-iam (GATEWAY_PORT"
        "=37104 in env/.env.staging) is published by athy-mesh-production (environment production, service gw)")
    assert info.value.hint.endswith("or stop the other with `inv mesh.down --env production`")
    assert not any(" up -d" in cmd for cmd in c.commands)  # nothing started
    # Its own project's ports (37102, up again) and free ports pass.
    assert len(c.commands) == 2


def test_up_names_a_process_holding_a_port(stack):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        selected = config_of("db", "pool-app", "pool-iam", ports={"db": [f"127.0.0.1:{port}:8080"]})
        c = Recording({r"config --format json$": Result(selected),
                       r"^docker ps -a": Result("")})
        with pytest.raises(StackError, match=rf"host port {port} of db is in use, held by python"):
            tasks.up.body.__wrapped__(c, profile="db", env="staging")


def test_up_refuses_a_fixed_network_name_another_environment_owns(stack):
    fixed = {"networks": {"default": {"name": "athy-net"}}, "volumes": {"data": {"name": "athy-mesh-staging_data"}}}
    c = Recording({r"config --format json$": Result(config_of("db", "pool-app", "pool-iam", **fixed)),
                   r"^docker ps -a": Result(""),
                   r"^docker network ls": Result("athy-net athy-mesh-production\nbridge \n")})
    with pytest.raises(StackError) as info:
        tasks.up.body.__wrapped__(c, profile="db", env="staging")
    assert info.value.message == ("mesh athy-mesh-staging (staging): network athy-net belongs to "
                                  "athy-mesh-production (environment production, network); "
                                  "this environment would share it")
    assert not any("volume ls" in cmd for cmd in c.commands)  # the volume has the project's prefix


def test_up_passes_and_starts_when_nothing_clashes(stack, capsys):
    c = Recording({r"config --format json$": Result(staging_config()), r"^docker ps -a": Result(""),
                   r"up -d --wait$": Result("")})
    tasks.up(c, profile="db", env="staging")
    assert c.commands[-1].endswith("--env-file " + str(stack / "env/.env.staging") + " --profile db up -d --wait")
    assert "mesh athy-mesh-staging (staging): up: db, pool-app, pool-iam" in capsys.readouterr().out


# --------------------------------------------------------------------------
# Pure pieces


def test_published_ports_and_fixed_names():
    config = json.loads(config_of("a", "b", ports={"a": ["127.0.0.1:8000-8001:80-81"], "b": [":80"]},
                                  networks={"default": {"name": "p_default"}, "shared": {"name": "meshnet"},
                                            "ext": {"name": "other", "external": True}},
                                  volumes={"data": {"name": "p_data"}, "fixed": {"name": "pgdata"}}))
    assert [(p.service, p.port, p.host_ip) for p in core.published_ports(config)] == [
        ("a", 8000, "127.0.0.1"), ("a", 8001, "127.0.0.1")]  # b's random host port cannot clash
    assert core.fixed_names(config, "p") == [("network", "meshnet"), ("volume", "pgdata")]


@pytest.mark.parametrize("column, ports", [
    ("127.0.0.1:37101->8080/tcp", {37101}),
    ("0.0.0.0:80->80/tcp, :::80->80/tcp, 0.0.0.0:8000-8002->9000-9002/tcp", {80, 8000, 8001, 8002}),
    ("[::1]:5432->5432/tcp", {5432}),
    ("8080/tcp", set()),
    ("", set()),
])
def test_ports_of_a_docker_ps_row(column, ports):
    assert core.ports_of_row(column) == ports


def test_the_e2e_templates_give_each_environment_its_own_ports():
    mesh = mesh_of(make_side_by_side(Path(__import__("tempfile").mkdtemp()) / "s", "athy"))
    values = {env: core.read_env_file(mesh.root / mesh.environment(env).template) for env in PORTS}
    for env, ports in PORTS.items():
        assert {k: int(v) for k, v in values[env].items() if k.endswith("_PORT")} == {
            f"{svc.upper().replace('-', '_')}_PORT": port for svc, port in ports.items()}
    assert not set(PORTS["staging"].values()) & set(PORTS["production"].values())


def test_argv_of_each_environment(stack):
    mesh = mesh_of(stack)
    staging, production = mesh.environment("staging"), mesh.environment("production")
    assert shlex.join(core.down(mesh, production, with_files=False)) == (
        "docker compose -p athy-mesh-production --profile '*' down --remove-orphans")
    with pytest.raises(StackError, match=r"down of one profile needs the active env file env/.env.staging"):
        core.down(mesh, staging, ("db",), with_files=False)
    assert core.ps_every_environment() == core.DockerCli().ps_all()
    assert core.ps(mesh, environment="production")[4] == "label=com.docker.compose.project=athy-mesh-production"
