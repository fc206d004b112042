"""stack.yaml's wrong values and where the file is found: the exact line a person reads.

Mutation testing left the type names of the messages (``got a list`` ...), the stack-file
search and the instance-number checks mostly unchecked; then the fields a loaded stack
holds (each key in its field, the defaults), the methods every command calls (PM2 names
and their inverse, the engine of an instance, the port plan), the whole line of each
refusal with its fix, and what the other sections get from the stack (its range, compose
files, provision steps, services).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
import yaml

from multistack.errors import StackError
from multistack.model.stack import (
    App,
    ComposePatch,
    Service,
    Stack,
    env_copy_name,
    find_stack_file,
    load_stack,
    parse_stack,
)
from tests.audit.fake import run_program

API = "services: {api: {port: 3000}}\n"


def assert_line(error: StackError, line: str) -> None:
    """``line`` as printed; written without ``(fix: ...)``, only the message is compared."""
    message, _, hint = line.partition(" (fix: ")
    assert error.message == message
    if hint:
        assert error.hint == hint[:-1]


@pytest.mark.parametrize("text, line", [
    ("project: [x]\n" + API, "project: must be a non-empty string, got a list"),
    ("project: 12\n" + API, "project: must be a non-empty string, got an integer"),
    ("project: shop\nservices: {api: {port: true}}\n", "services.api.port: must be an integer, got a boolean"),
    ("project: shop\nservices: {api: {port: 3.5}}\n", "services.api.port: must be an integer, got a number"),
    ("project: shop\nservices: {api: {port: '3000'}}\n", "services.api.port: must be an integer, got a string"),
    ("project: shop\nservices: {api: {port: {a: 1}}}\n", "services.api.port: must be an integer, got a mapping"),
    ("project: shop\nservices: [api]\n", "services: must be a mapping, got a list"),
    ("project: shop\nservices: {api: 5}\n", "services.api: must be a mapping with at least `port`, got an integer"),
    ("project: shop\n" + API + "apps: {api: {command: 7}}\n", "apps.api.command: must be a non-empty string, got an integer"),
    ("project: shop\n" + API + "env: {A: [1]}\n", "env.A: must be a string or number, got a list"),
    ("project: shop\n" + API + "env: {A: 2020-01-01}\n", "env.A: must be a string or number, got date"),
])
def test_wrong_types_are_named_for_a_person(make_stack: Callable[..., Path], text: str, line: str) -> None:
    with pytest.raises(StackError) as info:
        load_stack(make_stack(text))
    assert_line(info.value, f"stack.yaml: {line}")


def test_the_stack_file_is_found_in_a_folder_above(make_stack: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    stack = make_stack("project: shop\n" + API)
    deep = stack.parent / "a" / "b"
    deep.mkdir(parents=True)
    assert find_stack_file(deep) == stack
    monkeypatch.chdir(deep)
    assert find_stack_file() == stack
    assert load_stack().path == stack


def test_multistack_file_wins_and_must_exist(make_stack: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    make_stack("project: shop\n" + API)
    other = tmp_path / "elsewhere" / "other.yaml"
    other.parent.mkdir()
    other.write_text("project: other\n" + API)
    monkeypatch.setenv("MULTISTACK_FILE", str(other))
    assert find_stack_file() == other
    assert load_stack().project == "other"
    monkeypatch.setenv("MULTISTACK_FILE", str(tmp_path / "nope.yaml"))
    with pytest.raises(StackError) as info:
        find_stack_file()
    assert info.value.line() == (f"error: MULTISTACK_FILE={tmp_path / 'nope.yaml'}: no such file "
                                 "(fix: point MULTISTACK_FILE at an existing stack.yaml or unset it)")


def test_no_stack_file_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MULTISTACK_FILE", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(StackError) as info:
        find_stack_file(empty)
    assert info.value.line() == (f"error: no stack.yaml in {empty.resolve()} or any folder above it "
                                 "(fix: run from your stack's folder or set MULTISTACK_FILE)")


@pytest.mark.parametrize("word, line", [
    ("05", "error: instance '05' has a leading zero (fix: write it as 5)"),
    ("use abc", "error: instance 'abc' is not a number (fix: give a whole number 2-6 without leading zeros, "
            "e.g. `inv dev 2 start`)"),
    ("use ²", "error: instance '²' is not a number (fix: give a whole number 2-6 without leading zeros, "
          "e.g. `inv dev 2 start`)"),
    ("7", "error: instance 7 is out of range 2-6 (fix: use 2-6, or widen `instances:` in stack.yaml)"),
    ("1", "error: instance 1 is out of range 2-6 (fix: use 2-6, or widen `instances:` in stack.yaml)"),
])
def test_instance_numbers_on_the_command_line(make_stack: Callable[..., Path], word: str, line: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    make_stack("project: shop\ninstances: 2-6\n" + API)
    argv = ["dev.use", word.split()[1]] if word.startswith("use ") else ["dev", word, "project-name"]
    code, out, err = run_program(argv, capsys)
    assert (code, err.strip()) == (2, line)


@pytest.mark.parametrize("word, name", [("2", "shop-dev-2"), ("6", "shop-dev-6")])
def test_the_ends_of_the_range_are_instances(make_stack: Callable[..., Path], word: str, name: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    make_stack("project: shop\ninstances: 2-6\n" + API)
    assert run_program(["dev", word, "project-name"], capsys)[:2] == (0, name + "\n")


@pytest.mark.parametrize("text, files, line", [
    ("project: shop\nservices: {api: {port: 3000}\n", {},
     "stack.yaml:3:1: malformed YAML: did not find expected ',' or '}' (fix: fix the YAML syntax at that line)"),
    ("project: shop\nservices:\n  api: {port: 3000}\n bad: 1\n", {},
     "stack.yaml:4:2: malformed YAML: did not find expected key (fix: fix the YAML syntax at that line)"),
    ("project: shop\n" + API + "apps: {api: {command: '  '}}\n", {},
     "stack.yaml: apps.api.command: has no program to run (fix: give the command PM2 runs, e.g. `python3 server.py`)"),
    ("project: shop\n" + API + "env_files: [a/app.env, b/app.env]\n", {"a/app.env": "A=1\n", "b/app.env": "A=1\n"},
     "stack.yaml: env_files: 'b/app.env' and 'a/app.env' would both be copied to app.env (fix: rename one of them)"),
    ("project: shop\n" + API + "env_files: [.env]\napps: {api: {command: x, env_files: [nope.env]}}\n", {".env": "A=1\n"},
     "stack.yaml: apps.api.env_files: 'nope.env' is not an instance env file; known: .env, instance.env"),
    ("project: shop\nservices: {api: {port: 3000, compose: api}}\n", {},
     "stack.yaml: services.api: missing 'container_port' for a compose service (fix: the port inside the container)"),
    ("project: shop\nservices: {api: {port: null}}\n", {},
     "stack.yaml: services.api: missing required key 'port' (fix: give the service's base port (instance 0))"),
    ("project: shop\n" + API + "mode: true\n", {},
     "stack.yaml: mode: must be one of isolated, shared, got True "
     "(fix: isolated runs one infra per instance; shared runs it once)"),
    ("project: shop\nservices: {api: {port: 3000, compose: api, container_port: 80}}\n", {},
     "stack.yaml: compose.files: services name compose services but no compose file is listed "
     "(fix: list your docker-compose.yml under compose.files)"),
])
def test_more_refusals(make_stack: Callable[..., Path], text: str, files: dict[str, str], line: str) -> None:
    with pytest.raises(StackError) as info:
        load_stack(make_stack(text, files))
    assert_line(info.value, line)


def test_utf8_stack_file_with_non_ascii_text(make_stack: Callable[..., Path]) -> None:
    stack = load_stack(make_stack("project: shop\n" + API + "env: {GREETING: 'grüß dich ✓'}\n"))
    assert dict(stack.env)["GREETING"] == "grüß dich ✓"


COMPOSE_WEB = {"compose.yml": "services:\n  web:\n    image: x\n"}


@pytest.mark.parametrize("text, line", [
    ("project: shop\nservices: {Web!: {port: 3000}}\n",
     "services.Web!: service names are lowercase letters, digits, - and _"),
    ("project: shop\ncompose: {files: [compose.yml]}\nservices: {web: {port: 3000, compose: 'Bad Name', container_port: 80}}\n",
     "services.web.compose: 'Bad Name' is not a valid compose service name"),
    ("project: shop\nservices: {web: {port: 3000, container_port: 80}}\n",
     "services.web.container_port: 'container_port' needs 'compose' (the compose service name)"),
    ("project: shop\nservices: {web: {port: 3000, env_keys: ['1BAD']}}\n",
     "services.web.env_keys: '1BAD' is not a valid environment variable name"),
    ("project: shop\nservices: {web: {port: 65536}}\n", "services.web.port: must be 1-65535, got 65536"),
    ("project: shop\nservices: {web: {port: 0}}\n", "services.web.port: must be 1-65535, got 0"),
    ("project: shop\ninstances: 0-9\nservices: {web: {port: 65535}}\n",
     "services.web.port: instance 9 would get port 66435 (> 65535) (fix: lower the base port, the stride or the last instance)"),
    ("project: shop\ninstances: {first: 10000, last: 10000}\nservices: {web: {port: 3000}}\n",
     "instances.first: must be 0-9999, got 10000"),
    ("project: shop\ncompose: {files: [compose.yml], services: {'Bad!': {}}}\nservices: {web: {port: 3000}}\n",
     "compose.services.Bad!: is not a valid compose service name"),
    ("project: shop\ncompose: {files: [compose.yml], services: {web: {nope: 1}}}\nservices: {web: {port: 3000}}\n",
     "compose.services.web: unknown key 'nope' (fix: check the spelling against multistack/schema/stack.schema.json)"),
])
def test_refusals_of_services_and_ranges(make_stack: Callable[..., Path], text: str, line: str) -> None:
    with pytest.raises(StackError) as info:
        load_stack(make_stack(text, COMPOSE_WEB))
    assert_line(info.value, f"stack.yaml: {line}")


def test_the_edges_that_are_accepted(make_stack: Callable[..., Path]) -> None:
    stack = load_stack(make_stack("project: shop\ninstances: {last: 0}\nservices: {web: {port: 65535}, db: {port: 1}}\n"))
    assert (stack.first, stack.last) == (0, 0)
    assert [(s.name, s.port) for s in stack.services] == [("web", 65535), ("db", 1)]
    top = load_stack(make_stack("project: shop\ninstances: {first: 9999, last: 9999}\nstride: 1\n"
                                "services: {web: {port: 1000}}\n"))
    assert (top.first, top.last, top.stride) == (9999, 9999, 1)


# --------------------------------------------------------------------------
# What a loaded stack holds, field by field, and the methods every command calls

FULL = """\
project: shop
instances: 2-4
stride: 10
host_ip: 127.0.0.5
compose:
  files: [compose.yml]
  env_files: [instance.env, api.env]
  override_template: over.j2
  services:
    web: {environment: {A: x, B: 2}, command: 'run {{ n }}'}
    db: {}
pm2:
  ecosystem_template: eco.j2
  app_name: "{project}_{app}_{n}"
env_files: [env/api.env]
services:
  web: {port: 3000, compose: web, container_port: 80, env_keys: [WEB_PORT, PORT], url: "http://x:{{ port }}"}
  api: {port: 4000}
apps:
  api: {command: python3 api.py, cwd: srv, env_files: [api.env], env: {X: '1'}}
  worker: {command: w}
env: {E: v, N: 3}
namespace: ns-{{ n }}
database: db_{{ n }}
instances_dir: .runs
"""


def parse(text: str) -> Stack:
    return parse_stack(yaml.safe_load(text), Path("/x/stack.yaml"))


def test_every_top_level_key_lands_in_its_field() -> None:
    stack = parse(FULL)
    assert (stack.path, stack.project, stack.first, stack.last, stack.stride, stack.host_ip) == (
        Path("/x/stack.yaml"), "shop", 2, 4, 10, "127.0.0.5")
    assert (stack.compose_files, stack.compose_env_files, stack.override_template, stack.ecosystem_template) == (
        ("compose.yml",), ("instance.env", "api.env"), "over.j2", "eco.j2")
    assert stack.compose_patches == (ComposePatch("web", (("A", "x"), ("B", "2")), "run {{ n }}"),
                                     ComposePatch("db", (), None))
    assert stack.app_name_pattern == "{project}_{app}_{n}"
    assert stack.env_files == ("env/api.env",)
    assert stack.services == (Service("web", 3000, "web", 80, ("WEB_PORT", "PORT"), "http://x:{{ port }}"),
                              Service("api", 4000, None, None, (), None))
    assert stack.apps == (App("api", "python3 api.py", "srv", ("api.env",), (("X", "1"),)),
                          App("worker", "w", ".", (), ()))
    assert stack.env == (("E", "v"), ("N", "3"))
    assert (stack.namespace, stack.database, stack.instances_dir) == ("ns-{{ n }}", "db_{{ n }}", ".runs")
    assert stack.instance_dir(3) == Path("/x/.runs/instance-3")
    assert stack.app_name("api", 3) == "shop_api_3"
    assert stack.app_of_name("shop_worker_4") == ("worker", 4)
    assert stack.app_of_name("shop_web_3") is None  # a service, not an app


def test_an_app_name_is_read_back_with_the_stacks_range() -> None:
    """Under ``{project}{app}{n}`` over 10-19, ``pa12`` is app a of 12, not app a1 of 2."""
    stack = parse('project: p\ninstances: 10-19\npm2: {app_name: "{project}{app}{n}"}\n'
                  "apps: {a: {command: x}, a1: {command: y}}\n")
    assert stack.app_of_name("pa12") == ("a", 12)
    assert stack.app_name("a1", 12) == "pa112"


def test_the_defaults_of_a_minimal_stack() -> None:
    stack = parse("project: p\n")
    assert stack == Stack(path=Path("/x/stack.yaml"), project="p")
    assert (stack.first, stack.last, stack.stride, stack.host_ip, stack.instances_dir) == (0, 9, 100, "127.0.0.1",
                                                                                          ".instances")
    assert (stack.compose_files, stack.env_files, stack.services, stack.apps, stack.env) == ((), (), (), (), ())
    assert (stack.namespace, stack.database, stack.override_template, stack.ecosystem_template) == (
        None, None, None, None)
    assert stack.app_name_pattern == "{project}-{app}-{n}"
    assert stack.mode == "isolated" and stack.networks is None and stack.router is None and stack.mesh is None
    assert stack.clone.image is None and stack.clone.database is None
    assert stack.instance_dir(0) == Path("/x/.instances/instance-0")
    assert stack.root == Path("/x")
    assert stack.compose_project(7) == "p-dev-7"
    assert stack.app_name("api", 7) == "p-api-7"


def test_a_stack_built_in_code_has_its_own_defaults() -> None:
    built = Stack(path=Path("/y/s.yaml"), project="q")
    assert (built.first, built.last, built.stride, built.host_ip, built.instances_dir, built.mode) == (
        0, 9, 100, "127.0.0.1", ".instances", "isolated")
    assert built.instance_range == range(0, 10)
    (engine,) = built.engines
    assert (engine.name, engine.host_ip, engine.slots) == ("local", "127.0.0.1", tuple(range(10)))
    assert not built.engines_declared


def test_service_lookup_and_its_refusal() -> None:
    stack = parse(FULL)
    assert stack.service("api").port == 4000
    with pytest.raises(StackError) as info:
        stack.service("nope")
    assert info.value.line() == "error: no service named 'nope' in stack.yaml"


ENGINES = """\
project: shop
instances: 0-5
engines:
  big: {context: bigbox, host: bigbox.lan, slots: [1, 3-4]}
services: {api: {port: 3000}, web: {port: 3050}}
"""


def test_instances_grouped_by_engine_in_the_order_of_the_engines() -> None:
    stack = parse(ENGINES)
    assert stack.engines_declared
    big, local = stack.engines
    assert (big.name, local.name) == ("big", "local")
    assert stack.engine_for(3) is big and stack.engine_for(0) is local and stack.engine_for(5) is local
    assert stack.by_engine([0, 1, 5, 3]) == {big: [1, 3], local: [0, 5]}
    assert stack.by_engine([1]) == {big: [1]}
    assert stack.by_engine([]) == {}
    with pytest.raises(StackError) as info:
        stack.engine_for(6)
    assert info.value.line() == "error: instance 6 is out of range 0-5"


def test_the_port_plan_counts_remote_containers_on_their_own_engine_only_with_engines() -> None:
    # api of instance 1 (3100) meets web of instance 0 (3100): one engine, or two with `engines:`
    services = ("compose: {files: [c.yml]}\n"
                "services: {api: {port: 3000, compose: api, container_port: 1},"
                " web: {port: 3100, compose: web, container_port: 1}}\n")
    stack = parse("project: shop\ninstances: 0-1\nengines:\n  big: {context: b, host: b.lan, slots: [1]}\n"
                  + services)
    stack.check_port_plan()  # instance 1's containers publish on big
    with pytest.raises(StackError) as info:
        parse("project: shop\ninstances: 0-1\n" + services)
    assert info.value.message == "stack.yaml: services: port 3100 is used by web of instance 0 and by api of instance 1"
    # a host process (no compose) of instance 1 runs here whatever its engine
    with pytest.raises(StackError) as info:
        parse("project: shop\ninstances: 0-1\nengines:\n  big: {context: b, host: b.lan, slots: [1]}\n"
              "compose: {files: [c.yml]}\n"
              "services: {api: {port: 3000}, web: {port: 3100, compose: web, container_port: 1}}\n")
    assert info.value.message == ("stack.yaml: services: port 3100 is used by web of instance 0 "
                                  "and by api of instance 1 on this machine")


def test_the_port_plan_of_some_instances_checks_only_those() -> None:
    stack = Stack(path=Path("/x/stack.yaml"), project="shop", services=(Service("api", 65000),))
    stack.check_port_plan(range(0, 6))
    with pytest.raises(StackError) as info:
        stack.check_port_plan()
    assert info.value.message == "stack.yaml: services.api.port: instance 9 would get port 65900 (> 65535)"


NAME_FIX = "write it without spaces, line breaks or other characters the name does not allow"
SPELLING = "check the spelling against multistack/schema/stack.schema.json"


@pytest.mark.parametrize("text, line", [
    ("services: {}\n",
     "stack.yaml: (top level): missing required key 'project' (fix: add `project: <name>` to the top of the file)"),
    ("project: Bad_Name\n",
     "stack.yaml: project: 'Bad_Name' is not a valid project name (a lowercase letter, then letters, digits and "
     f"single - or _) (fix: {NAME_FIX})"),
    ("project: p\ninstances: many\n",
     "stack.yaml: instances: must be a range such as '0-9' or {first: 0, last: 9} "
     "(fix: write the range in ASCII digits, e.g. `instances: 0-9`)"),
    ("project: p\ninstances: ' 0-9'\n",
     "stack.yaml: instances: must be a range such as '0-9' or {first: 0, last: 9} "
     "(fix: write the range in ASCII digits, e.g. `instances: 0-9`)"),
    ("project: p\ninstances: [0, 9]\n",
     "stack.yaml: instances: must be a range such as '0-9' or {first: 0, last: 9} "
     "(fix: write the range in ASCII digits, e.g. `instances: 0-9`)"),
    ("project: p\ninstances: 5-2\n", "stack.yaml: instances: first instance 5 is after last instance 2"),
    ("project: p\ninstances: {first: 10}\n", "stack.yaml: instances: first instance 10 is after last instance 9"),
    ("project: p\ninstances: {last: 10000}\n", "stack.yaml: instances.last: must be 0-9999, got 10000"),
    ("project: p\ninstances: {first: 1, end: 2}\n", f"stack.yaml: instances: unknown key 'end' (fix: {SPELLING})"),
    ("project: p\nstride: 65536\n", "stack.yaml: stride: must be 1-65535, got 65536"),
    ("project: p\ncompose: {file: [c.yml]}\n", f"stack.yaml: compose: unknown key 'file' (fix: {SPELLING})"),
    ("project: p\npm2: {apps: x}\n", f"stack.yaml: pm2: unknown key 'apps' (fix: {SPELLING})"),
    ("project: p\nservices: {Web!: {port: 3000}}\n",
     "stack.yaml: services.Web!: service names are lowercase letters, digits, - and _ (fix: rename the service)"),
    ("project: p\nservices: {api: [3000]}\n",
     "stack.yaml: services.api: must be a mapping with at least `port`, got a list"),
    ("project: p\nservices: {a_b: {port: 3000}, a-b: {port: 3001}}\n",
     "stack.yaml: services.a-b: service names 'a_b' and 'a-b' differ only in case or - versus _ "
     "(they would share env keys, files or host names) (fix: rename one of them)"),
    ("project: p\nservices: {api: {port: 3000, env_keys: [OK, 'no-dash']}}\n",
     "stack.yaml: services.api.env_keys: 'no-dash' is not a valid environment variable name"),
    ("project: p\nservices: {api: {port: 3000, uri: x}}\n", f"stack.yaml: services.api: unknown key 'uri' (fix: {SPELLING})"),
    ("project: p\napps: {Api: {command: x}}\n",
     "stack.yaml: apps.Api: app names are lowercase letters, digits, - and _ (fix: rename the app)"),
    ("project: p\napps: {api: {cwd: x}}\n",
     "stack.yaml: apps.api: missing required key 'command' (fix: the command PM2 runs, e.g. `python3 server.py`)"),
    ("project: p\napps: {api: {command: \"run 'x\"}}\n",
     "stack.yaml: apps.api.command: cannot be split into arguments: No closing quotation "
     "(fix: close the quote, or escape it with \\)"),
    ("project: p\napps: {api: {command: x, cmd: y}}\n", f"stack.yaml: apps.api: unknown key 'cmd' (fix: {SPELLING})"),
    ("project: p\napps: {api: 5}\n", "stack.yaml: apps.api: must be a mapping, got an integer"),
    ("project: p\napps: {a_b: {command: x}, a-b: {command: y}}\n",
     "stack.yaml: apps.a-b: app names 'a_b' and 'a-b' differ only in case or - versus _ "
     "(they would share env keys, files or host names) (fix: rename one of them)"),
    ("project: p\ncompose: {services: {web: {command: ''}}}\n",
     "stack.yaml: compose.services.web.command: must be a non-empty string, got a string"),
    ("project: p\ncompose: {services: {web: {environment: {A: [1]}}}}\n",
     "stack.yaml: compose.services.web.environment.A: must be a string or number, got a list"),
    ("project: p\nenv_files: [env/instance.env]\n",
     "stack.yaml: env_files: 'env/instance.env' would be copied to instance.env, the file multistack generates "
     "(fix: rename it, e.g. to app.env)"),
    ("project: p\nenv_files: [Instance.env]\n",
     "stack.yaml: env_files: 'Instance.env' would be copied to instance.env, the file multistack generates "
     "(fix: rename it, e.g. to app.env)"),
    ("project: p\nenv_files: [a/App.env, b/app.env]\n",
     "stack.yaml: env_files: 'b/app.env' and 'a/App.env' would be copied to App.env and app.env, "
     "one file on a case-insensitive disk (fix: rename one of them)"),
    ("project: p\nenv_files: [a.env]\ncompose: {env_files: [a.env, b.env]}\n",
     "stack.yaml: compose.env_files: 'b.env' is not an instance env file; known: a.env, instance.env "
     "(fix: name a file listed under env_files, or instance.env)"),
    ("project: p\nenv_files: [b.env, a.env]\napps: {api: {command: x, env_files: [c.env]}}\n",
     "stack.yaml: apps.api.env_files: 'c.env' is not an instance env file; known: a.env, b.env, instance.env "
     "(fix: name a file listed under env_files, or instance.env)"),
    ("project: p\ninstances: 0-10\npm2: {app_name: '{app}{n}'}\napps: {a: {command: x}, a1: {command: y}}\n",
     "stack.yaml: pm2.app_name '{app}{n}' gives 'a10' to app a1 of instance 0 and to app a of instance 10 "
     "(fix: put a separator between {app} and {n}, e.g. {project}-{app}-{n})"),
    ("project: p\npm2: {app_name: '{project}-{app}'}\n",
     "stack.yaml: pm2.app_name '{project}-{app}': must contain {n} "
     "(fix: every app of every instance needs its own name, e.g. {project}-{app}-{n})"),
])
def test_each_refusal_is_its_whole_line(text: str, line: str) -> None:
    with pytest.raises(StackError) as info:
        parse(text)
    assert info.value.line() == "error: " + line


def test_the_range_and_the_app_names_accepted_at_their_edges() -> None:
    assert parse("project: p\ninstances: {first: 3}\n").instance_range == range(3, 10)
    assert parse("project: p\ninstances: {last: 0}\n").instance_range == range(0, 1)
    assert parse("project: p\ninstances: 4-4\n").instance_range == range(4, 5)
    assert parse("project: p\nstride: 65535\n").stride == 65535
    # {app}{n} over 0-9 gives every app of every instance its own name
    assert parse("project: p\npm2: {app_name: '{app}{n}'}\napps: {a: {command: x}, a1: {command: y}}\n"
                 ).app_name("a1", 9) == "a19"


@pytest.mark.parametrize("source, copy", [
    ("env/backend.env", "backend.env"),
    ("backend", "backend.env"),
    (".env", ".env"),
    ("env/.envrc", "envrc.env"),
    ("env/Xdefaults", "Xdefaults.env"),  # only dots are stripped
    ("...", "env.env"),
    ("x.env.local", "x.env.local.env"),
])
def test_the_name_of_an_env_files_copy(source: str, copy: str) -> None:
    assert env_copy_name(source) == copy


@pytest.mark.parametrize("text, files, line", [
    ("project: p\ncompose: {files: [c.yml]}\n", {}, "compose.files: c.yml does not exist "
     "(fix: create c.yml or remove it from compose.files)"),
    ("project: p\nenv_files: [env/a.env]\n", {}, "env_files: env/a.env does not exist "
     "(fix: create env/a.env or remove it from env_files)"),
    ("project: p\ncompose: {override_template: o.j2}\n", {}, "compose.override_template: o.j2 does not exist "
     "(fix: create o.j2 or remove it from compose.override_template)"),
    ("project: p\npm2: {ecosystem_template: e.j2}\n", {}, "pm2.ecosystem_template: e.j2 does not exist "
     "(fix: create e.j2 or remove it from pm2.ecosystem_template)"),
])
def test_every_file_the_stack_names_must_exist(make_stack: Callable[..., Path], text: str, files: dict[str, str],
                                               line: str) -> None:
    with pytest.raises(StackError) as info:
        load_stack(make_stack(text, files))
    assert info.value.line() == "error: stack.yaml: " + line


def test_the_files_it_names_are_found_next_to_the_stack_file(make_stack: Callable[..., Path],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_stack("project: p\ncompose: {files: [c.yml], override_template: o.j2}\nenv_files: [env/a.env]\n"
                      "pm2: {ecosystem_template: e.j2}\n",
                      {"c.yml": "services: {}\n", "o.j2": "x", "env/a.env": "A=1\n", "e.j2": "x"})
    monkeypatch.chdir(path.parent / "env")
    stack = load_stack(path)
    assert (stack.override_template, stack.ecosystem_template) == ("o.j2", "e.j2")


def test_a_folder_named_as_the_stack_file_cannot_be_read(tmp_path: Path) -> None:
    folder = tmp_path / "stack.yaml"
    folder.mkdir()
    with pytest.raises(StackError) as info:
        load_stack(folder)
    assert info.value.line() == f"error: cannot read {folder}: Is a directory"


def test_a_relative_stack_path_is_made_absolute(make_stack: Callable[..., Path]) -> None:
    path = make_stack("project: shop\n")
    assert load_stack(Path("stack.yaml")).path == path.resolve()
    assert load_stack(Path("stack.yaml")).root == path.parent.resolve()


def test_multistack_file_may_be_relative_or_start_with_a_tilde(make_stack: Callable[..., Path],
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    make_stack("project: shop\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / "other.yaml").write_text("project: other\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MULTISTACK_FILE", "~/other.yaml")
    assert find_stack_file() == (home / "other.yaml").resolve()
    monkeypatch.setenv("MULTISTACK_FILE", "home/other.yaml")
    assert find_stack_file() == (home / "other.yaml").resolve()
    monkeypatch.setenv("MULTISTACK_FILE", "")  # empty: as if unset
    assert find_stack_file() == (tmp_path / "stack.yaml").resolve()


def test_the_search_starts_in_the_folder_given_not_the_working_one(make_stack: Callable[..., Path],
                                                                   tmp_path: Path) -> None:
    make_stack("project: shop\n")  # in tmp_path, the working directory
    inner = tmp_path / "inner"
    (inner / "deep").mkdir(parents=True)
    (inner / "stack.yaml").write_text("project: inner\n")
    assert find_stack_file(inner / "deep") == inner / "stack.yaml"
    (tmp_path / "folder" / "stack.yaml").mkdir(parents=True)  # a folder named stack.yaml is no stack file
    assert find_stack_file(tmp_path / "folder") == tmp_path / "stack.yaml"


# --------------------------------------------------------------------------
# The other sections get the stack's own values (its file, compose files, range, services)


def test_an_engines_section_is_declared_and_moves_the_slots() -> None:
    stack = parse("project: p\ninstances: 0-2\nhost_ip: 127.0.0.9\nengines:\n  big: {context: b, host: b.lan, slots: [2]}\n")
    assert stack.engines_declared
    assert [(e.name, e.slots) for e in stack.engines] == [("big", (2,)), ("local", (0, 1))]
    assert stack.engine_for(0).host_ip == "127.0.0.9"
    with pytest.raises(StackError) as info:
        parse("project: p\ninstances: 0-2\nengines:\n  big: {context: b, host: b.lan, slots: [3]}\n")
    assert info.value.message == "stack.yaml: engines.big.slots: instance 3 is outside instances 0-2"
    plain = parse("project: p\nhost_ip: 127.0.0.9\n")
    assert not plain.engines_declared and plain.engine_for(9).host_ip == "127.0.0.9"


def test_selectors_may_name_services_and_apps() -> None:
    stack = parse("project: p\nservices: {api: {port: 3000}}\napps: {worker: {command: w}}\n"
                  "namespaces: {instances: {9: p-nine}, selectors: {api: site-a, worker: site-b}}\n")
    assert dict(stack.namespaces.selectors) == {"api": "site-a", "worker": "site-b"}
    assert dict(stack.namespaces.overrides) == {9: "p-nine"}
    with pytest.raises(StackError, match="namespaces.instances.10: instance 10 is out of range 0-9"):
        parse("project: p\nnamespaces: {instances: {10: x}}\n")


def test_mode_and_provision_steps_with_the_stacks_compose_files() -> None:
    stack = parse("project: p\nmode: shared\ncompose: {files: [c.yml]}\n"
                  "provision: {db: {create: x, run_in: pg}, bucket: {create: y}}\n")
    assert stack.mode == "shared"
    assert [(s.name, s.run_in) for s in stack.provision] == [("db", "pg"), ("bucket", "host")]


def test_clone_gets_the_compose_files_and_the_provision_steps() -> None:
    stack = parse("project: p\ncompose: {files: [c.yml]}\nprovision: {database: {create: x}}\n"
                  "clone: {image: 'h:1', database: {psql: psql -X, run_in: pg}}\n")
    assert stack.clone.image == "h:1"
    assert (stack.clone.database.psql, stack.clone.database.run_in, stack.clone.database.step) == (
        ("psql", "-X"), "pg", "database")
    with pytest.raises(StackError) as info:
        parse("project: p\nclone: {database: {psql: psql, run_in: pg}}\n")
    assert info.value.message == ("stack.yaml: clone.database.run_in: runs in compose service 'pg' "
                                  "but the stack lists no compose files")
    with pytest.raises(StackError) as info:
        parse("project: p\nprovision: {db: {create: x}}\nclone: {database: {psql: psql, step: x}}\n")
    assert info.value.hint == "steps: db"


def test_mesh_is_named_after_the_project_and_lives_next_to_the_stack_file() -> None:
    stack = parse("project: shop\nmesh: {compose: [m.yml], profiles: {db: [pg]},"
                  " environments: {local: {compose: [l.yml], template: t.env}}}\n")
    assert stack.mesh.project == "shop-mesh"
    assert stack.mesh.env_path == Path("/x/env/.env")
    with pytest.raises(StackError) as info:
        parse("project: shop\nmesh:\n")
    assert info.value.message == "stack.yaml: mesh: missing required key 'compose'"


def test_systems_get_the_stacks_project_compose_files_and_stride() -> None:
    stack = parse("project: shop\nstride: 7\ncompose: {files: [c.yml]}\n"
                  "systems: {suite: {gateway: {forward: ['80:rest:80']}, members: {a: {slot: 2}}}}\n")
    (suite,) = stack.systems.values()
    assert (suite.name, suite.compose_files, suite.stride) == ("suite", ("c.yml",), 7)
    with pytest.raises(StackError) as info:
        parse("project: shop\nsystems: {dev: {members: {a: {slot: 1}}}}\n")
    assert info.value.message.startswith("stack.yaml: systems.dev: 'dev' is reserved: its members' compose "
                                         "projects would look like instances (shop-dev-N)")
    assert dict(parse("project: shop\nsystems:\n").systems) == {}


def test_networks_are_checked_against_the_stacks_range() -> None:
    four = "networks: {pool: 10.212.0.0/28, size: 30}\n"
    assert parse("project: p\ninstances: 0-3\n" + four).networks.size == 30
    with pytest.raises(StackError) as info:
        parse("project: p\ninstances: 0-4\n" + four)
    assert info.value.message == ("stack.yaml: networks.pool: pool 10.212.0.0/28 holds 4 /30 subnet(s), "
                                  "but 5 instance(s) x 1 network(s) need 5")
    assert parse("project: p\nnetworks:\n").networks is not None  # an empty section: the default pool


def test_the_router_names_the_services_with_an_http_url() -> None:
    stack = parse("project: p\nservices: {web: {port: 3000, url: 'http://localhost:{{ port }}'},"
                  " db: {port: 5432}}\nrouter:\n")
    assert stack.router.services == ("web",)
    with pytest.raises(StackError) as info:
        parse("project: p\nservices: {web: {port: 3000}}\nrouter: {services: [api]}\n")
    assert info.value.message == "stack.yaml: router.services: 'api' is not a service; known: web"


def test_doctor_and_start_sections_are_read() -> None:
    stack = parse("project: p\nstart: {wait_timeout: 12}\ndoctor: {ignore: [host-network]}\n")
    assert stack.start.wait_timeout == 12
    assert "host-network" in stack.doctor.ignore


def test_a_stack_file_that_is_not_utf8_names_its_line(make_stack: Callable[..., Path]) -> None:
    path = make_stack("project: shop\n")
    path.write_bytes(b"project: shop\nenv: {A: '\xff'}\n")
    with pytest.raises(StackError) as info:
        load_stack(path)
    assert info.value.message == "stack.yaml: not valid UTF-8 at line 2 (byte 0xff)"
