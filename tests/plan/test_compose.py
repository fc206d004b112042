"""The compose and docker argv builder as data: one value per project, every command from it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from multistack.model.engines import Engine
from multistack.plan.compose import ComposeCli, ComposeProject, DockerCli, docker_of

BIG = Engine("big", context="bigbox", host="bigbox.lan")
CI = Engine("ci", docker_host="ssh://dev@ci.lan", host="ci.lan")
LOCAL = Engine("local")


@dataclass(frozen=True)
class Tool:
    """What tool discovery found (io.tools.Engines has the same two fields)."""

    compose: tuple[str, ...] = ("docker", "compose")
    compose_plugin: bool = True


PLUGIN = Tool()
STANDALONE = Tool(("/usr/local/bin/docker-compose",), compose_plugin=False)


# --------------------------------------------------------------------------
# How compose is called on an engine


@pytest.mark.parametrize("engine, tool, prefix", [
    (None, PLUGIN, ["docker", "compose"]),
    (LOCAL, PLUGIN, ["docker", "compose"]),
    (LOCAL, STANDALONE, ["/usr/local/bin/docker-compose"]),
    (BIG, PLUGIN, ["docker", "--context", "bigbox", "compose"]),
    (CI, PLUGIN, ["docker", "--host", "ssh://dev@ci.lan", "compose"]),
    (BIG, STANDALONE, ["env", "DOCKER_CONTEXT=bigbox", "/usr/local/bin/docker-compose"]),
    (CI, STANDALONE, ["env", "DOCKER_HOST=ssh://dev@ci.lan", "/usr/local/bin/docker-compose"]),
])
def test_the_engine_selection_depends_on_plugin_or_standalone(engine, tool, prefix):
    assert ComposeCli.on(engine, tool).prefix() == prefix


def test_plugin_or_standalone_comes_from_discovery_not_from_argv0():
    """A standalone binary that happens to be called docker is still standalone."""
    odd = Tool(("/opt/bin/docker",), compose_plugin=False)
    assert ComposeCli.on(BIG, odd).prefix() == ["env", "DOCKER_CONTEXT=bigbox", "/opt/bin/docker"]
    plugin_elsewhere = Tool(("/usr/bin/docker", "compose"))
    assert ComposeCli.on(BIG, plugin_elsewhere).prefix() == ["/usr/bin/docker", "--context", "bigbox", "compose"]


# --------------------------------------------------------------------------
# An instance


@dataclass(frozen=True)
class FakeStack:
    root: Path
    compose_files: tuple[str, ...] = ("compose.yml", "compose.dev.yml")
    compose_env_files: tuple[str, ...] = ("instance.env",)


@dataclass(frozen=True)
class FakeInstance:
    """The four things the builder reads from a planned instance."""

    stack: FakeStack
    n: int
    engine: Engine

    @property
    def project_name(self) -> str:
        return f"demo-dev-{self.n}"

    @property
    def dir(self) -> Path:
        return self.stack.root / ".instances" / f"instance-{self.n}"


ROOT = Path("/srv/demo")
INST = FakeInstance(FakeStack(ROOT), 3, LOCAL)
BASE = ["docker", "compose", "-p", "demo-dev-3", "-f", "/srv/demo/compose.yml", "-f", "/srv/demo/compose.dev.yml",
        "-f", "/srv/demo/.instances/instance-3/docker-compose.override.yml",
        "--env-file", "/srv/demo/.instances/instance-3/instance.env"]


def test_instance_commands():
    project = ComposeProject.for_instance(INST, PLUGIN)  # type: ignore[arg-type]
    assert project.args() == BASE
    assert project.up() == [*BASE, "up", "-d", "--remove-orphans", "--wait"]
    assert project.up(wait=False) == [*BASE, "up", "-d", "--remove-orphans"]
    assert project.up(wait_timeout=90)[-3:] == ["--wait", "--wait-timeout", "90"]
    assert project.down() == [*BASE, "--profile", "*", "down", "--remove-orphans"]
    assert project.down(volumes=True) == [*BASE, "--profile", "*", "down", "--remove-orphans", "--volumes"]
    assert project.logs() == [*BASE, "logs", "--no-color"]
    assert project.logs(follow=True, tail=20) == [*BASE, "logs", "--no-color", "--follow", "--tail", "20"]
    assert project.exec("db", ["psql", "-c", "select 1"]) == [*BASE, "exec", "-T", "db", "psql", "-c", "select 1"]
    assert project.run("db", ["true"]) == [*BASE, "run", "--rm", "-T", "db", "true"]
    assert project.ps() == [*BASE, "ps", "-a", "--format", "json"]
    assert project.config_services(("db",)) == [*BASE, "--profile", "db", "config", "--services"]
    assert project.restart(["web"]) == [*BASE, "restart", "web"]


def test_instance_on_another_engine_and_by_name_alone():
    big = FakeInstance(FakeStack(ROOT), 3, BIG)
    plugin = ComposeProject.for_instance(big, PLUGIN)  # type: ignore[arg-type]
    assert plugin.up()[:6] == ["docker", "--context", "bigbox", "compose", "-p", "demo-dev-3"]
    standalone = ComposeProject.for_instance(big, STANDALONE)  # type: ignore[arg-type]
    assert standalone.down()[:5] == ["env", "DOCKER_CONTEXT=bigbox", "/usr/local/bin/docker-compose", "-p", "demo-dev-3"]
    named = ComposeProject.for_instance(big, PLUGIN, with_files=False)  # type: ignore[arg-type]
    assert named.down(volumes=True) == ["docker", "--context", "bigbox", "compose", "-p", "demo-dev-3",
                                        "--profile", "*", "down", "--remove-orphans", "--volumes"]
    ci = ComposeProject.named("demo-dev-4", STANDALONE, CI)
    assert ci.down()[:3] == ["env", "DOCKER_HOST=ssh://dev@ci.lan", "/usr/local/bin/docker-compose"]


# --------------------------------------------------------------------------
# Shared infra, mesh, system members


def test_shared_infra_commands():
    shared = ComposeProject.for_shared("demo-shared", ROOT, ("compose.yml",))
    base = ["docker", "compose", "-p", "demo-shared", "-f", "/srv/demo/compose.yml"]
    assert shared.up() == [*base, "up", "-d", "--remove-orphans", "--wait"]
    assert shared.down(volumes=True) == [*base, "--profile", "*", "down", "--remove-orphans", "--volumes"]
    assert shared.exec("db", ["sh", "-c", "psql"]) == [*base, "exec", "-T", "db", "sh", "-c", "psql"]


def test_mesh_commands():
    mesh = ComposeProject.for_mesh("demo-mesh", ROOT, ("m/base.yml", "m/local.yml"), ROOT / "env/.env", STANDALONE)
    base = ["/usr/local/bin/docker-compose", "-p", "demo-mesh", "-f", "/srv/demo/m/base.yml",
            "-f", "/srv/demo/m/local.yml", "--env-file", "/srv/demo/env/.env"]
    assert mesh.up(remove_orphans=False, profiles=("db", "mesh")) == [
        *base, "--profile", "db", "--profile", "mesh", "up", "-d", "--wait"]
    assert mesh.down(remove_orphans=False, profiles=("mesh",)) == [*base, "--profile", "mesh", "down"]
    assert mesh.logs(services=["postgres"], profiles=("*",)) == [*base, "--profile", "*", "logs", "--no-color",
                                                                 "postgres"]
    # No active env file: the mesh by project name alone (compose finds it by its labels).
    assert ComposeProject.for_mesh("demo-mesh", ROOT, (), None).down() == [
        "docker", "compose", "-p", "demo-mesh", "--profile", "*", "down", "--remove-orphans"]


def test_member_commands():
    member = Path("/srv/demo/.instances/system-suite/storer")
    project = ComposeProject.for_member("acme-suite-storer", [ROOT / "compose.yml", member / "docker-compose.member.yml"],
                                        member / "member.env", PLUGIN)
    base = ["docker", "compose", "-p", "acme-suite-storer", "-f", "/srv/demo/compose.yml",
            "-f", f"{member}/docker-compose.member.yml", "--env-file", f"{member}/member.env"]
    assert project.up(recreate=True) == [*base, "up", "-d", "--remove-orphans", "--wait", "--force-recreate"]
    assert project.down() == [*base, "--profile", "*", "down", "--remove-orphans"]


def test_the_value_is_frozen():
    project = ComposeProject.named("x")
    with pytest.raises(AttributeError):
        project.name = "y"  # type: ignore[misc]


# --------------------------------------------------------------------------
# docker


def test_docker_commands_carry_the_engine_flags():
    assert DockerCli.on(None).info() == ["docker", "info", "--format", "{{.ServerVersion}}"]
    big = DockerCli.on(BIG)
    assert big.ps_all()[:6] == ["docker", "--context", "bigbox", "ps", "-a", "--filter"]
    assert DockerCli.on(CI).volumes_all()[:5] == ["docker", "--host", "ssh://dev@ci.lan", "volume", "ls"]
    assert big.volumes_of("demo-dev-3") == ["docker", "--context", "bigbox", "volume", "ls", "--filter",
                                            "label=com.docker.compose.project=demo-dev-3", "--format", "{{.Name}}"]
    assert big.volume_rm(["a", "b"]) == ["docker", "--context", "bigbox", "volume", "rm", "a", "b"]
    assert DockerCli().network_create("meshnet", "x.y") == [
        "docker", "network", "create", "--driver", "bridge", "--label", "x.y=true", "meshnet"]
    assert DockerCli().network_rm("meshnet") == ["docker", "network", "rm", "meshnet"]
    assert DockerCli().network_inspect("meshnet", "F") == ["docker", "network", "inspect", "meshnet", "--format", "F"]
    assert docker_of(["docker", "--context", "big"]) == DockerCli("docker", ("--context", "big"))
