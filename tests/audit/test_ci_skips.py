"""The skip helper: a missing tool skips on a laptop and fails under CI=true."""
from __future__ import annotations

import pytest

from tests.conftest import skip_unless_installed


def test_a_missing_tool_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="haproxy is not installed"):
        skip_unless_installed("haproxy is not installed")


@pytest.mark.parametrize("value", ["true"])
def test_a_missing_tool_fails_under_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="Graphviz is not installed .CI=true"):
        skip_unless_installed("Graphviz is not installed")
