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
