"""The ``router:`` section: parsed once at load, every mistake one line with its key path."""
from __future__ import annotations

from pathlib import Path

import pytest

from multistack.errors import StackError
from multistack.model.router import DEFAULT_IMAGE, RouterSettings, is_http, parse_router
from multistack.model.stack import parse_stack

SERVICES = [("web", "http://localhost:{{ port }}"), ("db", "postgres://localhost:{{ port }}/x"), ("api", None)]


def test_an_empty_section_means_port_80_and_the_http_services():
    assert parse_router(None, "stack.yaml", SERVICES) == RouterSettings(80, "127.0.0.1", DEFAULT_IMAGE, ("web",))


def test_settings_are_read():
    raw = {"port": 45990, "bind": "0.0.0.0", "image": "local/haproxy:1", "services": ["api", "web"]}
    assert parse_router(raw, "stack.yaml", SERVICES) == RouterSettings(45990, "0.0.0.0", "local/haproxy:1",
                                                                       ("api", "web"))


def test_an_empty_services_list_names_no_service():
    assert parse_router({"services": []}, "stack.yaml", SERVICES).services == ()


@pytest.mark.parametrize("raw, message", [
    ({"port": 0}, "stack.yaml: router.port: must be 1-65535, got 0"),
    ({"port": "80"}, "stack.yaml: router.port: must be an integer"),
    ({"services": ["nope"]}, "stack.yaml: router.services: 'nope' is not a service; known: web, db, api"),
    ({"prot": 80}, "stack.yaml: router: unknown key 'prot'"),
    ({"image": ""}, "stack.yaml: router.image: must be a non-empty string"),
    ([80], "stack.yaml: router: must be a mapping, got a list"),
])
def test_mistakes_are_one_line_with_the_key_path(raw, message):
    with pytest.raises(StackError) as info:
        parse_router(raw, "stack.yaml", SERVICES)
    assert info.value.message.startswith(message)


def test_a_service_named_like_the_json_key_of_the_hostnames_is_refused():
    with pytest.raises(StackError, match="a service named 'hostnames' clashes"):
        parse_router({}, "stack.yaml", [("hostnames", None)])


@pytest.mark.parametrize("url, http", [("http://x", True), ("HTTP://x", True), ("https://x", False),
                                       ("postgres://x", False), (None, False), ("", False)])
def test_only_http_urls_are_routed(url, http):
    assert is_http(url) is http


def test_a_stack_without_the_section_has_no_router():
    stack = parse_stack({"project": "p", "services": {"web": {"port": 8000, "url": "http://localhost"}}},
                        Path("/x/stack.yaml"))
    assert stack.router is None


def test_the_section_is_parsed_with_the_stack():
    raw = {"project": "p", "services": {"web": {"port": 8000, "url": "http://localhost:{{ port }}"}},
           "router": None}
    stack = parse_stack(raw, Path("/x/stack.yaml"))
    assert stack.router == RouterSettings(services=("web",))


def test_the_json_schema_knows_the_section():
    """stack.schema.json (editors' completion) accepts what the parser accepts, refuses what it refuses."""
    import json

    from jsonschema import Draft202012Validator

    schema = json.loads((Path(__file__).resolve().parents[2] / "multistack" / "schema" / "stack.schema.json").read_text())
    validator = Draft202012Validator(schema)
    good = {"project": "p", "router": {"port": 8080, "bind": "0.0.0.0", "image": "haproxy:3.0", "services": ["web"]}}
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors({"project": "p", "router": None})) == []
    assert list(validator.iter_errors({"project": "p", "router": {"prot": 80}})) != []
