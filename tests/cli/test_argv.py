"""Optional positionals for `inv dev [N] [ACTION]` (pyinvoke/invoke#159)."""
from __future__ import annotations

import pytest

from multistack.cli.argv import expand_positionals, positional_tasks
from multistack.cli import namespace


@pytest.fixture(scope="module")
def parts():
    ns = namespace()
    return ns.to_contexts(), positional_tasks(ns)


@pytest.mark.parametrize("tokens, expected", [
    (["dev"], ["dev"]),
    (["dev", "2"], ["dev", "--arg", "2"]),
    (["dev", "1", "start"], ["dev", "--arg", "1", "--arg", "start"]),
    (["dev", "stop", "--all"], ["dev", "--arg", "stop", "--all"]),
    (["dev", "stop", "all"], ["dev", "--arg", "stop", "--arg", "all"]),
    (["dev", "1", "logs", "--tail", "5"], ["dev", "--arg", "1", "--arg", "logs", "--tail", "5"]),
    (["dev", "1", "logs", "--tail=5", "2"], ["dev", "--arg", "1", "--arg", "logs", "--tail=5", "--arg", "2"]),
    (["dev", "1", "ports", "dev.use", "3"], ["dev", "--arg", "1", "--arg", "ports", "dev.use", "--arg", "3"]),
    (["dev", "1", "info", "dev", "2", "info"], ["dev", "--arg", "1", "--arg", "info", "dev", "--arg", "2", "--arg", "info"]),
    (["dev.run", "3"], ["dev.run", "--arg", "3"]),
    (["dev", "1", "--", "extra"], ["dev", "--arg", "1", "--", "extra"]),
])
def test_expansion(parts, tokens, expected):
    contexts, takes = parts
    assert expand_positionals(tokens, contexts, takes) == expected


def test_tasks_without_the_mark_are_untouched(parts):
    contexts, takes = parts
    assert "dev" in takes and "dev.run" in takes
    assert expand_positionals(["unknown", "1"], contexts, takes) == ["unknown", "1"]


def test_parsing_keeps_every_tasks_help():
    """invoke pops option help while parsing; our tasks keep it (inv --help dev, several programs per process)."""
    ns = namespace()
    before = {name: dict(ns[name].help) for name in ns.task_names}
    for _ in range(2):
        ns.to_contexts()
    assert {name: dict(ns[name].help) for name in ns.task_names} == before
    assert before["dev.run"]["arg"].startswith("instance number")
