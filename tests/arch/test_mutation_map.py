"""scripts/mutation-modules.txt covers every module of model/ and plan/, with tests that exist.

The layers' mutation score (scripts/mutation-layers.sh) is the sum of one run per module
in that list; a module added without a line would silently drop out of the score, and a
renamed test file would make its module's run fail hours into a measurement.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAP = ROOT / "scripts" / "mutation-modules.txt"


def _entries() -> dict[str, list[str]]:
    entries: dict[str, list[str]] = {}
    for line in MAP.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        module, sep, tests = line.partition(": ")
        assert sep, f"not `module: tests`: {line!r}"
        assert module not in entries, f"{module} is listed twice"
        entries[module] = tests.split()
    return entries


def _modules() -> set[str]:
    found = set()
    for layer in ("model", "plan"):
        for path in (ROOT / "multistack" / layer).glob("*.py"):
            if path.name != "__init__.py":
                found.add(path.relative_to(ROOT).as_posix())
    return found


def test_every_module_of_the_pure_layers_has_a_line_and_nothing_else_does() -> None:
    listed = set(_entries())
    assert sorted(_modules() - listed) == [], "modules missing from scripts/mutation-modules.txt"
    assert sorted(listed - _modules()) == [], "lines for modules that do not exist"


def test_every_listed_test_file_exists_and_is_a_unit_test() -> None:
    for module, tests in _entries().items():
        assert tests, f"{module} has no tests"
        for test in tests:
            assert (ROOT / test).is_file(), f"{module}: {test} does not exist"
            assert not test.startswith("tests/e2e/"), f"{module}: {test} needs an engine"
