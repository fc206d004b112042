"""The claim registry on disk: found where git keeps what worktrees share, read without writing, replaced atomically."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from multistack.errors import ConflictError, StackError
from multistack.io import claims as io
from multistack.model.claims import Claim, Registry
from multistack.model.stack import load_stack
from tests.claimsrepo import add_worktree, git, git_repo


def _claim(n: int, checkout: str, key: str = "wt:stack.yaml") -> Claim:
    return Claim(key, n, checkout, "2026-12-01T00:00:00Z")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return git_repo(tmp_path / "repo")


def test_git_dirs_match_git_itself_in_main_checkout_worktree_and_subfolder(repo: Path, tmp_path: Path) -> None:
    wt = add_worktree(repo, tmp_path / "wt")
    (wt / "sub").mkdir()
    for start in (repo, wt, wt / "sub"):
        top, common = io.git_dirs(start)
        assert top == Path(git(start, "rev-parse", "--show-toplevel")).resolve()
        assert common == (start / git(start, "rev-parse", "--git-common-dir")).resolve()
    assert io.git_dirs(wt)[1] == io.git_dirs(repo)[1] == (repo / ".git").resolve()


def test_outside_git_the_registry_is_the_stacks_own(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text("project: wt\ninstances: 0-4\nservices:\n  api: {port: 39500}\n")
    place = io.place_of(load_stack(tmp_path / "stack.yaml"))
    assert (place.in_git, place.checkout, place.key) == (False, tmp_path.resolve(), "wt:stack.yaml")
    assert place.registry == tmp_path.resolve() / ".instances" / "claims.json"


def test_every_worktree_shares_one_registry_keyed_by_project_and_stack_path(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", stack_dir="services/shop")
    wt = add_worktree(repo, tmp_path / "wt")
    main = io.place_of(load_stack(repo / "services/shop/stack.yaml"))
    other = io.place_of(load_stack(wt / "services/shop/stack.yaml"))
    assert main.registry == other.registry == (repo / ".git" / "multistack" / "claims.json").resolve()
    assert main.key == other.key == "wt:services/shop/stack.yaml"
    assert (main.checkout, other.checkout) == (repo.resolve(), wt.resolve())


def test_write_then_read_and_an_unchanged_registry_is_not_rewritten(repo: Path) -> None:
    place = io.place_of(load_stack(repo / "stack.yaml"))
    registry = Registry((_claim(2, "/b"), _claim(0, "/a")))
    with io.registry_lock(place):
        assert io.write_registry(place, registry) is True
    before = os.stat(place.registry)
    with io.registry_lock(place):
        assert io.write_registry(place, Registry(tuple(reversed(registry.claims)))) is False  # same claims, same bytes
    after = os.stat(place.registry)
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert io.read_registry(place) == Registry((_claim(0, "/a"), _claim(2, "/b")))


def test_reading_creates_nothing(repo: Path) -> None:
    place = io.place_of(load_stack(repo / "stack.yaml"))
    assert io.read_registry(place) == Registry()
    assert not place.registry.parent.exists()


def test_a_damaged_registry_is_one_line_naming_it(repo: Path) -> None:
    place = io.place_of(load_stack(repo / "stack.yaml"))
    place.registry.parent.mkdir()
    place.registry.write_text('{"version": 1, "claims": [')
    with pytest.raises(StackError, match=r"claim registry .*claims.json is damaged: not JSON") as info:
        io.read_registry(place)
    assert "mv " in info.value.hint


def test_temp_files_of_killed_writers_are_removed_by_the_next_write(repo: Path) -> None:
    place = io.place_of(load_stack(repo / "stack.yaml"))
    place.registry.parent.mkdir()
    dead = place.registry.with_name(".claims.json.999999999.0123abcd.tmp")  # no such pid
    dead.write_text("half")
    with io.registry_lock(place):
        io.write_registry(place, Registry((_claim(1, "/a"),)))
    assert not dead.exists()
    assert sorted(p.name for p in place.registry.parent.iterdir()) == ["claims.json", "claims.lock"]


def test_the_lock_serialises_writers(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    place = io.place_of(load_stack(repo / "stack.yaml"))
    monkeypatch.setattr(io, "LOCK_SECONDS", 0.2)
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with io.registry_lock(place):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        held.wait(5)
        with pytest.raises(ConflictError, match="stayed locked"):
            with io.registry_lock(place):
                pass  # pragma: no cover - the lock is held
    finally:
        release.set()
        thread.join()


def test_a_removed_worktree_is_gone_and_a_live_one_is_not(repo: Path, tmp_path: Path) -> None:
    wt = add_worktree(repo, tmp_path / "wt")
    place = io.place_of(load_stack(repo / "stack.yaml"))
    assert not io.checkout_gone(place, str(wt))
    git(repo, "worktree", "remove", "--force", str(wt))
    assert io.checkout_gone(place, str(wt))
    assert not io.checkout_gone(place, str(repo))


def test_generated_here_names_the_instances_with_a_manifest(repo: Path) -> None:
    stack = load_stack(repo / "stack.yaml")
    for n, manifest in ((1, True), (2, False)):
        folder = repo / ".instances" / f"instance-{n}"
        folder.mkdir(parents=True)
        if manifest:
            (folder / "instance.json").write_text("{}")
    assert io.generated_here(stack) == {1}
