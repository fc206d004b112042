"""The demo stack (examples/demo) finds the repository's PM2 without PATH.

scripts/setup-engines.sh installs PM2 into the repository's ``node_modules``; the
README's first command runs ``inv dev 1 start`` in examples/demo, two folders below.
The search itself (stack folder, folders above up to the repository root, multistack's
own repository, PATH) is tested in test_tool_dirs.py; this is the demo's case of it.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from multistack.errors import EngineError
from multistack.io import tools

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "demo"


def test_the_demo_looks_in_its_folder_then_up_to_this_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tools.OWN_TOOLS_VAR, "off")
    assert tools.tool_dirs(DEMO) == [DEMO, DEMO.parent, REPO]


def test_the_demo_finds_the_repositorys_pm2_with_nothing_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    pm2 = REPO / "node_modules" / ".bin" / "pm2"
    if not pm2.is_file():
        pytest.skip("no PM2 in this checkout's node_modules (scripts/setup-engines.sh installs it)")
    monkeypatch.setattr(tools.shutil, "which", lambda name: None)
    assert tools.find_pm2(DEMO) == (str(pm2),)


def test_a_pm2_file_that_is_not_executable_is_passed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools.shutil, "which", lambda name: None)
    monkeypatch.setenv(tools.OWN_TOOLS_VAR, "off")
    (tmp_path / ".git").mkdir()
    stack = tmp_path / "examples" / "demo"
    stack.mkdir(parents=True)
    pm2 = tmp_path / "node_modules" / ".bin" / "pm2"
    pm2.parent.mkdir(parents=True)
    pm2.write_text("#!/bin/sh\n")
    pm2.chmod(0o644)
    with pytest.raises(EngineError, match="PM2 not found"):
        tools.find_pm2(stack)
