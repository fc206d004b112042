"""Hostnames, route files, the assembled HAProxy config and the router's commands, as data."""
from __future__ import annotations

import json
from dataclasses import replace
import shutil
import subprocess
from pathlib import Path

import yaml

from multistack.model.engines import Engine
from multistack.model.router import RouterSettings
from multistack.model.stack import Service, Stack, parse_stack
from multistack.plan import router
from multistack.plan.gateway import check_argv
from multistack.plan.hostnames import backend, host_url, host_urls, hostname, instance_routes, url_vars
from multistack.plan.instance import plan_instance
from multistack.plan.render import instance_env_vars
from multistack.plan.router import (
    Assembly, RouteFile, RouterCommands, assemble, compose_text, haproxy_config, parse_route_file,
    project_name, route_file_name, route_file_text, with_instance,
)
from tests.conftest import skip_unless_installed


def make_stack(router_section: object = {"port": 45990}, path: str = "/work/a/stack.yaml", **extra: object) -> Stack:
    raw = {"project": "shop_x", "services": {
        "web": {"port": 8000, "compose": "web", "container_port": 80, "url": "http://localhost:{{ port }}"},
        "admin_ui": {"port": 8001, "url": "http://localhost:{{ port }}"},
        "db": {"port": 5432, "compose": "db", "container_port": 5432, "url": "postgres://localhost:{{ port }}"},
    }, "compose": {"files": ["compose.yml"]}, **extra}
    if router_section is not None:
        raw["router"] = router_section
    return parse_stack(raw, Path(path))


def test_hostnames_use_dns_labels_and_the_router_port():
    stack = make_stack()
    assert hostname(stack, 3, "admin_ui") == "admin-ui.3.shop-x.localhost"
    assert host_url(stack, 3, "web") == "http://web.3.shop-x.localhost:45990/"
    assert host_url(make_stack({}), 3, "web") == "http://web.3.shop-x.localhost/"  # port 80: none in the URL


def test_only_http_services_get_a_hostname_and_an_env_var():
    inst = plan_instance(make_stack(), 2)
    assert host_urls(inst) == {"web": "http://web.2.shop-x.localhost:45990/",
                               "admin_ui": "http://admin-ui.2.shop-x.localhost:45990/"}
    assert url_vars(inst) == [("MULTISTACK_URL_WEB", "http://web.2.shop-x.localhost:45990/"),
                              ("MULTISTACK_URL_ADMIN_UI", "http://admin-ui.2.shop-x.localhost:45990/")]
    assert dict(url_vars(inst)).keys() <= dict(instance_env_vars(inst)).keys()


def test_a_stack_without_router_gets_no_url_vars():
    inst = plan_instance(make_stack(None), 2)
    assert host_urls(inst) == {} and instance_routes(inst) == {}
    assert not any(key.startswith("MULTISTACK_URL_") for key, _ in instance_env_vars(inst))


def test_routes_point_at_the_published_ports():
    inst = plan_instance(make_stack(), 2)
    assert instance_routes(inst) == {"web.2.shop-x.localhost": "127.0.0.1:8200",
                                     "admin-ui.2.shop-x.localhost": "127.0.0.1:8201"}


def test_backend_addresses():
    stack = make_stack(host_ip="0.0.0.0")
    inst = plan_instance(stack, 1)
    assert backend(inst, stack.service("admin_ui")) == "127.0.0.1:8101"  # wildcard: loopback here
    remote = Engine("big", context="big", host="big.lan", host_ip="0.0.0.0", slots=(1,))
    inst = plan_instance(replace(stack, engines=(remote,), engines_declared=True), 1)
    assert backend(inst, stack.service("web")) == "big.lan:8100"  # a container of a remote engine
    assert backend(inst, stack.service("admin_ui")) == "127.0.0.1:8101"  # a PM2 app runs here
    v6 = plan_instance(make_stack(host_ip="::1"), 1)
    assert backend(v6, Service("admin_ui", 8001)) == "[::1]:8101"


def test_route_files_round_trip_and_unknown_versions_are_not_read():
    stack = make_stack()
    routes = with_instance(router.empty_routes(stack), stack, 2, {"web.2.shop-x.localhost": "127.0.0.1:8200"})
    text = route_file_text(routes)
    assert parse_route_file(text) == routes
    assert text == route_file_text(parse_route_file(text))  # deterministic
    assert parse_route_file(text.replace('"version": 1', '"version": 2')) is None
    for broken in ("", "[]", "{", '{"version": 1}', text.replace('"2":', '"two":')):
        assert parse_route_file(broken) is None


def test_with_instance_adds_and_removes_one_instance_only():
    stack = make_stack()
    one = with_instance(router.empty_routes(stack), stack, 1, {"a": "127.0.0.1:1"})
    both = with_instance(one, stack, 2, {"b": "127.0.0.1:2"})
    assert both.routes() == {"a": "127.0.0.1:1", "b": "127.0.0.1:2"}
    assert with_instance(both, stack, 1, {}).routes() == {"b": "127.0.0.1:2"}
    assert with_instance(with_instance(both, stack, 1, {}), stack, 2, {}).instances == {}


def test_route_file_names_differ_per_checkout_of_one_project():
    assert route_file_name(make_stack()) != route_file_name(make_stack(path="/work/b/stack.yaml"))
    assert route_file_name(make_stack()).startswith("shop_x-")


def test_assembly_keeps_every_stack_and_the_first_claim_of_a_hostname():
    a = RouteFile("/a", "a", "127.0.0.1:80", "img:a", {"1": {"web.1.a.localhost": "127.0.0.1:8100", "x": "127.0.0.1:1"}})
    b = RouteFile("/b", "b", "127.0.0.1:8080", "img:b", {"2": {"web.2.b.localhost": "127.0.0.1:9200", "x": "127.0.0.1:2"}})
    empty = RouteFile("/c", "c", "127.0.0.1:9999", "img:c")
    got = assemble({"b.json": b, "a.json": a, "c.json": empty})
    assert got.routes == {"web.1.a.localhost": "127.0.0.1:8100", "x": "127.0.0.1:1", "web.2.b.localhost": "127.0.0.1:9200"}
    assert got.listen == ("127.0.0.1:80", "127.0.0.1:8080")  # a stack routing nothing binds nothing
    assert got.image == "img:a" and got.clashes == ("x (a.json and b.json)",)
    assert assemble({}) == Assembly({}, (), None)


def config() -> str:
    return haproxy_config(Assembly({"web.2.b.localhost": "127.0.0.1:9200", "web.1.a.localhost": "127.0.0.1:8100"},
                                   ("127.0.0.1:80", "127.0.0.1:8080"), "img"))


def test_the_config_binds_every_address_and_routes_by_host():
    text = config()
    assert "    bind 127.0.0.1:80\n    bind 127.0.0.1:8080\n" in text
    assert "    use_backend web.1.a.localhost if { var(txn.host) -m str web.1.a.localhost }\n" in text
    assert "backend web.2.b.localhost\n    server web.2.b.localhost 127.0.0.1:9200\n" in text
    assert text.index("backend web.1.a") < text.index("backend web.2.b")  # sorted: deterministic
    assert "default_backend no-route" in text and "return status 404" in text


def test_haproxy_accepts_the_config(tmp_path: Path):
    """HAProxy's own check of the generated text (the host's binary, as the test image's)."""
    binary = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").is_file() else None)
    if binary is None:
        skip_unless_installed("haproxy is not installed (apt-get install haproxy)")
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(config())
    done = subprocess.run(check_argv(str(cfg), binary), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_compose_file_is_yaml_with_host_network_and_the_folder_mounted():
    text = compose_text("multistack-router", "haproxy:3.0", Path("/home/u/.local/state/multistack/router/config"))
    doc = yaml.safe_load(text)
    service = doc["services"]["router"]
    assert doc["name"] == "multistack-router" and service["network_mode"] == "host"
    assert service["volumes"] == ["/home/u/.local/state/multistack/router/config:/etc/multistack-router:ro"]
    assert service["entrypoint"] == ["haproxy"] and service["command"][:2] == ["-W", "-db"]
    assert json.loads(text.split("\n", 1)[1]) == doc


def test_the_project_name_follows_the_folder():
    assert project_name(Path("/anywhere"), default_home=True) == "multistack-router"
    other = project_name(Path("/tmp/t1/router"), default_home=False)
    assert other.startswith("multistack-router-") and other != project_name(Path("/tmp/t2/router"), False)


def test_router_commands():
    commands = RouterCommands.at("multistack-router", Path("/r/compose.yml"))
    prefix = ["docker", "compose", "-p", "multistack-router", "-f", "/r/compose.yml"]
    assert commands.up() == prefix + ["up", "-d", "--remove-orphans", "--wait", "--wait-timeout", "60"]
    assert commands.reload() == prefix + ["kill", "-s", "SIGUSR2", "router"]
    assert commands.down() == prefix + ["--profile", "*", "down", "--remove-orphans"]


def test_settings_default_listen_address():
    assert router.listen_address(RouterSettings(port=8080)) == "127.0.0.1:8080"
    assert router.listen_address(RouterSettings(port=80, bind="::1")) == "[::1]:80"
