"""An instance's hostnames (plan/hostnames.py) at their edges: the listed services in their order, the
port in the URL, the env variable names, and the backend address the router is given for each kind of
engine and wildcard address (found by mutation testing, issue 11)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from multistack.model.engines import Engine
from multistack.model.stack import parse_stack
from multistack.plan.hostnames import backend, host_url, host_urls, instance_routes, routed, url_vars
from multistack.plan.instance import plan_instance


def make_stack(router_section: object = None, **extra: object):
    raw = {"project": "my_shop", "services": {
        "web": {"port": 8000, "compose": "web", "container_port": 80, "url": "http://localhost:{{ port }}"},
        "admin-ui": {"port": 8001, "url": "http://localhost:{{ port }}"},
        "db": {"port": 5432, "compose": "db", "container_port": 5432},
    }, "compose": {"files": ["compose.yml"]}, "router": router_section if router_section is not None else {},
        **extra}
    return parse_stack(raw, Path("/w/stack.yaml"))


def test_listed_services_are_named_in_the_list_s_order():
    stack = make_stack({"services": ["db", "web"]})
    assert [svc.name for svc in routed(stack)] == ["db", "web"]
    assert list(host_urls(plan_instance(stack, 4))) == ["db", "web"]


def test_a_stack_without_router_routes_nothing():
    raw = {"project": "p", "services": {"web": {"port": 8000, "url": "http://localhost"}}}
    assert routed(parse_stack(raw, Path("/w/stack.yaml"))) == []


@pytest.mark.parametrize("port, url", [(80, "http://web.2.my-shop.localhost/"),
                                       (81, "http://web.2.my-shop.localhost:81/"),
                                       (8080, "http://web.2.my-shop.localhost:8080/")])
def test_the_url_carries_the_port_unless_it_is_80(port, url):
    assert host_url(make_stack({"port": port}), 2, "web") == url


def test_env_variables_are_upper_case_with_underscores():
    inst = plan_instance(make_stack(), 2)
    assert url_vars(inst) == [("MULTISTACK_URL_WEB", "http://web.2.my-shop.localhost/"),
                              ("MULTISTACK_URL_ADMIN_UI", "http://admin-ui.2.my-shop.localhost/")]


def on_engine(engine: Engine, n: int = 1):
    stack = make_stack()
    return plan_instance(replace(stack, engines=(engine,), engines_declared=True), n), stack


@pytest.mark.parametrize("host_ip, address", [("0.0.0.0", "127.0.0.1:8100"), ("", "127.0.0.1:8100"),
                                              ("::", "[::1]:8100"), ("192.168.1.5", "192.168.1.5:8100"),
                                              ("fd00::5", "[fd00::5]:8100")])
def test_a_local_container_is_reached_where_it_is_published(host_ip, address):
    inst, stack = on_engine(Engine("local", host="ignored.lan", host_ip=host_ip, slots=(1,)))
    assert backend(inst, stack.service("web")) == address


@pytest.mark.parametrize("engine", [Engine("big", context="big", host="big.lan", host_ip="10.0.0.9", slots=(1,)),
                                    Engine("big", docker_host="tcp://big.lan:2375", host="big.lan", slots=(1,))])
def test_a_remote_container_is_reached_at_its_engine_s_host(engine):
    inst, stack = on_engine(engine)
    assert backend(inst, stack.service("web")) == "big.lan:8100"


def test_a_remote_engine_s_wildcard_host_means_loopback():
    inst, stack = on_engine(Engine("big", context="big", host="::", slots=(1,)))
    assert backend(inst, stack.service("web")) == "[::1]:8100"


def test_a_pm2_app_is_reached_on_the_stack_s_host_ip():
    stack = make_stack(host_ip="192.168.1.7")
    inst = plan_instance(replace(stack, engines=(Engine("big", context="big", host="big.lan", slots=(1,)),),
                                 engines_declared=True), 1)
    assert backend(inst, stack.service("admin-ui")) == "192.168.1.7:8101"


def test_instance_routes_map_each_hostname_to_its_backend():
    inst = plan_instance(make_stack({"services": ["admin-ui", "db"]}), 3)
    assert list(instance_routes(inst).items()) == [("admin-ui.3.my-shop.localhost", "127.0.0.1:8301"),
                                                   ("db.3.my-shop.localhost", "127.0.0.1:5732")]
