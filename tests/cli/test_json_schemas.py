"""Every `--json` output has a versioned JSON Schema (multistack/schema/output/), and real output matches it.

Real output: the command line run as a process in a copy of the example stack (services, a
mesh, two systems); `status`, `doctor`, `mesh.ps` and the `system.*` reads ask the real Docker
engine (a read: one `docker ps`; nothing is started). A PM2_HOME of the test's own has no daemon,
so no PM2 process runs. docs/json.md describes the contract and lists every schema.
"""
from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.cli.example_stack import REPO, copy_example_stack, run_cli
from tests.conftest import skip_unless_installed

SCHEMAS = REPO / "multistack" / "schema" / "output"
DOCS = REPO / "docs" / "json.md"

#: schema -> (command words, exit codes that still print the answer, needs the engine)
OUTPUTS: dict[str, list[tuple[tuple[str, ...], tuple[int, ...], bool]]] = {
    "dev.info": [(("dev", "1", "info", "--json"), (0,), False), (("dev", "2", "info", "--json"), (0,), False)],
    "dev.ports": [(("dev", "1", "ports", "--json"), (0,), False)],
    "dev.status": [(("dev", "1", "status", "--json"), (0, 6), True),
                   (("dev", "status", "--all", "--json"), (0, 6), True)],
    "doctor": [(("doctor", "--json"), (0, 5), True), (("doctor", "1", "--json"), (0, 5), True)],
    "mesh.ps": [(("mesh.ps", "--json"), (0,), True), (("mesh.ps", "--env", "local", "--json"), (0,), True)],
    "mesh.urls": [(("mesh.urls", "--env", "local", "--json"), (0,), False)],
    "system.ps": [(("system.ps", "suite", "--json"), (0,), True), (("system.ps", "sim", "--json"), (0,), True)],
    "system.list": [(("system.list", "--json"), (0,), True)],
}


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example stack with instance 2 initialised: `status --all` then lists it (its folder exists)."""
    root = copy_example_stack(tmp_path_factory.mktemp("json") / "stack", project="jsoncheck")
    done = run_cli(root, "dev", "2", "init")
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture(scope="module")
def engine() -> bool:
    try:
        ok = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                            timeout=30, stdin=subprocess.DEVNULL).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return ok


CASES = [(name, words, codes, needs) for name, runs in OUTPUTS.items() for words, codes, needs in runs]


@pytest.mark.parametrize(("name", "words", "codes", "needs_engine"), CASES,
                         ids=[" ".join(words) for _, words, _, _ in CASES])
def test_real_output_matches_its_schema(stack, engine, name, words, codes, needs_engine):
    if needs_engine and not engine:
        skip_unless_installed("the Docker engine is not reachable")
    done = run_cli(stack, *words)
    assert done.returncode in codes, done.stderr
    data = json.loads(done.stdout)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in Draft202012Validator(schema(name)).iter_errors(data)]
    assert errors == []


ENGINES_STACK = """\
project: engcheck
instances: 0-9
compose: {files: [compose.yml]}
engines:
  local: {slots: 0-4}
  far: {docker_host: "tcp://127.0.0.1:47999", host: far.lan, slots: 5-9}  # nothing listens there
services:
  web: {port: 47100, compose: web, container_port: 80}
"""
COMPOSE = "services:\n  web:\n    image: multistack-test/busybox:1\n    ports: ['8080:80']\n"


@pytest.fixture(scope="module")
def engines_stack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`engines:` adds fields: `engine` in info, `engine` and `engine_error` in status (instances 2, 7)."""
    root = tmp_path_factory.mktemp("engines") / "stack"
    root.mkdir()
    (root / "stack.yaml").write_text(ENGINES_STACK)
    (root / "compose.yml").write_text(COMPOSE)
    for n in ("2", "7"):
        done = run_cli(root, "dev", n, "init")
        assert done.returncode == 0, done.stderr
    return root


def test_the_engine_fields_match_the_schemas(engines_stack, engine):
    info = json.loads(run_cli(engines_stack, "dev", "7", "info", "--json").stdout)
    assert info["engine"]["docker_host"] == "tcp://127.0.0.1:47999"
    assert Draft202012Validator(schema("dev.info")).is_valid(info)
    if not engine:
        skip_unless_installed("the Docker engine is not reachable")
    done = run_cli(engines_stack, "dev", "status", "--all", "--json")
    assert done.returncode == 3, done.stderr  # engine far does not answer: after the document
    states = json.loads(done.stdout)
    assert [(s["instance"], s["engine"], s["status"]) for s in states] == [(2, "local", "down"), (7, "far", "unknown")]
    assert states[1]["engine_error"].startswith("engine far unreachable")
    assert list(Draft202012Validator(schema("dev.status")).iter_errors(states)) == []


def test_the_status_of_an_initialised_instance_is_listed(stack, engine):
    if not engine:
        skip_unless_installed("the Docker engine is not reachable")
    data = json.loads(run_cli(stack, "dev", "status", "--all", "--json").stdout)
    assert [s["instance"] for s in data] == [2]  # the schema check above is not over an empty list alone
    assert data[0]["status"] in ("down", "healthy", "degraded")


def test_a_schema_rejects_what_it_does_not_describe():
    """The schemas are strict: a renamed or retyped field fails (what makes the tests above able to fail)."""
    ports = Draft202012Validator(schema("dev.ports"))
    assert not ports.is_valid({"web": "8000"})
    status = Draft202012Validator(schema("dev.status"))
    good = {"instance": 1, "project_name": "p", "services": [], "apps": [], "declared_services": [],
            "declared_apps": [], "running": False, "healthy": False, "status": "down", "missing": []}
    assert status.is_valid([good])
    assert not status.is_valid([{**good, "state": "down"}])  # an undocumented field
    assert not status.is_valid([{k: v for k, v in good.items() if k != "status"}])


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.json")), ids=lambda p: p.name)
def test_every_schema_is_a_versioned_draft_2020_12_schema(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(data)
    assert data["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert data["$id"] == f"multistack/output/{path.stem}"
    assert isinstance(data["x-version"], int) and data["x-version"] >= 1


def test_every_schema_file_is_listed_in_docs_json_md():
    listed = set(re.findall(r"`([a-z0-9.\-]+)\.json`", DOCS.read_text(encoding="utf-8")))
    files = {p.stem for p in SCHEMAS.glob("*.json")}
    assert files - listed == set(), "add these to docs/json.md"
    assert listed - files == set(), "docs/json.md names schemas that do not exist"


def test_every_existing_output_has_its_schema_tested():
    assert set(OUTPUTS) <= {p.stem for p in SCHEMAS.glob("*.json")}


def test_the_schemas_ship_with_the_package():
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "schema/output/*.json" in data["tool"]["setuptools"]["package-data"]["multistack"]
