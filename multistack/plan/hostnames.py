"""An instance's hostnames: ``http://<service>.<N>.<project>.localhost[:port]/`` (pure).

With a ``router:`` section (multistack.model.router) every HTTP service of instance N
gets a stable name beside its port: separate cookies per instance in a browser, OAuth
redirect URIs that do not move. Browsers and curl resolve ``*.localhost`` to the loopback
address themselves (RFC 6761), so no DNS or ``/etc/hosts`` entry is needed. The router
(multistack.plan.router) maps each name to the port the instance publishes.

Stacks without ``router:`` get nothing from here: every function answers empty.
"""
from __future__ import annotations

from multistack.model.stack import Service, Stack
from multistack.plan.instance import Instance

#: The top-level domain of every hostname (RFC 6761: always the loopback interface).
DOMAIN = "localhost"
#: ``MULTISTACK_URL_<SERVICE>`` in the instance's env, beside ``MULTISTACK_PORT_<SERVICE>``; never a
#: name the stack's own env files use for its own URLs (``WEB_URL``), so it never replaces one.
URL_VAR_PREFIX = "MULTISTACK_URL_"


def label(name: str) -> str:
    """A DNS label from a service or project name: ``temporal_ui`` -> ``temporal-ui`` (``_`` is no host character)."""
    return name.replace("_", "-")


def hostname(stack: Stack, n: int, service: str) -> str:
    """``web.1.shipsec.localhost``."""
    return f"{label(service)}.{n}.{label(stack.project)}.{DOMAIN}"


def routed(stack: Stack) -> list[Service]:
    """The services the router names (``router.services``, else those with an ``http://`` url); none without ``router:``."""
    if stack.router is None:
        return []
    return [stack.service(name) for name in stack.router.services]


def host_url(stack: Stack, n: int, service: str) -> str:
    """``http://web.1.shipsec.localhost/``, with ``:PORT`` unless the router listens on 80."""
    assert stack.router is not None
    port = stack.router.port
    return f"http://{hostname(stack, n, service)}{'' if port == 80 else f':{port}'}/"


def host_urls(inst: Instance) -> dict[str, str]:
    """Service -> its hostname URL, for instance ``inst`` (stack.yaml order)."""
    return {svc.name: host_url(inst.stack, inst.n, svc.name) for svc in routed(inst.stack)}


def url_vars(inst: Instance) -> list[tuple[str, str]]:
    """``MULTISTACK_URL_WEB=http://web.1.shipsec.localhost/``: one per named service, for the instance's env."""
    return [(f"{URL_VAR_PREFIX}{name.upper().replace('-', '_')}", url) for name, url in host_urls(inst).items()]


def backend(inst: Instance, svc: Service) -> str:
    """Where the router sends a service's requests: the address it is published on, and its port.

    A container is published on its engine's ``host_ip`` (a remote engine: reached at its
    ``host``); a PM2 app listens on this machine. A wildcard address means loopback here.
    """
    engine = inst.engine
    if svc.compose:
        host = engine.host_ip if engine.local else engine.host
    else:
        host = inst.stack.host_ip
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"{f'[{host}]' if ':' in host else host}:{inst.ports[svc.name]}"


def instance_routes(inst: Instance) -> dict[str, str]:
    """Hostname -> backend address, for every named service of the instance."""
    return {hostname(inst.stack, inst.n, svc.name): backend(inst, svc) for svc in routed(inst.stack)}
