"""Generated instance files: regenerated when a source changes, replaced atomically, versioned.

Audit: three deliberate bugs went unnoticed here: edits to a base compose file not
making the instance stale, the atomic write replaced by a direct write, and a
manifest from a newer multistack accepted.
"""
from __future__ import annotations

import builtins
import errno
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.audit.fake import FakeEngine, run_program



def manifest(root: Path, n: int = 1) -> dict:
    return json.loads((root / ".instances" / f"instance-{n}" / "instance.json").read_text())


def test_editing_a_base_compose_file_makes_the_instance_stale(minimal_stack: Path, engine: FakeEngine,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from invoke import Result

    from multistack.model.stack import load_stack
    from multistack.plan.instance import plan_instance

    [name] = plan_instance(load_stack(minimal_stack), 1).app_names
    engine.answer(r"pm2 jlist$", Result(json.dumps([{"name": name, "pm2_env": {"status": "online"}}])))
    root = minimal_stack.parent
    assert run_program(["dev", "1", "init"], capsys)[0] == 0
    compose = root / "compose.yml"
    assert manifest(root)["sources"]["compose.yml"] == hashlib.sha256(compose.read_bytes()).hexdigest()
    # a new service publishing a port: the override must now drop it, or two instances would collide on 6379
    compose.write_text(compose.read_text() + "  cache:\n    image: multistack-test/busybox:1\n    ports: [\"6379:6379\"]\n")
    override = root / ".instances" / "instance-1" / "docker-compose.override.yml"
    assert "cache" not in override.read_text()
    code, out, err = run_program(["dev", "1", "start"], capsys)
    assert code == 0, err
    assert "  cache:\n" in override.read_text() and "    ports: !reset []\n" in override.read_text()
    assert manifest(root)["sources"]["compose.yml"] == hashlib.sha256(compose.read_bytes()).hexdigest()
    [up] = engine.matching(r" up -d ")
    assert up.endswith(f"-f {override} up -d --remove-orphans --wait --wait-timeout 300")


def test_generated_files_are_replaced_not_rewritten_in_place(minimal_stack: Path, engine: FakeEngine,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A reader that opened the old file keeps reading the whole old file (temp file + rename)."""
    root = minimal_stack.parent
    assert run_program(["dev", "1", "init"], capsys)[0] == 0
    env = root / ".instances" / "instance-1" / "instance.env"
    before = env.read_bytes()
    inode = env.stat().st_ino
    minimal_stack.write_text(minimal_stack.read_text().replace('API_URL: "http://localhost:{{ ports.api }}"',
                                                               'API_URL: "http://127.0.0.1:{{ ports.api }}"'))
    with env.open("rb") as reader:
        code, out, err = run_program(["dev", "1", "init"], capsys)
        assert code == 0, err
        assert "update  instance-1/instance.env" in out
        assert reader.read() == before  # the old file, whole: it was not truncated and rewritten
    assert env.stat().st_ino != inode
    assert b"API_URL=http://127.0.0.1:3100" in env.read_bytes()
    leftovers = [p.name for p in env.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


class FullDisk:
    """A file handle whose write of ``marker`` stores 5 bytes, then fails as a full disk does."""

    def __init__(self, handle: Any, marker: bytes) -> None:
        self._handle, self._marker = handle, marker

    def write(self, data: Any) -> int:
        raw = data.encode() if isinstance(data, str) else bytes(data)
        if self._marker in raw:
            self._handle.write(data[:5])
            self._handle.flush()
            raise OSError(errno.ENOSPC, "No space left on device")
        return self._handle.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> FullDisk:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._handle.close()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_failed_write_leaves_the_old_files_whole(minimal_stack: Path, engine: FakeEngine,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The disk fills up half way through writing the new files: every old file is still there, whole."""
    root = minimal_stack.parent
    assert run_program(["dev", "1", "init"], capsys)[0] == 0
    folder = root / ".instances" / "instance-1"
    before = snapshot(folder)
    minimal_stack.write_text(minimal_stack.read_text().replace("localhost", "127.0.0.1"))
    real_open = io.open

    def opening(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, mode, *args, **kwargs)
        return FullDisk(handle, b"127.0.0.1:3100") if any(m in mode for m in "wax+") else handle

    real_write = os.write

    def writing(fd: int, data: Any) -> int:  # the same fault for a writer that uses plain os calls
        if b"127.0.0.1:3100" in bytes(data):
            real_write(fd, bytes(data)[:5])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(io, "open", opening)
    monkeypatch.setattr(builtins, "open", opening)
    monkeypatch.setattr(os, "write", writing)
    try:
        code, _, err = run_program(["dev", "1", "init"], capsys)
        assert code != 0 and "No space left on device" in err  # said as a user error
    except OSError as exc:  # or a traceback: either way the files are checked below
        assert "No space left" in str(exc)
    monkeypatch.undo()
    assert snapshot(folder) == before  # no half-written file, no temp file left behind


def test_a_manifest_from_a_newer_multistack_is_refused(minimal_stack: Path, engine: FakeEngine,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    root = minimal_stack.parent
    assert run_program(["dev", "1", "init"], capsys)[0] == 0
    path = root / ".instances" / "instance-1" / "instance.json"
    data = manifest(root)
    assert data["version"] == 1
    path.write_text(json.dumps({**data, "version": 2}))
    code, out, err = run_program(["dev", "1", "init"], capsys)
    assert code == 2
    assert "written by a newer multistack (manifest version 2, this one reads 1)" in err
    assert json.loads(path.read_text())["version"] == 2  # left as it was


def test_the_workspace_default_is_replaced_atomically(minimal_stack: Path, engine: FakeEngine,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`inv dev.use N` writes through the one atomic writer: a reader keeps the old file; a failed
    write leaves it whole."""
    root = minimal_stack.parent
    before = {p for p in root.rglob("*") if p.is_file()}
    assert run_program(["dev.use", "2"], capsys)[:2] == (0, "default instance: 2\n")
    [default] = [p for p in root.rglob("*") if p.is_file() and p not in before]
    inode = default.stat().st_ino
    with default.open("rb") as reader:
        assert run_program(["dev.use", "3"], capsys)[0] == 0
        assert reader.read() == b"2\n"
    assert default.read_bytes() == b"3\n" and default.stat().st_ino != inode
    real_write = os.write

    def full_disk(fd: int, data: Any) -> int:
        real_write(fd, bytes(data)[:1])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    real_open = io.open
    monkeypatch.setattr(io, "open", lambda file, mode="r", *a, **k: FullDisk(real_open(file, mode, *a, **k), b"4")
                        if any(m in mode for m in "wax+") else real_open(file, mode, *a, **k))
    monkeypatch.setattr(builtins, "open", io.open)
    try:
        code = run_program(["dev.use", "4"], capsys)[0]
        assert code != 0
    except OSError:
        pass
    monkeypatch.undo()
    assert default.read_bytes() == b"3\n"
    assert sorted(p.name for p in default.parent.iterdir() if p.name.endswith(".tmp")) == []
