"""Tool discovery says whether compose is the docker plugin; one "engine not reachable" error."""
from __future__ import annotations

import re

import pytest
from invoke import Result

from multistack.errors import EXIT_ENGINE
from multistack.io import tools
from tests.recording import RecordingContext

INFO = "docker info --format '{{.ServerVersion}}'"


def context(**answers: Result) -> RecordingContext:
    return RecordingContext(run={re.compile(re.escape(k)): v for k, v in answers.items()}, repeat=True)


@pytest.fixture
def on_path(monkeypatch):
    def install(*names: str) -> None:
        monkeypatch.setattr(tools.shutil, "which", lambda name: f"/usr/bin/{name}" if name in names else None)

    return install


def test_the_plugin_is_found_first_and_said_to_be_the_plugin(on_path, tmp_path):
    on_path("docker", "docker-compose")
    c = context(**{"docker compose version --short": Result("2.40.3\n"), INFO: Result("28.0.1\n")})
    found = tools.detect(c, tmp_path)
    assert (found.compose, found.compose_version, found.compose_plugin) == (("docker", "compose"), "2.40.3", True)


def test_a_standalone_docker_compose_is_said_to_be_standalone(on_path, tmp_path):
    on_path("docker", "docker-compose")
    c = context(**{"docker compose version --short": Result("", exited=1),
                   "docker-compose version --short": Result("v2.39.1\n"), INFO: Result("28.0.1\n")})
    found = tools.detect(c, tmp_path)
    assert (found.compose, found.compose_plugin) == (("docker-compose",), False)


def test_dry_run_probes_nothing(on_path, tmp_path):
    on_path("docker")
    c = context()
    c.config.run.dry = True
    assert tools.detect(c, tmp_path) == tools.Engines()
    assert tools.engine_problem(c, ["docker", "info"]) is None
    assert c.commands == []


def test_one_engine_unreachable_error(on_path, tmp_path):
    on_path("docker")
    error = tools.engine_unreachable("Cannot connect to the Docker daemon")
    assert error.exit_code == EXIT_ENGINE
    assert error.line() == ("error: Docker engine not reachable: Cannot connect to the Docker daemon "
                            f"(fix: {tools.DOCKERD_HINT})")
    assert tools.engine_unreachable_message("x") == "Docker engine not reachable: x"
    c = context(**{INFO: Result("", stderr="warning\nCannot connect to the Docker daemon\n\n", exited=1)})
    with pytest.raises(type(error), match="^Docker engine not reachable: Cannot connect to the Docker daemon$"):
        tools.check_docker(c)
    assert tools.engine_problem(c, ["docker", "info", "--format", "{{.ServerVersion}}"]) == \
        "Cannot connect to the Docker daemon"
    assert tools.last_line("") == "no answer"
