"""The bad-input catalogues' shared parts: the small stack they start from (tests/boundary/test_bad_input.py and
tests/boundary/): one compose service, one PM2 app, one env file holding a secret."""
from __future__ import annotations

from pathlib import Path

import pytest

from multistack.cli.program import build_program

STACK = """\
project: demo
instances: 0-5
compose:
  files: [compose.yml]
env_files: [app.env]
services:
  web: {port: 8000, compose: web, container_port: 8080}
  api: {port: 3000}
apps:
  api:
    command: python3 -m http.server
    env_files: [instance.env, app.env]
env:
  API_URL: "http://localhost:{{ ports.api }}"
"""
COMPOSE = """\
services:
  web:
    image: multistack-test/busybox:1
    ports: ["8000:8080"]
"""
ENV = "PORT=3000\nDB_URL=postgres://u:secret@localhost:5432/app\n"
TASKS = "from multistack.cli import namespace\nns = namespace()\n"
BASE: dict[str, str | bytes] = {"stack.yaml": STACK, "compose.yml": COMPOSE, "app.env": ENV, "tasks.py": TASKS}


def snapshot(root: Path) -> dict[str, tuple[str, bytes | None, int]]:
    """Every file, folder and link under root: kind, bytes, mode (a refused command changes none)."""
    state = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
        data = path.read_bytes() if kind == "file" else None
        state[str(path.relative_to(root))] = (kind, data, info.st_mode)
    return state


def run_cli(argv: list[str] | tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The real program in this process: its exit code, stdout and stderr."""
    try:
        build_program().run(["multistack", *argv], exit=True)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
