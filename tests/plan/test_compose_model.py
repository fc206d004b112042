"""The merged compose view: files merged as `docker compose -f a -f b` does, tags honoured, ports read (pure)."""
from __future__ import annotations

from pathlib import Path

from multistack.model.compose_doc import parse_compose
from multistack.plan.compose_model import Published, as_mapping, merge_view, published_ports
from multistack.model.yamldoc import Tagged

BASE = """\
services:
  web:
    image: web:1
    container_name: fixed
    ports: ["8000:80", "127.0.0.1:9000-9001:9000-9001/udp"]
    volumes: [./a.cfg:/etc/a.cfg]
    env_file: web.env
    networks: [front]
networks:
  front: {driver: bridge}
volumes:
  data: {name: shared-data}
"""


def view(*texts: str, variables: dict[str, str] | None = None):
    docs = [parse_compose(text, f"f{i}.yml", base=i == 0) for i, text in enumerate(texts)]
    return merge_view(docs, variables or {}, Path("/project"))


def test_lists_append_across_files_and_remember_where_each_entry_was_written():
    merged = view(BASE, "services:\n  web:\n    ports: ['8100:80']\n")
    ports = merged.services["web"].ports
    assert [(p.file, p.key, p.value) for p in ports] == [
        ("f0.yml", "services.web.ports[0]", "8000:80"),
        ("f0.yml", "services.web.ports[1]", "127.0.0.1:9000-9001:9000-9001/udp"),
        ("f1.yml", "services.web.ports[0]", "8100:80"),
    ]
    assert [p.value for p in merged.services["web"].env_files] == ["web.env"]  # a string is a one-entry list


def test_override_replaces_and_reset_empties():
    merged = view(BASE, "services:\n  web:\n    ports: !override ['8100:80']\n    volumes: !reset []\n"
                        "    container_name: !reset null\n")
    web = merged.services["web"]
    assert [p.value for p in web.ports] == ["8100:80"]
    assert web.volumes == [] and "container_name" not in web.scalars
    assert web.scalars["image"].value == "web:1"


def test_scalars_later_file_wins_and_null_removes():
    merged = view(BASE, "services:\n  web:\n    image: web:2\n    container_name: null\n")
    assert merged.services["web"].scalars["image"].file == "f1.yml"
    assert "container_name" not in merged.services["web"].scalars


def test_networks_list_or_mapping_and_top_level_sections_merge():
    merged = view(BASE, "services:\n  web:\n    networks: {front: {aliases: [w]}}\nnetworks:\n  front: {name: n1}\n")
    web = merged.services["web"]
    assert web.declares_networks and web.networks["front"].value == {"aliases": ["w"]}
    assert merged.networks["front"].value == {"driver": "bridge", "name": "n1"}
    assert merged.volumes["data"].value == {"name": "shared-data"}
    reset = view(BASE, "services:\n  web:\n    networks: !reset []\n")
    assert reset.services["web"].networks == {} and reset.services["web"].declares_networks


def test_published_ports_interpolate_and_expand_ranges():
    merged = view("services:\n  web:\n    ports: ['${P:-8000}:80', '127.0.0.1:9000-9001:9000-9001/udp', 80]\n",
                  variables={"P": "8100"})
    assert [pub for _, pub in published_ports(merged, "web")] == [
        Published("", 8100, 80), Published("127.0.0.1", 9000, 9000, "udp"), Published("127.0.0.1", 9001, 9001, "udp")]
    assert merged.text("${P}-x") == "8100-x"


def test_as_mapping_sees_through_tags():
    assert as_mapping(Tagged("!override", {"a": 1})) == {"a": 1}
    assert as_mapping(["a"]) == {} and as_mapping(None) == {}
