"""Pins multistack/model/systems.py (the `systems:` section) by exact values and whole error lines.

Mutation testing (issue 11) found most of the section's refusals checked by a substring at
best: their hints, their key paths, the bounds of slots, strides and ports, the defaults
and the cross-system uniqueness checks went unchecked. Each test here parses a small
`systems:` mapping directly (no file, no Docker) and compares the result, or the whole
line the user sees (``error: stack.yaml: systems.suite...: ... (fix: ...)``).
"""
from __future__ import annotations

from typing import Any

import pytest

from multistack.errors import StackError
from multistack.model.systems import (
    DataVolume, Gateway, Overlay, StackBasics, System, SystemPort, Topology, expand_links, member_project,
    neighbours, parse_systems, shown_name,
)

BASICS = StackBasics("stack.yaml", "shop", ("compose.yml",), 100)
GW = {"forward": ["80:rest:80"]}
UNKNOWN_HINT = "(fix: check the spelling against multistack/schema/stack.schema.json)"
NAME_HINT = "(fix: write it without spaces, line breaks or other characters the name does not allow)"


def system(**keys: Any) -> dict[str, Any]:
    """A minimal valid system (one member ``a``, one forward), with ``keys`` replacing or adding."""
    return {"gateway": GW, "members": {"a": None}, **keys}


def parse(raw: Any, basics: StackBasics = BASICS) -> dict[str, System]:
    return parse_systems(raw, basics)


def suite(basics: StackBasics = BASICS, **keys: Any) -> System:
    return parse({"suite": system(**keys)}, basics)["suite"]


def line(raw: Any, basics: StackBasics = BASICS) -> str:
    with pytest.raises(StackError) as info:
        parse(raw, basics)
    return info.value.line()


def suite_line(**keys: Any) -> str:
    return line({"suite": system(**keys)})


# --------------------------------------------------------------------------
# Defaults and the parsed values


def test_a_minimal_system_gets_every_default() -> None:
    s = suite()
    assert (s.description, s.network, s.project_network, s.shared_services, s.stride, s.ports, s.env,
            dict(s.vars), s.overlays, s.volumes, s.engine) == (
        "", "meshnet", "default", (), 100, (), (), {}, (), (), None)
    assert s.gateway == Gateway("gateway", "haproxy:2.8.14-alpine", None, ("80:rest:80",))
    assert s.topology == Topology("none", None, (), None)
    (a,) = s.members
    assert (a.name, a.callsign, a.slot, a.env, dict(a.vars), a.namespace) == ("a", "a", 0, (), {}, None)


def test_every_key_of_a_system_is_read() -> None:
    s = suite(BASICS, description="the test suite", compose_files=["s.yml", "t.yml"], network="net-1",
              project_network="appnet", shared_services=["rest", "mq", "rest", "gw"], stride=7,
              gateway={"service": "gw", "image": "haproxy:3", "pull_policy": "never", "forward": "80:rest:80"},
              env={"MODE": "test", "N": 3}, vars={"zeta": 1, "alpha": [2]}, engine="big-box",
              members={"Lon-B": {"slot": 4, "env": {"X": "y"}, "vars": {"b": 1, "a": 2}, "namespace": "ns-a"},
                       "c": None})
    assert (s.description, s.compose_files, s.network, s.project_network, s.stride, s.engine) == (
        "the test suite", ("s.yml", "t.yml"), "net-1", "appnet", 7, "big-box")
    # duplicates dropped, and the gateway's own service is no shared service
    assert s.shared_services == ("rest", "mq")
    assert s.gateway == Gateway("gw", "haproxy:3", "never", ("80:rest:80",))
    assert s.env == (("MODE", "test"), ("N", "3"))
    assert list(s.vars.items()) == [("alpha", [2]), ("zeta", 1)]  # sorted by name
    lon, c = s.members
    assert (lon.name, lon.callsign, lon.slot, lon.env, list(lon.vars.items()), lon.namespace) == (
        "lon-b", "Lon-B", 4, (("X", "y"),), [("a", 2), ("b", 1)], "ns-a")
    assert (c.name, c.slot) == ("c", 1)  # a slot defaults to the member's position


def test_the_stack_stride_and_compose_files_are_the_defaults() -> None:
    s = suite(StackBasics("stack.yaml", "shop", ("a.yml", "b.yml"), 250))
    assert (s.compose_files, s.stride) == (("a.yml", "b.yml"), 250)


def test_an_absent_or_empty_section_is_no_systems() -> None:
    assert parse(None) == {}
    assert parse({}) == {}


def test_systems_keep_their_order() -> None:
    systems = parse({"zz": system(members={"z": None}), "aa": system(members={"y": None})})
    assert list(systems) == ["zz", "aa"] and [s.name for s in systems.values()] == ["zz", "aa"]


def test_a_member_key_may_be_a_number() -> None:
    (m,) = suite(members={7: {"slot": 3}}).members
    assert (m.name, m.callsign, m.slot) == ("7", "7", 3)


@pytest.mark.parametrize("stride", [1, 65535])
def test_the_ends_of_the_stride_range(stride: int) -> None:
    assert suite(stride=stride).stride == stride


@pytest.mark.parametrize("slot", [0, 9999])
def test_the_ends_of_the_slot_range(slot: int) -> None:
    assert suite(members={"a": {"slot": slot}}).members[0].slot == slot


@pytest.mark.parametrize("policy", ["always", "never", "missing", "build", "if_not_present"])
def test_every_pull_policy(policy: str) -> None:
    assert suite(gateway={**GW, "pull_policy": policy}).gateway.pull_policy == policy


# --------------------------------------------------------------------------
# System names


@pytest.mark.parametrize("raw, expected", [
    ({"Suite": {}}, "error: stack.yaml: systems.Suite: system names are lowercase letters, digits, - and _ "
                    "(fix: rename the system, e.g. suite or sim-2: it becomes part of compose project names)"),
    ({1: {}}, "error: stack.yaml: systems.1: system names are lowercase letters, digits, - and _ "
              "(fix: rename the system, e.g. suite or sim-2: it becomes part of compose project names)"),
    ({"dev": {}}, "error: stack.yaml: systems.dev: 'dev' is reserved: its members' compose projects would look "
                  "like instances (shop-dev-N) (fix: choose another system name)"),
    ({"a_b": system(members={"x": None}), "a-b": system(members={"y": None})},
     "error: stack.yaml: systems.a-b: system names 'a_b' and 'a-b' differ only in case or - versus _ "
     "(they would share env keys, files or host names) (fix: rename one of them)"),
    ({"suite": system(colour="red")}, f"error: stack.yaml: systems.suite: unknown key 'colour' {UNKNOWN_HINT}"),
])
def test_bad_system_names(raw: Any, expected: str) -> None:
    assert line(raw) == expected


# --------------------------------------------------------------------------
# The system's own keys


@pytest.mark.parametrize("keys, expected", [
    ({"network": "bad net"},
     f"error: stack.yaml: systems.suite.network: 'bad net' is not a valid docker network name {NAME_HINT}"),
    ({"project_network": "bad net"},
     f"error: stack.yaml: systems.suite.project_network: 'bad net' is not a valid compose network name {NAME_HINT}"),
    ({"shared_services": ["rest", "-mq"]},
     "error: stack.yaml: systems.suite.shared_services: '-mq' is not a valid compose service name"),
    ({"stride": 0}, "error: stack.yaml: systems.suite.stride: must be 1-65535, got 0"),
    ({"stride": 65536}, "error: stack.yaml: systems.suite.stride: must be 1-65535, got 65536"),
    ({"engine": "Big"}, f"error: stack.yaml: systems.suite.engine: 'Big' is not a valid engine name {NAME_HINT}"),
    ({"network": "default"},
     "error: stack.yaml: systems.suite.network: the shared network cannot be named 'default': that is the "
     "members' own network (fix: choose another name, e.g. network: meshnet)"),
    ({"network": "appnet", "project_network": "appnet"},
     "error: stack.yaml: systems.suite.network: the shared network cannot be named 'appnet': that is the "
     "members' own network (fix: choose another name, e.g. network: meshnet)"),
    ({"vars": ["x"]}, "error: stack.yaml: systems.suite.vars: must be a mapping, got a list"),
    ({"vars": {"1x": 1}},
     "error: stack.yaml: systems.suite.vars.1x: '1x' is not a valid template name (letters, digits, _) "
     "(fix: rename it, e.g. ebus or node_id: templates read it as {{ vars.NAME }})"),
    ({"vars": {2: 1}},
     "error: stack.yaml: systems.suite.vars.2: 2 is not a valid template name (letters, digits, _) "
     "(fix: rename it, e.g. ebus or node_id: templates read it as {{ vars.NAME }})"),
])
def test_bad_system_keys(keys: dict[str, Any], expected: str) -> None:
    assert suite_line(**keys) == expected


def test_a_system_without_compose_files() -> None:
    assert line({"suite": system()}, StackBasics("stack.yaml", "shop", (), 100)) == (
        "error: stack.yaml: systems.suite.compose_files: no compose files: neither compose_files here nor "
        "compose.files in the stack (fix: list the system's compose files, e.g. compose_files: "
        "[compose/suite/docker-compose.yml])")


# --------------------------------------------------------------------------
# Ports


def test_ports_are_read_in_order() -> None:
    ports = suite(ports={"http": {"port": 8080, "service": "rest"},
                         "mq_ws": {"port": 1, "service": "mq", "container_port": 65535}}).ports
    assert ports == (SystemPort("http", 8080, "rest", None), SystemPort("mq_ws", 1, "mq", 65535))


@pytest.mark.parametrize("ports, expected", [
    ({"Http": {"port": 80, "service": "rest"}},
     "error: stack.yaml: systems.suite.ports.Http: port names are lowercase letters, digits and _ "
     "(used as {{ ports.NAME }}) (fix: rename the port, e.g. http or admin_api)"),
    ({"http": 80}, "error: stack.yaml: systems.suite.ports.http: must be a mapping with port and service, "
                   "got an integer"),
    ({"http": {"service": "rest"}}, "error: stack.yaml: systems.suite.ports.http: missing required key 'port' "
                                    "(fix: the host port of the member in slot 0)"),
    ({"http": {"port": 0, "service": "rest"}}, "error: stack.yaml: systems.suite.ports.http.port: must be "
                                               "1-65535, got 0"),
    ({"http": {"port": 65536, "service": "rest"}}, "error: stack.yaml: systems.suite.ports.http.port: must be "
                                                   "1-65535, got 65536"),
    ({"http": {"port": 80}}, "error: stack.yaml: systems.suite.ports.http: missing required key 'service' "
                             "(fix: the compose service that publishes the port)"),
    ({"http": {"port": 80, "service": "-rest"}},
     f"error: stack.yaml: systems.suite.ports.http.service: '-rest' is not a valid compose service name {NAME_HINT}"),
    ({"http": {"port": 80, "service": "rest", "container_port": 0}},
     "error: stack.yaml: systems.suite.ports.http.container_port: must be 1-65535, got 0"),
    ({"http": {"port": 80, "service": "rest", "container_port": 65536}},
     "error: stack.yaml: systems.suite.ports.http.container_port: must be 1-65535, got 65536"),
    ({"http": {"port": 80, "service": "rest", "host": 1}},
     f"error: stack.yaml: systems.suite.ports.http: unknown key 'host' {UNKNOWN_HINT}"),
])
def test_bad_ports(ports: Any, expected: str) -> None:
    assert suite_line(ports=ports) == expected


def test_a_port_past_65535_for_a_high_slot() -> None:
    assert suite_line(ports={"http": {"port": 65000, "service": "rest"}}, members={"a": None, "Far": {"slot": 6}}) == (
        "error: stack.yaml: systems.suite.ports: http: Far (slot 6) would get port 65600 (> 65535) "
        "(fix: lower the base port, the stride or the slot)")


def test_port_65535_is_a_port() -> None:
    s = suite(ports={"http": {"port": 65435, "service": "rest"}}, members={"a": {"slot": 1}})
    assert s.ports[0].port + s.members[0].slot * s.stride == 65535


def test_two_members_on_one_port() -> None:
    assert suite_line(ports={"http": {"port": 8000, "service": "rest"}, "admin": {"port": 8100, "service": "rest"}},
                      members={"a": None, "B": None}) == (
        "error: stack.yaml: systems.suite.ports: port 8100 is admin of a (slot 0) and http of B (slot 1) "
        "(fix: move a base port or a slot so that no two land on one port (stride 100))")


# --------------------------------------------------------------------------
# The gateway


@pytest.mark.parametrize("gateway, expected", [
    ({}, "error: stack.yaml: systems.suite.gateway.forward: a gateway needs at least one forward "
         "(fix: list what the member answers on the shared network, e.g. forward: [\"80:rest:80\"])"),
    ({**GW, "pull_policy": "sometimes"},
     "error: stack.yaml: systems.suite.gateway.pull_policy: must be one of always, never, missing, build, "
     "if_not_present"),
    ({**GW, "service": "bad gw"},
     f"error: stack.yaml: systems.suite.gateway.service: 'bad gw' is not a valid compose service name {NAME_HINT}"),
    ({**GW, "port": 80}, f"error: stack.yaml: systems.suite.gateway: unknown key 'port' {UNKNOWN_HINT}"),
])
def test_bad_gateways(gateway: Any, expected: str) -> None:
    assert suite_line(gateway=gateway) == expected


def test_a_system_without_a_gateway() -> None:
    assert line({"suite": {"members": {"a": None}}}) == (
        "error: stack.yaml: systems.suite.gateway.forward: a gateway needs at least one forward "
        "(fix: list what the member answers on the shared network, e.g. forward: [\"80:rest:80\"])")


# --------------------------------------------------------------------------
# Members

MEMBER_NAME_HINT = ("(fix: letters, digits and -, starting and ending with a letter or digit, at most 63 "
                    "characters: it becomes a host name and part of a compose project name)")


@pytest.mark.parametrize("members, expected", [
    ({}, "error: stack.yaml: systems.suite.members: a system needs at least one member "
         "(fix: list them under members:, e.g. members: {storer: {slot: 1}})"),
    ({"a_b": None}, f"error: stack.yaml: systems.suite.members.a_b: 'a_b' is not a valid member name {MEMBER_NAME_HINT}"),
    ({True: None}, f"error: stack.yaml: systems.suite.members.True: 'True' is not a valid member name {MEMBER_NAME_HINT}"),
    ({None: None}, f"error: stack.yaml: systems.suite.members.None: 'None' is not a valid member name {MEMBER_NAME_HINT}"),
    ({"Lon": None, "lON": None},
     "error: stack.yaml: systems.suite.members.lON: 'lON' and 'Lon' are the same name once lowercased "
     "(fix: member names must be unique: they are host names on the shared network)"),
    ({"a": 5}, "error: stack.yaml: systems.suite.members.a: must be a mapping (slot, env, vars), got an integer"),
    ({"a": {"slot": -1}}, "error: stack.yaml: systems.suite.members.a.slot: must be 0-9999, got -1"),
    ({"a": {"slot": 10000}}, "error: stack.yaml: systems.suite.members.a.slot: must be 0-9999, got 10000"),
    ({"a": {"slot": 1}, "b": None},
     "error: stack.yaml: systems.suite.members.b.slot: slot 1 is also a's "
     "(fix: give every member its own slot: it sets its ports)"),
    ({"a": {"slots": 1}}, f"error: stack.yaml: systems.suite.members.a: unknown key 'slots' {UNKNOWN_HINT}"),
    ({"gateway": None},
     "error: stack.yaml: systems.suite.members.gateway: 'gateway' is also the name of a service on the shared "
     "network meshnet (fix: rename the member: on the shared network its name must mean its gateway only)"),
])
def test_bad_members(members: Any, expected: str) -> None:
    assert suite_line(members=members) == expected


def test_a_member_named_as_a_shared_service() -> None:
    assert suite_line(members={"Rest": None}, shared_services=["rest"], network="net2") == (
        "error: stack.yaml: systems.suite.members.Rest: 'Rest' is also the name of a service on the shared "
        "network net2 (fix: rename the member: on the shared network its name must mean its gateway only)")


def test_a_member_whose_compose_project_is_no_name() -> None:
    assert line({"suite": system()}, StackBasics("stack.yaml", "Shop", ("compose.yml",), 100)) == (
        "error: stack.yaml: systems.suite.members.a: compose project name 'Shop-suite-a' is not valid "
        "(fix: shorten or rename the project, system or member: compose project names are lowercase "
        "letters, digits, - and _)")


def test_member_lookup_normalises_the_name() -> None:
    s = suite(members={"LON-B": None, "c": None})
    assert s.member("lon_b").callsign == "LON-B" and s.member("Lon-B").callsign == "LON-B"
    assert s.member("C").name == "c"
    with pytest.raises(StackError) as info:
        s.member("zz")
    assert info.value.line() == "error: system suite has no member 'zz' (fix: members: LON-B, c)"


def test_shown_name_cuts_a_long_name() -> None:
    assert shown_name("x" * 60) == "x" * 60
    assert shown_name("x" * 61) == "x" * 60 + "...(61 characters)"
    assert shown_name("abcdef", limit=3) == "abc...(6 characters)"


def test_member_project() -> None:
    assert member_project("shop", "suite", "lon-b") == "shop-suite-lon-b"


# --------------------------------------------------------------------------
# Topology


def topology(members: Any = None, **keys: Any) -> Topology:
    return suite(members=members or {"a": None, "B": None, "c": None}, topology=keys).topology


def test_topology_shapes() -> None:
    assert topology(shape="line") == Topology("line", None, (("a", "b"), ("b", "c")), None)
    assert topology(shape="star", hub="C") == Topology("star", "c", (("a", "c"), ("b", "c")), None)
    assert topology(shape="full").links == (("a", "b"), ("a", "c"), ("b", "c"))
    assert topology(shape="none", hub="b").links == ()


def test_explicit_links_are_resolved_and_merged_with_the_shape() -> None:
    t = topology(shape="line", links=[["C", "A"], ["b", "a"]])
    assert t == Topology("line", None, (("a", "b"), ("a", "c"), ("b", "c")), None)
    assert topology({"a": None, 7: None}, links=[[7, "a"]]).links == (("a", "7"),)


def test_the_topology_port_is_a_system_port() -> None:
    s = suite(members={"a": None}, ports={"http": {"port": 80, "service": "rest"}}, topology={"port": "http"})
    assert s.topology == Topology("none", None, (), "http")


@pytest.mark.parametrize("keys, expected", [
    ({"shape": "ring"}, "error: stack.yaml: systems.suite.topology.shape: unknown shape 'ring' "
                        "(fix: use one of: none, line, star, full, or list links:)"),
    ({"shape": "star"}, "error: stack.yaml: systems.suite.topology.hub: a star needs a hub "
                        "(fix: name the member every other one links to, e.g. hub: storer)"),
    ({"hub": "zz"}, "error: stack.yaml: systems.suite.topology.hub: 'zz' is not a member (fix: members: a, B, c)"),
    ({"hub": True}, "error: stack.yaml: systems.suite.topology.hub: must name a member, got a boolean"),
    ({"hub": ["a"]}, "error: stack.yaml: systems.suite.topology.hub: must name a member, got a list"),
    ({"links": {"a": "b"}}, "error: stack.yaml: systems.suite.topology.links: must be a list of "
                            "[member, member] pairs, got a mapping"),
    ({"links": [["a", "b"], ["a"]]}, "error: stack.yaml: systems.suite.topology.links[1]: must be a pair "
                                     "[member, member], got ['a']"),
    ({"links": [["a", "b", "c"]]}, "error: stack.yaml: systems.suite.topology.links[0]: must be a pair "
                                   "[member, member], got ['a', 'b', 'c']"),
    ({"links": ["ab"]}, "error: stack.yaml: systems.suite.topology.links[0]: must be a pair "
                        "[member, member], got 'ab'"),
    ({"links": [["a", "zz"]]}, "error: stack.yaml: systems.suite.topology.links[0]: 'zz' is not a member "
                               "(fix: members: a, B, c)"),
    ({"links": [["zz", "a"]]}, "error: stack.yaml: systems.suite.topology.links[0]: 'zz' is not a member "
                               "(fix: members: a, B, c)"),
    ({"links": [[True, "a"]]}, "error: stack.yaml: systems.suite.topology.links[0]: must name a member, got a boolean"),
    ({"links": [["B", "b"]]}, "error: stack.yaml: systems.suite.topology.links[0]: links B to itself"),
    ({"port": "http"}, "error: stack.yaml: systems.suite.topology.port: 'http' is not one of the system's ports "
                       "(fix: ports: none declared)"),
    ({"kind": "line"}, f"error: stack.yaml: systems.suite.topology: unknown key 'kind' {UNKNOWN_HINT}"),
])
def test_bad_topologies(keys: dict[str, Any], expected: str) -> None:
    assert suite_line(members={"a": None, "B": None, "c": None}, topology=keys) == expected


def test_a_topology_port_names_the_declared_ports() -> None:
    assert suite_line(ports={"http": {"port": 80, "service": "rest"}, "mq": {"port": 90, "service": "mq"}},
                      topology={"port": "ws"}) == (
        "error: stack.yaml: systems.suite.topology.port: 'ws' is not one of the system's ports (fix: ports: http, mq)")


def test_expand_links_every_shape() -> None:
    members = ["a", "b", "c", "d"]
    assert expand_links("none", members) == ()
    assert expand_links("line", members) == (("a", "b"), ("b", "c"), ("c", "d"))
    assert expand_links("line", ["a"]) == ()
    assert expand_links("star", members, "c") == (("a", "c"), ("b", "c"), ("c", "d"))
    assert expand_links("full", ["a", "b", "c"]) == (("a", "b"), ("a", "c"), ("b", "c"))
    assert expand_links("none", members, explicit=[("d", "a"), ("a", "d"), ("c", "b")]) == (("a", "d"), ("b", "c"))


@pytest.mark.parametrize("args, expected", [
    (("ring", ["a"]), "error: topology: unknown shape 'ring' (fix: use one of: none, line, star, full)"),
    (("star", ["a", "b"], "z"), "error: topology: star needs a hub among the members, got 'z'"),
    (("star", ["a", "b"]), "error: topology: star needs a hub among the members, got None"),
    (("none", ["a", "b"], None, [("a", "z")]), "error: topology: link a-z names a member that does not exist"),
    (("none", ["a", "b"], None, [("z", "a")]), "error: topology: link z-a names a member that does not exist"),
    (("none", ["a", "b"], None, [("b", "b")]), "error: topology: link b-b links a member to itself"),
])
def test_expand_links_refusals(args: tuple[Any, ...], expected: str) -> None:
    with pytest.raises(StackError) as info:
        expand_links(*args)
    assert info.value.line() == expected


def test_neighbours_in_member_order() -> None:
    links = (("a", "c"), ("b", "c"), ("c", "d"))
    assert neighbours(links, "c", ["d", "c", "b", "a"]) == ("d", "b", "a")
    assert neighbours(links, "a", ["a", "b", "c", "d"]) == ("c",)
    assert neighbours(links, "d", ["a", "b", "c", "d"]) == ("c",)
    assert neighbours((), "a", ["a"]) == ()


# --------------------------------------------------------------------------
# Overlays and volumes


def test_overlays_and_volumes_are_read() -> None:
    s = suite(overlays={"node.json": {"template": "t.j2", "reset": "r.json", "mounts": {"node": "/etc/node.json"}},
                        "plain.cfg": {"template": "p.j2"}},
              volumes={"data": {"node": "/var/lib/node", "web": "/srv"},
                       "logs": {"name": "x-{{ name }}-logs", "mounts": {"node": "/var/log"}},
                       "cache": {"mounts": {"mounts": "/cache"}}})
    assert s.overlays == (Overlay("node.json", "t.j2", "r.json", (("node", "/etc/node.json"),)),
                          Overlay("plain.cfg", "p.j2", None, ()))
    assert s.volumes == (DataVolume("data", (("node", "/var/lib/node"), ("web", "/srv")), None),
                         DataVolume("logs", (("node", "/var/log"),), "x-{{ name }}-logs"),
                         DataVolume("cache", (("mounts", "/cache"),), None))


OVERLAY_NAMES = ("overlay names are file names (letters, digits, ., - and _), other than docker-compose.member.yml, "
                 "docker-compose.system.yml, member.env, haproxy.cfg")


@pytest.mark.parametrize("overlays, expected", [
    ({"-x": {"template": "t"}}, f"error: stack.yaml: systems.suite.overlays.-x: {OVERLAY_NAMES}"),
    ({"member.env": {"template": "t"}}, f"error: stack.yaml: systems.suite.overlays.member.env: {OVERLAY_NAMES}"),
    ({"haproxy.cfg": {"template": "t"}}, f"error: stack.yaml: systems.suite.overlays.haproxy.cfg: {OVERLAY_NAMES}"),
    ({"system.json": {"template": "t"}}, f"error: stack.yaml: systems.suite.overlays.system.json: {OVERLAY_NAMES}"),
    ({"x.cfg": "t.j2"}, "error: stack.yaml: systems.suite.overlays.x.cfg: must be a mapping with template and "
                        "mounts, got a string"),
    ({"x.cfg": {"reset": "r"}}, "error: stack.yaml: systems.suite.overlays.x.cfg: missing required key 'template' "
                                "(fix: a jinja2 file, relative to stack.yaml, or system-node.json.j2)"),
    ({"x.cfg": {"template": "t", "mounts": {"-node": "/x"}}},
     "error: stack.yaml: systems.suite.overlays.x.cfg.mounts.-node: is not a valid compose service name "
     "(fix: name a service of the system's compose files)"),
    ({"x.cfg": {"template": "t", "mounts": {"node": "etc/x"}}},
     "error: stack.yaml: systems.suite.overlays.x.cfg.mounts.node: must be an absolute path in the container, "
     "got 'etc/x' (fix: write the path inside the container, e.g. /var/lib/data)"),
    ({"x.cfg": {"template": "t", "mounts": {"node": 5}}},
     "error: stack.yaml: systems.suite.overlays.x.cfg.mounts.node: must be an absolute path in the container, "
     "got 5 (fix: write the path inside the container, e.g. /var/lib/data)"),
    ({"x.cfg": {"template": "t", "mount": {}}},
     f"error: stack.yaml: systems.suite.overlays.x.cfg: unknown key 'mount' {UNKNOWN_HINT}"),
])
def test_bad_overlays(overlays: Any, expected: str) -> None:
    assert suite_line(overlays=overlays) == expected


@pytest.mark.parametrize("name", ["docker-compose.member.yml", "docker-compose.system.yml"])
def test_generated_files_are_no_overlays(name: str) -> None:
    assert suite_line(overlays={name: {"template": "t"}}) == f"error: stack.yaml: systems.suite.overlays.{name}: {OVERLAY_NAMES}"


VOLUME_PATHS = "must map services to paths in their containers, e.g. {node: /var/lib/node}"


@pytest.mark.parametrize("volumes, expected", [
    ({"Data": {"node": "/d"}}, "error: stack.yaml: systems.suite.volumes.Data: volume names are lowercase letters, "
                               "digits, - and _ (fix: rename the volume, e.g. data; give the docker name with "
                               "{name: TEMPLATE, mounts: ...})"),
    ({"data": {}}, f"error: stack.yaml: systems.suite.volumes.data: {VOLUME_PATHS}"),
    ({"data": "/d"}, f"error: stack.yaml: systems.suite.volumes.data: {VOLUME_PATHS}"),
    ({"data": {"mounts": {}}}, f"error: stack.yaml: systems.suite.volumes.data.mounts: {VOLUME_PATHS}"),
    ({"data": {"name": "x", "mounts": {"node": "/d"}, "size": 1}},
     f"error: stack.yaml: systems.suite.volumes.data: unknown key 'size' {UNKNOWN_HINT}"),
    ({"data": {"node": "rel"}}, "error: stack.yaml: systems.suite.volumes.data.node: must be an absolute path in "
                                "the container, got 'rel' (fix: write the path inside the container, e.g. /var/lib/data)"),
    ({"data": {"name": "", "mounts": {"node": "/d"}}},
     "error: stack.yaml: systems.suite.volumes.data.name: must be a non-empty string, got a string"),
])
def test_bad_volumes(volumes: Any, expected: str) -> None:
    assert suite_line(volumes=volumes) == expected


def test_one_path_mounted_twice() -> None:
    assert suite_line(overlays={"cfg": {"template": "t", "mounts": {"node": "/etc/x"}}},
                      volumes={"data": {"node": "/etc/x"}}) == (
        "error: stack.yaml: systems.suite.volumes.data: node:/etc/x is mounted twice (cfg and data)")
    assert suite_line(volumes={"data": {"node": "/d"}, "more": {"mounts": {"node": "/d"}}}) == (
        "error: stack.yaml: systems.suite.volumes.more: node:/d is mounted twice (data and more)")
    assert suite_line(overlays={"one": {"template": "t", "mounts": {"node": "/d"}},
                                "two": {"template": "t", "mounts": {"node": "/d"}}}) == (
        "error: stack.yaml: systems.suite.overlays.two: node:/d is mounted twice (one and two)")


def test_one_path_of_two_services_or_two_paths_of_one_is_fine() -> None:
    s = suite(volumes={"data": {"node": "/d", "web": "/e"}, "more": {"node": "/e", "web": "/d"}})
    assert [v.mounts for v in s.volumes] == [(("node", "/d"), ("web", "/e")), (("node", "/e"), ("web", "/d"))]


# --------------------------------------------------------------------------
# Across systems


def test_two_systems_with_one_compose_project() -> None:
    assert line({"a-b": system(members={"c": None}, network="n1"), "a": system(members={"B-c": None}, network="n2")}) == (
        "error: stack.yaml: systems.a.members.B-c: compose project shop-a-b-c is also member c of system a-b's "
        "(fix: rename the member or the system)")


def test_one_member_name_in_two_systems_on_one_network() -> None:
    assert line({"one": system(members={"X": None}), "two": system(members={"x": None})}) == (
        "error: stack.yaml: systems.two.members.x: 'x' is also member X of system one on the shared network "
        "meshnet (fix: rename one, or give one of the systems its own network:)")


def test_one_member_name_in_two_systems_on_their_own_networks() -> None:
    systems = parse({"one": system(members={"x": None}), "two": system(members={"x": None}, network="net2")})
    assert [m.name for s in systems.values() for m in s.members] == ["x", "x"]


def test_a_member_named_as_another_systems_shared_service() -> None:
    assert line({"one": system(shared_services=["rest"]), "two": system(members={"rest": None})}) == (
        "error: stack.yaml: systems.two.members.rest: 'rest' is also service rest of system one on the shared "
        "network meshnet (fix: rename one, or give one of the systems its own network:)")


def test_the_first_system_sharing_a_service_is_named() -> None:
    raw = {"one": system(shared_services=["rest"], members={"p": None}),
           "two": system(shared_services=["rest"], members={"q": None}),
           "three": system(members={"rest": None})}
    assert line(raw) == (
        "error: stack.yaml: systems.three.members.rest: 'rest' is also service rest of system one on the shared "
        "network meshnet (fix: rename one, or give one of the systems its own network:)")


def test_a_shared_service_named_as_another_systems_member() -> None:
    assert line({"one": system(members={"rest": None}), "two": system(members={"b": None}, shared_services=["rest"])}) == (
        "error: stack.yaml: systems.two: service 'rest' joins the shared network meshnet, where 'rest' is member "
        "rest of system one (fix: rename the member, or give one of the systems its own network:)")


def test_a_gateway_service_named_as_another_systems_member() -> None:
    assert line({"one": system(members={"gw": None}), "two": system(members={"b": None},
                                                                    gateway={**GW, "service": "gw"})}) == (
        "error: stack.yaml: systems.two: service 'gw' joins the shared network meshnet, where 'gw' is member "
        "gw of system one (fix: rename the member, or give one of the systems its own network:)")


def test_systems_may_share_services_and_the_gateway_name() -> None:
    systems = parse({"one": system(shared_services=["rest"], members={"p": None}),
                     "two": system(shared_services=["rest"], members={"q": None})})
    assert [(s.shared_services, s.gateway.service) for s in systems.values()] == [
        (("rest",), "gateway"), (("rest",), "gateway")]
