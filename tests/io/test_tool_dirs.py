"""PM2 and Compose are found the same way from any stack location (issue 13): the stack's folder,
the folders above it up to the repository root, multistack's own repository, then PATH."""
from __future__ import annotations

from pathlib import Path

import pytest

from multistack.errors import EngineError
from multistack.io import tools

OWN = Path(tools.__file__).resolve().parents[2]


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository with a stack two folders down; nothing on PATH; multistack's own repository left out."""
    monkeypatch.setattr(tools.shutil, "which", lambda name: None)
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    stack = tmp_path / "repo" / "stacks" / "shop"
    stack.mkdir(parents=True)
    return stack


def test_the_stack_folder_comes_first(repo):
    mine = executable(repo / "node_modules" / ".bin" / "pm2")
    executable(repo.parents[1] / "node_modules" / ".bin" / "pm2")
    assert tools.find_pm2(repo) == (str(mine),)


def test_a_folder_above_up_to_the_repository_root(repo):
    root = executable(repo.parents[1] / "node_modules" / ".bin" / "pm2")
    assert tools.find_pm2(repo) == (str(root),)
    middle = executable(repo.parent / "node_modules" / ".bin" / "pm2")
    assert tools.find_pm2(repo) == (str(middle),)


def test_nothing_above_the_repository_root(repo):
    executable(repo.parents[2] / "node_modules" / ".bin" / "pm2")  # outside the repository: not looked at
    with pytest.raises(EngineError, match="PM2 not found"):
        tools.find_pm2(repo)


def test_a_stack_outside_any_repository_looks_in_its_folder_only(tmp_path, monkeypatch):
    monkeypatch.setattr(tools.shutil, "which", lambda name: None)
    stack = tmp_path / "a" / "b"
    stack.mkdir(parents=True)
    executable(tmp_path / "a" / "node_modules" / ".bin" / "pm2")
    assert tools.tool_dirs(stack) == [stack.resolve()]
    with pytest.raises(EngineError):
        tools.find_pm2(stack)


def test_multistack_own_repository_then_path(repo, monkeypatch):
    monkeypatch.setenv(tools.OWN_TOOLS_VAR, "on")
    assert tools.tool_dirs(repo)[-1] == OWN
    own = OWN / "node_modules" / ".bin" / "pm2"
    if own.is_file():
        assert tools.find_pm2(repo) == (str(own),)
    monkeypatch.setenv(tools.OWN_TOOLS_VAR, "off")
    assert OWN not in tools.tool_dirs(repo)
    monkeypatch.setattr(tools.shutil, "which", lambda name: f"/usr/bin/{name}" if name == "pm2" else None)
    assert tools.find_pm2(repo) == ("/usr/bin/pm2",)


def test_compose_is_looked_for_in_the_same_folders(repo, monkeypatch):
    assert tools.compose_candidates(repo) == []
    above = executable(repo.parents[1] / "bin" / "docker-compose")
    mine = executable(repo / "bin" / "docker-compose")
    assert tools.compose_candidates(repo) == [str(mine), str(above)]
    monkeypatch.setattr(tools.shutil, "which", lambda name: f"/usr/bin/{name}" if name == "docker-compose" else None)
    assert tools.compose_candidates(repo)[-1] == "docker-compose"
