"""The one runner echoes a command with its secrets masked, and runs the real one."""
from __future__ import annotations

import pytest
from invoke import Config, Context

from multistack.io.shell import for_real, probe, run
from multistack.plan.masking import mask_text

ENGINE = ["docker", "--host", "tcp://admin:engine-pw@bigbox.lan:2376", "ps"]


def context(dry: bool, mask: bool = True, **run_options: object) -> Context:
    overrides: dict = {"run": {"dry": dry, **run_options}}
    if mask:
        overrides["multistack"] = {"mask": mask_text}
    return Context(config=Config(overrides=overrides))


def test_dry_run_echoes_the_masked_command_and_keeps_the_real_one(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(context(dry=True), ENGINE)
    out = capsys.readouterr().out
    assert "engine-pw" not in out
    assert "docker --host tcp://admin:****@bigbox.lan:2376 ps" in out
    assert "engine-pw" in result.command  # what would run is the real command


def test_probe_under_dry_is_masked_too(capsys: pytest.CaptureFixture[str]) -> None:
    probe(context(dry=True), ENGINE)
    assert "engine-pw" not in capsys.readouterr().out


def test_a_real_run_gets_the_real_value_while_its_echo_is_masked(capfd: pytest.CaptureFixture[str]) -> None:
    result = run(context(dry=False, echo=True), ["echo", "postgres://u:db-pw@db.lan/app"], hide="stdout",
                 background=True)
    assert result.stdout.strip() == "postgres://u:db-pw@db.lan/app"
    out = capfd.readouterr().out
    assert "db-pw" not in out and "postgres://u:****@db.lan/app" in out


def test_braces_in_a_masked_command_are_echoed_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    run(context(dry=True, echo_format="> {command}"), ["docker", "--host", "tcp://u:pw@h:1", "ps", "--format",
                                                      "{{json .}}"])
    assert capsys.readouterr().out.strip() == "> docker --host tcp://u:****@h:1 ps --format '{{json .}}'"


def test_without_a_configured_masker_the_echo_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    """io cannot import plan: the program configures the masker (cli/collections.py)."""
    run(context(dry=True, mask=False), ENGINE)
    assert "engine-pw" in capsys.readouterr().out


def test_for_real_dry_lines_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    for_real(context(dry=True), lambda: None, dry="would connect to tcp://u:line-pw@h:1")
    assert capsys.readouterr().out.strip() == "would connect to tcp://u:****@h:1"


def test_the_program_configures_the_masker() -> None:
    from multistack.cli.collections import namespace

    assert namespace().configuration()["multistack"]["mask"] is mask_text
