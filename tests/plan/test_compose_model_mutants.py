"""Compose's merged view (plan/compose_model.py) where the doctor's verdicts hinge on compose's own
rules: every interpolation operator, every ``ports:`` form, and which bindings meet (found by
mutation testing, issue 11). A wrong answer here is a port collision the doctor misses or invents."""
from __future__ import annotations

from pathlib import Path

import pytest

from multistack.model.compose_doc import parse_compose
from multistack.plan.compose_model import Published, interpolate, merge_view, parse_port

VARS = {"SET": "x", "EMPTY": ""}


@pytest.mark.parametrize("text, result", [
    ("${SET:-d}", "x"), ("${EMPTY:-d}", "d"), ("${NONE:-d}", "d"),  # `:-`: unset or empty
    ("${SET-d}", "x"), ("${EMPTY-d}", ""), ("${NONE-d}", "d"),  # `-`: unset only
    ("${SET:+a}", "a"), ("${EMPTY:+a}", ""), ("${NONE:+a}", ""),  # `:+`: set and not empty
    ("${SET+a}", "a"), ("${EMPTY+a}", "a"), ("${NONE+a}", ""),  # `+`: set, even empty
    ("$$SET", "$SET"), ("$SET/$NONE", "x/"), ("${SET}", "x"), ("${NONE:?err}", ""),
])
def test_interpolation_follows_compose(text, result):
    assert interpolate(text, VARS) == result


@pytest.mark.parametrize("spec, published", [
    ("8080:80", [("", 8080, 80, "tcp")]),
    (" 8080:80 ", [("", 8080, 80, "tcp")]),
    ("127.0.0.1:8080:80", [("127.0.0.1", 8080, 80, "tcp")]),
    ("[::1]:8080:80/udp", [("::1", 8080, 80, "udp")]),
    ("8000-8002:80", [("", 8000, 80, "tcp"), ("", 8001, 80, "tcp"), ("", 8002, 80, "tcp")]),
    ("8000-8001:80-81", [("", 8000, 80, "tcp"), ("", 8001, 81, "tcp")]),
    ("${P}:80", [("", 9000, 80, "tcp")]),
    ({"published": "${P}", "target": 80, "host_ip": "127.0.0.1", "protocol": "udp"}, [("127.0.0.1", 9000, 80, "udp")]),
    ({"published": 8080, "target": 80}, [("", 8080, 80, "tcp")]),
    # ephemeral or not a fixed port: nothing the doctor can collide
    ("80", []), (8080, []), ("127.0.0.1::80", []), (":80", []), ({"target": 80}, []),
    ({"published": "", "target": 80}, []), ({"published": 8080}, []), ("８０:80", []),
    ("1-2000:80", []),  # a range over 1024 ports is not read
    ("9-5:80", []),  # a range that ends before it starts
])
def test_ports_entries_as_compose_reads_them(spec, published):
    assert [(p.host_ip, p.port, p.target, p.protocol) for p in parse_port(spec, {"P": "9000"})] == published


def test_bindings_meet_on_one_port_and_protocol_when_an_address_is_shared_or_wild():
    loopback = Published("127.0.0.1", 80, 81)
    assert Published("", 80, 80).overlaps(loopback)
    assert Published("::", 80, 80).overlaps(Published("127.0.0.2", 80, 80))
    assert Published("127.0.0.2", 80, 80).overlaps(Published("0.0.0.0", 80, 1))
    assert loopback.overlaps(Published("127.0.0.1", 80, 99))
    assert not loopback.overlaps(Published("127.0.0.2", 80, 80))
    assert not loopback.overlaps(Published("127.0.0.1", 80, 80, "udp"))
    assert not loopback.overlaps(Published("127.0.0.1", 81, 80))


def view(*texts: str):
    docs = [parse_compose(text, f"f{i}.yml", base=i == 0) for i, text in enumerate(texts)]
    return merge_view(docs, {}, Path("/project"))


def test_a_tagged_scalar_and_tagged_networks_merge_as_compose_does():
    base = "services:\n  web:\n    image: web:1\n    networks: [front, back]\n"
    merged = view(base, "services:\n  web:\n    image: !override web:2\n    networks: !override [front]\n")
    web = merged.services["web"]
    assert web.scalars["image"].value == "web:2" and web.scalars["image"].file == "f1.yml"
    assert list(web.networks) == ["front"]
    reset = view(base, "services:\n  web:\n    networks: !reset []\n").services["web"]
    assert reset.networks == {} and reset.declares_networks
    assert not view("services:\n  db:\n    image: pg\n").services["db"].declares_networks


def test_a_long_syntax_entry_and_top_level_specs_merge_key_by_key():
    merged = view("services:\n  web:\n    ports: {target: 80, published: 8080}\nvolumes:\n  data: {driver: local}\n",
                  "volumes:\n  data: {name: shared}\n")
    assert [p.value for p in merged.services["web"].ports] == [{"target": 80, "published": 8080}]
    assert merged.volumes["data"].value == {"driver": "local", "name": "shared"}
    assert merged.volumes["data"].file == "f1.yml" and merged.volumes["data"].key == "volumes.data"


def test_an_operator_with_an_empty_argument_gives_empty_text():
    assert interpolate("a${NONE:-}b${SET:+}c", VARS) == "abc"


def test_a_target_port_may_be_a_variable_too():
    assert [(p.port, p.target) for p in parse_port({"published": 8080, "target": "${T}"}, {"T": "80"})] == [(8080, 80)]


def test_every_value_remembers_its_file_and_key_and_the_view_its_project_folder():
    merged = view("services:\n  web:\n    image: web:1\n    networks: [front]\n    volumes: ['./a:/a']\n",
                  "services:\n  web:\n    container_name: null\n    image: null\n    env_file: [web.env]\n")
    web = merged.services["web"]
    assert web.name == "web" and merged.project_dir == Path("/project")
    assert "image" not in web.scalars and "container_name" not in web.scalars  # null: unset, set before or not
    assert (web.networks["front"].file, web.networks["front"].key) == ("f0.yml", "services.web.networks.front")
    assert [(v.file, v.key, v.value) for v in web.volumes] == [("f0.yml", "services.web.volumes[0]", "./a:/a")]
    assert [(e.file, e.key) for e in web.env_files] == [("f1.yml", "services.web.env_file[0]")]
    kept = view("services:\n  web:\n    image: web:1\n").services["web"].scalars["image"]
    assert (kept.file, kept.key) == ("f0.yml", "services.web.image")


def test_reset_empties_whatever_it_carries():
    base = "services:\n  web:\n    ports: ['8000:80']\n    networks: [front]\n"
    web = view(base, "services:\n  web:\n    ports: !reset ['9000:80']\n    networks: !reset [back]\n").services["web"]
    assert web.ports == [] and web.networks == {}
