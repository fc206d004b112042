"""``inv dev N clone --from M`` and ``inv dev N reset`` against a recording context: what runs, in which
order, what is refused (and that nothing ran then), and the ``clone:`` section."""
from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from invoke import Config, Context, Result

from multistack.act import lifecycle
from multistack.errors import EXIT_CONFLICT, CommandFailed, ConflictError, StackError
from multistack.io import hostports
from multistack.io.locks import instance_lock
from multistack.model.stack import load_stack
from tests.recording import RecordingContext

COMPOSE = """\
services:
  db:
    image: multistack-test/busybox:1
    pull_policy: never
    ports: ["5432:5432"]
    volumes: [data:/data, cache:/cache]
volumes:
  data:
  cache: {labels: {team: shop}}
"""

ISOLATED = """\
project: shop
instances: 0-3
compose:
  files: [compose.yml]
services:
  db: {port: 47432, compose: db, container_port: 5432}
"""

RENAMING = ISOLATED + """\
clone:
  database: {run_in: db, psql: psql -X -U postgres -d postgres}
"""

SHARED = """\
project: shop
instances: 0-3
mode: shared
compose:
  files: [compose.yml]
services:
  db: {port: 47432, compose: db, container_port: 5432}
provision:
  database:
    run_in: db
    exists: psql -tAc "SELECT 1 FROM pg_database WHERE datname = '{{ database }}'"
    create: psql -c "CREATE DATABASE {{ database }}"
    teardown: psql -c "DROP DATABASE IF EXISTS {{ database }} WITH (FORCE)"
  bucket:
    exists: [mc-exists, "{{ names.bucket }}"]
    create: [mc, mb, "local/{{ names.bucket }}"]
    teardown: [mc, rb, "local/{{ names.bucket }}"]
"""

SHARED_CLONE = SHARED + """\
clone:
  database: {run_in: db, psql: "psql -X -U postgres -d postgres"}
"""


def ps_row(n: int, state: str = "running") -> str:
    return (f'{{"project":"shop-dev-{n}","service":"db","name":"shop-dev-{n}-db-1","state":"{state}",'
            f'"status":"Up 3 seconds","ports":""}}\n')


def context(answers: dict[str, Any] | None = None, dry: bool = False, ps: str = "") -> RecordingContext:
    """The engines present; ``ps``: what ``docker ps`` shows; instance 1 has both volumes; every other
    command succeeds with no output."""
    table: dict[Any, Any] = {re.compile(f".*?(?:{k})", re.S): v for k, v in (answers or {}).items()}
    table.setdefault(re.compile(r"docker compose version --short$"), Result("2.40.3\n"))
    table.setdefault(re.compile(r"docker info "), Result("20.10.24\n"))
    table.setdefault(re.compile(r"docker ps -a "), Result(ps))
    table.setdefault(re.compile(r".*volume ls --filter label=com.docker.compose.project=shop-dev-1 "),
                     Result("shop-dev-1_cache\nshop-dev-1_data\n"))
    table.setdefault(re.compile(r"docker image ls "), Result("multistack-test/busybox:1\n"))
    table[re.compile(".*", re.S)] = Result("")
    return RecordingContext(config=Config(overrides={"run": {"dry": dry}}), run=table, repeat=True)


@pytest.fixture
def make(make_stack, monkeypatch):
    """A stack from one of the texts above; engines on PATH, every port free and answering."""
    monkeypatch.setattr("multistack.io.tools.shutil.which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(hostports, "is_free", lambda port, host="127.0.0.1": True)
    monkeypatch.setattr(hostports, "accepts", lambda port, host="127.0.0.1", timeout=0.5: True)

    def build(text: str):
        return load_stack(make_stack(text, {"compose.yml": COMPOSE}))

    return build


def dev(c: Context, stack, words: str, **options: Any) -> None:
    """``inv dev WORDS`` as the CLI dispatches it (``--from`` as ``source``)."""
    from multistack.cli.words import parse_words

    lifecycle.dispatch(c, stack, parse_words(words.split(), False, stack), **options)


def index(commands: list[str], text: str) -> int:
    return next(i for i, command in enumerate(commands) if text in command)


def argv_of(commands: list[str], text: str) -> list[str]:
    return shlex.split(commands[index(commands, text)])


# --------------------------------------------------------------------------
# Isolated mode: volumes


def test_clone_stops_the_source_copies_with_compose_labels_restarts_it_then_starts_the_target(make):
    stack = make(ISOLATED)
    c = context(ps=ps_row(1))
    dev(c, stack, "3 clone", source=1)
    run = c.commands
    stop, copy, start = index(run, "docker stop"), index(run, "docker run "), index(run, "docker start")
    assert run[stop] == "docker stop shop-dev-1-db-1" and run[start] == "docker start shop-dev-1-db-1"
    assert stop < index(run, "volume create") < copy < start < index(run, "compose -p shop-dev-3")
    assert argv_of(run, "volume create --driver local") == [
        "docker", "volume", "create", "--driver", "local", "--label", "com.docker.compose.project=shop-dev-3",
        "--label", "com.docker.compose.version=2.40.3", "--label", "com.docker.compose.volume=cache",
        "--label", "team=shop", "shop-dev-3_cache"]
    helper = argv_of(run, "docker run ")
    assert helper[-3:] == ["multistack-test/busybox:1", "-c", "set -e; cp -a /from/0/. /to/0/; cp -a /from/1/. /to/1/"]
    assert "shop-dev-1_data:/from/1:ro" in helper and "shop-dev-3_data:/to/1" in helper
    assert "--pull" in helper and helper[helper.index("--pull") + 1] == "never"
    assert any(" up -d " in command and "-p shop-dev-3" in command for command in run)
    assert not any("docker volume rm" in command for command in run)  # instance 3 had no volumes to replace


def test_clone_of_a_stopped_source_stops_and_starts_nothing(make):
    stack = make(ISOLATED)
    c = context()
    dev(c, stack, "3 clone", source=1)
    assert not any(command.startswith(("docker stop", "docker start")) for command in c.commands)
    assert any(command.startswith("docker run ") for command in c.commands)


def test_clone_replaces_the_targets_old_volumes(make):
    stack = make(ISOLATED)
    c = context({r"volume ls --filter label=com.docker.compose.project=shop-dev-3 ": Result("shop-dev-3_data\n")})
    dev(c, stack, "3 clone", source=1)
    assert index(c.commands, "docker volume rm shop-dev-3_data") < index(c.commands, "volume create")


def test_clone_refuses_a_running_target_without_force_and_runs_nothing(make):
    stack = make(ISOLATED)
    c = context(ps=ps_row(1) + ps_row(3))
    with pytest.raises(ConflictError, match="instance 3 is running: clone would replace its data") as caught:
        dev(c, stack, "3 clone", source=1)
    assert caught.value.exit_code == EXIT_CONFLICT and "--force" in (caught.value.hint or "")
    assert not any(word in command for command in c.commands for word in ("volume create", "docker stop", "docker run"))


def test_clone_force_stops_the_target_first(make):
    stack = make(ISOLATED)
    c = context(ps=ps_row(1) + ps_row(3))
    dev(c, stack, "3 clone", source=1, force=True)
    down = next(i for i, command in enumerate(c.commands) if "-p shop-dev-3" in command and " down " in command)
    assert down < index(c.commands, "volume create")


@pytest.mark.parametrize("words, source, message", [
    ("1 clone", 1, "cannot clone instance 1 onto itself"),
    ("3 clone", 2, "instance 2 has no data to clone: none of its volumes (shop-dev-2_cache, shop-dev-2_data)"),
])
def test_clone_refusals(make, words, source, message):
    stack = make(ISOLATED)
    c = context()
    with pytest.raises(StackError, match=re.escape(message)):
        dev(c, stack, words, source=source)
    assert not any("volume create" in command for command in c.commands)


def test_clone_needs_named_volumes(make):
    stack = make(ISOLATED)
    (stack.root / "compose.yml").write_text("services:\n  db: {image: x, ports: ['5432:5432']}\n")
    with pytest.raises(StackError, match="declare no named volume"):
        dev(context(), stack, "3 clone", source=1)


def test_a_busy_source_fails_fast_instead_of_waiting(make):
    """clone 1 -> 3 beside clone 3 -> 1: each holds its target and cannot wait for the other."""
    stack = make(ISOLATED)
    c = context()
    with instance_lock(stack, 1, "clone --from 3"):
        with pytest.raises(ConflictError, match="instance 1 is busy") as caught:
            dev(c, stack, "3 clone", source=1)
    assert caught.value.exit_code == EXIT_CONFLICT
    assert not any("volume" in command for command in c.commands)


def test_a_failed_copy_removes_the_new_volumes_and_restarts_the_source(make):
    stack = make(ISOLATED)
    c = context({r"docker run ": Result("", stderr="exec: sh: not found", exited=127)}, ps=ps_row(1))
    with pytest.raises(CommandFailed, match=r"the copy failed .* \(exit 127\); instance 3's volumes were removed"):
        dev(c, stack, "3 clone", source=1)
    run = c.commands
    assert index(run, "docker run ") < index(run, "docker volume rm shop-dev-3_cache shop-dev-3_data")
    assert run[-1] == "docker start shop-dev-1-db-1"  # and instance 3 is not started


def test_dry_clone_prints_the_commands_and_changes_nothing(make, capsys):
    stack = make(ISOLATED)
    dev(Context(Config(overrides={"run": {"dry": True}})), stack, "3 clone", source=1)
    out = capsys.readouterr().out
    echoed = re.findall(r"\x1b\[1;37m(.*?)\x1b\[0m", out)
    assert [e.split(" --label")[0] for e in echoed if "volume create" in e] == [
        "docker volume create --driver local"] * 2
    assert any(e.startswith("docker run --rm --pull never") and "multistack-test/busybox:1" in e for e in echoed)
    assert "instance 3: would copy 2 volumes of instance 1 (cache, data)" in out
    assert "would stop instance 1's running containers" in out
    assert not (stack.root / ".instances").exists()  # no folder, no lock


def test_clone_renames_the_copied_database_before_the_apps_start(make):
    stack = make(RENAMING)
    c = context({r"-tA -c 'SELECT 1 FROM pg_database": Result("1\n")})
    dev(c, stack, "3 clone", source=1)
    run = c.commands
    up = index(run, "up -d")
    rename = index(run, "RENAME TO")
    assert up < rename
    assert argv_of(run, "RENAME TO")[:8] == ["docker", "compose", "-p", "shop-dev-3", "-f",
                                             str(stack.root / "compose.yml"), "-f",
                                             str(stack.root / ".instances/instance-3/docker-compose.override.yml")]
    assert argv_of(run, "RENAME TO")[-1] == 'ALTER DATABASE "shop_instance_1" RENAME TO "shop_instance_3"'


def test_reset_removes_the_volumes_and_creates_them_empty(make, capsys):
    stack = make(ISOLATED)
    c = context({r"volume ls --filter label=com.docker.compose.project=shop-dev-3 ":
                 Result("shop-dev-3_cache\nshop-dev-3_data\n")})
    dev(c, stack, "3 reset")
    run = c.commands
    assert index(run, "docker volume rm shop-dev-3_cache shop-dev-3_data") < index(run, "volume create")
    assert [argv_of([r], "create")[-1] for r in run if "volume create" in r] == ["shop-dev-3_cache", "shop-dev-3_data"]
    assert not any("shop-dev-1" in command for command in run)  # nothing of another instance
    assert not any(" up -d " in command for command in run)  # it was not running: not started
    assert "instance 3: reset: volumes cache, data empty" in capsys.readouterr().out


def test_reset_refuses_a_running_instance_without_force(make):
    stack = make(ISOLATED)
    with pytest.raises(ConflictError, match="instance 3 is running: reset would empty its data"):
        dev(context(ps=ps_row(3)), stack, "3 reset")
    c = context(ps=ps_row(3))
    dev(c, stack, "3 reset", force=True)
    assert any(" up -d " in command for command in c.commands)  # started again


# --------------------------------------------------------------------------
# Shared mode


def test_shared_clone_needs_the_database_server(make):
    with pytest.raises(StackError, match=r"does not say how to reach it \(clone.database.psql\)"):
        dev(context(), make(SHARED), "3 clone", source=1)


def test_shared_clone_copies_the_database_with_template_and_recreates_the_rest(make, capsys):
    stack = make(SHARED_CLONE)
    c = context({r"-tA -c 'SELECT 1 FROM pg_database WHERE datname = \S{0,6}shop_instance_1": Result("1\n"),
                 r"pg_database WHERE datname = \S{0,6}shop_instance_3": Result("1\n"),  # its provision: present
                 r"mc-exists": Result("present\n")})
    dev(c, stack, "3 clone", source=1)
    run = c.commands
    copy = argv_of(run, "TEMPLATE")
    assert copy[:4] == ["docker", "compose", "-p", "shop-shared"]
    assert copy[copy.index("db"):] == [
        "db", "psql", "-X", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
        "-c", 'ALTER DATABASE "shop_instance_1" ALLOW_CONNECTIONS false',
        "-c", "SELECT count(pg_terminate_backend(pid)) AS ended FROM pg_stat_activity "
              "WHERE datname = 'shop_instance_1' AND pid <> pg_backend_pid()",
        "-c", 'DROP DATABASE IF EXISTS "shop_instance_3" WITH (FORCE)',
        "-c", 'CREATE DATABASE "shop_instance_3" TEMPLATE "shop_instance_1"']
    assert index(run, "mc rb local/shop-dev-3") < index(run, "TEMPLATE") < index(run, "ALLOW_CONNECTIONS true")
    assert not any("DROP DATABASE IF EXISTS shop_instance_3" in command for command in run)  # not its teardown
    out = capsys.readouterr().out
    assert "instance 3: copied database shop_instance_1 of instance 1 into shop_instance_3" in out
    assert "not copied, recreated empty for instance 3: provision steps bucket;" in out


def test_shared_clone_reopens_the_source_when_the_copy_fails(make):
    stack = make(SHARED_CLONE)
    c = context({r"-tA -c 'SELECT 1 FROM pg_database": Result("1\n"),
                 r"TEMPLATE": Result("", stderr="ERROR: source database is being accessed", exited=1)})
    with pytest.raises(CommandFailed, match="psql failed"):
        dev(c, stack, "3 clone", source=1)
    assert "ALLOW_CONNECTIONS true" in c.commands[-1]


def test_shared_clone_from_an_instance_without_a_database(make):
    c = context()  # the exists query prints nothing
    with pytest.raises(StackError, match="instance 1 has no database shop_instance_1 to clone"):
        dev(c, make(SHARED_CLONE), "3 clone", source=1)
    assert not any("TEMPLATE" in command for command in c.commands)


def test_shared_reset_tears_down_and_provisions_again(make):
    stack = make(SHARED)
    c = context({r"pg_database WHERE datname = \S{0,6}shop_instance_3": Result("1\n"), r"mc-exists": Result("1\n")})
    dev(c, stack, "3 reset")
    run = c.commands
    drop = index(run, "DROP DATABASE IF EXISTS shop_instance_3")
    assert index(run, "mc rb local/shop-dev-3") < drop  # teardown: in reverse order
    assert any("pg_database WHERE" in command for command in run[drop + 1:])  # then provision asks again
    assert not any("shop_instance_1" in command or "shop-dev-1" in command for command in run)


def test_clone_between_modes_is_refused(make):
    stack = make(SHARED_CLONE)
    (stack.root / ".instances" / "instance-1").mkdir(parents=True)
    (stack.root / ".instances" / "instance-1" / "mode").write_text("isolated\n")
    with pytest.raises(StackError, match="instance 1 is in isolated mode, instance 3 in shared mode"):
        dev(context(), stack, "3 clone", source=1)


# --------------------------------------------------------------------------
# The clone: section


@pytest.mark.parametrize("section, message", [
    ("clone: {images: x}\n", "clone: unknown key 'images'"),
    ("clone: {image: ''}\n", "clone.image: must be a non-empty string"),
    ("clone: {database: {run_in: db}}\n", "clone.database.psql: must be psql's command"),
    ("clone: {database: {psql: \"psql 'x\"}}\n", "clone.database.psql: cannot be split into arguments"),
    ("clone: {database: {psql: psql, run_in: 'a b'}}\n", "is neither `host` nor a compose service name"),
    ("clone: {database: {psql: psql, step: nope}}\n", "clone.database.step: 'nope' is not a provision step"),
])
def test_bad_clone_sections(make_stack, section, message):
    with pytest.raises(StackError, match=re.escape(message)):
        load_stack(make_stack(ISOLATED + section, {"compose.yml": COMPOSE}))


def test_the_demo_stack_renames_its_database_in_its_own_postgres():
    stack = load_stack(Path(__file__).resolve().parents[2] / "examples" / "demo" / "stack.yaml")
    assert stack.clone.database is not None and stack.clone.database.run_in == "postgres"
    assert stack.clone.database.step is None and stack.clone.image is None
