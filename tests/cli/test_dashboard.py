"""``inv dev.watch``: the Textual app driven by Textual's own headless pilot, and the piped snapshot.

The app gets a fixture source: two instances of a copy of tests/e2e/stack, built by the
real ``act.dashboard.build`` from recorded engine answers; its actions are recorded, and
a stop makes the next ticks show the instance stopped, as the engine would.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from multistack.act import dashboard
from multistack.act.dashboard import Done, Observed, Row, Snapshot, build
from multistack.io.status import parse_containers, parse_jlist
from multistack.model.stack import load_stack
from tests.cli.test_cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
E2E_STACK = ROOT / "tests" / "e2e" / "stack"
SCHEMA = ROOT / "multistack" / "schema" / "output" / "dev.watch.json"


def ps_rows(running: dict[int, bool]) -> str:
    rows = []
    for n, up in running.items():
        for service, port in (("store", 18001), ("web", 18000)):
            rows.append({"project": f"e2etry-dev-{n}", "service": service, "name": f"e2etry-dev-{n}-{service}-1",
                         "state": "running" if up else "exited",
                         "status": "Up 5 seconds (healthy)" if up else "Exited (143) 1 second ago",
                         "ports": f"127.0.0.1:{port + 100 * n}->8080/tcp" if up else ""})
    return "\n".join(json.dumps(r) for r in rows)


def jlist(running: dict[int, bool]) -> str:
    apps = []
    for n, up in running.items():
        for app in ("admin", "api"):
            apps.append({"name": f"e2etry-{app}-{n}", "pid": 100 + n if up else 0,
                         "pm2_env": {"status": "online" if up else "stopped", "restart_time": n,
                                     "namespace": f"e2etry-dev-{n}"},
                         "monit": {"cpu": 1.5 if up else 0, "memory": 20 * 1048576 if up else 0}})
    return json.dumps(apps)


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "stack"
    shutil.copytree(E2E_STACK, root)
    text = (root / "stack.yaml").read_text()
    (root / "stack.yaml").write_text(text.replace("\nproject: e2e\n", "\nproject: e2etry\n"))
    monkeypatch.chdir(root)
    for key in ("MULTISTACK_FILE", "MULTISTACK_INSTANCE"):
        monkeypatch.delenv(key, raising=False)
    return load_stack(root / "stack.yaml")


def observed(running: dict[int, bool]) -> Observed:
    return Observed(parse_containers(ps_rows(running)), parse_jlist(jlist(running)), {}, 1, 1)


class FixtureSource:
    """Two running instances; ``run`` records the action (held until ``release`` is set), and a
    stop takes effect as on the engine."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.running = {1: True, 2: True}
        self.facts = dashboard.Facts(stack)
        self.actions: list[tuple[str, str]] = []
        self.ticks = 0
        self.release = threading.Event()  # an action takes until the test lets it finish
        self.release.set()

    def tick(self) -> Snapshot:
        self.ticks += 1
        return build(self.stack, observed(self.running), self.facts.of)

    def run(self, row: Row, action: str) -> Done:
        self.actions.append((row.key, action))
        assert self.release.wait(10)
        if action == "stop" and row.instance is not None:
            self.running[row.instance] = False
        return Done(tuple(dashboard.action_words(row, action) or ()), 0, "")


async def until(pilot: Any, check: Any, seconds: float = 5.0) -> None:
    """Let the app run (its thread workers, its redraws) until ``check()`` holds."""
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await pilot.pause(0.05)
    raise AssertionError("the screen never got there")


def cells(app: Any) -> dict[str, list[str]]:
    from textual.widgets import DataTable

    table = app.query_one("#rows", DataTable)
    return {str(key.value): [str(cell) for cell in table.get_row(key)] for key in table.rows}


def log_text(app: Any) -> str:
    from textual.widgets import RichLog

    return "\n".join(strip.text for strip in app.query_one("#log", RichLog).lines)


def test_pilot_shows_two_instances_and_stops_the_selected_one(stack):
    from multistack.cli.dashboard import Dashboard

    source = FixtureSource(stack)
    app = Dashboard(source, interval=1.0)

    async def drive() -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: len(cells(app)) == 2)
            rows = cells(app)
            assert list(rows) == ["instance-1", "instance-2"]
            assert rows["instance-1"][:3] == ["instance 1", "healthy",
                                              "healthy: 2/2 services, 2/2 apps, cpu 3%, 40 MiB"]
            assert rows["instance-2"][:2] == ["instance 2", "healthy"]
            assert rows["instance-2"][3] == "127.0.0.1:18200"
            await pilot.press("down")
            assert app.selected_key() == "instance-2"
            source.release.clear()  # the stop is slow: the screen says so and keeps refreshing meanwhile
            await pilot.press("x")
            await until(pilot, lambda: cells(app)["instance-2"][1] == "stopping…")
            ticks = source.ticks
            await until(pilot, lambda: source.ticks > ticks)
            assert cells(app)["instance-2"][1] == "stopping…"
            source.release.set()
            await until(pilot, lambda: cells(app)["instance-2"][1] == "down")
            assert source.actions == [("instance-2", "stop")]
            assert cells(app)["instance-1"][1] == "healthy"
            assert "done: inv dev 2 stop" in log_text(app)
            assert "down: 0/2 services, 0/2 apps" in str(app.query_one("#detail").render())
            await pilot.press("q")

    asyncio.run(drive())
    assert source.actions == [("instance-2", "stop")]


def test_pilot_says_why_the_mesh_cannot_be_started_from_here(stack):
    from multistack.cli.dashboard import Dashboard

    class MeshOnly(FixtureSource):
        def tick(self) -> Snapshot:
            row = Row("mesh", "mesh", "mesh", None, ("e2etry-mesh",), "down", "down: 0/0 containers up")
            return Snapshot("e2etry", (row,), 1, 0, 1.0)

    source = MeshOnly(stack)
    app = Dashboard(source, interval=1.0)

    async def drive() -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: len(cells(app)) == 1)
            await pilot.press("s")
            await until(pilot, lambda: "inv mesh.up --profile" in log_text(app))
            assert source.actions == []

    asyncio.run(drive())


@pytest.fixture
def recorded_engine(stack, monkeypatch):
    """``dev.watch`` through the real program, the engine's answers recorded (two instances running)."""
    monkeypatch.setattr(dashboard, "observe", lambda c, s, e: observed({1: True, 2: True}))
    monkeypatch.setattr("multistack.io.tools.shutil.which", lambda name: f"/usr/bin/{name}")
    return stack


def test_piped_json_snapshot_matches_its_schema(recorded_engine, capsys):
    assert run_cli(["dev.watch", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(data)
    assert [r["key"] for r in data["rows"]] == ["instance-1", "instance-2"]
    assert data["rows"][1]["apps"][0] == {"name": "e2etry-admin-2", "status": "online", "restarts": 2, "cpu": 1.5,
                                          "memory": 20971520, "pid": 102}


def test_piped_text_snapshot_prints_one_table_and_exits(recorded_engine, capsys):
    assert run_cli(["dev.watch"]) == 0
    out = capsys.readouterr().out
    assert "instance 2  healthy  healthy: 2/2 services, 2/2 apps, cpu 3%, 40 MiB" in out
    assert re.search(r"\ne2etry-api-2 +pm2 +online +2 restarts +cpu 1.5%, 20 MiB\n", out)


def test_interval_out_of_range_is_one_line_and_exit_2(recorded_engine, capsys):
    assert run_cli(["dev.watch", "--interval", "0.1"]) == 2
    assert capsys.readouterr().err.strip() == "error: --interval 0.1 is out of range (fix: give 1 to 10 seconds)"


def test_pilot_masks_a_password_in_a_url(stack):
    from multistack.cli.dashboard import Dashboard

    secret = dashboard.Url("web", 18100, "http://admin:hunter2@127.0.0.1:18100/")

    class WithPassword(FixtureSource):
        def tick(self) -> Snapshot:
            snapshot = super().tick()
            rows = tuple(dataclasses.replace(r, urls=(secret,)) for r in snapshot.rows)
            return dataclasses.replace(snapshot, rows=rows)

    app = Dashboard(WithPassword(stack), interval=1.0)

    async def drive() -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: len(cells(app)) == 2)
            assert cells(app)["instance-1"][3] == "http://admin:****@127.0.0.1:18100/"
            detail = str(app.query_one("#detail").render())
            assert "admin:****@" in detail and "hunter2" not in detail

    asyncio.run(drive())


@pytest.fixture
def side_by_side(stack, monkeypatch):
    """The mesh side by side (tests/act/test_dashboard.py's): staging has its env file, production runs."""
    from tests.act.test_dashboard import PRODUCTION_PS, SIDE_BY_SIDE

    stack.path.write_text(stack.path.read_text() + SIDE_BY_SIDE)
    (stack.root / "env").mkdir()
    (stack.root / "env" / ".env.staging").write_text("ENVIRONMENT=staging\n")
    answers = observed({1: True})
    answers.containers += parse_containers(PRODUCTION_PS)
    monkeypatch.setattr(dashboard, "observe", lambda c, s, e: answers)
    monkeypatch.setattr("multistack.io.tools.shutil.which", lambda name: f"/usr/bin/{name}")
    return load_stack(stack.path)


def test_piped_json_side_by_side_has_a_row_per_environment_matching_its_schema(side_by_side, capsys):
    assert run_cli(["dev.watch", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(data)
    mesh = [(r["key"], r["name"], r["projects"], r["environment"], r["status"]) for r in data["rows"]
            if r["kind"] == "mesh"]
    assert mesh == [("mesh-staging", "mesh staging", ["e2etry-mesh-staging"], "staging", "down"),
                    ("mesh-production", "mesh production", ["e2etry-mesh-production"], "production", "healthy")]
    assert data["rows"][0]["environment"] is None  # an instance row
    assert "{{" not in json.dumps(data)


def test_piped_text_side_by_side_names_each_environment(side_by_side, capsys):
    assert run_cli(["dev.watch"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\nmesh staging +down +down: 0/0 containers up, environment staging\n", out)
    assert re.search(r"\nmesh production +healthy +healthy: 1/1 containers up, environment production, "
                     r"no env file env/\.env\.production\n", out)


def test_pilot_stops_the_selected_environment_of_the_mesh(side_by_side):
    from multistack.cli.dashboard import Dashboard

    class SideBySide(FixtureSource):
        def tick(self) -> Snapshot:
            return build(self.stack, dashboard.observe(None, self.stack, None), self.facts.of,
                         mesh_files=dashboard.mesh_env_files(self.stack))

    source = SideBySide(side_by_side)
    app = Dashboard(source, interval=1.0)

    async def drive() -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: "mesh-production" in cells(app))
            assert list(cells(app)) == ["instance-1", "mesh-staging", "mesh-production"]
            assert cells(app)["mesh-production"][:2] == ["mesh production", "healthy"]
            for _ in range(2):
                await pilot.press("down")
            assert app.selected_key() == "mesh-production"
            await pilot.press("x")
            await until(pilot, lambda: "done: inv mesh.down --env production" in log_text(app))
            assert source.actions == [("mesh-production", "stop")]

    asyncio.run(drive())
