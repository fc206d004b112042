"""Parallel git worktrees (issue 15): three checkouts of one repository claim three numbers (three claims
made at the same moment), start side by side on real containers and PM2, and ``inv dev.claims --json`` shows
them running; a removed worktree's claim is stale and ``--prune --yes`` releases it and cleans its instance.

The test stack is made a git repository in tmp_path, its ports moved to 39000-39999 (this test's range).
Everything is removed afterwards (the ``e2e`` fixture: every container, volume and network of the project,
and the test's own PM2 daemon), even on failure.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.claimsrepo import add_worktree, git
from tests.e2e.conftest import BASE_PORTS, STRIDE, E2EStack, Result

SCHEMAS = Path(__file__).resolve().parents[2] / "multistack" / "schema" / "output"
#: This test's ports: the stack's 1800x base ports moved to 3900x (instances 0-9: 39000-39903).
MOVED = {port: 39000 + port - 18000 for port in BASE_PORTS.values()}


def port(service: str, n: int) -> int:
    return MOVED[BASE_PORTS[service]] + n * STRIDE


def make_repository(e2e: E2EStack) -> None:
    """The e2e copy of the stack, its ports moved, committed as a git repository."""
    for name in ("stack.yaml", "compose.yml", "api.env", "admin.env"):
        path = e2e.root / name
        text = path.read_text()
        for old, new in MOVED.items():
            text = text.replace(str(old), str(new))
        path.write_text(text)
    (e2e.root / ".gitignore").write_text(".instances/\n__pycache__/\n")
    git(e2e.root, "init", "-q", "-b", "main")
    git(e2e.root, "add", "-A")
    git(e2e.root, "commit", "-q", "-m", "stack")


def inv(e2e: E2EStack, cwd: Path, *words: str, timeout: float = 180) -> Result:
    done = subprocess.run([sys.executable, "-m", "invoke", *words], cwd=cwd, env=e2e.env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return Result(["inv", *words], done.returncode, done.stdout, done.stderr)


def ok(result: Result) -> Result:
    assert result.rc == 0, str(result)
    return result


def claims_json(e2e: E2EStack, cwd: Path) -> dict:
    data = json.loads(ok(inv(e2e, cwd, "dev.claims", "--json")).stdout)
    jsonschema.validate(data, json.loads((SCHEMAS / "dev.claims.json").read_text()))
    return data


@pytest.fixture
def trees(e2e: E2EStack, tmp_path: Path) -> list[Path]:
    make_repository(e2e)
    return [e2e.root, add_worktree(e2e.root, tmp_path / "wt1"), add_worktree(e2e.root, tmp_path / "wt2")]


def test_three_worktrees_claim_start_list_and_prune(e2e: E2EStack, trees: list[Path], tmp_path: Path) -> None:
    # Three claims at the same moment, one per worktree: three different numbers.
    procs = [subprocess.Popen([sys.executable, "-m", "invoke", "dev.claim", "--json"], cwd=tree, env=e2e.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
             for tree in trees]
    answers = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], answers
    schema = json.loads((SCHEMAS / "dev.claim.json").read_text())
    claimed = {}
    for tree, (out, _) in zip(trees, answers):
        data = json.loads(out)
        jsonschema.validate(data, schema)
        assert data["checkout"] == str(tree.resolve()) and data["new"] and data["written"]
        claimed[tree] = data["instance"]
    assert sorted(claimed.values()) == [0, 1, 2]
    registry = Path(git(e2e.root, "rev-parse", "--path-format=absolute", "--git-common-dir")) / "multistack" / "claims.json"
    assert registry.is_file()

    # wt2 gives its number back; its first `inv dev start` claims again and says which number it got.
    wt2 = trees[2]
    ok(inv(e2e, wt2, "dev.release"))
    started = ok(inv(e2e, wt2, "dev", "start"))
    assert f"claimed instance {claimed[wt2]} for this checkout ({wt2.resolve()})" in started.stdout

    # Another checkout's number: start refuses (exit 4, one line), before anything runs.
    refused = inv(e2e, wt2, "dev", str(claimed[trees[0]]), "start")
    assert refused.rc == 4 and refused.stderr.strip().startswith(f"error: instance {claimed[trees[0]]} is claimed by"), \
        str(refused)

    # The two others start with no N: each uses its claim. All three run side by side.
    for tree in trees[:2]:
        ok(inv(e2e, tree, "dev", "start"))
    for tree, n in claimed.items():
        assert e2e.fetch(port("web", n)) == f"web {n}", tree
        assert e2e.fetch(port("api", n)) == f"api {n}", tree

    data = claims_json(e2e, trees[0])
    assert {(c["instance"], c["checkout"], c["state"]) for c in data["claims"]} == \
        {(n, str(tree.resolve()), "running") for tree, n in claimed.items()}
    assert all(c["ports"]["web"] == port("web", c["instance"]) for c in data["claims"])

    # Read commands never write the registry, even with everything running.
    before = os.stat(registry)
    for tree in trees:
        for words in (("dev.claims",), ("dev.claims", "--json"), ("dev", "info"), ("dev", "status")):
            assert inv(e2e, tree, *words).rc == 0, words
    after = os.stat(registry)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

    # wt1 is removed while its instance runs: its claim is stale, and --prune releases it, saying how to clean.
    wt1, gone = trees[1], claimed[trees[1]]
    git(e2e.root, "worktree", "remove", "--force", str(wt1))
    states = {c["instance"]: c["state"] for c in claims_json(e2e, trees[0])["claims"]}
    assert states == {claimed[trees[0]]: "running", gone: "stale", claimed[wt2]: "running"}
    pruned = ok(inv(e2e, trees[0], "dev.claims", "--prune"))
    assert f"released instance {gone}" in pruned.stdout and f"`inv dev {gone} clean --yes`" in pruned.stdout, \
        str(pruned)
    data = claims_json(e2e, wt2)
    assert data["pruned"] == [] and sorted(c["instance"] for c in data["claims"]) == sorted([claimed[trees[0]],
                                                                                            claimed[wt2]])
    assert e2e.fetch(port("web", gone)) == f"web {gone}"  # released, not cleaned: it still runs

    # Its number is free in the registry but in use on the engine by something with no claim: a new
    # worktree's claim skips it.
    wt3 = add_worktree(e2e.root, tmp_path / "wt3")
    fresh = json.loads(ok(inv(e2e, wt3, "dev.claim", "--json")).stdout)["instance"]
    assert fresh == 3, (fresh, claimed)
    ok(inv(e2e, trees[0], "dev", str(gone), "clean", "--yes"))  # the command --prune named
    assert e2e.containers(gone) == [] and not [a for a in e2e.apps() if a.endswith(f"-{gone}")]

    # --prune --yes: a gone worktree's claim released and its instance cleaned, the others untouched.
    ok(inv(e2e, wt3, "dev", "start"))
    assert e2e.fetch(port("web", fresh)) == f"web {fresh}"
    git(e2e.root, "worktree", "remove", "--force", str(wt3))
    pruned = ok(inv(e2e, trees[0], "dev.claims", "--prune", "--yes", "--json"))  # stdout: the JSON alone
    data = json.loads(pruned.stdout)
    jsonschema.validate(data, json.loads((SCHEMAS / "dev.claims.json").read_text()))
    assert data["pruned"] == [fresh] and f"released instance {fresh}" in pruned.stderr, str(pruned)
    assert e2e.containers(fresh) == [] and not [a for a in e2e.apps() if a.endswith(f"-{fresh}")]
    assert e2e.fetch(port("web", claimed[wt2])) == f"web {claimed[wt2]}"  # the others keep running
    assert sorted(c["instance"] for c in claims_json(e2e, wt2)["claims"]) == sorted([claimed[trees[0]],
                                                                                    claimed[wt2]])

    for tree in (trees[0], wt2):
        ok(inv(e2e, tree, "dev", "clean", "--yes"))
    assert e2e.containers() == []
