"""Every compose and docker argv multistack runs, spelt out word for word.

Mutation testing of plan/compose.py found most of these command lines checked only by
their first words or not at all (the clone/reset helpers, the label queries, the SSH
tunnel, the profiles of exec/run/ps/restart): a dropped ``--filter``, a lower-cased
``--format`` or a lost profile would reach docker unnoticed. Each test below pins a
whole argv, so the words docker and compose receive are exactly the ones documented.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from multistack.model.engines import Engine
from multistack.plan.compose import ComposeCli, ComposeProject, DockerCli, docker_of, ps_all, volumes_all
from tests.plan.test_compose import BIG, PLUGIN, STANDALONE, Tool  # the discovery doubles test_compose.py defines

#: A standalone compose started through a launcher: two words, still not the docker plugin.
LAUNCHED = Tool(("uvx", "docker-compose"), compose_plugin=False)

#: An SSH engine once io/ssh.py forwarded its socket: one connection, through the local socket.
TUNNELLED = Engine("far", docker_host="ssh://dev@far.lan", host="far.lan", tunnel="/run/ms/far.sock")
#: A context whose endpoint is tunnelled: the socket wins over the context.
TUNNELLED_CONTEXT = Engine("ctx", context="farbox", host="far.lan", tunnel="/run/ms/ctx.sock")

PS_FORMAT = ('{"project":{{json (.Label "com.docker.compose.project")}},'
             '"service":{{json (.Label "com.docker.compose.service")}},'
             '"name":{{json .Names}},"state":{{json .State}},"status":{{json .Status}},"ports":{{json .Ports}}}')
VOLUMES_FORMAT = '{{json (.Label "com.docker.compose.project")}} {{.Name}}'


# --------------------------------------------------------------------------
# The compose command on one engine


@pytest.mark.parametrize("engine, tool, prefix", [
    (TUNNELLED, PLUGIN, ["docker", "--host", "unix:///run/ms/far.sock", "compose"]),
    (TUNNELLED, STANDALONE, ["env", "DOCKER_HOST=unix:///run/ms/far.sock", "/usr/local/bin/docker-compose"]),
    (TUNNELLED_CONTEXT, PLUGIN, ["docker", "--host", "unix:///run/ms/ctx.sock", "compose"]),
    (TUNNELLED_CONTEXT, STANDALONE, ["env", "DOCKER_HOST=unix:///run/ms/ctx.sock", "/usr/local/bin/docker-compose"]),
])
def test_a_tunnelled_engine_is_reached_through_its_local_socket(engine, tool, prefix):
    assert ComposeCli.on(engine, tool).prefix() == prefix


def test_a_two_word_standalone_compose_gets_the_engine_as_a_variable():
    """Only the plugin takes docker's global flags between its two words."""
    assert ComposeCli.on(BIG, LAUNCHED).prefix() == ["env", "DOCKER_CONTEXT=bigbox", "uvx", "docker-compose"]
    assert ComposeCli.on(TUNNELLED, LAUNCHED).prefix() == [
        "env", "DOCKER_HOST=unix:///run/ms/far.sock", "uvx", "docker-compose"]


def test_a_plugin_without_a_subcommand_word_falls_back_to_the_variable():
    """There is no place between ``docker`` and ``compose`` when the command is one word."""
    cli = ComposeCli(("docker-compose",), plugin=True, context="bigbox")
    assert cli.prefix() == ["env", "DOCKER_CONTEXT=bigbox", "docker-compose"]


def test_the_default_engine_keeps_what_discovery_found():
    cli = ComposeCli.on(None, STANDALONE)
    assert (cli.command, cli.plugin, cli.context, cli.docker_host) == (
        ("/usr/local/bin/docker-compose",), False, None, None)
    assert cli.prefix() == ["/usr/local/bin/docker-compose"]
    assert ComposeCli.on(None, PLUGIN).plugin is True
    assert ComposeCli.on(None).prefix() == ["docker", "compose"]


# --------------------------------------------------------------------------
# Projects: the tool reaches every constructor, every command keeps its profiles

ROOT = Path("/srv/demo")


def test_shared_infra_uses_the_discovered_compose():
    shared = ComposeProject.for_shared("demo-shared", ROOT, ("compose.yml", "compose.dev.yml"), STANDALONE)
    assert shared.up() == ["/usr/local/bin/docker-compose", "-p", "demo-shared", "-f", "/srv/demo/compose.yml",
                           "-f", "/srv/demo/compose.dev.yml", "up", "-d", "--remove-orphans", "--wait"]


def test_a_mesh_without_env_file_uses_the_discovered_compose():
    mesh = ComposeProject.for_mesh("demo-mesh", ROOT, ("m/base.yml",), None, STANDALONE)
    assert mesh.down() == ["/usr/local/bin/docker-compose", "-p", "demo-mesh", "--profile", "*", "down",
                           "--remove-orphans"]


def test_a_member_without_env_file_has_no_env_file_flag():
    member = ComposeProject.for_member("acme-suite-storer", [ROOT / "compose.yml", "/srv/m/member.yml"], None,
                                       STANDALONE)
    assert member.up(wait=False) == ["/usr/local/bin/docker-compose", "-p", "acme-suite-storer",
                                     "-f", "/srv/demo/compose.yml", "-f", "/srv/m/member.yml",
                                     "up", "-d", "--remove-orphans"]


def test_a_project_by_name_alone():
    assert ComposeProject.named("demo-dev-7").args("ps") == ["docker", "compose", "-p", "demo-dev-7", "ps"]


def test_up_without_orphan_removal_waits_with_a_timeout_and_recreates():
    project = ComposeProject.named("p")
    assert project.up(remove_orphans=False, recreate=True, wait_timeout=30) == [
        "docker", "compose", "-p", "p", "up", "-d", "--wait", "--wait-timeout", "30", "--force-recreate"]
    assert project.up(wait=False, wait_timeout=30) == ["docker", "compose", "-p", "p", "up", "-d", "--remove-orphans"]


def test_every_command_keeps_its_profiles():
    project = ComposeProject("p", ("/srv/demo/compose.yml",), ("/srv/demo/.env",))
    base = ["docker", "compose", "-p", "p", "-f", "/srv/demo/compose.yml", "--env-file", "/srv/demo/.env",
            "--profile", "db", "--profile", "queue"]
    profiles = ("db", "queue")
    assert project.exec("db", ["psql"], profiles=profiles) == [*base, "exec", "-T", "db", "psql"]
    assert project.run("db", ["true"], profiles=profiles) == [*base, "run", "--rm", "-T", "db", "true"]
    assert project.ps(profiles=profiles) == [*base, "ps", "-a", "--format", "json"]
    assert project.ps(all_states=False, profiles=profiles) == [*base, "ps", "--format", "json"]
    assert project.restart(["web", "db"], profiles=profiles) == [*base, "restart", "web", "db"]
    assert project.config("--format", "json", profiles=profiles) == [*base, "config", "--format", "json"]
    assert project.config() == ["docker", "compose", "-p", "p", "-f", "/srv/demo/compose.yml",
                                "--env-file", "/srv/demo/.env", "config"]
    assert project.logs(tail=0, services=["web"], profiles=profiles) == [
        *base, "logs", "--no-color", "--tail", "0", "web"]
    assert project.down(profiles=()) == ["docker", "compose", "-p", "p", "-f", "/srv/demo/compose.yml",
                                         "--env-file", "/srv/demo/.env", "down", "--remove-orphans"]


# --------------------------------------------------------------------------
# docker on one engine

BIGFLAGS = ["docker", "--context", "bigbox"]


def test_docker_on_a_tunnelled_engine():
    assert DockerCli.on(TUNNELLED).info() == ["docker", "--host", "unix:///run/ms/far.sock", "info",
                                              "--format", "{{.ServerVersion}}"]
    assert DockerCli.on(None, "/usr/bin/docker").args("ps") == ["/usr/bin/docker", "ps"]


def test_the_label_queries_word_for_word():
    big = DockerCli.on(BIG)
    assert big.ps_all() == [*BIGFLAGS, "ps", "-a", "--filter", "label=com.docker.compose.project",
                            "--format", PS_FORMAT]
    assert big.ps_project("demo-dev-3", "{{.State}}") == [
        *BIGFLAGS, "ps", "-a", "--filter", "label=com.docker.compose.project=demo-dev-3", "--format", "{{.State}}"]
    assert big.volumes_all() == [*BIGFLAGS, "volume", "ls", "--filter", "label=com.docker.compose.project",
                                 "--format", VOLUMES_FORMAT]
    assert big.owners_of("network") == [*BIGFLAGS, "network", "ls", "--format",
                                        '{{.Name}} {{.Label "com.docker.compose.project"}}']
    assert big.owners_of("volume")[3:5] == ["volume", "ls"]


def test_the_engine_wide_queries_by_their_old_names():
    assert ps_all() == ["docker", "ps", "-a", "--filter", "label=com.docker.compose.project", "--format", PS_FORMAT]
    assert volumes_all() == ["docker", "volume", "ls", "--filter", "label=com.docker.compose.project",
                             "--format", VOLUMES_FORMAT]
    assert ps_all(["docker", "--context", "bigbox"])[:4] == [*BIGFLAGS, "ps"]
    assert volumes_all("/opt/docker") == ["/opt/docker", "volume", "ls", "--filter",
                                          "label=com.docker.compose.project", "--format", VOLUMES_FORMAT]
    assert docker_of("/opt/docker") == DockerCli("/opt/docker", ())


def test_clone_and_reset_commands_word_for_word():
    big = DockerCli.on(BIG)
    labels = [("com.docker.compose.project", "demo-dev-4"), ("com.docker.compose.volume", "pgdata")]
    assert big.volume_create("demo-dev-4_pgdata", labels) == [
        *BIGFLAGS, "volume", "create", "--driver", "local",
        "--label", "com.docker.compose.project=demo-dev-4", "--label", "com.docker.compose.volume=pgdata",
        "demo-dev-4_pgdata"]
    assert DockerCli().volume_create("v", [], driver="nfs") == ["docker", "volume", "create", "--driver", "nfs", "v"]
    assert big.stop_containers(["a-1", "b-1"]) == [*BIGFLAGS, "stop", "a-1", "b-1"]
    assert big.start_containers(["a-1", "b-1"]) == [*BIGFLAGS, "start", "a-1", "b-1"]
    assert big.image_names() == [*BIGFLAGS, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]


def test_the_helper_container_word_for_word():
    big = DockerCli.on(BIG)
    argv = big.run_helper("busybox:1", [("demo-dev-3_pgdata", "/from", True), ("demo-dev-4_pgdata", "/to", False)],
                          "cp -a /from/. /to/", "multistack.helper=clone")
    assert argv == [*BIGFLAGS, "run", "--rm", "--pull", "never", "--network", "none", "--user", "0:0",
                    "--label", "multistack.helper=clone", "--entrypoint", "sh",
                    "--volume", "demo-dev-3_pgdata:/from:ro", "--volume", "demo-dev-4_pgdata:/to",
                    "busybox:1", "-c", "cp -a /from/. /to/"]
