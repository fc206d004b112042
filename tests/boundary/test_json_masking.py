"""JSON output is masked as data, never as text: a field named ``key`` (the doctor's key path) is not a secret
field, while a secret-named field or a secret-shaped value still is."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from multistack.plan.masking import MASK, mask_json
from tests.catalogue import run_cli


def test_a_key_path_field_is_not_masked_but_a_password_is() -> None:
    data = {"key": "services.web.image", "DB_PASSWORD": "hunter2", "url": "postgres://u:s3cr3t@db/x"}
    masked = mask_json(data)
    assert masked["key"] == "services.web.image"
    assert masked["DB_PASSWORD"] == MASK
    assert "s3cr3t" not in masked["url"]


def test_doctor_json_keeps_its_key_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The real ``doctor --json`` printing path, over a report of one finding (the checks themselves ask the
    engine, which unit tests may not)."""
    from multistack.act import doctor
    from multistack.act.doctor.report import Finding, Report

    (tmp_path / "stack.yaml").write_text("project: jm\nservices:\n  web: {port: 18080}\n")
    monkeypatch.chdir(tmp_path)
    finding = Finding("warning", "container-name", "compose.yml", "services.web.container_name", "fixed name",
                      "DB_PASSWORD=hunter2 is not the fix")
    monkeypatch.setattr(doctor, "run_doctor", lambda c, stack, n: Report("stack.yaml", n, (finding,)))
    code, out, err = run_cli(["doctor", "--json"], capsys)
    found = json.loads(out)["findings"][0]
    assert (code, found["key"]) == (0, "services.web.container_name"), err
    assert "hunter2" not in out
