"""One ``inv --dry dev 1 start`` plans instance 1 once and renders it once.

The functions are counted by their code objects (a profile hook), so the count holds
however a module imported them: a second plan or render anywhere on the path shows up.
"""
from __future__ import annotations

import shutil
import sys
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any, Iterator

import pytest
from invoke import Config, Context

from multistack.cli.program import build_program
from multistack.io import hostports
from multistack.plan.instance import plan_instance
from multistack.plan.render import render_instance

E2E_STACK = Path(__file__).resolve().parents[1] / "e2e" / "stack"


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "stack"
    shutil.copytree(E2E_STACK, root)
    monkeypatch.chdir(root)
    for key in ("MULTISTACK_FILE", "MULTISTACK_INSTANCE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr("multistack.io.tools.shutil.which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(hostports, "is_free", lambda port, host="127.0.0.1": True)
    return root


def counted(*functions: Any) -> Iterator[Counter[tuple[str, Any]]]:
    codes = {f.__code__: f.__name__ for f in functions}
    calls: Counter[tuple[str, Any]] = Counter()

    def hook(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code in codes:
            name = codes[frame.f_code]
            first = frame.f_locals.get("n", getattr(frame.f_locals.get("inst"), "n", None))
            calls[(name, first)] += 1

    return calls, hook  # type: ignore[return-value]


def test_dry_start_plans_and_renders_instance_1_once(stack_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls, hook = counted(plan_instance, render_instance)
    sys.setprofile(hook)
    try:
        build_program().run(["inv", "--dry", "dev", "1", "start"], exit=False)
    finally:
        sys.setprofile(None)
    out = capsys.readouterr().out
    assert "up -d --remove-orphans --wait" in out  # it did get through the whole start
    assert calls[("plan_instance", 1)] == 1, calls
    assert calls[("render_instance", 1)] == 1, calls
    assert not (stack_dir / ".instances").exists()
