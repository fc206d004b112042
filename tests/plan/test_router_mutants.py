"""The shared router as data (plan/router.py), pinned whole: a route file's exact text and every way a file
this version cannot read is left alone, the assembly's order and first-claim rule, the whole haproxy.cfg and
compose file the router runs with, and the names derived from paths (found by mutation testing, issue 11).
These texts are read by HAProxy, compose and other stacks' multistack: a changed character is a broken router."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from multistack.model.stack import parse_stack
from multistack.plan import router
from multistack.plan.router import (
    Assembly, RouteFile, RouterCommands, assemble, compose_text, empty_routes, haproxy_config, listen_address,
    parse_route_file, project_name, route_file_name, route_file_text, with_instance,
)


def make_stack(router_section: object = None, path: str = "/work/a/stack.yaml"):
    raw = {"project": "shop", "services": {"web": {"port": 8000, "url": "http://localhost:{{ port }}"}},
           "router": router_section if router_section is not None else {"port": 8080, "image": "img:1"}}
    return parse_stack(raw, Path(path))


ROUTES = RouteFile("/work/a/stack.yaml", "shop", "127.0.0.1:8080", "img:1",
                   {"2": {"web.2.shop.localhost": "127.0.0.1:8200"}})

ROUTES_TEXT = """\
{
  "image": "img:1",
  "instances": {
    "2": {
      "web.2.shop.localhost": "127.0.0.1:8200"
    }
  },
  "listen": "127.0.0.1:8080",
  "project": "shop",
  "stack": "/work/a/stack.yaml",
  "version": 1
}
"""


def test_the_route_file_text_is_sorted_json_with_the_version():
    assert route_file_text(ROUTES) == ROUTES_TEXT
    assert parse_route_file(ROUTES_TEXT) == ROUTES


def test_route_file_names_are_the_project_and_twelve_hex_of_the_path():
    assert route_file_name(make_stack()) == "shop-8a4c1b8fe0ad.json"  # sha256("/work/a/stack.yaml")


def test_empty_routes_carry_the_settings_of_the_stack():
    stack = make_stack({"port": 8080, "bind": "::1", "image": "img:2"})
    assert empty_routes(stack) == RouteFile("/work/a/stack.yaml", "shop", "[::1]:8080", "img:2", {})
    assert listen_address(stack.router) == "[::1]:8080"


def test_with_instance_takes_the_settings_of_now_and_copies_the_routes():
    old = RouteFile("/old", "old", "127.0.0.1:1", "img:old", {"1": {"a": "127.0.0.1:1"}, "12": {"c": "127.0.0.1:3"}})
    given = {"b": "127.0.0.1:2"}
    got = with_instance(old, make_stack(), 2, given)
    assert got == RouteFile("/work/a/stack.yaml", "shop", "127.0.0.1:8080", "img:1",
                            {"1": {"a": "127.0.0.1:1"}, "12": {"c": "127.0.0.1:3"}, "2": {"b": "127.0.0.1:2"}})
    given["b"] = "changed"
    assert got.instances["2"] == {"b": "127.0.0.1:2"}
    assert with_instance(got, make_stack(), 1, {}).instances == {"12": {"c": "127.0.0.1:3"}, "2": {"b": "127.0.0.1:2"}}
    assert with_instance(got, make_stack(), 2, {"d": "127.0.0.1:4"}).instances["2"] == {"d": "127.0.0.1:4"}


def test_routes_merge_instances_in_number_order_not_text_order():
    routes = RouteFile("/s", "p", "127.0.0.1:80", "i", {"10": {"x": "127.0.0.1:10", "ten": "127.0.0.1:1"},
                                                        "2": {"x": "127.0.0.1:2", "two": "127.0.0.1:3"}})
    assert list(routes.routes().items()) == [("x", "127.0.0.1:10"), ("two", "127.0.0.1:3"), ("ten", "127.0.0.1:1")]


def good() -> dict:
    return json.loads(ROUTES_TEXT)


def edited(**changes) -> str:
    data = good()
    for key, value in changes.items():
        if value is KeyError:
            del data[key]
        else:
            data[key] = value
    return json.dumps(data)


@pytest.mark.parametrize("text", [
    edited(version=2), edited(version="1"), edited(version=KeyError),
    edited(stack=1), edited(project=None), edited(listen=KeyError), edited(image=["img"]),
    edited(instances=[]), edited(instances=KeyError),
    edited(instances={"2": ["web.2.shop.localhost"]}),
    edited(instances={"-2": {"web.2.shop.localhost": "127.0.0.1:8200"}}),
    edited(instances={"2": {"web 2.shop.localhost": "127.0.0.1:8200"}}),
    edited(instances={"2": {"Web.2.shop.localhost": "127.0.0.1:8200"}}),
    edited(instances={"2": {"web.2.shop.localhost": "127.0.0.1:8200\nbackend x"}}),
    edited(instances={"2": {"web.2.shop.localhost": "127.0.0.1"}}),
    edited(instances={"2": {"web.2.shop.localhost": 8200}}),
    edited(listen="127.0.0.1:80 ssl"), edited(listen="127.0.0.1"),
    "[1]", '"text"', "not json", "",
])
def test_a_file_this_version_cannot_read_is_none(text):
    assert parse_route_file(text) is None


def test_a_file_with_no_instances_and_v6_addresses_is_read():
    text = edited(listen="[::1]:80", instances={"1": {"a.1.p.localhost": "[::1]:8100"}, "3": {}})
    assert parse_route_file(text) == RouteFile("/work/a/stack.yaml", "shop", "[::1]:80", "img:1",
                                               {"1": {"a.1.p.localhost": "[::1]:8100"}, "3": {}})


def test_assembly_listens_where_a_routing_stack_asks_and_takes_the_first_image():
    a = RouteFile("/a", "a", "127.0.0.1:8080", "img:a", {"1": {"h1": "127.0.0.1:1"}})
    b = RouteFile("/b", "b", "127.0.0.1:80", "img:b", {"1": {"h1": "127.0.0.1:9", "h2": "127.0.0.1:2"}})
    c = RouteFile("/c", "c", "127.0.0.1:80", "img:c", {"1": {"h3": "127.0.0.1:3", "h1": "127.0.0.1:8"}})
    none = RouteFile("/0", "0", "127.0.0.1:7", "img:0", {"1": {}})
    got = assemble({"c.json": c, "b.json": b, "0.json": none, "a.json": a})
    assert got == Assembly({"h1": "127.0.0.1:1", "h2": "127.0.0.1:2", "h3": "127.0.0.1:3"},
                           ("127.0.0.1:80", "127.0.0.1:8080"), "img:a",
                           ("h1 (a.json and b.json)", "h1 (a.json and c.json)"))


CONFIG = """\
# Generated by multistack: the local router of every stack's hostnames (docs/hostnames.md).
# Assembled from the route files beside this folder; rewritten on every start/stop/clean.
global
    log stdout format raw local0 notice

defaults
    mode http
    log global
    timeout connect 5s
    timeout client 1m
    timeout server 1m
    timeout tunnel 1h
    option forwardfor
    default-server init-addr last,libc,none

frontend hostnames
    bind 127.0.0.1:80
    bind [::1]:8080
    http-request set-var(txn.host) req.hdr(host),field(1,:),lower
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    http-request set-header X-Forwarded-Proto http
    use_backend a.1.p.localhost if { var(txn.host) -m str a.1.p.localhost }
    use_backend b.1.p.localhost if { var(txn.host) -m str b.1.p.localhost }
    default_backend no-route

backend no-route
    http-request return status 404 content-type text/plain string "no running multistack instance has this \
hostname (start it: inv dev N start)"

backend a.1.p.localhost
    server a.1.p.localhost 127.0.0.1:8100

backend b.1.p.localhost
    server b.1.p.localhost [::1]:8101
"""


def test_the_whole_haproxy_config():
    assembly = Assembly({"b.1.p.localhost": "[::1]:8101", "a.1.p.localhost": "127.0.0.1:8100"},
                        ("127.0.0.1:80", "[::1]:8080"), "img")
    assert haproxy_config(assembly) == CONFIG


def test_a_config_with_no_route_answers_404_only():
    text = haproxy_config(Assembly({}, (), None))
    assert text.endswith("    http-request set-header X-Forwarded-Proto http\n    default_backend no-route\n\n"
                         "backend no-route\n    http-request return status 404 content-type text/plain string "
                         f'"{router.NO_ROUTE}"\n')


COMPOSE = """\
# Generated by multistack: the shared local router (docs/hostnames.md). Rewritten when needed.
{
  "name": "multistack-router-x",
  "services": {
    "router": {
      "command": [
        "-W",
        "-db",
        "-f",
        "/etc/multistack-router/haproxy.cfg"
      ],
      "entrypoint": [
        "haproxy"
      ],
      "image": "img:9",
      "labels": {
        "multistack.router": "true"
      },
      "network_mode": "host",
      "restart": "unless-stopped",
      "stop_signal": "SIGUSR1",
      "user": "0:0",
      "volumes": [
        "/r/config:/etc/multistack-router:ro"
      ]
    }
  }
}
"""


def test_the_whole_compose_file():
    assert compose_text("multistack-router-x", "img:9", Path("/r/config")) == COMPOSE


def test_a_router_folder_of_its_own_is_a_project_named_by_eight_hex_of_its_path():
    assert project_name(Path("/tmp/t1/router"), default_home=False) == "multistack-router-97d3720b"


class Tool:
    compose = ("docker-compose",)
    compose_plugin = False


def test_router_commands_use_the_discovered_compose():
    commands = RouterCommands.at("multistack-router", Path("/r/compose.yml"), Tool())
    assert commands.reload() == ["docker-compose", "-p", "multistack-router", "-f", "/r/compose.yml",
                                 "kill", "-s", "SIGUSR2", "router"]
