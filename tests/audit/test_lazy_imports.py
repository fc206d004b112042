"""Read commands stay fast: `inv dev N ports|info|project-name` import no jinja2, dotenv or filelock.

Audit: importing them eagerly (at module top, where a read command pays for them)
went unnoticed. Checked from outside, in a real ``inv`` process, with Python's own
import log (``-X importtime``), so it holds however the package is laid out.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("jinja2", "dotenv", "filelock")

# Plain `{{ name }}` templates only: those need no jinja2.
STACK = """\
project: demo
instances: 0-5
compose:
  files: [compose.yml]
services:
  web: {port: 8000, compose: web, container_port: 8080, url: "http://localhost:{{ port }}/"}
  api: {port: 3000, url: "http://localhost:{{ port }}"}
apps:
  api:
    command: python3 -m http.server
env:
  API_URL: "http://localhost:{{ ports.api }}"
"""

COMPOSE = """\
services:
  web:
    image: multistack-test/busybox:1
    ports: ["8000:8080"]
"""


def imported_modules(argv: list[str], cwd: Path) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "invoke", *argv], cwd=cwd,
                          capture_output=True, text=True)
    modules = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            modules.add(line.rsplit("|", 1)[1].strip())
    return modules, done


@pytest.mark.parametrize("action, shown", [
    (["ports"], "8200"),
    (["ports", "--json"], '"api": 3200'),
    (["info"], "http://localhost:8200/"),  # the url: templates, rendered
    (["info", "--json"], '"project_name": "demo-dev-2"'),
    (["project-name"], "demo-dev-2"),
])
def test_read_commands_import_no_heavy_dependency(make_stack, action: list[str], shown: str) -> None:
    root = make_stack(STACK, {"compose.yml": COMPOSE,
                              "tasks.py": "from multistack.cli import namespace\nns = namespace()\n"}).parent
    modules, done = imported_modules(["dev", "2", *action], root)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "multistack.model.stack" in modules  # the log is real: it saw the package load
    assert shown in done.stdout  # and it did its work (the URL templates rendered)
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_the_check_sees_a_heavy_import(make_stack) -> None:
    """The same check on `inv dev 2 init`, which writes through filelock and renders: it must see them."""
    root = make_stack(STACK, {"compose.yml": COMPOSE,
                              "tasks.py": "from multistack.cli import namespace\nns = namespace()\n"}).parent
    modules, done = imported_modules(["dev", "2", "init"], root)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "filelock" in modules


@pytest.mark.parametrize("action, shown", [
    (["ports"], "8200"),
    (["info"], "http://localhost:8200/"),
    (["project-name"], "demo-dev-2"),
])
def test_read_commands_work_with_the_heavy_dependencies_missing(make_stack, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str],
                                                                action: list[str], shown: str) -> None:
    """The same in this process (where mutation testing sees it): importing any of them fails here."""
    from tests.audit.fake import run_program

    make_stack(STACK, {"compose.yml": COMPOSE})
    for name in HEAVY:
        monkeypatch.setitem(sys.modules, name, None)  # `import jinja2` now raises ImportError
    code, out, err = run_program(["dev", "2", *action], capsys)
    assert code == 0, err
    assert shown in out


SYSTEMS = """\
systems:
  pair:
    compose_files: [compose.yml]
    gateway: {image: multistack-test/haproxy:1, forward: ["80:web:8080"]}
    members:
      a: {slot: 1}
      b: {slot: 2}
"""


@pytest.mark.parametrize("declares, loaded", [("", False), ("      c: {slot: 3, namespace: demo-pair-c}\n", True)])
def test_the_member_namespace_check_loads_the_system_planner_only_when_a_member_declares_one(
        make_stack, declares: str, loaded: bool) -> None:
    """`dev N init|start|info` check every namespace; the systems' planner (and what it imports) joins only
    for a member that declares its own (measured: it was most of an unchanged `init`'s extra cost)."""
    root = make_stack(STACK + SYSTEMS + declares, {"compose.yml": COMPOSE,
                                                   "tasks.py": "from multistack.cli import namespace\nns = namespace()\n"}).parent
    modules, done = imported_modules(["dev", "2", "info"], root)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "multistack.model.systems" in modules  # the stack's systems were read
    assert ("multistack.plan.systems" in modules) is loaded
