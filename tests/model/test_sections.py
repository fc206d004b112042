"""Each section's parser takes the raw value and plain values, never a Stack (so the model has no cycle)."""
from __future__ import annotations

from pathlib import Path

import pytest

from multistack.errors import StackError
from multistack.model.engines import LOCAL, REMOTE_HOST_IP, parse_engines
from multistack.model.mesh import ALL, parse_mesh
from multistack.model.namespaces import parse_namespaces
from multistack.model.portplan import check_ports
from multistack.model.provision import DEFAULT_MODE, HOST, parse_mode, parse_steps
from multistack.model.systems import StackBasics, parse_systems

FILE = "stack.yaml"
TEN = range(0, 10)


def test_engines_default_to_one_local_engine_holding_everything() -> None:
    (local,) = parse_engines(None, FILE, TEN, "127.0.0.2")
    assert (local.name, local.host_ip, local.slots, local.flags()) == (LOCAL, "127.0.0.2", tuple(TEN), ())


def test_engines_split_the_slots() -> None:
    big, local = parse_engines({"big": {"context": "bigbox", "host": "bigbox.lan", "slots": ["5-7", 9]}},
                               FILE, TEN, "127.0.0.1")
    assert big.slots == (5, 6, 7, 9) and big.host_ip == REMOTE_HOST_IP and big.flags() == ("--context", "bigbox")
    assert local.slots == (0, 1, 2, 3, 4, 8)


@pytest.mark.parametrize("slots, message", [
    ("9-5", "engines.big.slots: range '9-5' ends before it starts"),
    ("5-12", "engines.big.slots: instance 10 is outside instances 0-9"),
    ([], "engines.big.slots: is empty"),
    (["²"], "engines.big.slots: must be instance numbers or ranges such as '5-9' or [5, 7], got '²'"),
    ([[1, 2]], "got [1, 2]"),
])
def test_bad_slots(slots, message: str) -> None:
    with pytest.raises(StackError, match=r"^stack.yaml: ") as info:
        parse_engines({"big": {"context": "b", "host": "b.lan", "slots": slots}}, FILE, TEN, "127.0.0.1")
    assert message in info.value.message


def test_mode_and_steps() -> None:
    assert parse_mode(None, FILE) == DEFAULT_MODE and parse_mode("shared", FILE) == "shared"
    (step,) = parse_steps({"db": {"create": ["createdb", 1], "run_in": "pg"}}, FILE, ("compose.yml",))
    assert step.create == ("createdb", "1") and step.run_in == "pg"
    assert parse_steps({"x": {"create": "true"}}, FILE, ())[0].run_in == HOST
    with pytest.raises(StackError, match=r"provision.db: unknown key 'crate'"):
        parse_steps({"db": {"create": "x", "crate": "y"}}, FILE, ())


def test_namespaces_section() -> None:
    section = parse_namespaces({"instances": {3: "shop-three"}, "selectors": {"api": "site-a"}}, FILE, TEN, ["api"])
    assert dict(section.overrides) == {3: "shop-three"} and dict(section.selectors) == {"api": "site-a"}
    with pytest.raises(StackError, match=r"'١' is not an instance number"):
        parse_namespaces({"instances": {"١": "x"}}, FILE, TEN, [])
    with pytest.raises(StackError, match=r"'site-a\\n' is not a valid selector"):
        parse_namespaces({"selectors": {"api": "site-a\n"}}, FILE, TEN, ["api"])


def test_mesh_section() -> None:
    mesh = parse_mesh({"compose": ["m.yml"], "profiles": {"db": ["pg"]},
                       "environments": {"local": {"compose": ["l.yml"], "template": "t.env"}}},
                      FILE, Path("/x"), "shop")
    assert mesh.project == "shop-mesh" and mesh.default_profile == ALL and mesh.services == ("pg",)
    assert mesh.env_path == Path("/x/env/.env")


def test_systems_section() -> None:
    basics = StackBasics(FILE, "shop", ("compose.yml",), 100)
    systems = parse_systems({"suite": {"gateway": {"forward": ["80:rest:80"]},
                                       "members": {"A": {"slot": 2, "namespace": "shop-a"}, "b": None}}}, basics)
    (suite,) = systems.values()
    assert [(m.name, m.callsign, m.slot, m.namespace) for m in suite.members] == [
        ("a", "A", 2, "shop-a"), ("b", "b", 1, None)]
    assert suite.compose_files == ("compose.yml",) and suite.stride == 100
    assert parse_systems(None, basics) == {}


def test_port_plan() -> None:
    check_ports(FILE, [("api", 3000, True), ("db", 3001, False)], 100, TEN)
    with pytest.raises(StackError, match=r"services.api.port: instance 9 would get port 65900"):
        check_ports(FILE, [("api", 65000, True)], 100, TEN)
    with pytest.raises(StackError, match=r"port 3100 is used by web of instance 0 and by api of instance 1"):
        check_ports(FILE, [("api", 3000, True), ("web", 3100, True)], 100, TEN)
    # with engines: containers of a remote instance publish there, so the same port is fine
    check_ports(FILE, [("api", 3000, False), ("web", 3100, False)], 100, range(0, 2), remote={1: "big"})
