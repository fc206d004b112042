"""Where each instance's containers run: the ``engines:`` section of stack.yaml (pure).

Docker already knows how to reach other engines (contexts, ``DOCKER_HOST``, ssh),
so an engine here is only a name for one of those plus the instance numbers
("slots") it holds and the host name its published ports are reached by::

    engines:
      local: {slots: 0-4}                                   # the default engine
      big: {context: bigbox, host: bigbox.lan, slots: 5-9}  # `docker --context bigbox ...`
      ci: {docker_host: "ssh://dev@ci.lan", slots: [10, 11]}  # `docker --host ssh://... ...`

Without the section every instance is on the default engine (no flag at all,
exactly as before). An engine without ``slots`` takes every instance the others
do not list; without one, unlisted instances stay on the default engine
(``local``). Every compose and docker command of instance N gets its engine's
flag, so ``inv --dry`` shows where it runs. PM2 apps always run on this machine.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Sequence
from urllib.parse import urlsplit

from multistack.errors import StackError
from multistack.model.stack import Stack, _Node

#: The name of the default engine (the one plain ``docker`` talks to).
LOCAL = "local"
#: Where a remote engine publishes ports unless its ``host_ip`` says otherwise: 127.0.0.1
#: there would be unreachable from here.
REMOTE_HOST_IP = "0.0.0.0"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_CONTEXT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")  # docker's own rule for context names
_DOCKER_HOST_RE = re.compile(r"^(unix|tcp|ssh|npipe|fd)://.+")
_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")
ENGINE_KEYS = ("context", "docker_host", "host", "host_ip", "slots")


@dataclass(frozen=True)
class Engine:
    """One Docker engine and the instances placed on it."""

    name: str
    context: str | None = None  # `docker --context NAME`
    docker_host: str | None = None  # `docker --host URL` (what DOCKER_HOST would say)
    host: str = "localhost"  # how this machine reaches its published ports (URLs, env)
    host_ip: str = "127.0.0.1"  # where it publishes them
    slots: tuple[int, ...] = ()

    @property
    def local(self) -> bool:
        """The default engine: no flag, its ports are this machine's."""
        return self.context is None and self.docker_host is None

    def flags(self) -> tuple[str, ...]:
        """The global docker flags that select this engine (none for the default one)."""
        if self.context:
            return ("--context", self.context)
        if self.docker_host:
            return ("--host", self.docker_host)
        return ()

    def describe(self) -> str:
        where = (f"context {self.context}" if self.context else f"docker host {self.docker_host}"
                 if self.docker_host else "the default docker engine")
        return f"{self.name} ({where}, host {self.host})"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "context": self.context, "docker_host": self.docker_host,
                "host": self.host, "host_ip": self.host_ip}


def placed(stack: Stack) -> bool:
    """Whether the stack says anything about engines (else: behave exactly as one engine)."""
    return "engines" in stack.sections


def stack_engines(stack: Stack) -> tuple[Engine, ...]:
    """Every engine that holds at least one instance in range, in stack.yaml order (validated)."""
    everything = tuple(stack.instance_range)
    if not placed(stack):
        return (Engine(LOCAL, host_ip=stack.host_ip, slots=everything),)
    file = stack.path.name
    raw = stack.sections["engines"]
    top = _Node(raw, "engines", file)
    if not top.data:
        top.fail("must name at least one engine", hint="e.g. engines: {big: {context: bigbox, host: bigbox.lan, slots: 5-9}}")
    parsed: list[tuple[Engine, tuple[int, ...] | None]] = []
    for name, value in top.items():
        if not _NAME_RE.match(name):
            top.fail("engine names are lowercase letters, digits, - and _", name)
        parsed.append(_engine(stack, _Node(value, top.where(name), file), name))
    owner: dict[int, str] = {}
    rest: str | None = None
    for engine, slots in parsed:
        if slots is None:
            if rest is not None:
                top.fail(f"engines {rest} and {engine.name} both leave out `slots` (each would take the rest)",
                         hint="list the slots of all engines but one")
            rest = engine.name
            continue
        for n in slots:
            if n in owner:
                top.fail(f"instance {n} is in the slots of both engine {owner[n]} and engine {engine.name}",
                         f"{engine.name}.slots", "give each instance one engine")
            owner[n] = engine.name
    unlisted = tuple(n for n in everything if n not in owner)
    engines = []
    for engine, slots in parsed:
        held = unlisted if slots is None else tuple(sorted(slots))
        engines.append(Engine(engine.name, engine.context, engine.docker_host, engine.host, engine.host_ip, held))
    if unlisted and rest is None:
        if any(e.name == LOCAL for e in engines):
            top.fail(f"instances {_ranges(unlisted)} are on no engine", None,
                     "list them in an engine's slots, or leave out `slots` of one engine to give it the rest")
        engines.append(Engine(LOCAL, host_ip=stack.host_ip, slots=unlisted))
    return tuple(e for e in engines if e.slots)


def engine_for(stack: Stack, n: int) -> Engine:
    for engine in stack_engines(stack):
        if n in engine.slots:
            return engine
    raise StackError(f"instance {n} is out of range {stack.first}-{stack.last}")


def by_engine(stack: Stack, instances: Sequence[int]) -> dict[Engine, list[int]]:
    """The given instances grouped by their engine (engines without any of them left out)."""
    groups: dict[Engine, list[int]] = {}
    for engine in stack_engines(stack):
        members = [n for n in instances if n in engine.slots]
        if members:
            groups[engine] = members
    return groups


def docker_argv(engine: Engine, docker: str = "docker") -> list[str]:
    """``docker`` with the engine's global flag: ``docker --context big``."""
    return [docker, *engine.flags()]


def compose_argv(engine: Engine, compose: Sequence[str]) -> tuple[str, ...]:
    """The compose command for the engine.

    The plugin (``docker compose``) takes docker's global flags before ``compose``
    (checked with docker CLI 28 and Compose 2.40: ``docker --context X compose up``
    and ``docker --host unix://... compose up`` both act on that engine). A standalone
    ``docker-compose`` reads the same choice from its environment instead, through
    ``env`` so that ``--dry`` still shows it.
    """
    flags = engine.flags()
    if not flags:
        return tuple(compose)
    if PurePath(compose[0]).name == "docker" and len(compose) > 1:
        return (compose[0], *flags, *compose[1:])
    variable = f"DOCKER_CONTEXT={engine.context}" if engine.context else f"DOCKER_HOST={engine.docker_host}"
    return ("env", variable, *compose)


def _engine(stack: Stack, node: _Node, name: str) -> tuple[Engine, tuple[int, ...] | None]:
    context = node.string("context", pattern=_CONTEXT_RE, what="docker context name")
    docker_host = node.string("docker_host")
    url_host = _url_host(docker_host) if docker_host and _DOCKER_HOST_RE.match(docker_host) else None
    if docker_host and url_host is None:
        node.fail(f"{docker_host!r} is not a Docker host URL", "docker_host",
                  "e.g. ssh://user@bigbox, tcp://bigbox:2376 or unix:///var/run/docker.sock")
    if context and docker_host:
        node.fail("give `context` or `docker_host`, not both", hint="a docker context already names its host")
    host = node.string("host", pattern=_HOST_RE, what="host name")
    if host is None:
        if context:
            node.fail("missing 'host': the name this machine reaches the engine's ports by", "host",
                      "e.g. host: bigbox.lan (host: localhost for an engine on this machine)")
        host = url_host or "localhost"
    remote = bool(context or docker_host)
    host_ip = node.string("host_ip") or (REMOTE_HOST_IP if remote else stack.host_ip)
    slots = _slots(stack, node) if "slots" in node.data else None
    node.done()
    return Engine(name, context, docker_host, host, host_ip), slots


def _url_host(docker_host: str) -> str | None:
    """The host name of a Docker host URL ("" for unix:// and fd://); None when it cannot be parsed.

    urlsplit raises on a broken one such as ``tcp://[::1`` (a user mistake, not a traceback).
    """
    try:
        return urlsplit(docker_host).hostname or ""
    except ValueError:
        return None


def _slots(stack: Stack, node: _Node) -> tuple[int, ...]:
    """``5-9``, ``7``, or a list of numbers and ranges: instance numbers within ``instances:``."""
    value = node.get("slots")
    items = value if isinstance(value, list) else [value]
    numbers: list[int] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            numbers.append(item)
        elif isinstance(item, str) and re.fullmatch(r"\d{1,4}-\d{1,4}", item.strip()):
            lo, hi = (int(x) for x in item.strip().split("-"))
            if lo > hi:
                node.fail(f"range {item!r} ends before it starts", "slots")
            numbers.extend(range(lo, hi + 1))
        elif isinstance(item, str) and item.strip().isdigit():
            numbers.append(int(item))
        else:
            node.fail(f"must be instance numbers or ranges such as '5-9' or [5, 7], got {item!r}", "slots")
    if not numbers:
        node.fail("is empty", "slots", "leave `slots` out to give this engine every unlisted instance")
    outside = sorted({n for n in numbers if not stack.first <= n <= stack.last})
    if outside:
        node.fail(f"instance {outside[0]} is outside instances {stack.first}-{stack.last}", "slots",
                  "use instance numbers within `instances:`")
    return tuple(sorted(set(numbers)))


def _ranges(numbers: Sequence[int]) -> str:
    """``0, 3-5`` for [0, 3, 4, 5]."""
    parts: list[str] = []
    start = prev = None
    for n in list(numbers) + [None]:  # type: ignore[list-item]
        if start is not None and n is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    return ", ".join(parts)
