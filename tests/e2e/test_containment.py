"""On a real engine: `clean` of a symlinked instance folder refuses before it runs anything.

The bug: `.instances/instance-1` a symlink to `instance-2`, and `inv dev 1 clean --yes`
ran `docker compose down -v` and PM2 deletes before failing on the folder. Here instance 2
runs for real (host ports 35000-35999 only, our own project name and PM2 daemon); after the
refused clean its containers still run, its volume is still there, its port still answers
and its folder is byte for byte as it was.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.e2e.conftest import E2EStack

PORTS = {"18000": "35000", "18001": "35001", "18002": "35002", "18003": "35003"}


def _state(folder: Path) -> dict[str, bytes | None]:
    found: dict[str, bytes | None] = {}
    for path in sorted(folder.rglob("*")):
        found[str(path.relative_to(folder))] = path.read_bytes() if path.is_file() and path.suffix != ".log" else None
    return found


def test_clean_of_a_symlinked_instance_refuses_and_the_other_keeps_running(e2e: E2EStack) -> None:
    for name in ("stack.yaml", "compose.yml", "api.env", "admin.env"):  # our port range, everywhere
        path = e2e.root / name
        text = path.read_text()
        for old, new in PORTS.items():
            text = text.replace(old, new)
        assert "1800" not in text, name
        path.write_text(text)
    web = 35000 + 2 * 100

    e2e.inv("dev", "2", "start", timeout=300, check=True)
    running = sorted((c["name"], c["state"]) for c in e2e.containers(2))
    assert running and all(state == "running" for _name, state in running), running
    volumes = {name for name, project in e2e.volumes().items() if project == e2e.project_name(2)}
    assert volumes
    answer = e2e.fetch(web)
    assert answer is not None and "2" in answer, answer
    folder_before = _state(e2e.instance_dir(2))

    shutil.rmtree(e2e.instance_dir(1), ignore_errors=True)
    os.symlink("instance-2", e2e.instance_dir(1))
    for words in (("dev", "1", "clean", "--yes"), ("dev", "clean", "--all", "--yes")):
        result = e2e.inv(*words, timeout=120)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.rc == 4, result
        assert len(lines) == 1 and "instance-1 is a symlink" in lines[0] and "(fix: " in lines[0], result
        assert "down" not in result.stdout, result  # nothing ran

    assert sorted((c["name"], c["state"]) for c in e2e.containers(2)) == running
    assert {name for name, project in e2e.volumes().items() if project == e2e.project_name(2)} == volumes
    assert e2e.fetch(web) == answer
    assert _state(e2e.instance_dir(2)) == folder_before
    assert e2e.instance_dir(1).is_symlink()  # left for the user to remove, as the fix says
    e2e.instance_dir(1).unlink()
