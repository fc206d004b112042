"""What clone and reset copy, create and run, as data (plan/clone.py, DockerCli's clone commands)."""
from __future__ import annotations

import pytest

from multistack.model.compose_doc import parse_compose
from multistack.plan.clone import (
    VolumeSpec,
    copy_mounts,
    copy_script,
    declared_volumes,
    helper_image,
    plan_copies,
    psql_argv,
    rename_sql,
    reopen_sql,
    template_copy_sql,
    volume_labels,
)
from multistack.plan.compose import DockerCli
from multistack.model.engines import Engine

BASE = """\
services:
  db: {image: pg:15, volumes: [data:/var/lib/data]}
volumes:
  data:
  cache: {labels: {team: shop}}
  shared: {name: everyone}
  outside: {external: true}
  hostdir: {driver_opts: {type: none, o: bind, device: /srv/x}}
"""
OVERRIDE = """\
services: {}
volumes:
  cache: {labels: ["team=web", "tier"]}
  logs: {driver: local}
"""


def test_declared_volumes_split_the_instances_own_from_the_others():
    own, skipped = declared_volumes([parse_compose(BASE, "a.yml"), parse_compose(OVERRIDE, "b.yml")])
    assert own == [VolumeSpec("cache", "local", (("team", "web"), ("tier", ""))),  # the later file wins
                   VolumeSpec("data"), VolumeSpec("logs")]
    assert {s.key: s.reason.split(":")[0] for s in skipped} == {
        "hostdir": "driver_opts", "outside": "external", "shared": "fixed name 'everyone'"}


def test_labels_are_composes_own_for_the_target_and_never_a_config_hash():
    spec = VolumeSpec("cache", labels=(("com.docker.compose.project", "forged"), ("team", "web")))
    labels = dict(volume_labels("shop-dev-3", spec, "2.40.3"))
    assert labels == {"com.docker.compose.project": "shop-dev-3", "com.docker.compose.volume": "cache",
                      "com.docker.compose.version": "2.40.3", "team": "web"}
    assert "com.docker.compose.config-hash" not in labels  # compose would ask "Recreate (data will be lost)?"
    assert "com.docker.compose.version" not in dict(volume_labels("p", spec))  # unknown under --dry


def test_copies_keep_only_the_volumes_the_source_has():
    specs = [VolumeSpec("data"), VolumeSpec("cache")]
    every = plan_copies(specs, "shop-dev-1", "shop-dev-3")
    assert [(c.source, c.target) for c in every] == [("shop-dev-1_data", "shop-dev-3_data"),
                                                    ("shop-dev-1_cache", "shop-dev-3_cache")]
    assert [c.key for c in plan_copies(specs, "shop-dev-1", "shop-dev-3", present={"shop-dev-1_cache"})] == ["cache"]
    assert plan_copies(specs, "shop-dev-1", "shop-dev-3", present=set()) == []


def test_one_helper_copies_every_volume_read_only_from_the_source():
    copies = plan_copies([VolumeSpec("data"), VolumeSpec("cache")], "s", "t")
    assert copy_mounts(copies) == [("s_data", "/from/0", True), ("t_data", "/to/0", False),
                                   ("s_cache", "/from/1", True), ("t_cache", "/to/1", False)]
    assert copy_script(copies) == "set -e; cp -a /from/0/. /to/0/; cp -a /from/1/. /to/1/"
    argv = DockerCli.on(Engine("big", context="big")).run_helper(
        "pg:15", copy_mounts(copies)[:2], "set -e", "multistack.clone=t")
    assert argv == ["docker", "--context", "big", "run", "--rm", "--pull", "never", "--network", "none",
                    "--user", "0:0", "--label", "multistack.clone=t", "--entrypoint", "sh",
                    "--volume", "s_data:/from/0:ro", "--volume", "t_data:/to/0", "pg:15", "-c", "set -e"]


def test_volume_create_carries_the_labels():
    assert DockerCli().volume_create("t_data", (("a", "1"), ("b", "x=y")), "local") == [
        "docker", "volume", "create", "--driver", "local", "--label", "a=1", "--label", "b=x=y", "t_data"]


@pytest.mark.parametrize("configured, present, expected", [
    ("mine:1", {"pg:15"}, "mine:1"),  # clone.image, as given: never checked against the engine's list
    (None, {"redis:latest", "pg:15"}, "redis"),  # `redis` is redis:latest in `docker image ls`
    (None, {"pg:15"}, "pg:15"),
    (None, None, "redis"),  # --dry: nothing asked, the first candidate
    (None, {"other:1"}, None),
])
def test_helper_image(configured, present, expected):
    assert helper_image(configured, ["redis", "pg:15", "redis"], present) == expected


def test_template_copy_closes_the_source_ends_its_sessions_then_copies():
    statements = template_copy_sql("shop_instance_1", "shop_instance_3")
    assert statements == [
        'ALTER DATABASE "shop_instance_1" ALLOW_CONNECTIONS false',
        "SELECT count(pg_terminate_backend(pid)) AS ended FROM pg_stat_activity "
        "WHERE datname = 'shop_instance_1' AND pid <> pg_backend_pid()",
        'DROP DATABASE IF EXISTS "shop_instance_3" WITH (FORCE)',
        'CREATE DATABASE "shop_instance_3" TEMPLATE "shop_instance_1"',
    ]
    assert reopen_sql("shop_instance_1") == ['ALTER DATABASE "shop_instance_1" ALLOW_CONNECTIONS true']
    assert rename_sql("a", 'b"c')[-1] == 'ALTER DATABASE "a" RENAME TO "b""c"'
    assert "'it''s'" in rename_sql("it's", "b")[0]


def test_each_statement_is_its_own_dash_c():
    """CREATE DATABASE cannot run inside a transaction block, which one -c of several statements is."""
    assert psql_argv(["psql", "-X"], ["A", "B"]) == ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-c", "A", "-c", "B"]
    assert psql_argv(["psql"], ["A"], tuples_only=True) == ["psql", "-v", "ON_ERROR_STOP=1", "-tA", "-c", "A"]
