"""Git repositories with worktrees for the claim tests (tests/io, tests/act, tests/cli): real ``git``."""
from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

#: A stack that never asks an engine (no compose files, no PM2 apps): claims alone.
#: Its ports are in 39000-39999, the range of the claim tests.
PLAIN_STACK = """\
project: wt
instances: 0-4
stride: 10
host_ip: 127.0.0.1
services:
  api: {port: BASE}
"""
BASE_PORT = 39500
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          env={**os.environ, **GIT_ENV}, stdin=subprocess.DEVNULL)
    return done.stdout.strip()


def git_repo(folder: Path, stack_text: str = PLAIN_STACK, base: int = BASE_PORT, files: dict[str, str] | None = None,
             stack_dir: str = ".") -> Path:
    """A repository in ``folder`` with the stack committed (in ``stack_dir``); its top folder."""
    where = folder / stack_dir
    where.mkdir(parents=True, exist_ok=True)
    (where / "stack.yaml").write_text(textwrap.dedent(stack_text).replace("BASE", str(base)))
    for name, text in (files or {}).items():
        (where / name).write_text(text)
    (folder / ".gitignore").write_text(".instances/\n")
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "stack")
    return folder


def add_worktree(repo: Path, path: Path) -> Path:
    git(repo, "worktree", "add", "-q", "-b", path.name, str(path))
    return path
