"""``inv dev.claim``, ``dev.release``, ``dev.claims`` through the real program: output, JSON schemas,
the default instance order, and read commands that never write the registry."""
from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from multistack.cli.program import build_program
from tests.claimsrepo import add_worktree, git, git_repo

SCHEMAS = Path(__file__).resolve().parents[2] / "multistack" / "schema" / "output"


def run_cli(argv: list[str]) -> int:
    try:
        build_program().run(["multistack", *argv], exit=True)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


@pytest.fixture
def trees(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.delenv("MULTISTACK_INSTANCE", raising=False)
    monkeypatch.delenv("MULTISTACK_FILE", raising=False)
    repo = git_repo(tmp_path / "repo")
    return repo, add_worktree(repo, tmp_path / "wt")


def test_claim_json_matches_its_schema_and_the_checkout_then_defaults_to_it(trees, monkeypatch, capsys) -> None:
    repo, wt = trees
    monkeypatch.chdir(repo)
    assert run_cli(["dev.claim"]) == 0
    assert capsys.readouterr().out.strip() == f"claimed instance 0 for {repo.resolve()}"
    monkeypatch.chdir(wt)
    assert run_cli(["dev.claim", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, schema("dev.claim"))
    assert (data["instance"], data["new"], data["written"], data["checkout"]) == (1, True, True, str(wt.resolve()))
    assert data["ports"] == {"api": 39510}
    assert run_cli(["dev", "project-name"]) == 0
    assert capsys.readouterr().out.strip() == "wt-dev-1"


def test_claims_json_matches_its_schema_and_prune_releases_a_removed_worktree(trees, monkeypatch, capsys) -> None:
    repo, wt = trees
    for tree in (repo, wt):
        monkeypatch.chdir(tree)
        assert run_cli(["dev.claim"]) == 0
    git(repo, "worktree", "remove", "--force", str(wt))
    monkeypatch.chdir(repo)
    capsys.readouterr()
    assert run_cli(["dev.claims", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, schema("dev.claims"))
    assert [(c["instance"], c["state"], c["mine"]) for c in data["claims"]] == [(0, "stopped", True), (1, "stale", False)]
    assert run_cli(["dev.claims", "--prune", "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    jsonschema.validate(data, schema("dev.claims"))
    assert data["pruned"] == [1] and [c["instance"] for c in data["claims"]] == [0]
    assert "`inv dev 1 clean --yes`" in captured.err


def test_claims_table_and_release(trees, monkeypatch, capsys) -> None:
    repo, _ = trees
    monkeypatch.chdir(repo)
    assert run_cli(["dev.claims"]) == 0
    assert capsys.readouterr().out.startswith("no claims")
    assert run_cli(["dev.claim", "2"]) == 0
    assert run_cli(["dev.claims"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].split()[:3] == ["2", "stopped", str(repo.resolve())] and "api=39520" in lines[-1]
    assert run_cli(["dev.release"]) == 0
    assert run_cli(["dev.release"]) == 0
    assert capsys.readouterr().out.splitlines() == ["released instance 2", "this checkout holds no claim"]


def test_default_order_env_then_claim_then_use_file_then_first(trees, monkeypatch, capsys) -> None:
    _, wt = trees
    monkeypatch.chdir(wt)

    def name() -> str:
        capsys.readouterr()
        assert run_cli(["dev", "project-name"]) == 0
        return capsys.readouterr().out.strip().splitlines()[-1]

    assert name() == "wt-dev-0"
    assert run_cli(["dev.use", "4"]) == 0
    assert name() == "wt-dev-4"
    assert run_cli(["dev.claim", "3"]) == 0
    assert name() == "wt-dev-3"
    monkeypatch.setenv("MULTISTACK_INSTANCE", "2")
    assert name() == "wt-dev-2"


def test_a_claim_refused_is_one_line_and_exit_4(trees, monkeypatch, capsys) -> None:
    repo, wt = trees
    monkeypatch.chdir(repo)
    assert run_cli(["dev.claim", "1"]) == 0
    monkeypatch.chdir(wt)
    capsys.readouterr()
    assert run_cli(["dev.claim", "1"]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: instance 1 is claimed by another checkout, {repo.resolve()}")


def test_read_commands_never_write_the_registry(trees, monkeypatch, capsys) -> None:
    repo, wt = trees
    monkeypatch.chdir(repo)
    assert run_cli(["dev.claim"]) == 0
    registry = repo / ".git" / "multistack" / "claims.json"
    folder = sorted(os.listdir(registry.parent))
    before = os.stat(registry)
    for tree in (repo, wt):
        monkeypatch.chdir(tree)
        for argv in (["dev.claims"], ["dev.claims", "--json"], ["dev", "info"], ["dev", "0", "info"],
                     ["dev", "status"], ["dev", "ports"], ["--dry", "dev.claim"], ["--dry", "dev.release"],
                     ["--dry", "dev.claims", "--prune"], ["--dry", "dev", "start"]):
            assert run_cli(argv) in (0, 6), argv  # status of an instance that is down: 6
    after = os.stat(registry)
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)
    assert sorted(os.listdir(registry.parent)) == folder
    assert "would claim instance 1 for this checkout" in capsys.readouterr().out  # wt's dry start
