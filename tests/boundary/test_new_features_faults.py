"""Faults around the four newer features: the router's folder damaged, a full disk, a closed or full stdout.

- The router's folder (``$MULTISTACK_ROUTER_HOME``): a route file truncated, not JSON, not
  UTF-8 or naming what is no host; the assembled config not UTF-8; ``routes/`` or ``config/``
  a symlink; ``router.lock`` a folder or a symlink; a file where a folder belongs. A damaged
  file multistack generated is written afresh with a note (another stack's is left alone);
  anything in the way is one line, exit 4, and nothing is written through a link. These run
  ``inv dev N start`` in a subprocess with a fake ``docker``/``pm2`` that log every call.
- A full disk: the writer's k-th writing call fails with ENOSPC (io/writer.py's ``os``, as
  tests/boundary/test_generation_faults.py does) while the router's files are written, for
  every k: one line naming the file, exit 4, each file complete (old or new), no temp file.
- stdout: ``system.logs ... | head -1`` and ``dev.watch --once | head -1`` (the reader gone:
  quiet, exit 141, no traceback from the per-member output threads) and /dev/full (one line, exit 4).
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from multistack.act.router import sync_routes
from multistack.cli.exits import exit_for
from multistack.errors import EXIT_BROKEN_PIPE, EXIT_CONFLICT, ConflictError
from multistack.io import writer
from multistack.io.tools import Engines
from multistack.model.stack import load_stack
from multistack.plan.instance import plan_instance
from multistack.plan.router import parse_route_file, route_file_name
from tests.act.test_lifecycle import context, dev, stack_dir  # noqa: F401 (fixtures)
from tests.act.test_router import home, routed  # noqa: F401 (fixtures)
from tests.boundary.test_new_features_input import SOURCE, STACK

FAKE_DOCKER = """\
#!/bin/sh
# A stand-in for docker that logs every call: nothing runs; `logs` prints many lines.
echo "docker $*" >> "$FAKE_LOG"
if [ "$1" = compose ]; then
  case "$2" in version) echo 2.40.3; exit 0 ;; esac
  case "$*" in *" logs "*|*" logs")
    i=0; while [ $i -lt 4000 ]; do echo "rest-1  | line $i"; i=$((i+1)); done ;;
  esac
  exit 0
fi
case "$1" in
  info) echo '{"ServerVersion": "24.0.7"}' ;;
  network) echo '{"Name": "bridge", "Driver": "bridge", "Scope": "local"}' ;;
esac
exit 0
"""
FAKE_PM2 = "#!/bin/sh\necho \"pm2 $*\" >> \"$FAKE_LOG\"\n[ \"$1\" = jlist ] && echo '[]'\nexit 0\n"


def fake_bin(tmp_path: Path) -> Path:
    fake = tmp_path / "fakebin"
    fake.mkdir(exist_ok=True)
    for name, text in (("docker", FAKE_DOCKER), ("pm2", FAKE_PM2)):
        (fake / name).write_text(text)
        (fake / name).chmod(0o755)
    for name in ("sh", "bash", "cat", "head", "sleep"):
        found = shutil.which(name)
        if found and not (fake / name).exists():
            (fake / name).symlink_to(found)
    (fake / "inv").symlink_to(Path(sys.executable).parent / "inv")
    return fake


def inv(tmp_path: Path, argv: list[str], stdout: Any = subprocess.PIPE) -> tuple[int, str, str]:
    """``inv ARGV`` in the stack, with the fake engine first on PATH and the router's folder in tmp_path."""
    fake = tmp_path / "fakebin"
    if not fake.exists():
        fake_bin(tmp_path)
    env = {"PATH": str(fake), "HOME": str(tmp_path / "home"), "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8",
           "FAKE_LOG": str(tmp_path / "engine.log"), "MULTISTACK_OWN_TOOLS": "off", "PM2_HOME": str(tmp_path / "pm2"),
           "MULTISTACK_ROUTER_HOME": str(tmp_path / "router")}
    proc = subprocess.run([str(fake / "inv"), *argv], cwd=tmp_path / "stack", env=env, stdout=stdout,
                          stderr=subprocess.PIPE, timeout=90)
    out = proc.stdout.decode() if isinstance(proc.stdout, bytes) else ""
    return proc.returncode, out, proc.stderr.decode()


def make_stack(tmp_path: Path) -> Path:
    root = tmp_path / "stack"
    root.mkdir()
    for name in ("compose.yml", "peers.txt.j2", "tasks.py"):
        (root / name).write_bytes((SOURCE / name).read_bytes())
    (root / "stack.yaml").write_text(STACK, encoding="utf-8")
    return root


def tree(top: Path) -> dict[str, Any]:
    """Every file, folder and link under ``top`` (links not followed)."""
    state: dict[str, Any] = {}
    for folder, dirs, files in os.walk(top, followlinks=False):
        for name in dirs + files:
            path = Path(folder) / name
            rel = str(path.relative_to(top))
            state[rel] = ("link", os.readlink(path)) if path.is_symlink() else (
                ("dir",) if path.is_dir() else ("file", path.read_bytes()))
    return state


# --------------------------------------------------------------------------
# The router's folder damaged


R = "router"
ROUTES = f"{R}/routes"
OTHER = f"{ROUTES}/other-0123456789ab.json"
HOSTILE = json.dumps({"version": 1, "stack": "/nonexistent/stack.yaml", "project": "x", "listen": "127.0.0.1:44080",
                      "image": "haproxy:3.0", "instances": {"1": {"x.localhost\n    bind 0.0.0.0:1": "127.0.0.1:1"}}})


def own(tmp_path: Path) -> Path:
    return next(p for p in (tmp_path / ROUTES).glob("*.json") if not p.name.startswith("other-"))


def replace_with_link(rel: str, kind: str) -> Callable[[Path], None]:
    """``rel`` (under tmp_path) moved to ``elsewhere/`` and a symlink to it put in its place."""
    def damage(tmp_path: Path) -> None:
        path, target = tmp_path / rel, tmp_path / "elsewhere" / Path(rel).name
        target.parent.mkdir(exist_ok=True)
        if path.exists():
            shutil.move(str(path), target)
        else:
            target.mkdir() if kind == "dir" else target.write_text("keep\n")
        path.symlink_to(target)
    return damage


def folder_at(rel: str) -> Callable[[Path], None]:
    def damage(tmp_path: Path) -> None:
        path = tmp_path / rel
        path.unlink() if path.is_file() else None
        path.mkdir()
    return damage


def file_at(rel: str) -> Callable[[Path], None]:
    def damage(tmp_path: Path) -> None:
        shutil.rmtree(tmp_path / rel)
        (tmp_path / rel).write_text("a file\n")
    return damage


def write(rel: str | None, data: bytes) -> Callable[[Path], None]:
    def damage(tmp_path: Path) -> None:
        path = own(tmp_path) if rel is None else tmp_path / rel
        path.write_bytes(data)
    return damage


@dataclass(frozen=True)
class Damage:
    id: str
    damage: Callable[[Path], None]
    code: int  # of `inv dev 2 start`
    message: str  # a fragment of the one stderr line (exit 4) or of the note (exit 0)
    kept: str | None = None  # a path (under tmp_path) that must stay byte for byte as it was


DAMAGES = [
    Damage("own-route-file-truncated", write(None, b'{"version": 1, "sta'), 0, "is damaged: this stack's routes"),
    Damage("own-route-file-not-json", write(None, b"<html>\n"), 0, "is damaged: this stack's routes"),
    Damage("own-route-file-not-utf8", write(None, b"\xff\xfe{}\n"), 0, "is damaged: this stack's routes"),
    Damage("other-route-file-truncated", write(OTHER, b'{"version": 1, "sta'), 0, "is not a route file", OTHER),
    Damage("other-route-file-not-utf8", write(OTHER, b"\xff\xfe{}\n"), 0, "is not a route file", OTHER),
    Damage("other-route-file-empty", write(OTHER, b""), 0, "is not a route file", OTHER),
    Damage("other-route-file-hostile-host", write(OTHER, HOSTILE.encode()), 0, "is not a route file", OTHER),
    Damage("config-not-utf8", write(f"{R}/config/haproxy.cfg", b"\xff\xfe global\n"), 0, ""),
    Damage("routes-a-symlink", replace_with_link(ROUTES, "dir"), EXIT_CONFLICT, "routes is a symlink", "elsewhere"),
    Damage("config-a-symlink", replace_with_link(f"{R}/config", "dir"), EXIT_CONFLICT, "config is a symlink",
           "elsewhere"),
    Damage("compose-file-a-symlink", replace_with_link(f"{R}/compose.yml", "file"), EXIT_CONFLICT,
           "compose.yml is a symlink", "elsewhere"),
    Damage("lock-a-symlink", replace_with_link(f"{R}/router.lock", "file"), EXIT_CONFLICT, "router.lock is a symlink",
           "elsewhere"),
    Damage("own-route-file-a-symlink", lambda t: replace_with_link(str(own(t).relative_to(t)), "file")(t),
           EXIT_CONFLICT, ".json is a symlink", "elsewhere"),
    Damage("lock-a-folder", folder_at(f"{R}/router.lock"), EXIT_CONFLICT,
           "router.lock is a folder where a file belongs"),
    Damage("config-a-file", file_at(f"{R}/config"), EXIT_CONFLICT, "config is a file where a folder belongs"),
    Damage("routes-a-file", file_at(ROUTES), EXIT_CONFLICT, "routes is a file where a folder belongs"),
    Damage("own-route-file-a-folder", lambda t: folder_at(str(own(t).relative_to(t)))(t), EXIT_CONFLICT,
           "is a folder where a file belongs"),
]


@pytest.mark.parametrize("case", DAMAGES, ids=[d.id for d in DAMAGES])
def test_a_damaged_router_folder(case: Damage, tmp_path: Path) -> None:
    make_stack(tmp_path)
    code, _out, err = inv(tmp_path, ["dev", "1", "start"])
    assert code == 0, err
    (tmp_path / ROUTES / "other-0123456789ab.json").write_text("{}\n") if "other" in case.id else None
    case.damage(tmp_path)
    kept = tree(tmp_path / case.kept) if case.kept and (tmp_path / case.kept).is_dir() else (
        (tmp_path / case.kept).read_bytes() if case.kept else None)
    code, out, err = inv(tmp_path, ["dev", "2", "start"])
    said = [line for line in err.splitlines() if line.startswith(("error:", "note:"))]
    assert "Traceback" not in out + err, err
    assert code == case.code, err
    assert len(said) == (1 if case.message else 0), err
    if case.message:
        assert case.message in said[0], said[0]
    if code == EXIT_CONFLICT:
        assert said[0].startswith("error: the router's folder ") and "(fix: " in said[0], said[0]
    else:  # repaired: this stack's routes parse and hold instance 2; the config serves it
        routes = parse_route_file(own(tmp_path).read_text(encoding="utf-8"))
        assert routes is not None and "2" in routes.instances
        config = (tmp_path / R / "config" / "haproxy.cfg").read_text(encoding="utf-8")
        assert "web.2." in config and "0.0.0.0:1" not in config
    if case.kept:
        now = tree(tmp_path / case.kept) if (tmp_path / case.kept).is_dir() else (tmp_path / case.kept).read_bytes()
        assert now == kept  # nothing written through the link, another stack's file left alone
    assert not list((tmp_path / R).rglob("*.tmp"))


def test_dry_start_on_a_damaged_config_writes_nothing(tmp_path: Path) -> None:
    """Before: `--dry dev 2 start` with a config that is not UTF-8 refused with exit 2; now it says what it
    would write."""
    make_stack(tmp_path)
    assert inv(tmp_path, ["dev", "1", "start"])[0] == 0
    (tmp_path / R / "config" / "haproxy.cfg").write_bytes(b"\xff\xfe global\n")
    before = tree(tmp_path / R), tree(tmp_path / "stack")
    code, out, err = inv(tmp_path, ["--dry", "dev", "2", "start"])
    assert code == 0 and "Traceback" not in err, err
    assert f"would write {tmp_path / R / 'config' / 'haproxy.cfg'}" in out
    assert (tree(tmp_path / R), tree(tmp_path / "stack")) == before


# --------------------------------------------------------------------------
# A full disk while the router's files are written


class FailingOs:
    """``os`` for the writer: its ``at``-th writing call fails with ``number`` (test_filesystem.py's)."""

    def __init__(self, number: int, at: int) -> None:
        self.number, self.at, self.calls = number, at, 0

    def __getattr__(self, name: str) -> Any:
        real = getattr(os, name)
        if name not in ("open", "write", "fsync", "chmod", "link", "replace"):
            return real

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self.at:
                raise OSError(self.number, os.strerror(self.number))
            return real(*args, **kwargs)

        return counted


@pytest.mark.parametrize("number", [errno.ENOSPC, errno.EROFS, errno.EIO])
def test_a_failing_disk_while_the_routes_are_written(routed, home: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                                     capsys: pytest.CaptureFixture[str], number: int) -> None:
    """Every writing call of a route change in turn fails: one line, exit 4, every file complete."""
    c = context(jlist="[]\n")
    dev(c, routed, "1 start")
    stack = load_stack(routed.path)
    inst = plan_instance(stack, 2, "isolated")
    at, failed = 1, 0
    while True:
        before = tree(home)
        faulty = FailingOs(number, at)
        monkeypatch.setattr(writer, "os", faulty)
        try:
            sync_routes(c, inst, Engines(), serving=True)
            error = None
        except ConflictError as exc:
            error = exc
        finally:
            monkeypatch.setattr(writer, "os", os)
        if error is None:
            assert faulty.calls < at  # the fault was never reached: every call has had its turn
            break
        failed += 1
        mapped = exit_for(error)
        assert mapped is not None and mapped.code == EXIT_CONFLICT
        line = str(mapped.message)
        assert "\n" not in line and line.startswith("error: cannot write ") and "(fix: " in line, line
        assert os.strerror(number) in line, line
        after = tree(home)
        assert not [k for k in after if k.endswith(".tmp")], after.keys()
        for rel, value in after.items():  # each file is what it was, or complete and new
            if value[0] == "file" and rel.endswith(".json"):
                assert parse_route_file(value[1].decode()) is not None, rel
            if value[0] == "file" and before.get(rel) != value and rel.endswith(".cfg"):
                assert value[1].decode().rstrip().endswith("127.0.0.1:18200"), rel
        dev_2 = parse_route_file((home / "routes" / route_file_name(stack)).read_text())
        assert dev_2 is not None and "1" in dev_2.instances  # instance 1's routes are never lost
        at += 1
    assert failed >= 3  # temp file, its write, fsync, rename... each had its turn
    routes = parse_route_file((home / "routes" / route_file_name(stack)).read_text())
    assert routes is not None and set(routes.instances) == {"1", "2"}  # the run without a fault finished it
    capsys.readouterr()


# --------------------------------------------------------------------------
# stdout: the reader gone, or a full device


PIPE_CASES = [
    ("system-logs-all", ["system.logs", "trio"]),
    ("system-logs-member", ["system.logs", "trio", "NODE-A"]),
    ("system-logs-json", ["system.logs", "trio", "--json"]),
    ("system-logs-tail", ["system.logs", "trio", "--tail", "5"]),
    ("watch-once", ["dev.watch", "--once"]),
    ("watch-json", ["dev.watch", "--json"]),
]


@pytest.mark.parametrize(("name", "argv"), PIPE_CASES, ids=[c[0] for c in PIPE_CASES])
def test_the_reader_goes_away(name: str, argv: list[str], tmp_path: Path) -> None:
    """``| head -1``: quiet, 141 (before the fix `system.logs trio` printed each member thread's traceback)."""
    make_stack(tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        code, _out, err = inv(tmp_path, argv, stdout=write_end)
    finally:
        os.close(write_end)
    assert code == EXIT_BROKEN_PIPE, err
    assert "Traceback" not in err and "Error" not in err, err
    assert [line for line in err.splitlines() if line.strip()] == [], err


@pytest.mark.parametrize(("name", "argv"), PIPE_CASES, ids=[c[0] for c in PIPE_CASES])
def test_a_full_stdout(name: str, argv: list[str], tmp_path: Path) -> None:
    make_stack(tmp_path)
    with open("/dev/full", "wb") as full:
        code, _out, err = inv(tmp_path, argv, stdout=full)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert code == EXIT_CONFLICT, err
    assert lines == ["error: cannot write the output: No space left on device (fix: send the output where there is "
                     "room, e.g. a file on a disk with free space)"], err


# --------------------------------------------------------------------------
# system.exec: the command's own exit code (docs/exit-codes.md)

RUNNING_ROW = ('{"project":"mste2e-trio-node-a","service":"rest","name":"mste2e-trio-node-a-rest-1",'
               '"state":"running","status":"Up 1 minute","ports":""}')


@pytest.mark.parametrize("code", [0, 1, 2, 7, 141])
def test_system_exec_passes_the_commands_exit_code_through(code: int, tmp_path: Path) -> None:
    """Whatever CMD exits with, `system.exec` exits with, and adds no error line of its own."""
    make_stack(tmp_path)
    fake_bin(tmp_path)
    docker = tmp_path / "fakebin" / "docker"
    docker.write_text(docker.read_text().replace(
        'if [ "$1" = compose ]; then\n',
        'if [ "$1" = compose ]; then\n  case "$*" in *" exec -T rest "*) echo "ran in rest"; exit %d ;; esac\n' % code)
        .replace("case \"$1\" in\n", f"case \"$1\" in\n  ps) echo '{RUNNING_ROW}' ;;\n", 1))
    got, out, err = inv(tmp_path, ["system.exec", "trio", "NODE-A", "--", "sh", "-c", f"exit {code}"])
    assert got == code, err
    assert "ran in rest" in out
    assert "Traceback" not in err and "error:" not in err, err
