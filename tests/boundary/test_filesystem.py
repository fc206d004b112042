"""The file-system catalogue: containment, kinds, faults, terminals, pipes and dry runs.

Each case builds a small stack in tmp_path (instances 1 and 2 generated), damages
one thing (a symlinked or foreign instance folder, a file where a folder belongs,
a full disk, a closed stdin or stdout...), runs the real CLI, and checks: one line
on stderr starting ``error:`` with a ``(fix: ...)`` (none for a closed pipe, which
exits quietly), the code docs/exit-codes.md gives, no traceback, and the whole
tmp_path (the stack, the other instance, the folder a link points to) byte for
byte as it was. Cases that need an engine run ``inv`` in a subprocess with a fake
``docker`` and ``pm2`` that log every call: a refused ``clean`` must not have run
``down`` (nor anything else) at all.
"""
from __future__ import annotations

import errno
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from multistack.cli.program import build_program
from multistack.errors import EXIT_BROKEN_PIPE, EXIT_CONFLICT, EXIT_ENGINE, EXIT_NOT_HEALTHY, EXIT_USAGE
from multistack.io import writer
from tests.catalogue import COMPOSE, ENV, STACK, TASKS

MESH_SOURCE = Path(__file__).resolve().parents[1] / "e2e" / "mesh"

FAKE_DOCKER = """\
#!/bin/sh
# A stand-in for docker that logs every call; the engine answers "nothing running".
echo "docker $*" >> "$FAKE_LOG"
if [ "$1" = compose ]; then
  case "$2" in version) echo 2.40.3 ;; esac
  exit 0
fi
case "$1" in
  info) echo '{"ServerVersion": "24.0.7"}' ;;
  network) echo '{"Name": "bridge", "Driver": "bridge", "Scope": "local"}' ;;
esac
exit 0
"""
FAKE_PM2 = "#!/bin/sh\necho \"pm2 $*\" >> \"$FAKE_LOG\"\n[ \"$1\" = jlist ] && echo '[]'\nexit 0\n"

I1 = ".instances/instance-1"
I2 = ".instances/instance-2"


# --------------------------------------------------------------------------
# Damage (each a function of the stack's root, run after instances 1 and 2 are generated)


def link_instance_1_to_2(root: Path) -> None:
    shutil.rmtree(root / I1)
    (root / I1).symlink_to("instance-2")


def link_instances_elsewhere(root: Path) -> None:
    """.instances itself a symlink to a real folder elsewhere (holding a copy of the instances)."""
    other = root.parent / "elsewhere"
    shutil.move(str(root / ".instances"), other)
    (root / ".instances").symlink_to(other)


def link_file(name: str, target: str) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        path = root / I1 / name
        path.unlink(missing_ok=True)
        path.symlink_to(target)
    return damage


def outside_file(root: Path) -> None:
    (root.parent / "outside.env").write_text("KEEP=me\n")
    link_file("app.env", str(root.parent / "outside.env"))(root)


def copy_2_to_1(root: Path) -> None:
    shutil.rmtree(root / I1)
    shutil.copytree(root / I2, root / I1)


def other_project(root: Path) -> None:
    manifest = root / I1 / "instance.json"
    manifest.write_text(manifest.read_text().replace('"demo-dev-1"', '"shop-dev-1"'))


def file_at(rel: str) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        path = root / rel
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a file\n")
    return damage


def folder_at(rel: str) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        path = root / rel
        path.unlink(missing_ok=True)
        path.mkdir(parents=True)
        (path / "keep.txt").write_text("mine\n")
    return damage


def change_sources(root: Path) -> None:
    """A source change, so that init has every file to write."""
    (root / "app.env").write_text(ENV.replace("3000", "3999"))


def both(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        for step in steps:
            step(root)
    return damage


def mesh_stack(root: Path) -> None:
    """The e2e mesh stack in place of the instance stack (no env/.env yet)."""
    for child in list(root.iterdir()):
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    shutil.copytree(MESH_SOURCE, root, dirs_exist_ok=True)
    (root / "tasks.py").write_text(TASKS)
    (root / "env" / ".env").unlink(missing_ok=True)


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]
    code: int
    message: str  # a fragment of the one stderr line ("" for a quiet exit)
    damage: Callable[[Path], None] | None = None
    how: str = "in"  # "in": in-process; "sub": `inv` in a subprocess with the fake engine
    stdin: str = "devnull"  # sub: "closed", "devnull", "pipe", "pty-eof", "pty-no"
    stdout: str = "pipe"  # sub: "pipe", "closed" (a pipe whose reader is gone), "full" (/dev/full)
    fault: tuple[int, int] | None = None  # in: (errno, k): the k-th writing call of the writer fails
    no_engine_calls: bool = False  # sub: the fake docker and pm2 were not called at all
    quiet: bool = False  # nothing on stderr at all (a closed pipe)


SUB = {"how": "sub"}
CASES = [
    # ---- instance-1 a symlink to instance-2
    Case("link-init", ["dev", "1", "init"], EXIT_CONFLICT, "instance-1 is a symlink", link_instance_1_to_2),
    Case("link-init-force", ["dev", "1", "init", "--force"], EXIT_CONFLICT, "instance-1 is a symlink",
         link_instance_1_to_2),
    Case("link-init-stale", ["dev", "1", "init"], EXIT_CONFLICT, "instance-1 is a symlink",
         both(link_instance_1_to_2, change_sources)),
    Case("link-dry-init", ["--dry", "dev", "1", "init"], EXIT_CONFLICT, "instance-1 is a symlink", link_instance_1_to_2),
    Case("link-dry-clean", ["--dry", "dev", "1", "clean", "--yes"], EXIT_CONFLICT, "instance-1 is a symlink",
         link_instance_1_to_2),
    Case("link-clean", ["dev", "1", "clean", "--yes"], EXIT_CONFLICT, "instance-1 is a symlink", link_instance_1_to_2,
         no_engine_calls=True, **SUB),
    Case("link-clean-asked", ["dev", "1", "clean"], EXIT_CONFLICT, "instance-1 is a symlink", link_instance_1_to_2,
         no_engine_calls=True, **SUB),
    Case("link-clean-all", ["dev", "clean", "--all", "--yes"], EXIT_CONFLICT, "instance-1 is a symlink",
         link_instance_1_to_2, **SUB),
    Case("link-start", ["dev", "1", "start"], EXIT_CONFLICT, "instance-1 is a symlink", link_instance_1_to_2, **SUB),
    Case("link-start-shared", ["dev", "1", "start", "--shared"], EXIT_CONFLICT, "instance-1 is a symlink",
         link_instance_1_to_2, **SUB),
    Case("link-dangling", ["dev", "1", "init"], EXIT_CONFLICT, "instance-1 is a symlink",
         lambda root: (shutil.rmtree(root / I1), (root / I1).symlink_to("/nonexistent/instance"))),
    # ---- .instances itself a symlink
    Case("instances-link-init", ["dev", "3", "init"], EXIT_CONFLICT, ".instances is a symlink", link_instances_elsewhere),
    Case("instances-link-use", ["dev.use", "3"], EXIT_CONFLICT, ".instances is a symlink", link_instances_elsewhere),
    Case("instances-link-use-clear", ["dev.use", "--clear"], EXIT_CONFLICT, ".instances is a symlink",
         link_instances_elsewhere),
    Case("instances-link-clean", ["dev", "1", "clean", "--yes"], EXIT_CONFLICT, ".instances is a symlink",
         link_instances_elsewhere, no_engine_calls=True, **SUB),
    Case("instances-link-clean-all", ["dev", "clean", "--all", "--yes"], EXIT_CONFLICT, ".instances is a symlink",
         link_instances_elsewhere, **SUB),
    # ---- a generated file (or logs/, the mode file) a symlink
    Case("env-file-link", ["dev", "1", "init"], EXIT_CONFLICT, "instance.env is a symlink",
         both(link_file("instance.env", "../instance-2/instance.env"), change_sources)),
    Case("env-copy-link-outside", ["dev", "1", "init"], EXIT_CONFLICT, "app.env is a symlink",
         both(outside_file, change_sources)),
    Case("override-link", ["dev", "1", "init", "--force"], EXIT_CONFLICT, "docker-compose.override.yml is a symlink",
         link_file("docker-compose.override.yml", "../instance-2/docker-compose.override.yml")),
    Case("manifest-link", ["dev", "1", "init"], EXIT_CONFLICT, "instance.json is a symlink",
         link_file("instance.json", "../instance-2/instance.json")),
    Case("logs-link", ["dev", "1", "init"], EXIT_CONFLICT, "logs is a symlink", link_file("logs", "../instance-2")),
    Case("mode-link", ["dev", "1", "init"], EXIT_CONFLICT, "mode is a symlink", link_file("mode", "../instance-2/mode")),
    Case("logs-link-start", ["dev", "1", "start"], EXIT_CONFLICT, "logs is a symlink", link_file("logs", "../instance-2"),
         **SUB),
    Case("lock-folder-link", ["dev", "1", "init"], EXIT_CONFLICT, ".locks is a symlink",
         lambda root: (shutil.rmtree(root / ".instances" / ".locks"),
                       (root / ".instances" / ".locks").symlink_to(root / I2))),
    # ---- a foreign folder (copied or moved in)
    Case("foreign-init", ["dev", "1", "init"], EXIT_CONFLICT, "belongs to instance 2 of project demo-dev-2",
         copy_2_to_1),
    Case("foreign-clean", ["dev", "1", "clean", "--yes"], EXIT_CONFLICT, "belongs to instance 2", copy_2_to_1,
         no_engine_calls=True, **SUB),
    Case("foreign-clean-all", ["dev", "clean", "--all", "--yes"], EXIT_CONFLICT, "belongs to instance 2", copy_2_to_1,
         **SUB),
    Case("foreign-project", ["dev", "1", "init"], EXIT_CONFLICT, "of project shop-dev-1", other_project),
    Case("foreign-project-clean", ["dev", "1", "clean", "--yes"], EXIT_CONFLICT, "of project shop-dev-1",
         other_project, no_engine_calls=True, **SUB),
    # ---- a file where a folder belongs, a folder where a file belongs
    Case("instances-a-file", ["dev", "3", "init"], EXIT_CONFLICT, ".instances is a file where a folder belongs",
         file_at(".instances")),
    Case("instances-a-file-use", ["dev.use", "3"], EXIT_CONFLICT, ".instances is a file where a folder belongs",
         file_at(".instances")),
    Case("instance-a-file", ["dev", "1", "init"], EXIT_CONFLICT, "instance-1 is a file where a folder belongs",
         file_at(I1)),
    Case("instance-a-file-clean", ["dev", "1", "clean", "--yes"], EXIT_CONFLICT, "is a file where a folder belongs",
         file_at(I1), no_engine_calls=True, **SUB),
    Case("locks-a-file", ["dev", "1", "init"], EXIT_CONFLICT, ".locks is a file where a folder belongs",
         file_at(".instances/.locks")),
    Case("logs-a-file", ["dev", "1", "init"], EXIT_CONFLICT, "logs is a file where a folder belongs",
         file_at(f"{I1}/logs")),
    Case("env-a-folder", ["dev", "1", "init"], EXIT_CONFLICT, "instance.env is a folder where a file belongs",
         both(folder_at(f"{I1}/instance.env"), change_sources)),
    Case("copy-a-folder", ["dev", "1", "init"], EXIT_CONFLICT, "app.env is a folder where a file belongs",
         folder_at(f"{I1}/app.env")),
    Case("mode-a-folder", ["dev", "1", "init"], EXIT_CONFLICT, "mode is a folder where a file belongs",
         folder_at(f"{I1}/mode")),
    Case("default-a-folder", ["dev.use", "3"], EXIT_CONFLICT, ".default-instance is a folder where a file belongs",
         folder_at(".instances/.default-instance")),
    # ---- the disk full, read-only, failing (the writer's k-th writing call fails)
    Case("enospc-first-write", ["dev", "1", "init"], EXIT_CONFLICT, "No space left on device", change_sources,
         fault=(errno.ENOSPC, 1)),
    Case("enospc-mid-staging", ["dev", "1", "init"], EXIT_CONFLICT, "No space left on device", change_sources,
         fault=(errno.ENOSPC, 6)),
    Case("enospc-new-instance", ["dev", "3", "init"], EXIT_CONFLICT, "No space left on device", fault=(errno.ENOSPC, 2)),
    Case("erofs", ["dev", "1", "init"], EXIT_CONFLICT, "Read-only file system", change_sources, fault=(errno.EROFS, 1)),
    Case("eacces", ["dev", "1", "init"], EXIT_CONFLICT, "(fix: make", change_sources, fault=(errno.EACCES, 1)),
    Case("edquot", ["dev", "1", "init"], EXIT_CONFLICT, "quota exceeded", change_sources, fault=(errno.EDQUOT, 3)),
    Case("eio", ["dev", "1", "init"], EXIT_CONFLICT, "Input/output error", change_sources, fault=(errno.EIO, 2)),
    Case("enospc-default", ["dev.use", "3"], EXIT_CONFLICT, "cannot write .instances/.default-instance",
         fault=(errno.ENOSPC, 1)),
    # ---- terminals: stdin closed, a pipe, /dev/null, Ctrl-D or "n" at the prompt
    Case("clean-stdin-closed", ["dev", "1", "clean"], EXIT_USAGE, "stdin is not a terminal", stdin="closed", **SUB),
    Case("clean-stdin-pipe", ["dev", "1", "clean"], EXIT_USAGE, "stdin is not a terminal", stdin="pipe", **SUB),
    Case("clean-stdin-devnull", ["dev", "1", "clean"], EXIT_USAGE, "stdin is not a terminal", **SUB),
    Case("clean-all-stdin-closed", ["dev", "clean", "--all"], EXIT_USAGE, "stdin is not a terminal", stdin="closed",
         **SUB),
    Case("clean-eof-at-prompt", ["dev", "1", "clean"], EXIT_USAGE, "cancelled (no answer)", stdin="pty-eof", **SUB),
    Case("clean-no-at-prompt", ["dev", "1", "clean"], EXIT_USAGE, "cancelled", stdin="pty-no", **SUB),
    Case("infra-down-stdin-closed", ["dev.infra-down", "--volumes"], EXIT_USAGE, "stdin is not a terminal",
         stdin="closed", **SUB),
    # ---- pipes: the reader gone (quiet, 141), stdout on /dev/full (one line, 4)
    Case("info-closed-pipe", ["dev", "1", "info"], EXIT_BROKEN_PIPE, "", stdout="closed", quiet=True, **SUB),
    Case("ports-closed-pipe", ["dev", "1", "ports"], EXIT_BROKEN_PIPE, "", stdout="closed", quiet=True, **SUB),
    Case("status-all-closed-pipe", ["dev", "status", "--all"], EXIT_NOT_HEALTHY, "instance 1 is down",
         stdout="closed", **SUB),  # the verdict (6) wins over the closed pipe, and nothing more is said
    Case("list-closed-pipe", ["--list"], EXIT_BROKEN_PIPE, "", stdout="closed", quiet=True, **SUB),
    Case("info-full", ["dev", "1", "info"], EXIT_CONFLICT, "cannot write the output: No space left", stdout="full",
         **SUB),
    Case("ports-json-full", ["dev", "1", "ports", "--json"], EXIT_CONFLICT, "cannot write the output", stdout="full",
         **SUB),
    Case("list-full", ["--list"], EXIT_CONFLICT, "cannot write the output", stdout="full", **SUB),
    # ---- side effects after the engine checks
    Case("mesh-up-no-engine", ["mesh.up", "--env", "local"], EXIT_ENGINE, "not found", mesh_stack, **SUB),
]


def snapshot(top: Path) -> dict[str, tuple[str, Any, int]]:
    """Every file, folder and link under ``top`` (links not followed): kind, bytes or target, mode."""
    state: dict[str, tuple[str, Any, int]] = {}
    for folder, dirs, files in os.walk(top, followlinks=False):
        for name in dirs + files:
            path = Path(folder) / name
            info = path.lstat()
            if path.is_symlink():
                state[str(path.relative_to(top))] = ("link", os.readlink(path), 0)
            elif path.is_dir():
                state[str(path.relative_to(top))] = ("dir", None, info.st_mode)
            else:
                state[str(path.relative_to(top))] = ("file", path.read_bytes(), info.st_mode)
    return state


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        build_program().run(["multistack", *argv], exit=True)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


class FailingOs:
    """``os`` for the writer: its ``at``-th writing call fails with ``number``."""

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


def fake_bin(tmp_path: Path) -> Path:
    fake = tmp_path / "fakebin"
    fake.mkdir(exist_ok=True)
    for name, text in (("docker", FAKE_DOCKER), ("pm2", FAKE_PM2)):
        (fake / name).write_text(text)
        (fake / name).chmod(0o755)
    for name in ("sh", "bash", "cat", "head"):
        found = shutil.which(name)
        if found and not (fake / name).exists():
            (fake / name).symlink_to(found)
    (fake / "inv").symlink_to(Path(sys.executable).parent / "inv")
    return fake


def in_subprocess(case: Case, root: Path, tmp_path: Path) -> tuple[int, str, str, str]:
    fake = fake_bin(tmp_path)
    log = tmp_path / "engine.log"
    env = {"PATH": str(fake), "HOME": str(tmp_path / "home"), "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8",
           "FAKE_LOG": str(log), "MULTISTACK_OWN_TOOLS": "off", "PM2_HOME": str(tmp_path / "pm2"),
           "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    argv = [str(fake / "inv"), *case.argv]
    if case.id == "mesh-up-no-engine":
        (fake / "docker").unlink()  # no engine at all
    if case.stdin.startswith("pty"):
        code, out, err = _in_pty(argv, root, env, "\x04" if case.stdin == "pty-eof" else "n\n")
        return code, out, err, log.read_text() if log.exists() else ""
    stdin: Any = {"devnull": subprocess.DEVNULL, "pipe": None, "closed": None}[case.stdin]
    stdout: Any = subprocess.PIPE
    closers: list[int] = []
    if case.stdout == "closed":
        read_end, write_end = os.pipe()
        os.close(read_end)
        stdout = write_end
        closers.append(write_end)
    elif case.stdout == "full":
        stdout = open("/dev/full", "wb")  # noqa: SIM115
    preexec = (lambda: os.close(0)) if case.stdin == "closed" else None
    proc = subprocess.run(argv, cwd=root, env=env, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                          input=b"y\n" if case.stdin == "pipe" else None, preexec_fn=preexec, timeout=60)
    for fd in closers:
        os.close(fd)
    if case.stdout == "full":
        stdout.close()
    out = proc.stdout.decode() if isinstance(proc.stdout, bytes) else ""
    return proc.returncode, out, proc.stderr.decode(), log.read_text() if log.exists() else ""


def _in_pty(argv: list[str], root: Path, env: dict[str, str], answer: str) -> tuple[int, str, str]:
    """Run with a terminal as stdin (a pty); answer once the question is on stdout (input() prints
    it there when stdout is not a terminal)."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(argv, cwd=root, env=env, stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(secondary)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    seen = b""
    while b"[y/N]" not in seen and time.monotonic() < deadline and proc.poll() is None:
        ready, _w, _x = select.select([proc.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
    os.write(primary, answer.encode())
    out, err = proc.communicate(timeout=30)
    os.close(primary)
    return proc.returncode, (seen + out).decode(), err.decode()


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    """A stack with instances 1 and 2 generated (and instance 2 remembering a mode, with logs/)."""
    root = tmp_path / "stack"
    root.mkdir()
    for name, text in (("stack.yaml", STACK), ("compose.yml", COMPOSE), ("app.env", ENV), ("tasks.py", TASKS)):
        (root / name).write_text(text)
    monkeypatch.chdir(root)
    for name in ("MULTISTACK_FILE", "MULTISTACK_INSTANCE"):
        monkeypatch.delenv(name, raising=False)
    for n in (1, 2):
        code, _out, err = cli(["dev", str(n), "init"], capsys)
        assert code == 0, err
    (root / I2 / "mode").write_text("isolated\n")
    (root / I2 / "logs").mkdir()
    (root / I2 / "logs" / "api-2.log").write_text("instance 2's log\n")
    return root


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_filesystem(case: Case, stack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    root = stack
    if case.damage:
        case.damage(root)
    instance_2 = snapshot(root / I2) if (root / I2).is_dir() and not (root / ".instances").is_symlink() else None
    before = snapshot(tmp_path)
    log = ""
    if case.how == "in":
        if case.fault:
            monkeypatch.setattr(writer, "os", FailingOs(*case.fault))
        code, out, err = cli(case.argv, capsys)
        monkeypatch.setattr(writer, "os", os)
    else:
        code, out, err, log = in_subprocess(case, root, tmp_path)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in out + err, err
    assert code == case.code, (code, err)
    if case.quiet:
        assert lines == [], err
    else:
        assert len(lines) == 1, err
        assert lines[0].startswith("error: ") and "(fix: " in lines[0], lines[0]
        assert case.message in lines[0], lines[0]
    after = snapshot(tmp_path)
    for noise in ("engine.log", "fakebin", "home", "pm2"):  # the fake engine's own files
        after = {k: v for k, v in after.items() if not k.startswith(noise)}
        before = {k: v for k, v in before.items() if not k.startswith(noise)}
    # filelock leaves its (empty) lock file by design: the one of a first command on an instance
    after = {k: v for k, v in after.items() if k in before or not (k.startswith("stack/.instances/.locks/")
                                                                    and k.endswith(".lock") and v[1] == b"")}
    assert after == before, sorted(set(after.items()) ^ set(before.items()))[:4]
    if instance_2 is not None:
        assert snapshot(root / I2) == instance_2  # the OTHER instance, byte for byte
    if case.no_engine_calls:
        assert log == "", log  # refused before anything ran: no pm2 delete, no `down -v`
    assert "down" not in log or "-v" not in log and "--volumes" not in log, log


def test_the_catalogue_is_big_enough() -> None:
    families = {"link": 0, "foreign": 0, "kind": 0, "fault": 0, "terminal": 0, "pipe": 0}
    for case in CASES:
        if case.fault:
            families["fault"] += 1
        elif case.stdout != "pipe":
            families["pipe"] += 1
        elif case.stdin != "devnull" or "stdin" in case.id:
            families["terminal"] += 1
        elif "foreign" in case.id:
            families["foreign"] += 1
        elif "a-file" in case.id or "a-folder" in case.id:
            families["kind"] += 1
        else:
            families["link"] += 1
    assert len(CASES) >= 45 and all(n >= 4 for n in families.values()), families


def test_every_code_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "exit-codes.md").read_text()
    for code in {case.code for case in CASES}:
        assert f"| {code} |" in doc, code
