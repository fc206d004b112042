"""The ``engines:`` section, whole: every refusal's exact line, and what each accepted form means.

Mutation testing left most of ``_engine`` and ``_slots`` unchecked: their messages,
hints and defaults (a remote engine publishes on 0.0.0.0; a docker host URL gives the
host name) could change unnoticed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from multistack.errors import StackError
from multistack.model.stack import load_stack

BASE = "project: shop\ninstances: 0-9\nservices:\n  api: {port: 3000}\n"


def engines_of(make_stack: Callable[..., Path], section: str) -> list[tuple]:
    stack = load_stack(make_stack(BASE + section))
    return [(e.name, e.slots, e.host, e.host_ip, e.describe()) for e in stack.engines]


@pytest.mark.parametrize("section, line", [
    ("engines:\n  big: {context: bigbox, docker_host: 'ssh://a@b', host: b.lan, slots: 5-9}\n",
     "engines.big: give `context` or `docker_host`, not both (fix: a docker context already names its host)"),
    ("engines:\n  big: {docker_host: 'tcp://[::1', slots: 5-9}\n",
     "engines.big.docker_host: 'tcp://[::1' is not a Docker host URL "
     "(fix: e.g. ssh://user@bigbox, tcp://bigbox:2376 or unix:///var/run/docker.sock)"),
    ("engines:\n  big: {docker_host: 'bigbox', slots: 5-9}\n",
     "engines.big.docker_host: 'bigbox' is not a Docker host URL "
     "(fix: e.g. ssh://user@bigbox, tcp://bigbox:2376 or unix:///var/run/docker.sock)"),
    ("engines:\n  big: {context: bigbox, slots: 5-9}\n",
     "engines.big.host: missing 'host': the name this machine reaches the engine's ports by "
     "(fix: e.g. host: bigbox.lan (host: localhost for an engine on this machine))"),
    ("engines:\n  big: {context: 'big box', host: b.lan, slots: 5-9}\n",
     "engines.big.context: 'big box' is not a valid docker context name"),
    ("engines:\n  big: {context: bigbox, host: 'b_lan!', slots: 5-9}\n",
     "engines.big.host: 'b_lan!' is not a valid host name"),
    ("engines:\n  big: {context: bigbox, host: b.lan, slots: 9-5}\n",
     "engines.big.slots: range '9-5' ends before it starts"),
    ("engines:\n  big: {context: bigbox, host: b.lan, slots: abc}\n",
     "engines.big.slots: must be instance numbers or ranges such as '5-9' or [5, 7], got 'abc'"),
    ("engines:\n  big: {context: bigbox, host: b.lan, slots: []}\n",
     "engines.big.slots: is empty (fix: leave `slots` out to give this engine every unlisted instance)"),
    ("engines:\n  big: {context: bigbox, host: b.lan, slots: [5, 12, 11]}\n",
     "engines.big.slots: instance 11 is outside instances 0-9 (fix: use instance numbers within `instances:`)"),
    ("engines:\n  big: {context: bigbox, host: b.lan, slots: 5-9, hots: x}\n",
     "engines.big: unknown key 'hots' (fix: check the spelling against multistack/schema/stack.schema.json)"),
    ("engines:\n  big: {context: bigbox, host: b.lan}\n  ci: {docker_host: 'ssh://u@ci'}\n",
     "engines: engines big and ci both leave out `slots` (each would take the rest) "
     "(fix: list the slots of all engines but one)"),
    ("engines:\n  big: {context: bigbox, host: b.lan, slots: 5-9}\n  ci: {docker_host: 'ssh://u@ci', slots: [9]}\n",
     "engines.ci.slots: instance 9 is in the slots of both engine big and engine ci (fix: give each instance one engine)"),
    ("engines: {}\n",
     "engines: must name at least one engine (fix: e.g. engines: {big: {context: bigbox, host: bigbox.lan, slots: 5-9}})"),
    ("engines:\n  Big: {context: bigbox, host: b.lan, slots: 5-9}\n",
     "engines.Big: engine names are lowercase letters, digits, - and _"),
    ("engines:\n  local: {slots: 0-4}\n  big: {context: bigbox, host: b.lan, slots: 5-7}\n",
     "engines: instances 8-9 are on no engine "
     "(fix: list them in an engine's slots, or leave out `slots` of one engine to give it the rest)"),
])
def test_refusals_name_the_key_and_the_fix(make_stack: Callable[..., Path], section: str, line: str) -> None:
    with pytest.raises(StackError) as info:
        load_stack(make_stack(BASE + section))
    message, _, hint = line.partition(" (fix: ")
    assert info.value.message == f"stack.yaml: {message}"
    if hint:  # the lines written without a hint check the message alone
        assert info.value.hint == hint[:-1]


def test_a_docker_host_url_gives_the_host_and_the_rest_stays_local(make_stack: Callable[..., Path]) -> None:
    assert engines_of(make_stack, "engines:\n  big: {docker_host: 'ssh://dev@ci.lan', slots: [5, 6-7, 6]}\n") == [
        ("big", (5, 6, 7), "ci.lan", "0.0.0.0", "big (docker host ssh://dev@ci.lan, over SSH, host ci.lan)"),
        ("local", (0, 1, 2, 3, 4, 8, 9), "localhost", "127.0.0.1", "local (the default docker engine, host localhost)"),
    ]


def test_a_unix_socket_engine_is_reached_as_localhost(make_stack: Callable[..., Path]) -> None:
    assert engines_of(make_stack, "engines:\n  big: {docker_host: 'unix:///var/run/docker.sock', slots: 5-9}\n")[0] == (
        "big", (5, 6, 7, 8, 9), "localhost", "0.0.0.0", "big (docker host unix:///var/run/docker.sock, host localhost)")


def test_own_host_ip_and_the_engine_without_slots_takes_the_rest(make_stack: Callable[..., Path]) -> None:
    section = ("engines:\n  big: {context: bigbox, host: bigbox.lan, host_ip: 10.0.0.5, slots: 5-9}\n"
               "  rest: {docker_host: 'tcp://box:2376'}\n")
    assert engines_of(make_stack, section) == [
        ("big", (5, 6, 7, 8, 9), "bigbox.lan", "10.0.0.5", "big (context bigbox, host bigbox.lan)"),
        ("rest", (0, 1, 2, 3, 4), "box", "0.0.0.0", "rest (docker host tcp://box:2376, host box)"),
    ]


def test_the_default_engine_keeps_the_stacks_host_ip(make_stack: Callable[..., Path]) -> None:
    section = "host_ip: 127.0.0.2\nengines:\n  local: {slots: 0-4}\n  big: {context: bigbox, host: b.lan}\n"
    stack = load_stack(make_stack(BASE + section))
    local, big = stack.engines
    assert (local.name, local.host_ip, local.flags(), local.local) == ("local", "127.0.0.2", (), True)
    assert (big.flags(), big.local, big.slots) == (("--context", "bigbox"), False, (5, 6, 7, 8, 9))
    assert big.to_json() == {"name": "big", "context": "bigbox", "docker_host": None, "host": "b.lan",
                             "host_ip": "0.0.0.0", "ssh": False}


def test_without_the_section_one_default_engine_holds_everything(make_stack: Callable[..., Path]) -> None:
    [engine] = load_stack(make_stack(BASE)).engines
    assert engine == engine.__class__("local", host_ip="127.0.0.1", slots=tuple(range(10)))
    assert engine.to_json() == {"name": "local", "context": None, "docker_host": None, "host": "localhost",
                                "host_ip": "127.0.0.1", "ssh": False}
    assert engine.describe() == "local (the default docker engine, host localhost)"


@pytest.mark.parametrize("slots, shown", [
    ("[5, 7]", "6, 8-9"),
    ("[5, 6, 7, 8]", "9"),
    ("[6, 8]", "5, 7, 9"),
    ("[8]", "5-7, 9"),
])
def test_instances_on_no_engine_are_shown_as_ranges(make_stack: Callable[..., Path], slots: str, shown: str) -> None:
    section = f"engines:\n  local: {{slots: 0-4}}\n  big: {{context: bigbox, host: b.lan, slots: {slots}}}\n"
    with pytest.raises(StackError) as info:
        load_stack(make_stack(BASE + section))
    assert info.value.message == f"stack.yaml: engines: instances {shown} are on no engine"


# ---------------------------------------------------------------- the parser and the Engine, directly (no file)

FILE = "stack.yaml"


def parsed(raw: object, instances: range = range(0, 10), host_ip: str = "127.0.0.1") -> tuple:
    from multistack.model.engines import parse_engines

    return parse_engines(raw, FILE, instances, host_ip)


def refused(raw: object, instances: range = range(0, 10)) -> tuple[str, str | None]:
    with pytest.raises(StackError) as info:
        parsed(raw, instances)
    return info.value.message, info.value.hint


def test_without_the_section_the_default_engine_has_the_stacks_address_and_every_instance() -> None:
    from multistack.model.engines import Engine

    assert parsed(None, range(2, 5), "127.0.0.9") == (Engine("local", host_ip="127.0.0.9", slots=(2, 3, 4)),)


def test_the_default_engine_is_added_last_for_unlisted_instances() -> None:
    from multistack.model.engines import Engine

    assert parsed({"big": {"context": "bigbox", "host": "b.lan", "slots": [9, 3, 3, "5-6"]}},
                  host_ip="127.0.0.4") == (
        Engine("big", "bigbox", None, "b.lan", "0.0.0.0", (3, 5, 6, 9)),
        Engine("local", host_ip="127.0.0.4", slots=(0, 1, 2, 4, 7, 8)))


def test_an_engine_left_with_no_instance_is_dropped() -> None:
    engines = parsed({"big": {"context": "bigbox", "host": "b.lan", "slots": "0-9"},
                      "rest": {"docker_host": "tcp://box:2376"}})
    assert [(e.name, e.slots) for e in engines] == [("big", tuple(range(10)))]


def test_a_declared_local_engine_without_slots_takes_the_rest_on_the_stacks_address() -> None:
    from multistack.model.engines import Engine

    assert parsed({"big": {"docker_host": "tcp://[::1]:2376", "slots": 1}, "local": {}}, range(0, 3), "127.0.0.3") == (
        Engine("big", None, "tcp://[::1]:2376", "::1", "0.0.0.0", (1,)),
        Engine("local", None, None, "localhost", "127.0.0.3", (0, 2)))


def test_a_local_engine_may_publish_elsewhere_and_an_ssh_context_takes_a_key() -> None:
    engines = parsed({"local": {"host_ip": "0.0.0.0", "slots": "0-4"},
                      "far": {"context": "far", "host": "far.lan", "ssh_key": "k", "known_hosts": "kh"}})
    assert [(e.name, e.host_ip, e.ssh_key, e.known_hosts, e.slots) for e in engines] == [
        ("local", "0.0.0.0", None, None, (0, 1, 2, 3, 4)), ("far", "0.0.0.0", "k", "kh", (5, 6, 7, 8, 9))]


@pytest.mark.parametrize("engine, key", [
    ({"ssh_key": "k", "slots": "0-9"}, "ssh_key"),
    ({"docker_host": "tcp://box:2376", "known_hosts": "kh", "slots": "0-9"}, "known_hosts"),
    ({"docker_host": "unix:///run/docker.sock", "ssh_key": "k", "known_hosts": "kh", "slots": "0-9"}, "ssh_key"),
])
def test_ssh_files_only_for_an_ssh_engine(engine: dict, key: str) -> None:
    assert refused({"big": engine}) == (
        f"stack.yaml: engines.big.{key}: `ssh_key` and `known_hosts` are for an SSH engine",
        "use them with docker_host: ssh://user@host or an SSH context")


def test_slots_outside_a_range_not_starting_at_zero() -> None:
    assert refused({"big": {"context": "b", "host": "b.lan", "slots": [1, 5]}}, range(2, 5)) == (
        "stack.yaml: engines.big.slots: instance 1 is outside instances 2-4", "use instance numbers within `instances:`")


def test_engine_names_that_would_merge_are_refused() -> None:
    assert refused({"big_a": {"context": "b", "host": "b.lan", "slots": 1},
                    "big-a": {"context": "c", "host": "c.lan", "slots": 2}}) == (
        "stack.yaml: engines.big-a: engine names 'big_a' and 'big-a' differ only in case or - versus _ "
        "(they would share env keys, files or host names)", "rename one of them")


@pytest.mark.parametrize("fields, flags, described, ssh", [
    ({}, (), "e (the default docker engine, host localhost)", False),
    ({"context": "box", "host": "box.lan"}, ("--context", "box"), "e (context box, host box.lan)", False),
    ({"docker_host": "tcp://box:2376", "host": "box"}, ("--host", "tcp://box:2376"),
     "e (docker host tcp://box:2376, host box)", False),
    ({"docker_host": "ssh://u@box", "host": "box"}, ("--host", "ssh://u@box"),
     "e (docker host ssh://u@box, over SSH, host box)", True),
    ({"docker_host": "ssh://u@box", "host": "box", "tunnel": "/run/t.sock"}, ("--host", "unix:///run/t.sock"),
     "e (docker host ssh://u@box, over SSH, host box)", True),
    ({"context": "box", "host": "box.lan", "tunnel": "/run/t.sock"}, ("--host", "unix:///run/t.sock"),
     "e (context box, over SSH, host box.lan)", False),
])
def test_flags_and_description_of_each_kind_of_engine(fields: dict, flags: tuple, described: str, ssh: bool) -> None:
    from multistack.model.engines import Engine

    engine = Engine("e", **fields)
    assert engine.flags() == flags and engine.describe() == described and engine.ssh is ssh
    assert engine.local is not ("context" in fields or "docker_host" in fields)
    assert engine.to_json() == {"name": "e", "context": fields.get("context"), "docker_host": fields.get("docker_host"),
                                "host": fields.get("host", "localhost"), "host_ip": "127.0.0.1", "ssh": ssh}
