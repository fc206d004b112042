"""Where each instance's containers run: the ``engines:`` section of stack.yaml (pure).

Docker already knows how to reach other engines (contexts, ``DOCKER_HOST``, ssh),
so an engine here is only a name for one of those plus the instance numbers
("slots") it holds and the host name its published ports are reached by::

    engines:
      local: {slots: 0-4}                                   # the default engine
      big: {context: bigbox, host: bigbox.lan, slots: 5-9}  # `docker --context bigbox ...`
      ci: {docker_host: "ssh://dev@ci.lan", slots: [10, 11]}  # over SSH: one forwarded socket

Without the section every instance is on the default engine (no flag at all,
exactly as before). An engine without ``slots`` takes every instance the others
do not list; without one, unlisted instances stay on the default engine
(``local``). Every compose and docker command of instance N gets its engine's
flag, so ``inv --dry`` shows where it runs. PM2 apps always run on this machine.

An SSH engine (``docker_host: ssh://...``, or a context whose endpoint is one) is
reached through one SSH connection the tool opens and keeps (``io/ssh.py``): its
commands then say ``--host unix://<forwarded socket>`` (:attr:`Engine.tunnel`), so
compose's many connections share one SSH connection (sshd's ``MaxSessions`` never
counts them). ``ssh_key`` and ``known_hosts`` are handed to that ``ssh``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from multistack.model.names import CONTEXT_RE, DOCKER_HOST_RE, HOST_RE, NAME_RE, NumbersError, format_ranges, parse_numbers
from multistack.model.reader import Node

#: The name of the default engine (the one plain ``docker`` talks to).
LOCAL = "local"
#: Where a remote engine publishes ports unless its ``host_ip`` says otherwise: 127.0.0.1
#: there would be unreachable from here.
REMOTE_HOST_IP = "0.0.0.0"
ENGINE_KEYS = ("context", "docker_host", "host", "host_ip", "slots", "ssh_key", "known_hosts")
SSH_SCHEME = "ssh://"


@dataclass(frozen=True)
class Engine:
    """One Docker engine and the instances placed on it."""

    name: str
    context: str | None = None  # `docker --context NAME`
    docker_host: str | None = None  # `docker --host URL` (what DOCKER_HOST would say)
    host: str = "localhost"  # how this machine reaches its published ports (URLs, env)
    host_ip: str = "127.0.0.1"  # where it publishes them
    slots: tuple[int, ...] = ()
    ssh_key: str | None = None  # an SSH engine's identity file (ssh -i), as written in stack.yaml
    known_hosts: str | None = None  # its known_hosts file (UserKnownHostsFile), as written
    #: The local unix socket forwarded to an SSH engine's docker socket, once io/ssh.py opened it
    #: (set by act/engines.py for this run, never written in stack.yaml).
    tunnel: str | None = None

    @property
    def local(self) -> bool:
        """The default engine: no flag, its ports are this machine's."""
        return self.context is None and self.docker_host is None

    @property
    def ssh(self) -> bool:
        """Whether ``docker_host`` is an ``ssh://`` URL (a context's endpoint is only known by asking docker)."""
        return bool(self.docker_host and self.docker_host.startswith(SSH_SCHEME))

    def flags(self) -> tuple[str, ...]:
        """The global docker flags that select this engine (none for the default one)."""
        if self.tunnel:
            return ("--host", f"unix://{self.tunnel}")
        if self.context:
            return ("--context", self.context)
        if self.docker_host:
            return ("--host", self.docker_host)
        return ()

    def describe(self) -> str:
        where = (f"context {self.context}" if self.context else f"docker host {self.docker_host}"
                 if self.docker_host else "the default docker engine")
        over = ", over SSH" if self.ssh or self.tunnel else ""
        return f"{self.name} ({where}{over}, host {self.host})"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "context": self.context, "docker_host": self.docker_host,
                "host": self.host, "host_ip": self.host_ip, "ssh": self.ssh}


def parse_engines(raw: Any, file: str, instances: range, host_ip: str) -> tuple[Engine, ...]:
    """The ``engines:`` section (``raw``; None when absent) -> every engine holding an instance in range.

    In stack.yaml order, each with its slots; without the section, the one
    default engine holds every instance. ``host_ip`` is the stack's, the
    default engine's publishing address.
    """
    everything = tuple(instances)
    if raw is None:
        return (Engine(LOCAL, host_ip=host_ip, slots=everything),)
    top = Node(raw, "engines", file)
    if not top.data:
        top.fail("must name at least one engine", hint="e.g. engines: {big: {context: bigbox, host: bigbox.lan, slots: 5-9}}")
    parsed: list[tuple[Engine, tuple[int, ...] | None]] = []
    for name, value in top.items():
        if not NAME_RE.fullmatch(name):
            top.fail("engine names are lowercase letters, digits, - and _", name)
        parsed.append(_engine(Node(value, top.where(name), file), name, instances, host_ip))
    top.refuse_clash([engine.name for engine, _slots in parsed], "engine")
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
        engines.append(Engine(engine.name, engine.context, engine.docker_host, engine.host, engine.host_ip, held,
                              engine.ssh_key, engine.known_hosts))
    if unlisted and rest is None:
        if any(e.name == LOCAL for e in engines):
            top.fail(f"instances {format_ranges(unlisted)} are on no engine", None,
                     "list them in an engine's slots, or leave out `slots` of one engine to give it the rest")
        engines.append(Engine(LOCAL, host_ip=host_ip, slots=unlisted))
    return tuple(e for e in engines if e.slots)


def _engine(node: Node, name: str, instances: range, host_ip: str) -> tuple[Engine, tuple[int, ...] | None]:
    context = node.string("context", pattern=CONTEXT_RE, what="docker context name")
    docker_host = node.string("docker_host")
    url_host = _url_host(docker_host) if docker_host and DOCKER_HOST_RE.fullmatch(docker_host) else None
    if docker_host and url_host is None:
        node.fail(f"{docker_host!r} is not a Docker host URL", "docker_host",
                  "e.g. ssh://user@bigbox, tcp://bigbox:2376 or unix:///var/run/docker.sock")
    if context and docker_host:
        node.fail("give `context` or `docker_host`, not both", hint="a docker context already names its host")
    host = node.string("host", pattern=HOST_RE, what="host name")
    if host is None:
        if context:
            node.fail("missing 'host': the name this machine reaches the engine's ports by", "host",
                      "e.g. host: bigbox.lan (host: localhost for an engine on this machine)")
        host = url_host or "localhost"
    remote = bool(context or docker_host)
    own_ip = node.string("host_ip") or (REMOTE_HOST_IP if remote else host_ip)
    slots = _slots(node, instances) if "slots" in node.data else None
    ssh_key, known_hosts = node.string("ssh_key"), node.string("known_hosts")
    if (ssh_key or known_hosts) and not (context or (docker_host or "").startswith(SSH_SCHEME)):
        node.fail("`ssh_key` and `known_hosts` are for an SSH engine", "ssh_key" if ssh_key else "known_hosts",
                  "use them with docker_host: ssh://user@host or an SSH context")
    node.done()
    return Engine(name, context, docker_host, host, own_ip, (), ssh_key, known_hosts), slots


def _url_host(docker_host: str) -> str | None:
    """The host name of a Docker host URL ("" for unix:// and fd://); None when it cannot be parsed.

    urlsplit raises on a broken one such as ``tcp://[::1`` (a user mistake, not a traceback).
    """
    try:
        return urlsplit(docker_host).hostname or ""
    except ValueError:
        return None


def _slots(node: Node, instances: range) -> tuple[int, ...]:
    """``5-9``, ``7``, or a list of numbers and ranges: instance numbers within ``instances:``."""
    try:
        numbers = parse_numbers(node.get("slots"))
    except NumbersError as exc:
        if exc.reversed_range:
            node.fail(f"range {exc.item!r} ends before it starts", "slots")
        node.fail(f"must be instance numbers or ranges such as '5-9' or [5, 7], got {exc.item!r}", "slots")
        raise AssertionError from None  # unreachable: fail() raises
    if not numbers:
        node.fail("is empty", "slots", "leave `slots` out to give this engine every unlisted instance")
    first, last = instances[0], instances[-1]
    outside = sorted({n for n in numbers if n not in instances})
    if outside:
        node.fail(f"instance {outside[0]} is outside instances {first}-{last}", "slots",
                  "use instance numbers within `instances:`")
    return tuple(sorted(set(numbers)))
