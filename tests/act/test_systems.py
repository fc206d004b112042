"""Systems: the `systems:` section, topology, member plans and files, the real `compose config`, the tasks.

The task tests run `inv system.*` bodies with a recording context (nothing real
runs); the compose checks run the real Compose v2 binary (no daemon needed for
`config`) on every member's generated files.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from invoke import Config, Context, Result
from invoke.exceptions import Exit, UnexpectedExit

from multistack.act import systems as core
from multistack.io.tools import Engines
from multistack.errors import StackError
from multistack.model.stack import load_stack
from multistack.cli import system as tasks
from multistack.model.systems import expand_links, neighbours
from multistack.plan.topology import dot, mermaid

ROOT = Path(__file__).resolve().parents[2]
E2E_STACK = ROOT / "tests" / "e2e" / "systems" / "stack.yaml"

COMPOSE = """\
services:
  rest:
    image: multistack-test/busybox:1
    ports: ["8080:80"]
    networks: [appnet]
  mq:
    image: multistack-test/busybox:1
    ports: ["1883:1883"]
    networks: [appnet]
  smc:
    image: multistack-test/busybox:1
    networks: [appnet]
networks:
  appnet: {}
"""

SUITE = """\
project: acme
compose:
  files: [compose.yml]
systems:
  suite:
    compose_files: [compose.yml]
    project_network: appnet
    shared_services: [rest]
    ports:
      http: {port: 18080, service: rest, container_port: 80}
    gateway:
      forward: ["80:rest:80", "1883:mq:1883"]
    topology: {shape: star, hub: storer}
    env:
      ROLE: plain
      WHO: "{{ callsign }}-{{ slot }}"
    vars: {ebus: 0}
    overlays:
      mw.conf:
        template: mw.conf.j2
        mounts: {rest: /etc/mw.conf, mq: /etc/mw.conf}
    volumes:
      data: {mq: /data}
    members:
      storer: {slot: 1, vars: {ebus: 1}, env: {ROLE: master}}
      retriever: {slot: 2, vars: {ebus: 2}}
"""

MW_TEMPLATE = """\
{% if standalone %}
MASTER_IP=
{% else %}
MASTER_IP={{ hub.address }}
MASTER_EBUS={{ hub.vars.ebus }}
{% for p in peers %}
PEER={{ p.callsign }}:{{ p.vars.ebus }}
{% endfor %}
{% endif %}
"""


@pytest.fixture
def suite(make_stack: Callable[..., Path]):
    return load_stack(make_stack(SUITE, {"compose.yml": COMPOSE, "mw.conf.j2": MW_TEMPLATE}))


def with_system(extra: str, system: str = "suite") -> str:
    """SUITE with lines added to (or replacing keys of) the suite system."""
    data = yaml.safe_load(SUITE)
    patch = yaml.safe_load(extra)
    data["systems"][system] = {**data["systems"].get(system, {}), **patch}
    return dump(data)


def dump(data: Any) -> str:
    return yaml.safe_dump(json.loads(json.dumps(data)), sort_keys=False)  # no anchors, keys as written


def parse_error(make_stack: Callable[..., Path], text: str, plan: bool = False) -> str:
    path = make_stack(text, {"compose.yml": COMPOSE, "mw.conf.j2": MW_TEMPLATE})
    with pytest.raises(StackError) as info:
        stack = load_stack(path)  # the systems: section is parsed with the stack
        if plan:
            for system in stack.systems.values():
                core.plan_system(stack, system)
    return info.value.line()


# --------------------------------------------------------------------------
# The section


def test_the_example_systems_of_stack_yaml():
    stack = load_stack(ROOT / "stack.yaml")
    found = stack.systems
    assert list(found) == ["suite", "sim"]
    suite, sim = found["suite"], found["sim"]
    assert [m.name for m in suite.members] == ["storer", "retriever"]
    assert suite.shared_services == ("mw", "rest", "cron")
    assert suite.network == sim.network == "meshnet"
    assert suite.topology.links == (("storer", "retriever"),)
    assert [(m.name, m.callsign, m.slot) for m in sim.members] == [
        ("dun-a", "DUN-A", 0), ("lon-b", "LON-B", 1), ("nyc-c", "NYC-C", 2)]
    assert sim.topology.links == (("dun-a", "lon-b"), ("lon-b", "nyc-c"))
    assert sim.topology.hub == "lon-b"
    plan = core.plan_system(stack, sim)
    assert [mp.ports["node"] for mp in plan.members] == [8023, 8024, 8025]
    assert [mp.project_name for mp in plan.members] == ["shipsec-sim-dun-a", "shipsec-sim-lon-b", "shipsec-sim-nyc-c"]
    assert plan.member("LON-B").peers == ("dun-a", "nyc-c")
    suite_plan = core.plan_system(stack, suite)
    assert [f.describe() for f in suite_plan.member("retriever").forwards] == [
        "80 -> rest:80", "1883 -> mq:1883", "9001 -> mq:9001"]


def test_no_section_means_no_systems(minimal_stack):
    assert load_stack(minimal_stack).systems == {}
    with pytest.raises(StackError, match="no system named 'x'"):
        core.get_system(load_stack(minimal_stack), "x")


def test_defaults(make_stack):
    stack = load_stack(make_stack("""\
        project: p
        compose: {files: [c.yml]}
        systems:
          s:
            gateway: {forward: ["80:web:80"]}
            members: {a: , b: }
        """, {"c.yml": "services:\n  web: {image: x}\n"}))
    system = core.get_system(stack, "s")
    assert system.network == "meshnet" and system.project_network == "default"
    assert system.compose_files == ("c.yml",) and system.stride == 100
    assert [(m.name, m.slot) for m in system.members] == [("a", 0), ("b", 1)]
    assert system.topology.shape == "none" and system.topology.links == ()
    assert system.gateway.image == "haproxy:2.8.14-alpine" and system.gateway.service == "gateway"
    plan = core.plan_system(stack, system)
    assert plan.members[0].project_network_name == "p-s-a_default"


@pytest.mark.parametrize("extra, message", [
    ("members: {bad_name: {slot: 1}}", "systems.suite.members.bad_name: 'bad_name' is not a valid member name"),
    ("members: {-a: {slot: 1}}", "systems.suite.members.-a: '-a' is not a valid member name"),
    ("members: {A: {slot: 1}, a: {slot: 2}}", "systems.suite.members.a: 'a' and 'A' are the same name once lowercased"),
    ("members: {a: {slot: 1}, b: {slot: 1}}", "systems.suite.members.b.slot: slot 1 is also a's"),
    ("members: {a: {slott: 1}}", "systems.suite.members.a: unknown key 'slott'"),
    ("members: {a: {slot: -1}}", "systems.suite.members.a.slot: must be 0-9999"),
    ("members: {a: [1]}", "systems.suite.members.a: must be a mapping (slot, env, vars)"),
    ("members: {}", "systems.suite.members: a system needs at least one member"),
    ("{members: {rest: {slot: 1}}, topology: {}}", "systems.suite.members.rest: 'rest' is also the name of a service on the shared network"),
    ("{members: {gateway: {slot: 1}}, topology: {}}", "systems.suite.members.gateway: 'gateway' is also the name of a service"),
    ("topology: {shape: ring}", "systems.suite.topology.shape: unknown shape 'ring'"),
    ("topology: {shape: star}", "systems.suite.topology.hub: a star needs a hub"),
    ("topology: {shape: star, hub: nobody}", "systems.suite.topology.hub: 'nobody' is not a member"),
    ("topology: {links: [[storer, nobody]]}", "systems.suite.topology.links[0]: 'nobody' is not a member"),
    ("topology: {links: [[storer, STORER]]}", "systems.suite.topology.links[0]: links storer to itself"),
    ("topology: {links: [storer]}", "systems.suite.topology.links[0]: must be a pair [member, member]"),
    ("topology: {port: nope}", "systems.suite.topology.port: 'nope' is not one of the system's ports"),
    ("gateway: {forward: []}", "systems.suite.gateway.forward: a gateway needs at least one forward"),
    ("gateway: {forward: ['80:rest:80'], pull_policy: sometimes}", "systems.suite.gateway.pull_policy: must be one of"),
    ("ports: {http: {port: 65400, service: rest}}", "systems.suite.ports: http: retriever (slot 2) would get port 65600"),
    ("ports: {a: {port: 18080, service: rest}, b: {port: 18180, service: rest}}",
     "systems.suite.ports: port 18280 is b of storer (slot 1) and a of retriever (slot 2)"),
    ("ports: {HTTP: {port: 1, service: rest}}", "systems.suite.ports.HTTP: port names are lowercase"),
    ("ports: {http: {port: 18080}}", "systems.suite.ports.http: missing required key 'service'"),
    ("overlays: {member.env: {template: x}}", "systems.suite.overlays.member.env: overlay names are file names"),
    ("overlays: {a.conf: {mounts: {rest: /a}}}", "systems.suite.overlays.a.conf: missing required key 'template'"),
    ("overlays: {a.conf: {template: x, mounts: {rest: relative}}}",
     "systems.suite.overlays.a.conf.mounts.rest: must be an absolute path in the container"),
    ("volumes: {data: {rest: /etc/mw.conf}}", "systems.suite.volumes.data: rest:/etc/mw.conf is mounted twice (mw.conf and data)"),
    ("vars: {bad-key: 1}", "systems.suite.vars.bad-key: 'bad-key' is not a valid template name"),
    ("env: {1BAD: x}", "systems.suite.env.1BAD: is not a valid environment variable name"),
    ("network: 'bad net'", "systems.suite.network: 'bad net' is not a valid docker network name"),
    ("shared_servces: [rest]", "systems.suite: unknown key 'shared_servces'"),
])
def test_mistakes_name_their_key_path(make_stack, extra, message):
    assert message in parse_error(make_stack, with_system(extra))


def test_reserved_and_invalid_system_names(make_stack):
    data = yaml.safe_load(SUITE)
    data["systems"]["dev"] = data["systems"]["suite"]
    assert "systems.dev: 'dev' is reserved" in parse_error(make_stack, dump(data))
    data = yaml.safe_load(SUITE)
    data["systems"]["Suite"] = data["systems"].pop("suite")
    assert "systems.Suite: system names are lowercase" in parse_error(make_stack, dump(data))


def test_names_must_be_unique_between_systems_on_one_network(make_stack):
    data = yaml.safe_load(SUITE)
    other = {"compose_files": ["compose.yml"], "project_network": "appnet",
             "gateway": {"forward": ["80:rest:80"]}, "members": {"Storer": {"slot": 7}}}
    data["systems"]["other"] = other
    assert ("systems.other.members.Storer: 'storer' is also member storer of system suite on the shared network meshnet"
            in parse_error(make_stack, dump(data)))
    # On a network of its own, the same name is another host.
    data["systems"]["other"] = {**other, "network": "othernet"}
    stack = load_stack(make_stack(dump(data), {"compose.yml": COMPOSE, "mw.conf.j2": MW_TEMPLATE}))
    assert list(stack.systems) == ["suite", "other"]
    # A member of one system named like a service another system puts on the same network.
    data["systems"]["other"] = {**other, "members": {"rest": {"slot": 7}}, "shared_services": []}
    assert "'rest' is also service rest of system suite" in parse_error(make_stack, dump(data))


def test_compose_projects_must_be_unique_between_systems(make_stack):
    data = yaml.safe_load(SUITE)
    base = {"compose_files": ["compose.yml"], "project_network": "appnet", "gateway": {"forward": ["80:rest:80"]}}
    data["systems"] = {"a-b": {**base, "members": {"c": None}}, "a": {**base, "network": "n2", "members": {"b-c": None}}}
    assert "compose project acme-a-b-c is also member c of system a-b's" in parse_error(make_stack, dump(data))


@pytest.mark.parametrize("extra, message", [
    ("shared_services: [nope]", "systems.suite.shared_services: no service 'nope' in compose.yml"),
    ("ports: {http: {port: 18080, service: web}}", "systems.suite.ports.http.service: no service 'web'"),
    ("gateway: {forward: ['80:web:80']}", "systems.suite.gateway.forward[0]: no service 'web'"),
    ("gateway: {forward: ['80-rest']}", "systems.suite.gateway.forward[0] (member storer): '80-rest' is not PORT:SERVICE:PORT"),
    ("gateway: {forward: ['80:rest:http']}", "'http' is not a port 1-65535"),
    ("gateway: {forward: ['80:rest:80', '80:mq:1883']}", "gateway port 80 is forwarded twice"),
    ("gateway: {forward: ['80:rest:80'], service: rest}", "systems.suite.gateway.service: compose.yml already has a service 'rest'"),
    ("project_network: backnet", "systems.suite.project_network: no network 'backnet' in compose.yml"),
    ("project_network: default", "systems.suite.shared_services: service 'rest' is not on the project network 'default'"),
    ("network: appnet", "systems.suite.network: the shared network cannot be named 'appnet'"),
    ("network: default", "systems.suite.network: the shared network cannot be named 'default'"),
    ("compose_files: [missing.yml]", "systems.suite.compose_files: missing.yml does not exist"),
    ("overlays: {a.conf: {template: missing.j2, mounts: {nope: /a}}}", "systems.suite.overlays.a.conf.mounts: no service 'nope'"),
    ("topology: {shape: line, port: http}", "systems.suite.topology.port: peers reach storer at storer:80, but its gateway"),
])
def test_plan_checks_the_compose_files(make_stack, extra, message):
    text = with_system(extra)
    if "port: http" in extra:
        text = text.replace("- 80:rest:80\n", "- 81:rest:80\n")
    assert message in parse_error(make_stack, text, plan=True)


def test_fixed_project_network_name_is_refused(make_stack):
    compose = COMPOSE.replace("appnet: {}", "appnet: {name: fixed}")
    stack = load_stack(make_stack(SUITE, {"compose.yml": compose, "mw.conf.j2": MW_TEMPLATE}))
    with pytest.raises(StackError, match="network 'appnet' has a fixed name or is external"):
        core.plan_system(stack, core.get_system(stack, "suite"))


def test_shared_network_declared_in_the_compose_files_is_refused(make_stack):
    compose = COMPOSE + "  meshnet: {}\n"
    stack = load_stack(make_stack(SUITE, {"compose.yml": compose, "mw.conf.j2": MW_TEMPLATE}))
    with pytest.raises(StackError, match="systems.suite.network: compose.yml already declares a network 'meshnet'"):
        core.plan_system(stack, core.get_system(stack, "suite"))


def test_forwarded_service_must_be_on_the_project_network(make_stack):
    compose = COMPOSE.replace("  smc:\n    image: multistack-test/busybox:1\n    networks: [appnet]\n",
                              "  smc:\n    image: multistack-test/busybox:1\n")
    text = with_system("gateway: {forward: ['80:rest:80', '6379:smc:6379']}")
    stack = load_stack(make_stack(text, {"compose.yml": compose, "mw.conf.j2": MW_TEMPLATE}))
    with pytest.raises(StackError, match=r"forward\[1\]: service 'smc' is not on the project network 'appnet'"):
        core.plan_system(stack, core.get_system(stack, "suite"))


# --------------------------------------------------------------------------
# Topology


@pytest.mark.parametrize("shape, hub, links", [
    ("none", None, []),
    ("line", None, [("a", "b"), ("b", "c"), ("c", "d")]),
    ("star", "b", [("a", "b"), ("b", "c"), ("b", "d")]),
    ("full", None, [("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "d")]),
])
def test_shapes(shape, hub, links):
    assert list(expand_links(shape, ["a", "b", "c", "d"], hub)) == links


def test_explicit_links_join_the_shape_without_duplicates():
    links = expand_links("line", ["a", "b", "c"], explicit=[("c", "a"), ("b", "a")])
    assert links == (("a", "b"), ("a", "c"), ("b", "c"))
    assert neighbours(links, "b", ["a", "b", "c"]) == ("a", "c")
    assert expand_links("none", ["a"]) == ()


def test_topology_guards():
    with pytest.raises(StackError, match="star needs a hub"):
        expand_links("star", ["a", "b"])
    with pytest.raises(StackError, match="names a member that does not exist"):
        expand_links("none", ["a"], explicit=[("a", "z")])


def test_graph_text(suite):
    plan = core.plan_system(suite, core.get_system(suite, "suite"))
    text = mermaid(plan)
    assert text.startswith("flowchart LR\n  %% system suite")
    assert 'subgraph net_meshnet["shared network meshnet"]' in text
    assert "m_storer === m_retriever" in text
    assert "m_retriever -.->|1883| s_retriever_mq" in text
    assert 's_storer_rest["rest (shared)"]' in text and 's_storer_mq["mq"]' in text
    graph = dot(plan)
    assert graph.startswith("// system suite") and graph.rstrip().endswith("}")
    assert "m_storer -- m_retriever [penwidth=2.5" in graph
    assert mermaid(plan) == text and dot(plan) == graph


def test_graphviz_accepts_the_dot_text(suite, tmp_path):
    import shutil

    from tests.conftest import skip_unless_installed

    if not shutil.which("dot"):
        skip_unless_installed("Graphviz is not installed (apt-get install graphviz)")
    plan = core.plan_system(suite, core.get_system(suite, "suite"))
    source = tmp_path / "g.dot"
    source.write_text(dot(plan))
    done = subprocess.run(["dot", "-Tsvg", str(source)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "<svg" in done.stdout and "storer" in done.stdout


# --------------------------------------------------------------------------
# Member plans and files


def test_member_plan(suite):
    plan = core.plan_system(suite, core.get_system(suite, "suite"))
    storer, retriever = plan.members
    assert storer.project_name == "acme-suite-storer" and storer.dir == suite.root / ".instances/system-suite/storer"
    assert storer.ports == {"http": 18180} and retriever.ports == {"http": 18280}
    assert storer.container_ports == {"http": 80}
    assert storer.peers == ("retriever",) and retriever.peers == ("storer",)
    assert storer.project_network_name == "acme-suite-storer_appnet"
    assert storer.services == ("mq", "rest", "smc")


def test_files_are_deterministic_and_complete(suite):
    plan = core.plan_system(suite, core.get_system(suite, "suite"))
    files = core.render_system(plan)
    assert files == core.render_system(core.plan_system(suite, core.get_system(suite, "suite")))
    names = {"docker-compose.member.yml", "docker-compose.system.yml", "member.env", "haproxy.cfg", "mw.conf"}
    assert set(files) == {f"{m}/{n}" for m in ("storer", "retriever") for n in names}
    assert files["storer/member.env"].mode == 0o600 and files["storer/mw.conf"].mode == 0o644


def load_compose_yaml(text: str) -> Any:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: (suffix, loader.construct_sequence(node)))
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a safe loader


def test_member_override(suite):
    plan = core.plan_system(suite, core.get_system(suite, "suite"))
    mp = plan.member("retriever")
    data = load_compose_yaml(core.render_member_compose(plan, mp))
    assert data["name"] == "acme-suite-retriever"
    services = data["services"]
    assert services["rest"]["ports"] == ("override", ["127.0.0.1:18280:80"])
    assert services["mq"]["ports"] == ("reset", [])  # undeclared ports are not published
    assert "ports" not in services["smc"]
    env_file = str(mp.dir / "member.env")
    assert all(svc["env_file"] == [env_file] for svc in services.values())
    # The overlay travels in the file (configs:), not as a bind mount: a remote engine has no .instances/.
    assert services["rest"]["configs"] == [{"source": "rest_mw.conf", "target": "/etc/mw.conf"}]
    assert "volumes" not in services["rest"]
    assert data["configs"]["rest_mw.conf"]["content"] == "MASTER_IP=storer\nMASTER_EBUS=1\nPEER=storer:1\n"
    assert services["mq"]["volumes"][0] == {"type": "volume", "source": "data", "target": "/data"}
    assert data["volumes"] == {"data": {}}
    assert "networks" not in data  # runs alone: no shared network here


def test_system_override(suite):
    plan = core.plan_system(suite, core.get_system(suite, "suite"))
    mp = plan.member("storer")
    data = yaml.safe_load(core.render_system_compose(plan, mp))
    assert data["networks"] == {"meshnet": {"name": "meshnet", "external": True}}
    assert set(data["services"]) == {"gateway", "rest"}  # mq and smc stay on appnet only
    gateway = data["services"]["gateway"]
    assert gateway["networks"] == {"appnet": {}, "meshnet": {"aliases": ["storer"]}}
    assert gateway["image"] == "haproxy:2.8.14-alpine" and gateway["init"] is True
    assert gateway["command"] == ["haproxy", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
    assert gateway["configs"] == [{"source": "gateway_haproxy.cfg", "target": "/usr/local/etc/haproxy/haproxy.cfg"}]
    assert data["configs"]["gateway_haproxy.cfg"]["content"] == core.render_gateway(plan, mp)
    assert data["services"]["rest"]["networks"] == {"appnet": {}, "meshnet": {}}


def test_member_env(suite):
    plan = core.plan_system(suite, core.get_system(suite, "suite"))
    storer = dict(core.member_env(plan, plan.member("storer")))
    retriever = dict(core.member_env(plan, plan.member("retriever")))
    assert storer["COMPOSE_PROJECT_NAME"] == "acme-suite-storer"
    assert storer["MULTISTACK_MEMBER"] == "storer" and storer["MULTISTACK_PORT_HTTP"] == "18180"
    assert storer["ROLE"] == "master" and retriever["ROLE"] == "plain"  # the member's env wins
    assert retriever["WHO"] == "retriever-2"


def test_overlays_with_the_system_and_standalone(suite):
    plan = core.plan_system(suite, core.get_system(suite, "suite"))
    up = core.render_overlays(plan, standalone=False)
    assert up["retriever/mw.conf"].text == "MASTER_IP=storer\nMASTER_EBUS=1\nPEER=storer:1\n"
    assert up["storer/mw.conf"].text == "MASTER_IP=storer\nMASTER_EBUS=1\nPEER=retriever:2\n"
    down = core.render_overlays(plan, standalone=True)
    overlays = {name: f.text for name, f in down.items() if name.endswith("mw.conf")}
    assert overlays == {"storer/mw.conf": "MASTER_IP=\n", "retriever/mw.conf": "MASTER_IP=\n"}
    # The member file carries the overlays (configs:), so it is written again in standalone form too.
    member = load_compose_yaml(down["storer/docker-compose.member.yml"].text)
    assert member["configs"]["rest_mw.conf"]["content"] == "MASTER_IP=\n"


def test_reset_template_and_packaged_node_config(make_stack):
    text = with_system("""\
        overlays:
          mw.conf: {template: mw.conf.j2, reset: reset.j2, mounts: {rest: /etc/mw.conf}}
          node.json: {template: system-node.json.j2, mounts: {rest: /etc/node.json}}
        topology: {shape: full, hub: storer, port: http}
        """.replace("        ", ""))
    stack = load_stack(make_stack(text, {"compose.yml": COMPOSE, "mw.conf.j2": MW_TEMPLATE,
                                         "reset.j2": "# {{ callsign }} alone\n"}))
    plan = core.plan_system(stack, core.get_system(stack, "suite"))
    up = core.render_overlays(plan, standalone=False)
    node = json.loads(up["retriever/node.json"].text)
    assert node == {"node_id": 2, "callsign": "retriever", "name": "retriever", "system": "suite",
                    "listen_port": 80, "peers": ["storer:80"], "standalone": False}
    down = core.render_overlays(plan, standalone=True)
    assert down["storer/mw.conf"].text == "# storer alone\n"
    assert json.loads(down["storer/node.json"].text)["peers"] == []


def test_missing_overlay_template(make_stack):
    text = with_system("overlays: {a.conf: {template: nothere.j2, mounts: {rest: /a}}}")
    stack = load_stack(make_stack(text, {"compose.yml": COMPOSE}))
    plan = core.plan_system(stack, core.get_system(stack, "suite"))
    with pytest.raises(StackError, match="overlays.a.conf.template: nothere.j2 does not exist"):
        core.render_system(plan)


def test_strict_templates_name_the_variable(make_stack):
    stack = load_stack(make_stack(SUITE, {"compose.yml": COMPOSE, "mw.conf.j2": "{{ vars.nope }}\n"}))
    plan = core.plan_system(stack, core.get_system(stack, "suite"))
    with pytest.raises(StackError, match="mw.conf.j2: unknown template variable"):
        core.render_system(plan)


# --------------------------------------------------------------------------
# The real Compose v2 accepts every member's files


def compose_config(binary: str, argv: list[str]) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "DOCKER_CONFIG": "/nonexistent-docker-config"}
    done = subprocess.run([binary, *argv, "config", "--format", "json"], capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def write_plan(plan: core.SystemPlan) -> None:
    from multistack.io.writer import atomic_write

    for name, f in core.render_system(plan).items():
        atomic_write(plan.dir / name, f.text, f.mode)


@pytest.mark.parametrize("stack_file, system", [
    (ROOT / "stack.yaml", "suite"), (ROOT / "stack.yaml", "sim"), (E2E_STACK, "trio"), (E2E_STACK, "solo")])
def test_compose_config_accepts_every_member(compose_bin, tmp_path, stack_file, system):
    stack = replace(load_stack(stack_file), instances_dir=str(tmp_path / "instances"))
    plan = core.plan_system(stack, core.get_system(stack, system))
    write_plan(plan)
    for mp in plan.members:
        args = core.compose_args(plan, mp, [])
        config = compose_config(compose_bin, args)
        assert config["name"] == mp.project_name
        shared = plan.system.network
        assert config["networks"][shared]["name"] == shared and config["networks"][shared]["external"] is True
        gateway = config["services"]["gateway"]
        assert gateway["networks"][shared]["aliases"] == [mp.name]
        assert not gateway.get("ports"), "the gateway publishes nothing on the host"
        joined = {name for name, svc in config["services"].items() if shared in (svc.get("networks") or {})}
        assert joined == {"gateway", *plan.system.shared_services}
        published = sorted(int(p["published"]) for svc in config["services"].values() for p in svc.get("ports", []))
        assert published == sorted(mp.ports.values())
        assert all(p["host_ip"] == "127.0.0.1" for svc in config["services"].values() for p in svc.get("ports", []))
        for overlay in plan.system.overlays:
            for service, target in overlay.mounts:
                carried = {v["target"]: v["source"] for v in config["services"][service]["configs"]}
                assert config["configs"][carried[target]]["content"] == (mp.dir / overlay.name).read_text()
        for volume in plan.system.volumes:
            assert config["volumes"][volume.name]["name"] == f"{mp.project_name}_{volume.name}"
        # The member alone (what runs after system.down) is valid too, without the shared network.
        alone = compose_config(compose_bin, core.compose_args(plan, mp, [], joined=False))
        assert shared not in (alone.get("networks") or {}) and "gateway" not in alone["services"]


# --------------------------------------------------------------------------
# Argument lists and the record


def test_argv(suite):
    plan = core.plan_system(suite, core.get_system(suite, "suite"))
    mp = plan.member("storer")
    base = ["docker", "compose", "-p", "acme-suite-storer", "-f", str(suite.root / "compose.yml"),
            "-f", str(mp.dir / core.MEMBER_FILE), "-f", str(mp.dir / core.SYSTEM_FILE),
            "--env-file", str(mp.dir / core.ENV_FILE)]
    assert core.up_argv(plan, mp) == [*base, "up", "-d", "--remove-orphans", "--wait"]
    assert core.up_argv(plan, mp, recreate=True)[-1] == "--force-recreate"
    assert core.down_argv(plan, mp, volumes=True) == [*base, "--profile", "*", "down", "--remove-orphans", "--volumes"]
    assert core.down_project_argv("x") == ["docker", "compose", "-p", "x", "--profile", "*", "down", "--remove-orphans"]
    assert core.network_create_argv("meshnet") == [
        "docker", "network", "create", "--driver", "bridge", "--label", "dev.multistack.shared-network=true", "meshnet"]
    assert core.network_rm_argv("meshnet") == ["docker", "network", "rm", "meshnet"]


@pytest.mark.parametrize("ok, stdout, state", [
    (False, "", core.NetworkState(False)),
    (True, '{"dev.multistack.shared-network":"true"} 0\n', core.NetworkState(True, True, 0)),
    (True, '{"dev.multistack.shared-network":"true"} 3\n', core.NetworkState(True, True, 3)),
    (True, "{} 0\n", core.NetworkState(True, False, 0)),
    (True, "null 0\n", core.NetworkState(True, False, 0)),
])
def test_network_state(ok, stdout, state):
    assert core.parse_network_state(ok, stdout) == state
    assert state.removable == (state.exists and state.ours and not state.attached)


def test_record_round_trip_and_newer_version(tmp_path):
    record = core.SystemRecord("s", "meshnet", {"b": "p-s-b", "a": "p-s-a"}, {"a/x": "1"})
    (tmp_path / core.RECORD).write_text(record.to_text())
    assert core.read_record(tmp_path) == record
    assert list(json.loads(record.to_text())["members"]) == ["a", "b"]
    (tmp_path / core.RECORD).write_text(json.dumps({"version": 99}))
    with pytest.raises(StackError, match="written by a newer multistack"):
        core.read_record(tmp_path)
    (tmp_path / core.RECORD).write_text("nope")
    with pytest.raises(StackError, match="not a multistack system record"):
        core.read_record(tmp_path)


# --------------------------------------------------------------------------
# The tasks, with a recording context


class Recorder(Context):
    """Records every command; answers from (regex, Result) rules; raises like invoke on failure."""

    def __init__(self, rules: list[tuple[str, Result]] | None = None, dry: bool = False) -> None:
        super().__init__(Config(overrides={"run": {"dry": dry}}))
        self._set(commands=[], rules=[(re.compile(p), r) for p, r in (rules or [])])

    def run(self, command: str, **kwargs: Any) -> Result:
        self.commands.append(command)
        if self.config.run.dry:
            return Result(command=command)
        for pattern, result in self.rules:
            if pattern.search(command):
                answer = Result(stdout=result.stdout, stderr=result.stderr, exited=result.exited, command=command)
                if answer.exited and not kwargs.get("warn"):
                    raise UnexpectedExit(answer)
                return answer
        return Result(command=command)


NETWORK_MISSING = ("docker network inspect", Result(exited=1, stderr="Error: No such network"))
NETWORK_OURS_IDLE = ("docker network inspect", Result('{"dev.multistack.shared-network":"true"} 0\n'))


@pytest.fixture
def no_engines(monkeypatch):
    monkeypatch.setattr(tasks, "_engines", lambda c, stack: Engines())
    checked: list[dict[str, int]] = []

    def taken(ports, host="127.0.0.1"):
        checked.append(dict(ports))
        return []

    monkeypatch.setattr("multistack.io.hostports.taken_ports", taken)
    return checked


def ps_line(project: str, service: str, state: str = "running") -> str:
    return json.dumps({"project": project, "service": service, "name": f"{project}-{service}-1", "state": state,
                       "status": "Up 1 minute", "ports": ""})


def test_up_writes_every_file_before_starting_then_creates_the_network(suite, no_engines, capsys):
    files_when_up: list[bool] = []
    c = Recorder([NETWORK_MISSING])
    original = c.run

    def run(command: str, **kwargs: Any) -> Result:
        if " up -d " in command:
            files_when_up.append((suite.root / ".instances/system-suite/storer/mw.conf").is_file()
                                 and (suite.root / ".instances/system-suite/retriever/haproxy.cfg").is_file())
        return original(command, **kwargs)

    c.run = run  # type: ignore[method-assign]
    tasks.up(c, arg=["suite"])
    ran = c.commands
    assert ran[0].startswith("docker ps -a --filter label=com.docker.compose.project")
    assert ran[1].startswith("docker network inspect meshnet")
    assert ran[2] == "docker network create --driver bridge --label dev.multistack.shared-network=true meshnet"
    ups = [cmd for cmd in ran if " up -d " in cmd]
    assert len(ups) == 2 and files_when_up == [True, True]
    assert {cmd.split()[3] for cmd in ups} == {"acme-suite-storer", "acme-suite-retriever"}
    assert no_engines == [{"http": 18180}, {"http": 18280}]
    out = capsys.readouterr().out
    assert "create  system-suite/storer/mw.conf" in out and "network meshnet: created" in out
    assert "storer:80, storer:1883" in out
    record = core.read_record(suite.root / ".instances/system-suite")
    assert record.members == {"storer": "acme-suite-storer", "retriever": "acme-suite-retriever"}
    assert set(record.files) == set(core.render_system(core.plan_system(suite, core.get_system(suite, "suite"))))


def test_up_again_keeps_the_network_and_recreates_members_whose_mounted_files_changed(suite, no_engines, make_stack):
    tasks.up(Recorder([NETWORK_MISSING]), arg=["suite"])
    # A third member changes storer's and retriever's peers: their overlays change under running containers.
    text = SUITE.replace("retriever: {slot: 2, vars: {ebus: 2}}", "retriever: {slot: 2, vars: {ebus: 2}}\n      third: {slot: 3}")
    (suite.root / "stack.yaml").write_text(text)
    running = "\n".join(ps_line(p, s) for p in ("acme-suite-storer", "acme-suite-retriever") for s in ("rest", "mq"))
    c = Recorder([("docker ps", Result(running)), NETWORK_OURS_IDLE])
    tasks.up(c, arg=["suite"])
    assert not any("network create" in cmd for cmd in c.commands)
    ups = {cmd.split()[3]: cmd for cmd in c.commands if " up -d " in cmd}
    assert ups["acme-suite-storer"].endswith("--force-recreate")  # its mw.conf changed (new peer)
    assert not ups["acme-suite-retriever"].endswith("--force-recreate")  # star: retriever's peers did not change
    assert not ups["acme-suite-third"].endswith("--force-recreate")
    assert no_engines[-1] == {"http": 18380}  # only the member not yet running is checked


def test_up_refuses_taken_ports_before_starting_anything(suite, monkeypatch):
    from multistack.io.hostports import TakenPort

    monkeypatch.setattr(tasks, "_engines", lambda c, stack: Engines())
    monkeypatch.setattr("multistack.io.hostports.taken_ports",
                        lambda ports, host="127.0.0.1": [TakenPort(p, s, "nginx (pid 7)") for s, p in ports.items()])
    c = Recorder([NETWORK_MISSING])
    with pytest.raises(Exit) as info:
        tasks.up(c, arg=["suite"])
    assert info.value.code == 4
    assert "storer: port 18180 (http) is already in use, held by nginx (pid 7)" in str(info.value.message)
    assert not any(" up " in cmd or "network create" in cmd for cmd in c.commands)


def test_a_member_that_fails_to_start_rolls_back_the_others(suite, no_engines, capsys):
    c = Recorder([NETWORK_MISSING, (r"-p acme-suite-retriever .* up -d", Result(exited=1, stderr="boom"))])
    with pytest.raises(Exit) as info:
        tasks.up(c, arg=["suite"])
    assert info.value.code == 1 and "retriever did not start" in str(info.value.message)
    downs = [cmd for cmd in c.commands if " down " in cmd]
    assert {cmd.split()[3] for cmd in downs} == {"acme-suite-storer", "acme-suite-retriever"}
    assert "[retriever] error: command failed with exit code 1" in capsys.readouterr().err


def test_dry_up_prints_commands_and_writes_nothing(suite, monkeypatch, capsys):
    monkeypatch.setattr(tasks, "_engines", lambda c, stack: Engines())
    c = Recorder(dry=True)
    tasks.up(c, arg=["suite"])
    assert not (suite.root / ".instances").exists()
    out = capsys.readouterr().out
    assert "would  create  system-suite/storer/docker-compose.member.yml" in out
    assert any(cmd.startswith("docker network create") for cmd in c.commands)
    ups = [cmd.split()[3] for cmd in c.commands if " up -d " in cmd]
    assert ups == ["acme-suite-storer", "acme-suite-retriever"]  # in member order under --dry


def test_down_resets_overlays_and_removes_our_idle_network(suite, no_engines, capsys):
    tasks.up(Recorder([NETWORK_MISSING]), arg=["suite"])
    conf = suite.root / ".instances/system-suite/storer/mw.conf"
    assert conf.read_text().startswith("MASTER_IP=storer")
    c = Recorder([NETWORK_OURS_IDLE])
    tasks.down(c, arg=["suite"], volumes=True, yes=True)
    downs = [cmd for cmd in c.commands if " down " in cmd]
    assert len(downs) == 2 and all(cmd.endswith("down --remove-orphans --volumes") for cmd in downs)
    assert c.commands[-1] == "docker network rm meshnet"
    assert [cmd for cmd in c.commands if "network inspect" in cmd] == [
        "docker network inspect meshnet --format '{{json .Labels}} {{len .Containers}}'"]
    assert conf.read_text() == "MASTER_IP=\n"
    out = capsys.readouterr().out
    assert "update  system-suite/storer/mw.conf" in out and "network meshnet: removed" in out
    # The record knows the standalone overlays now: a second down changes nothing on disk.
    tasks.down(Recorder([NETWORK_MISSING]), arg=["suite"])
    assert "update" not in capsys.readouterr().out


@pytest.mark.parametrize("answer, message", [
    ('{"dev.multistack.shared-network":"true"} 2\n', "network meshnet: kept (2 container(s) of other running systems use it)"),
    ("{} 0\n", "network meshnet: kept (not created by multistack)"),
    ("", "network meshnet: already gone"),
])
def test_down_keeps_a_network_in_use_or_not_ours(suite, no_engines, capsys, answer, message):
    result = Result(answer) if answer else Result(exited=1)
    c = Recorder([("docker network inspect", result)])
    tasks.down(c, arg=["suite"])
    assert not any("network rm" in cmd for cmd in c.commands)
    assert message in capsys.readouterr().out


def test_down_takes_down_members_no_longer_declared(suite, no_engines):
    tasks.up(Recorder([NETWORK_MISSING]), arg=["suite"])
    (suite.root / "stack.yaml").write_text(SUITE.replace("      retriever: {slot: 2, vars: {ebus: 2}}\n", ""))
    c = Recorder([NETWORK_OURS_IDLE])
    tasks.down(c, arg=["suite"])
    downs = [cmd for cmd in c.commands if " down " in cmd]
    assert "docker compose -p acme-suite-retriever --profile '*' down --remove-orphans" in downs
    assert any(cmd.startswith("docker compose -p acme-suite-storer -f ") for cmd in downs)
    # Taken down, it is forgotten; until then, an up keeps it recorded.
    assert core.read_record(suite.root / ".instances/system-suite").members == {"storer": "acme-suite-storer"}


def test_down_of_a_system_removed_from_stack_yaml_uses_the_record(suite, no_engines):
    tasks.up(Recorder([NETWORK_MISSING]), arg=["suite"])
    (suite.root / "stack.yaml").write_text("project: acme\ncompose:\n  files: [compose.yml]\n")
    c = Recorder([NETWORK_OURS_IDLE])
    tasks.down(c, arg=["suite"])
    assert sorted(cmd.split()[3] for cmd in c.commands if " down " in cmd) == ["acme-suite-retriever", "acme-suite-storer"]
    assert c.commands[-1] == "docker network rm meshnet"
    assert core.read_record(suite.root / ".instances/system-suite").members == {}


def test_unknown_system_is_a_user_error(suite, no_engines):
    with pytest.raises(Exit) as info:
        tasks.down(Recorder(), arg=["nope"])
    assert info.value.code == 2 and "no system named 'nope'" in str(info.value.message)


def test_ps_and_list_from_one_docker_ps(suite, capsys):
    rows = "\n".join([ps_line("acme-suite-storer", "rest"), ps_line("acme-suite-storer", "gateway"),
                      ps_line("acme-dev-1", "rest"), ps_line("acme-suite-retriever", "mq", "exited")])
    c = Recorder([("docker ps", Result(rows))])
    tasks.ps(c, arg=["suite"], json=True)
    data = json.loads(capsys.readouterr().out)
    assert [(m["name"], m["running"], [s["service"] for s in m["services"]]) for m in data["members"]] == [
        ("storer", True, ["gateway", "rest"]), ("retriever", False, ["mq"])]
    tasks.ps(c, arg=["suite"])
    assert re.search(r"storer +gateway +acme-suite-storer-gateway-1 +running", capsys.readouterr().out)
    tasks.list_(c, json=True)
    assert json.loads(capsys.readouterr().out) == [{
        "name": "suite", "description": "", "network": "meshnet", "topology": "star", "hub": "storer",
        "members": ["storer", "retriever"], "running": 1}]
    tasks.list_(c)
    assert "suite   storer, retriever  star (hub storer)  meshnet  1/2" in capsys.readouterr().out
    assert len([cmd for cmd in c.commands if cmd.startswith("docker ps")]) == 4


def test_list_without_an_engine_still_lists(suite, capsys):
    tasks.list_(Recorder([("docker ps", Result(exited=1, stderr="Cannot connect"))]), json=True)
    assert json.loads(capsys.readouterr().out)[0]["running"] is None


def test_graph_prints_mermaid_and_draws_with_graphviz(suite, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/dot" if name == "dot" else None)
    c = Recorder()
    tasks.graph(c, arg=["suite"], output=str(tmp_path / "g.png"))
    assert capsys.readouterr().out.startswith("flowchart LR\n  %% system suite")
    assert c.commands == [f"dot -Tpng {tmp_path / 'g.dot'} -o {tmp_path / 'g.png'}"]
    assert (tmp_path / "g.dot").read_text().startswith("// system suite")
    tasks.graph(Recorder(), arg=["suite"], format="dot")
    assert capsys.readouterr().out.startswith("// system suite")
    with pytest.raises(Exit, match="unknown picture format 'gif'"):
        tasks.graph(Recorder(), arg=["suite"], output="x.gif")
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(Exit) as info:
        tasks.graph(Recorder(), arg=["suite"], output="x.svg")
    assert info.value.code == 3 and "Graphviz is not installed" in str(info.value.message)
    c = Recorder()
    tasks.graph(c, arg=["suite"])
    assert c.commands == [] and "no picture" in capsys.readouterr().err


def test_the_collection_and_its_help():
    from multistack.cli import namespace

    ns = namespace()
    assert {"system.up", "system.down", "system.ps", "system.list", "system.graph"} <= set(ns.task_names)
    assert tasks.__doc__ and "inv system.up suite" in tasks.__doc__
    for task in (tasks.up, tasks.down, tasks.ps, tasks.list_, tasks.graph):
        assert task.__doc__ and all(task.help.get(arg) for arg in task.help)


def test_the_system_name_on_the_command_line(suite, make_stack, capsys):
    assert tasks._system_name(["suite"], suite, "up") == "suite"
    assert tasks._system_name(None, suite, "up") == "suite"  # the only system
    with pytest.raises(StackError, match="one system at a time, got a b"):
        tasks._system_name(["a", "b"], suite, "up")
    data = yaml.safe_load(SUITE)
    data["systems"]["other"] = {**data["systems"]["suite"], "network": "othernet"}
    two = load_stack(make_stack(dump(data), {"compose.yml": COMPOSE, "mw.conf.j2": MW_TEMPLATE}))
    with pytest.raises(StackError, match=r"which system\? stack.yaml declares suite, other"):
        tasks._system_name([], two, "ps")


def test_help_shows_every_option(suite, capsys):
    from multistack.cli.program import build_program

    build_program().run(["multistack", "--help", "system.up"], exit=False)
    out = capsys.readouterr().out
    assert "given positionally: `inv system.up suite`" in out
    assert "overwrite generated files edited by hand" in out


def test_yaml_keys_that_are_numbers(make_stack):
    # Overlay 1 (a YAML integer key) is read; overlay 2 is the mistake.
    assert "systems.suite.overlays.2: must be a mapping with template and mounts, got an integer" in parse_error(
        make_stack, with_system("overlays: {1: {template: mw.conf.j2, mounts: {rest: /x}}, 2: 3}"))
    stack = load_stack(make_stack(with_system("members: {1: {slot: 4}, 2: }\ntopology: {}"),
                                  {"compose.yml": COMPOSE, "mw.conf.j2": MW_TEMPLATE}))
    assert [(m.name, m.slot) for m in core.get_system(stack, "suite").members] == [("1", 4), ("2", 1)]
