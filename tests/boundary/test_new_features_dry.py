"""``inv --dry`` of every command of the four newer features writes nothing, in the stack or the router's folder.

tests/boundary/test_dry_writes_nothing.py runs every task bare on two stacks; this file adds
the words that reach the newer commands' own work - a member, ``--tail``, ``--json``,
``--follow``, ``exec -- CMD``, ``down --volumes --yes``, ``dev.watch --once``, and ``start``,
``stop``, ``restart`` and ``clean`` of a stack with ``router:`` - on the stack of
tests/boundary/test_new_features_input.py, fresh and after a real (fake-engine) start of
instance 1 and ``system.up trio`` (route files, the router's config and compose file, the
system's files all there). The whole tmp_path, the router's folder included, must be byte
for byte as it was, with no traceback; a refusal is fine.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from multistack.cli.program import build_program
from tests.boundary.test_new_features_faults import inv, make_stack, tree

INVOCATIONS = [
    ["system.logs", "trio"], ["system.logs", "trio", "NODE-A"], ["system.logs", "trio", "NODE-A", "--tail", "5"],
    ["system.logs", "trio", "--json"], ["system.logs", "trio", "NODE-B", "--follow"],
    ["system.restart", "trio"], ["system.restart", "trio", "node-c"],
    ["system.exec", "trio", "NODE-A", "--", "sh", "-c", "echo hi > /tmp/x"],
    ["system.exec", "trio", "NODE-A", "--service", "mq", "--", "true"],
    ["system.down", "trio", "--volumes", "--yes"], ["system.down", "trio"], ["system.up", "trio"],
    ["dev.watch"], ["dev.watch", "--once"], ["dev.watch", "--json"], ["dev.watch", "--once", "--interval", "2"],
    ["dev", "1", "start"], ["dev", "2", "start"], ["dev", "1", "stop"], ["dev", "1", "restart"],
    ["dev", "1", "clean", "--yes"], ["dev", "clean", "--all", "--yes"], ["dev", "stop", "--all"],
    ["dev", "1", "info"], ["dev", "1", "ports", "--json"],
]


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stack whose instance 1 and system trio were started once (a fake engine), with its router folder."""
    top = tmp_path_factory.mktemp("started")
    make_stack(top)
    for argv in (["dev", "1", "start"], ["system.up", "trio"]):
        code, _out, err = inv(top, argv)
        assert code == 0, err
    assert (top / "router" / "routes").is_dir() and (top / "stack" / ".instances" / "system-trio").is_dir()
    return top


@pytest.mark.parametrize("state", ["fresh", "started"])
@pytest.mark.parametrize("argv", INVOCATIONS, ids=" ".join)
def test_dry_writes_nothing(argv: list[str], state: str, tmp_path: Path, request: pytest.FixtureRequest,
                            monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    if state == "fresh":
        make_stack(tmp_path)
    else:
        source: Path = request.getfixturevalue("started")
        for name in ("stack", "router"):
            shutil.copytree(source / name, tmp_path / name, symlinks=True)
        for path in (tmp_path / "router").rglob("*"):  # the copy's route file names the copy's stack
            if path.suffix == ".json":
                path.write_text(path.read_text().replace(str(source), str(tmp_path)))
    monkeypatch.chdir(tmp_path / "stack")
    for name in ("MULTISTACK_FILE", "MULTISTACK_INSTANCE", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MULTISTACK_ROUTER_HOME", str(tmp_path / "router"))
    monkeypatch.setattr(sys, "stdin", None)  # nobody answers a prompt
    before = tree(tmp_path)
    try:
        build_program().run(["multistack", "--dry", *argv], exit=True)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, out + err
    assert tree(tmp_path) == before, (code, out + err)
    assert code in (0, 1, 2, 3, 4, 5, 6), (code, out + err)
    if argv[0] == "dev" and argv[-1] in ("start", "stop") and state == "started" and code == 0:
        assert "would write" in out or "compose" in out  # it reached the router's step, and only said so
