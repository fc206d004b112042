"""Claiming instance numbers per checkout: the lowest free one, what the engine and the ports say,
what ``inv dev`` does with claims (settle), --dry, and claims made at the same moment."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from invoke import Config, Context

from multistack.act import claims
from multistack.act.options import DevCommand, Options
from multistack.errors import ConflictError
from multistack.io.claims import place_of, read_registry
from multistack.io.status import AppState, InstanceState
from multistack.model.stack import load_stack
from tests.claimsrepo import BASE_PORT, add_worktree, git, git_repo

ROOT = Path(__file__).resolve().parents[2]


def ctx(dry: bool = False) -> Context:
    return Context(Config(overrides={"run": {"dry": dry}}))


def running(n: int) -> InstanceState:
    return InstanceState(n, f"wt-dev-{n}", apps=[AppState(f"wt-api-{n}", "online", 1, 0)])


@pytest.fixture
def trees(tmp_path: Path) -> tuple[Path, Path, Path]:
    repo = git_repo(tmp_path / "repo")
    return repo, add_worktree(repo, tmp_path / "wt1"), add_worktree(repo, tmp_path / "wt2")


def stack_of(tree: Path):  # type: ignore[no-untyped-def]
    return load_stack(tree / "stack.yaml")


def test_checkouts_claim_the_lowest_free_numbers_and_a_repeat_is_the_same(trees) -> None:
    got = [claims.claim(ctx(), stack_of(t), None).claim.instance for t in trees]
    assert got == [0, 1, 2]
    again = claims.claim(ctx(), stack_of(trees[1]), None)
    assert (again.claim.instance, again.new, again.written) == (1, False, False)
    assert claims.own_claim(stack_of(trees[2])) == 2


def test_a_number_in_use_on_the_engine_without_a_claim_is_skipped_unless_this_checkout_made_it(trees) -> None:
    repo = trees[0]
    view = lambda: {0: running(0), 1: running(1)}  # noqa: E731
    assert claims.claim(ctx(), stack_of(repo), None, view).claim.instance == 2
    claims.release(ctx(), stack_of(repo))
    (repo / ".instances" / "instance-1").mkdir(parents=True)
    (repo / ".instances" / "instance-1" / "instance.json").write_text("{}")  # this checkout's own instance 1
    assert claims.claim(ctx(), stack_of(repo), None, view).claim.instance == 1


def test_a_number_whose_port_is_held_is_skipped(trees) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", BASE_PORT))
        sock.listen()
        assert claims.claim(ctx(), stack_of(trees[0]), None).claim.instance == 1
        with pytest.raises(ConflictError, match=rf"instance 0 cannot be claimed: port {BASE_PORT} \(api\)"):
            claims.claim(ctx(), stack_of(trees[1]), 0)


def test_a_named_number_another_checkout_holds_is_refused_even_with_force(trees) -> None:
    claims.claim(ctx(), stack_of(trees[0]), 3)
    with pytest.raises(ConflictError, match="instance 3 is claimed by another checkout, .*repo"):
        claims.claim(ctx(), stack_of(trees[1]), 3, force=True)


def test_a_named_number_busy_on_the_engine_needs_force(trees) -> None:
    view = lambda: {2: running(2)}  # noqa: E731
    with pytest.raises(ConflictError, match="in use on the engine"):
        claims.claim(ctx(), stack_of(trees[0]), 2, view)
    assert claims.claim(ctx(), stack_of(trees[0]), 2, view, force=True).claim.instance == 2


def test_a_second_claim_of_another_number_is_refused(trees) -> None:
    claims.claim(ctx(), stack_of(trees[0]), 1)
    with pytest.raises(ConflictError, match="holds instance 1 already"):
        claims.claim(ctx(), stack_of(trees[0]), 2)


def test_no_free_number_says_how_to_get_one(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", "project: wt\ninstances: 0-0\nservices:\n  api: {port: BASE}\n")
    wt = add_worktree(repo, tmp_path / "wt")
    claims.claim(ctx(), stack_of(repo), None)
    with pytest.raises(ConflictError, match=r"no free instance number in 0-0") as info:
        claims.claim(ctx(), stack_of(wt), None)
    assert "--prune" in info.value.hint


def test_dry_claim_release_and_prune_write_nothing(trees, capsys) -> None:
    repo, wt1, _ = trees
    registry = place_of(stack_of(repo)).registry
    outcome = claims.claim(ctx(dry=True), stack_of(repo), None)
    assert (outcome.claim.instance, outcome.written) == (0, False)
    assert not registry.parent.exists()
    assert "would write" in capsys.readouterr().out
    claims.claim(ctx(), stack_of(wt1), None)
    before = registry.read_bytes(), os.stat(registry).st_mtime_ns
    assert claims.release(ctx(dry=True), stack_of(wt1)).written is False
    git(repo, "worktree", "remove", "--force", str(wt1))
    stale, written = claims.prune(ctx(dry=True), stack_of(repo))
    assert ([s.instance for s in stale], written) == ([0], False)
    assert (registry.read_bytes(), os.stat(registry).st_mtime_ns) == before


def test_release_and_prune(trees) -> None:
    repo, wt1, wt2 = trees
    for tree in trees:
        claims.claim(ctx(), stack_of(tree), None)
    assert claims.release(ctx(), stack_of(wt2)).claim.instance == 2
    assert claims.release(ctx(), stack_of(wt2)) is None
    git(repo, "worktree", "remove", "--force", str(wt1))
    rows = claims.rows(stack_of(repo), {0: running(0)})
    assert [(r["instance"], r["state"], r["mine"]) for r in rows] == [(0, "running", True), (1, "stale", False)]
    stale, written = claims.prune(ctx(), stack_of(repo))
    assert ([s.instance for s in stale], written) == ([1], True)
    assert [c.instance for c in read_registry(place_of(stack_of(repo))).claims] == [0]


# --------------------------------------------------------------------------
# settle: what `inv dev` does with claims


def test_first_start_in_an_unclaimed_checkout_claims_the_lowest_free_number(trees, capsys) -> None:
    repo, wt1, _ = trees
    claims.claim(ctx(), stack_of(repo), None)
    command = claims.settle(ctx(), stack_of(wt1), DevCommand("start", 0, source="first"), Options(), dict)
    assert (command.instance, command.source) == (1, "claim")
    assert "claimed instance 1 for this checkout" in capsys.readouterr().out
    assert claims.own_claim(stack_of(wt1)) == 1


def test_start_of_a_named_free_number_claims_it(trees) -> None:
    command = claims.settle(ctx(), stack_of(trees[1]), DevCommand("start", 3), Options(), dict)
    assert command.instance == 3 and claims.own_claim(stack_of(trees[1])) == 3


def test_another_checkouts_number_warns_and_start_restart_clean_refuse_without_force(trees, capsys) -> None:
    repo, wt1, _ = trees
    claims.claim(ctx(), stack_of(repo), 0)
    claims.claim(ctx(), stack_of(wt1), 1)
    for action in ("start", "restart", "clean"):
        with pytest.raises(ConflictError, match="instance 0 is claimed by another checkout"):
            claims.settle(ctx(), stack_of(wt1), DevCommand(action, 0), Options(), dict)
    assert claims.settle(ctx(), stack_of(wt1), DevCommand("start", 0), Options(force=True), dict).instance == 0
    assert claims.settle(ctx(), stack_of(wt1), DevCommand("status", 0), Options(), dict).instance == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [f"warning: instance 0 is claimed by another checkout, {repo.resolve()}"] * 2


def test_outside_git_start_claims_nothing(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(f"project: wt\ninstances: 0-4\nservices:\n  api: {{port: {BASE_PORT}}}\n")
    stack = load_stack(tmp_path / "stack.yaml")
    assert claims.settle(ctx(), stack, DevCommand("start", 0, source="first"), Options(), dict).instance == 0
    assert not (tmp_path / ".instances").exists()


def test_read_actions_never_ask_the_engine(trees) -> None:
    def no_engine():  # type: ignore[no-untyped-def]
        raise AssertionError("the engine was asked")

    claims.claim(ctx(), stack_of(trees[0]), None)
    claims.settle(ctx(), stack_of(trees[1]), DevCommand("info", 0, source="first"), Options(), no_engine)


# --------------------------------------------------------------------------
# at the same moment

CLAIMER = textwrap.dedent("""\
    import sys, time
    from pathlib import Path
    from invoke import Context
    from multistack.act.claims import claim
    from multistack.model.stack import load_stack
    go = Path(sys.argv[2])
    while not go.exists():
        time.sleep(0.001)
    print(claim(Context(), load_stack(Path(sys.argv[1]) / "stack.yaml"), None).claim.instance)
""")


def test_checkouts_claiming_at_the_same_moment_get_different_numbers(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    trees = [repo] + [add_worktree(repo, tmp_path / f"wt{i}") for i in range(1, 5)]
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", CLAIMER, str(t), str(go)], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True) for t in trees]
    go.touch()  # all five are waiting: released together
    numbers = sorted(int(p.communicate(timeout=60)[0]) for p in procs)
    assert numbers == [0, 1, 2, 3, 4]
    assert sorted(c.instance for c in read_registry(place_of(stack_of(repo))).claims) == numbers
