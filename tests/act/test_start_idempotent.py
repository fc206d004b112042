"""issue 13, idempotent start: a running instance whose files did not change is left alone
(no render, no `up`, no PM2 restart); a changed file restarts only what reads it; `init` of
an unchanged instance renders nothing. Recorded commands (tests/recording.py), e2e stack."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from multistack.act import lifecycle
from multistack.act.generate import is_fresh, stale_inputs
from multistack.plan.instance import plan_instance
from tests.act.test_lifecycle import context, dev, stack, stack_dir  # noqa: F401 (fixtures)


def running_ps(project: str, stopped: str | None = None) -> str:
    rows = []
    for service in ("web", "store"):
        up = service != stopped
        rows.append(json.dumps({"project": project, "service": service, "name": f"{project}-{service}-1",
                                "state": "running" if up else "exited",
                                "status": "Up 1 minute (healthy)" if up else "Exited (0)", "ports": ""}))
    return "\n".join(rows) + "\n"


def online_jlist(names: list[str], stopped: str | None = None) -> str:
    return json.dumps([{"pid": 100 + i, "name": name, "pm2_env": {
        "status": "stopped" if name == stopped else "online", "restart_time": 0}} for i, name in enumerate(names)]) + "\n"


@pytest.fixture
def running(stack):
    """Instance 1 generated (as a first start leaves it), and the engine/PM2 answers of it running."""
    dev(context(jlist="[]\n"), stack, "1 init")
    inst = plan_instance(stack, 1)
    assert is_fresh(inst)
    return inst


def acting(c) -> list[str]:
    return [cmd for cmd in c.commands if " up -d " in cmd or "startOrRestart" in cmd]


def test_an_unchanged_running_instance_is_left_alone_without_a_render(running, stack, capsys, monkeypatch) -> None:
    renders: list[int] = []
    monkeypatch.setattr("multistack.act.generate.render_files", lambda *a, **k: renders.append(1) or {})
    c = context(ps=running_ps(running.project_name), jlist=online_jlist(running.app_names))
    dev(c, stack, "1 start")
    assert acting(c) == [] and renders == []
    assert "running and unchanged: left alone" in capsys.readouterr().out
    assert not any("compose version" in cmd for cmd in c.commands)  # no compose needed at all


def test_a_changed_app_env_restarts_the_apps_only(running, stack) -> None:
    env = stack.root / "api.env"
    env.write_text(env.read_text() + "EXTRA=1\n")
    assert stale_inputs(running) == {"api.env"}
    c = context(ps=running_ps(running.project_name), jlist=online_jlist(running.app_names))
    dev(c, stack, "1 start")
    [restart] = acting(c)
    assert "startOrRestart" in restart and "--only" not in restart  # the ecosystem file changed with it


def test_a_changed_compose_file_runs_up_and_leaves_the_apps(running, stack) -> None:
    compose = stack.root / "compose.yml"
    compose.write_text(compose.read_text() + "\n# a comment\n")
    c = context(ps=running_ps(running.project_name), jlist=online_jlist(running.app_names))
    dev(c, stack, "1 start")
    [up] = acting(c)
    assert " up -d " in up


def test_one_app_down_is_the_only_one_started(running, stack) -> None:
    down = running.app_names[1]
    c = context(ps=running_ps(running.project_name), jlist=online_jlist(running.app_names, stopped=down))
    dev(c, stack, "1 start")
    [start] = acting(c)
    assert start.endswith(f"--update-env --only {down}")


def test_one_container_down_runs_up_but_no_pm2_restart(running, stack) -> None:
    c = context(ps=running_ps(running.project_name, stopped="store"), jlist=online_jlist(running.app_names))
    dev(c, stack, "1 start")
    [up] = acting(c)
    assert " up -d " in up


def test_decisions_without_a_manifest_restart_everything(stack) -> None:
    inst = plan_instance(stack, 2)
    assert stale_inputs(inst) is None
    assert lifecycle.compose_needed(inst, None, ["web"], None)
    assert lifecycle.apps_to_start(inst, None, None) == inst.app_names


def test_init_of_an_unchanged_instance_reports_identical_from_the_manifest(running, stack, capsys, monkeypatch) -> None:
    capsys.readouterr()
    monkeypatch.setattr("multistack.act.generate.generate", lambda *a, **k: pytest.fail("rendered"))
    dev(context(), stack, "1 init")
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith("identical  instance-1/") for line in lines)
    assert "identical  instance-1/instance.json" in lines


def test_init_of_an_unchanged_instance_imports_no_jinja2(tmp_path: Path) -> None:
    """From outside, in a real ``inv`` process, with Python's own import log."""
    root = tmp_path / "stack"
    shutil.copytree(Path(__file__).resolve().parents[1] / "e2e" / "stack", root)
    argv = [sys.executable, "-X", "importtime", "-m", "invoke", "dev", "1", "init"]
    first = subprocess.run(argv, cwd=root, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "| jinja2" in first.stderr  # the first init renders
    again = subprocess.run(argv, cwd=root, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "identical  instance-1/pm2.config.cjs" in again.stdout
    assert "| jinja2" not in again.stderr
