"""``inv dev.watch`` over a mesh whose environments run side by side, on the real engine, in a real terminal.

The e2e side-by-side mesh (tests/e2e/mesh_environments.py) is copied under a stack name
nobody else uses, its host ports moved into this test's range (staging 46701-46707,
production 46801-46807), and only the ``apps`` profile (one service, ``cache``) started
in each environment. The dashboard must show one row per environment, each its own
project, and its stop key must take down the selected environment only: checked from
outside with ``docker ps``. The teardown removes both projects' containers, volumes and
networks, and the tmux server, even after a failure.
"""
from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path
from typing import Iterator

import jsonschema
import pytest

from tests.e2e.mesh_environments import make_side_by_side
from tests.e2e.test_dashboard import Terminal
from tests.e2e.test_mesh_environments import SCRUBBED, SideBySide, docker  # noqa: F401 (fixture)

SCHEMA = Path(__file__).resolve().parents[2] / "multistack" / "schema" / "output" / "dev.watch.json"
PORT_PREFIXES = {"=371": "=467", "=372": "=468"}  # the templates' 37101-37207 -> 46701-46807


@pytest.fixture
def mesh(docker: str, tmp_path: Path) -> Iterator[SideBySide]:  # noqa: F811 (the docker fixture)
    stack = f"e2ewatch{secrets.token_hex(3)}"
    root = make_side_by_side(tmp_path / "stack", stack)
    for template in (root / "env").glob("*.env.example"):
        text = template.read_text()
        for old, new in PORT_PREFIXES.items():
            text = text.replace(old, new)
        template.write_text(text)
    assert "=371" not in (root / "env" / "staging.env.example").read_text()
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    handle = SideBySide(root, stack, docker, env)
    try:
        yield handle
    finally:
        handle.remove_everything()


@pytest.fixture
def terminal(mesh: SideBySide, tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(mesh.env, tmp_path / "tmux.sock")
    try:
        yield term
    finally:
        term.close()


def line_of(screen: str, what: str) -> str:
    """The table's line of a row (the first: the detail pane's title comes later)."""
    return next((line for line in screen.splitlines() if line.strip().startswith(f"{what} ")), "")


def test_each_environment_is_a_row_and_x_stops_only_the_selected_one(mesh: SideBySide, terminal: Terminal):
    for environment in ("staging", "production"):
        mesh.inv("mesh.up", "--env", environment, "--profile", "apps")
    assert mesh.running() == {"staging": {"cache"}, "production": {"cache"}}

    data = json.loads(mesh.inv("dev.watch", "--json").stdout)  # the real snapshot, against its schema
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(data)
    assert [(r["key"], r["projects"], r["environment"], r["status"]) for r in data["rows"]] == [
        ("mesh-staging", [mesh.project("staging")], "staging", "healthy"),
        ("mesh-production", [mesh.project("production")], "production", "healthy")]
    assert data["tick"]["engine_calls"] == 1 and data["tick"]["pm2_calls"] == 0
    assert "{{" not in json.dumps(data)

    terminal.start(mesh.root, ["env", f"PATH={mesh.env['PATH']}", sys.executable, "-m", "invoke", "dev.watch",
                               "--interval", "1"])
    terminal.wait_for(lambda s: "healthy" in line_of(s, "mesh staging") and "healthy" in line_of(s, "mesh production"),
                      30, "both environments healthy")
    terminal.keys("Down")
    terminal.wait_for(lambda s: f"mesh production ({mesh.project('production')})" in s, 10, "production selected")
    terminal.keys("x")
    terminal.wait_for(lambda s: "done: inv mesh.down --env production" in s, 90, "production taken down")

    # From outside: production's containers are gone, staging's still runs.
    assert mesh.running() == {"staging": {"cache"}, "production": set()}
    assert not [name for name, project in mesh.containers().items() if project == mesh.project("production")]
    terminal.keys("q")
    terminal.wait_for(lambda s: "exited 0" in s, 10, "the dashboard ended by q")
