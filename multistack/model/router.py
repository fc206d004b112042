"""The ``router:`` section of stack.yaml: hostnames for the HTTP services, beside their ports (pure).

``router: {port: 80}`` gives every HTTP service of every running instance a
name, ``http://<service>.<N>.<project>.localhost[:port]/``, answered by one
HAProxy shared by every stack on the machine (docs/hostnames.md). A stack
without the section has no router and no hostnames: nothing changes for it.

Which services get a name: those listed in ``router.services``, else every
service whose ``url`` is an ``http://`` URL (a database's ``postgres://`` URL
is not HTTP, and an HTTP proxy cannot carry it; it keeps its TCP port).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from multistack.errors import StackError
from multistack.model.reader import Node

#: The router's port unless stack.yaml says otherwise: URLs then need no port at all.
DEFAULT_PORT = 80
#: The address it listens on: this machine only.
DEFAULT_BIND = "127.0.0.1"
#: HAProxy's official image, an LTS branch (``router.image`` names another, e.g. a local build).
DEFAULT_IMAGE = "haproxy:3.0"
#: The key ``inv dev N ports --json`` puts the hostnames under, beside the ports by service name.
HOSTNAMES_KEY = "hostnames"


@dataclass(frozen=True)
class RouterSettings:
    """What the user told the router: where it listens, its image, which services it names."""

    port: int = DEFAULT_PORT
    bind: str = DEFAULT_BIND
    image: str = DEFAULT_IMAGE
    services: tuple[str, ...] = ()  # the services that get a hostname, in stack.yaml order


def parse_router(raw: Any, file: str, services: Sequence[tuple[str, str | None]]) -> RouterSettings:
    """Validate ``router:`` (an empty section: the defaults). ``services``: each service's name and ``url``."""
    node = Node(raw, "router", file)
    try:
        port = node.integer("port", DEFAULT_PORT, lo=1, hi=65535)
    except StackError as exc:  # the reader's range refusal has no fix of its own
        raise StackError(exc.message, exc.hint or "give a free port, e.g. router: {port: 8080}") from None
    bind = node.string("bind", DEFAULT_BIND)
    if not _is_address(bind):
        node.fail(f"{bind!r} is not an IP address", "bind",
                  "give the address the router listens on, e.g. 127.0.0.1 (this machine) or 0.0.0.0 (the LAN)")
    image = node.string("image", DEFAULT_IMAGE)
    named = node.strings("services") if "services" in node.data else None
    node.done()
    known = [name for name, _ in services]
    if HOSTNAMES_KEY in known:
        node.fail(f"a service named {HOSTNAMES_KEY!r} clashes with the key `inv dev N ports --json` gives "
                  "the hostnames under", hint="rename the service")
    for name in named or ():
        if name not in known:
            node.fail(f"{name!r} is not a service; known: {', '.join(known) or 'none'}", "services",
                      "name services declared under services:")
    chosen = tuple(named) if named is not None else tuple(name for name, url in services if is_http(url))
    assert port is not None and bind is not None and image is not None  # defaults given
    return RouterSettings(port, bind, image, chosen)


def _is_address(text: str | None) -> bool:
    """An IPv4 or IPv6 address (it becomes HAProxy's ``bind`` line: nothing else may ride along)."""
    import ipaddress

    try:
        ipaddress.ip_address(str(text))
    except ValueError:
        return False
    return True


def is_http(url: str | None) -> bool:
    """An ``http://`` URL (template), the only kind the router can carry."""
    return bool(url) and str(url).lower().startswith("http://")
