"""`inv dev N ports|info` of a stack with `router:`: the hostname beside the port, in the table and in
`--json` (real output, validated against multistack/schema/output/dev.ports.json and dev.info.json)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.cli.test_cli import run_cli
from tests.conftest import MINIMAL_COMPOSE, MINIMAL_ENV, MINIMAL_STACK

SCHEMAS = Path(__file__).resolve().parents[2] / "multistack" / "schema" / "output"
ROUTED = MINIMAL_STACK.replace(
    "  web: {port: 8000, compose: web, container_port: 8080}",
    "  web: {port: 8000, compose: web, container_port: 8080, url: 'http://localhost:{{ port }}/'}",
).replace("  api: {port: 3000}", "  api: {port: 3000, url: 'http://localhost:{{ port }}/'}") + "router: {port: 8080}\n"


@pytest.fixture
def routed(make_stack, tmp_path, monkeypatch):
    monkeypatch.setenv("MULTISTACK_ROUTER_HOME", str(tmp_path / "router"))
    return make_stack(ROUTED, {"compose.yml": MINIMAL_COMPOSE, "app.env": MINIMAL_ENV})


def validate(name: str, data: object) -> None:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
    Draft202012Validator(schema).validate(data)


def test_ports_json_has_the_hostnames_beside_the_ports(routed, capsys):
    assert run_cli(["dev", "2", "ports", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {"web": 8200, "db": 5632, "api": 3200,
                    "hostnames": {"web": "http://web.2.demo.localhost:8080/", "api": "http://api.2.demo.localhost:8080/"}}
    validate("dev.ports", data)


def test_info_json_has_the_hostnames_and_the_router(routed, capsys, tmp_path):
    assert run_cli(["dev", "1", "info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["hostnames"] == {"web": "http://web.1.demo.localhost:8080/", "api": "http://api.1.demo.localhost:8080/"}
    assert data["router"] == {"listen": "127.0.0.1:8080", "image": "haproxy:3.0"}
    validate("dev.info", data)
    assert not (tmp_path / "router").exists()  # a read command writes nothing


def test_the_table_has_a_hostname_column(routed, capsys):
    assert run_cli(["dev", "1", "ports"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["service", "port", "runs", "in", "url", "hostname"]
    assert [line.split()[-1] for line in lines[3:] if line.startswith(("web", "api"))] == [
        "http://web.1.demo.localhost:8080/", "http://api.1.demo.localhost:8080/"]


def test_without_router_the_outputs_are_as_before(minimal_stack, capsys):
    assert run_cli(["dev", "1", "ports", "--json"]) == 0
    assert "hostnames" not in json.loads(capsys.readouterr().out)
    assert run_cli(["dev", "1", "ports"]) == 0
    assert "hostname" not in capsys.readouterr().out
