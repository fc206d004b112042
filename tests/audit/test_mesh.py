"""`inv mesh.up --profile P`: compose must select exactly the services stack.yaml lists for P.

Audit: a check that accepted extra services (compose selecting more than the
profile table says) went unnoticed. Both directions must refuse, before anything starts.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from invoke import Result

from tests.audit.fake import FakeEngine, run_program

MESH = Path(__file__).resolve().parents[1] / "e2e" / "mesh"


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: FakeEngine) -> Path:
    root = tmp_path / "mesh"
    shutil.copytree(MESH, root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("MULTISTACK_FILE", raising=False)
    return root


def up_db(engine: FakeEngine, services: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    selected = {name: {"image": "x"} for name in services.split()}
    engine.answer(r" config --format json$", Result(json.dumps({"name": "p", "services": selected})))
    code, _, err = run_program(["mesh.up", "--profile", "db", "--env", "local"], capsys)
    return code, err


def test_exactly_the_declared_services_start(mesh: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = up_db(engine, "pool-iam\ndb\npool-app\n", capsys)  # any order
    assert code == 0, err
    [up] = engine.matching(r" up ")
    assert " --profile db " in up and up.split(" up ")[1].startswith("-d")


@pytest.mark.parametrize("services, words", [
    ("db\npool-app\npool-iam\ncache\n", "compose also selects cache"),
    ("db\npool-app\n", "compose does not select pool-iam"),
    ("db\npool-app\ncache\n", "compose also selects cache; compose does not select pool-iam"),
])
def test_a_different_selection_is_refused_before_starting(mesh: Path, engine: FakeEngine, services: str, words: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, err = up_db(engine, services, capsys)
    assert code == 2, err
    assert f"stack.yaml: mesh.profiles (db): {words} (fix:" in err
    assert not engine.matching(r" up ")
