"""``inv dev N ports`` and ``info``: a masked cell is masked before its column is sized (act/info.py).

Masking the drawn table shortened the cell (``admin:hunter2@`` -> ``admin:****@``) and
pulled every column after it to the left on that row only. The stack is the e2e stack
with a password in web's URL and ``router:``, so a hostname column follows the url column.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from multistack.act.info import masked_table
from tests.act.test_lifecycle import stack_dir  # noqa: F401 (fixture)
from tests.cli.test_cli import run_cli


@pytest.fixture
def with_password(stack_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MULTISTACK_ROUTER_HOME", str(tmp_path / "router-home"))
    path = stack_dir / "stack.yaml"
    text = path.read_text().replace(
        "  web: {port: 18000,", "  web: {url: 'http://admin:hunter2@localhost:{{ port }}/', port: 18000,")
    text = text.replace("  api: {port: 18002}", "  api: {port: 18002, url: 'http://localhost:{{ port }}/'}")
    path.write_text(text + "\nrouter: {port: 45991, image: 'multistack-test/haproxy:1'}\n")
    return path


def starts_a_column(row: str, start: int) -> bool:
    """A cell begins at ``start``: two spaces before it, a character there."""
    return row[start - 2:start] == "  " and row[start:start + 1] not in ("", " ")


def test_ports_table_aligns_the_column_after_a_masked_url(with_password, capsys):
    assert run_cli(["dev", "1", "ports"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and "http://admin:****@localhost:18100/" in out
    lines = out.rstrip("\n").splitlines()[1:]  # the title first
    header = lines[0]
    start = header.index("hostname")
    assert all(starts_a_column(row, start) for row in lines[1:] if row.split()[0] in ("web", "api")), out
    web = next(line for line in lines if line.startswith("web "))
    assert web[header.index("hostname"):].startswith("http://web.1.e2etry.localhost:45991/")
    dashes = lines[1].split("  ")
    widths = [len(d) for d in dashes]
    url_width = widths[3]
    assert url_width == max(len(cell) for cell in ("url", "http://admin:****@localhost:18100/",
                                                    "http://localhost:18102/"))


def test_masked_table_masks_each_cell_and_the_title():
    drawn = masked_table(["what", "url", "next"], [["a", "postgres://u:s3cret@db:5432/x", "z"], ["b", "short", "y"]],
                         title="title with http://u:pw@host/")
    title, header, dashes, first, second = drawn.splitlines()
    assert "s3cret" not in drawn and "pw@" not in title
    assert first.index("z") == second.index("y") == header.index("next")
    assert len(dashes.split("  ")[1]) == len("postgres://u:****@db:5432/x")
