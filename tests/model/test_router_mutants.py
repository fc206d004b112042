"""The ``router:`` section (model/router.py) at its edges: the port range's both ends, what ``bind`` accepts,
the defaults when a key is absent or null, which services get a name and in which order, and every refusal
as the whole line and fix a user reads (found by mutation testing, issue 11)."""
from __future__ import annotations

import pytest

from multistack.errors import StackError
from multistack.model.router import RouterSettings, is_http, parse_router

SERVICES = [("web", "http://localhost:{{ port }}"), ("db", "postgres://localhost:{{ port }}/x"),
            ("api", None), ("admin", "HTTP://localhost:{{ port }}/")]


def refusal(raw, services=SERVICES) -> StackError:
    with pytest.raises(StackError) as info:
        parse_router(raw, "/s/stack.yaml", services)
    return info.value


def test_the_defaults_are_port_80_on_loopback_with_the_lts_image():
    assert parse_router({}, "stack.yaml", SERVICES) == RouterSettings(80, "127.0.0.1", "haproxy:3.0", ("web", "admin"))


def test_explicit_nulls_are_the_defaults():
    raw = {"port": None, "bind": None, "image": None}
    assert parse_router(raw, "stack.yaml", SERVICES) == RouterSettings(80, "127.0.0.1", "haproxy:3.0", ("web", "admin"))


@pytest.mark.parametrize("port", [1, 65535])
def test_both_ends_of_the_port_range_are_accepted(port):
    assert parse_router({"port": port}, "stack.yaml", SERVICES).port == port


@pytest.mark.parametrize("port", [0, 65536])
def test_a_port_outside_the_range_is_refused_with_a_fix(port):
    error = refusal({"port": port})
    assert error.message == f"/s/stack.yaml: router.port: must be 1-65535, got {port}"
    assert error.hint == "give a free port, e.g. router: {port: 8080}"


def test_a_port_that_is_no_integer_keeps_the_reader_s_fix():
    error = refusal({"port": "80"})
    assert error.message == "/s/stack.yaml: router.port: must be an integer, got a string"
    assert error.hint == "write a whole number in ASCII digits, unquoted"


@pytest.mark.parametrize("bind", ["0.0.0.0", "192.168.1.20", "::1", "::"])
def test_bind_takes_ipv4_and_ipv6_addresses(bind):
    assert parse_router({"bind": bind}, "stack.yaml", SERVICES).bind == bind


@pytest.mark.parametrize("bind", ["localhost", "127.0.0.1 ssl", "127.0.0.1\n", "None", "[::1]"])
def test_bind_refuses_anything_but_an_address(bind):
    error = refusal({"bind": bind})
    assert error.message == f"/s/stack.yaml: router.bind: {bind!r} is not an IP address"
    assert error.hint == "give the address the router listens on, e.g. 127.0.0.1 (this machine) or 0.0.0.0 (the LAN)"


def test_an_empty_bind_is_refused_as_no_string():
    assert refusal({"bind": ""}).message == "/s/stack.yaml: router.bind: must be a non-empty string, got a string"


def test_an_unknown_key_is_refused_after_the_known_ones_are_read():
    error = refusal({"port": 8080, "bind": "::1", "image": "x", "services": ["web"], "sevrices": []})
    assert error.message == "/s/stack.yaml: router: unknown key 'sevrices'"


def test_listed_services_keep_their_order_and_need_no_url():
    assert parse_router({"services": ["api", "db", "web"]}, "stack.yaml", SERVICES).services == ("api", "db", "web")
    assert parse_router({"services": "api"}, "stack.yaml", SERVICES).services == ("api",)  # one name, unlisted


def test_without_a_list_the_http_services_are_named_in_stack_order():
    services = [("b", "http://b"), ("a", "http://a"), ("c", "https://c")]
    assert parse_router({}, "stack.yaml", services).services == ("b", "a")
    assert parse_router({}, "stack.yaml", []).services == ()


def test_a_listed_name_that_is_no_service_is_refused_naming_the_known_ones():
    error = refusal({"services": ["web", "nope", "other"]})
    assert error.message == "/s/stack.yaml: router.services: 'nope' is not a service; known: web, db, api, admin"
    assert error.hint == "name services declared under services:"
    assert refusal({"services": ["web"]}, []).message == \
        "/s/stack.yaml: router.services: 'web' is not a service; known: none"


def test_a_service_named_hostnames_is_refused_whole():
    error = refusal({}, [("web", "http://x"), ("hostnames", None)])
    assert error.message == ("/s/stack.yaml: router: a service named 'hostnames' clashes with the key "
                             "`inv dev N ports --json` gives the hostnames under")
    assert error.hint == "rename the service"


def test_a_service_list_of_no_strings_is_refused():
    assert refusal({"services": [1]}).message == "/s/stack.yaml: router.services: must be a list of strings"


@pytest.mark.parametrize("url, http", [("http://localhost:{{ port }}/", True), ("Http://x", True),
                                       ("http:/x", False), (" http://x", False), ("x http://", False)])
def test_is_http_reads_the_scheme_at_the_start_only(url, http):
    assert is_http(url) is http
