"""All-or-nothing generation: a failure at ANY write, or a kill at any point, loses nothing.

The writer (io/writer.py) stages an instance's files beside its folder and renames
them in with the manifest last. Here its ``os`` is wrapped so that the k-th call of
a writing function (open, write, fsync, chmod, link, replace) fails with ENOSPC
(in process, through the real CLI) or SIGKILLs the process (in a subprocess), for
every k of a generation that changes every file. After an ENOSPC the instance
folder is exactly the complete old set or the complete new set, the error is one
line naming the file, and the next run leaves no staging folder or temp file.
After a kill the next normal run repairs the instance, calling none of the
half-switched files a hand edit.
"""
from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from multistack.cli.program import build_program
from multistack.errors import EXIT_CONFLICT
from multistack.io import writer

OLD = {
    "stack.yaml": """\
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
""",
    "compose.yml": "services:\n  web:\n    image: multistack-test/busybox:1\n    ports: [\"8000:8080\"]\n",
    "app.env": "PORT=3000\nDB_URL=postgres://u:secret@localhost:5432/app\n",
    "tasks.py": "from multistack.cli import namespace\nns = namespace()\n",
}
COUNTED = ("open", "write", "fsync", "chmod", "link", "replace")


def new_sources() -> dict[str, str]:
    """Sources that change every generated file (ports, env values, the app's command)."""
    return {
        "stack.yaml": OLD["stack.yaml"].replace("port: 8000", "port: 8500").replace("port: 3000", "port: 3500")
        .replace("http.server", "http.server 9"),
        "app.env": "PORT=3500\nDB_URL=postgres://u:secret@localhost:5432/other\n",
    }


class FaultyOs:
    """``os`` for the writer: the ``at``-th call of a writing function runs ``fault`` first."""

    def __init__(self, at: int, fault: Callable[[], None]) -> None:
        self.at = at
        self.fault = fault
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        real = getattr(os, name)
        if name not in COUNTED:
            return real

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self.at:
                self.fault()
            return real(*args, **kwargs)

        return counted


def enospc() -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def folder_state(root: Path, n: int = 1) -> dict[str, bytes]:
    folder = root / ".instances" / f"instance-{n}"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def leftovers(root: Path) -> list[str]:
    """Staging folders and temp files anywhere under .instances/."""
    base = root / ".instances"
    return sorted(str(p.relative_to(base)) for p in base.rglob("*")
                  if ".staging-" in p.name or p.name.endswith(".tmp") or p.name.endswith(".old"))


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        build_program().run(["multistack", *argv], exit=True)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def sets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
         ) -> tuple[dict[str, bytes], dict[str, bytes], int]:
    """The complete old and new sets of instance 1, and how many counted calls the new generation makes."""
    root = tmp_path / "stack"  # one path for every run: the files name their folder
    write_tree(root, OLD)
    monkeypatch.chdir(root)
    assert cli(["dev", "1", "init"], capsys)[0] == 0
    old = folder_state(root)
    write_tree(root, new_sources())
    counter = FaultyOs(0, lambda: None)
    monkeypatch.setattr(writer, "os", counter)
    assert cli(["dev", "1", "init"], capsys)[0] == 0
    monkeypatch.setattr(writer, "os", os)
    new = folder_state(root)
    assert set(old) == set(new) and all(old[name] != new[name] for name in old), "every file must change"
    return old, new, counter.calls


def fresh_old(root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``root`` anew with instance 1 generated from the old sources, then the new sources in place."""
    shutil.rmtree(root, ignore_errors=True)
    write_tree(root, OLD)
    monkeypatch.chdir(root)
    assert cli(["dev", "1", "init"], capsys)[0] == 0
    write_tree(root, new_sources())


def test_the_generation_has_many_write_points(sets) -> None:
    _old, _new, calls = sets
    assert calls >= 6 * 4, calls  # every file: open, write, fsync, chmod, then link and replace


def test_enospc_at_every_write_leaves_the_old_set_or_the_new_one(sets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    old, new, calls = sets
    outcomes = {"old": 0, "new": 0}
    for k in range(1, calls + 1):
        root = tmp_path / "stack"
        fresh_old(root, monkeypatch, capsys)
        monkeypatch.setattr(writer, "os", FaultyOs(k, enospc))
        code, out, err = cli(["dev", "1", "init"], capsys)
        monkeypatch.setattr(writer, "os", os)
        state = folder_state(root)
        assert state in (old, new), (k, sorted(n for n in state if state[n] not in (old.get(n), new.get(n))))
        if state == old:
            outcomes["old"] += 1
            lines = [line for line in err.splitlines() if line.strip()]
            assert code == EXIT_CONFLICT and len(lines) == 1, (k, code, err)
            assert "No space left on device" in lines[0] and "(fix: free space" in lines[0], lines[0]
            assert ".instances/instance-1" in lines[0], lines[0]  # names the file (or its folder)
            assert "Traceback" not in out + err
        else:
            outcomes["new"] += 1  # the fault hit after the switch (the folder's fsync): done
        assert not leftovers(root), (k, leftovers(root))
        code, _out, err = cli(["dev", "1", "init"], capsys)  # the next run completes it
        assert code == 0, err
        assert folder_state(root) == new and not leftovers(root)
    assert outcomes["old"] >= calls - 2, outcomes


KILLER = """\
import os, signal, sys
from multistack.io import writer
sys.path.insert(0, sys.argv[2])
from test_generation_faults import FaultyOs
writer.os = FaultyOs(int(sys.argv[1]), lambda: os.kill(os.getpid(), signal.SIGKILL))
from multistack.cli.program import build_program
build_program().run(["multistack", "dev", "1", "init"])
"""


def killed_at(k: int, root: Path) -> int:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("MULTISTACK_INSTANCE", None)
    result = subprocess.run([sys.executable, "-c", KILLER, str(k), str(Path(__file__).parent)], cwd=root, env=env,
                            capture_output=True, text=True, timeout=60)
    return result.returncode


def test_sigkill_at_random_points_then_a_normal_run_repairs(sets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    old, new, calls = sets
    points = sorted(random.Random(12).sample(range(1, calls + 1), 5)) + [calls - 1]  # one in the switch itself
    for k in points:
        root = tmp_path / "stack"
        fresh_old(root, monkeypatch, capsys)
        assert killed_at(k, root) == -signal.SIGKILL, k
        manifest = folder_state(root)["instance.json"]
        assert manifest in (old["instance.json"], new["instance.json"])  # never half a manifest
        code, out, err = cli(["dev", "1", "init"], capsys)
        assert code == 0 and "conflict" not in out, (k, out, err)
        assert folder_state(root) == new, k
        assert not leftovers(root), (k, leftovers(root))


def test_a_kill_mid_switch_then_changed_sources_is_no_false_conflict(sets, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Half the files switched to render B, the manifest still says A; the sources change to C:
    the switched files are ours (the dead run's staged manifest says so), not hand edits."""
    _old, _new, calls = sets
    root = tmp_path / "stack"
    fresh_old(root, monkeypatch, capsys)
    assert killed_at(calls - 3, root) == -signal.SIGKILL
    write_tree(root, {"app.env": "PORT=3500\nDB_URL=postgres://u:secret@localhost:5432/third\n"})
    code, out, err = cli(["dev", "1", "init"], capsys)
    assert code == 0 and "conflict" not in out, (out, err)
    assert not leftovers(root)
    assert b"third" in folder_state(root)["app.env"]


def test_stale_temp_files_of_a_dead_process_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "stack"
    write_tree(root, OLD)
    monkeypatch.chdir(root)
    assert cli(["dev", "1", "init"], capsys)[0] == 0
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    folder = root / ".instances" / "instance-1"
    (folder / f".instance.env.{pid}.0badc0de.tmp").write_text("half")
    (folder / ".app.env.k3j_x9q1.tmp").write_text("half, from before the pid was in the name")
    (root / ".instances" / f".instance-1.staging-{pid}").mkdir()
    (root / ".instances" / f".instance-1.staging-{pid}" / "app.env").write_text("staged")
    alive = folder / f".app.env.{os.getppid()}.0badc0de.tmp"  # a live process's: kept
    alive.write_text("in use")
    write_tree(root, new_sources())
    assert cli(["dev", "1", "init"], capsys)[0] == 0
    assert leftovers(root) == ["instance-1/" + alive.name]
