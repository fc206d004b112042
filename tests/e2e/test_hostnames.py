"""Issue 15, point 2: hostnames through one shared router, beside the fixed ports (real engine, PM2, HAProxy).

Two instances of the e2e stack and one instance of a second stack, each HTTP service
reached as ``http://<service>.<N>.<project>.localhost:<router port>/`` through one
router container (the test image ``multistack-test/haproxy:1``, its own router folder
and compose project here), checked by content, while the TCP ports keep answering.
Stopping instance 1 takes its hostnames away only; cleaning one stack leaves the
other's; cleaning everything stops the router. Host ports 45000-45999 only.
"""
from __future__ import annotations

import json
import secrets
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from multistack.plan.router import project_name
from tests.e2e.conftest import PROJECT_LABEL, E2EStack, missing

ROUTER_IMAGE = "multistack-test/haproxy:1"
ROUTER_PORT = 45990
#: The e2e stack's base ports moved into this test's range (its conftest uses 18000-19999).
MOVED = {18000: 45000, 18001: 45001, 18002: 45002, 18003: 45003}
OTHER_BASE = 500  # the second stack: 45500-45503 (+ N * 100)


def move_ports(root: Path, offset: int = 0) -> None:
    """Every base port of the copied stack into 45000-45999, web and api with an http url, and ``router:``."""
    for name in ("stack.yaml", "compose.yml", "api.env", "admin.env"):
        path = root / name
        text = path.read_text()
        for old, new in MOVED.items():
            text = text.replace(str(old), str(new + offset))
        path.write_text(text)
    stack = root / "stack.yaml"
    text = stack.read_text()
    for service in ("web", "api"):
        port = MOVED[{"web": 18000, "api": 18002}[service]] + offset
        text = text.replace(f"  {service}: {{port: {port}", f"  {service}: {{url: 'http://localhost:{{{{ port }}}}/', port: {port}")
    stack.write_text(text + f"\nrouter: {{port: {ROUTER_PORT}, image: '{ROUTER_IMAGE}'}}\n")


def through_router(host: str, timeout: float = 5) -> tuple[int, str]:
    """Status and body of ``http://HOST:ROUTER_PORT/``, asked of 127.0.0.1 with that Host header
    (``*.localhost`` is resolved by browsers and curl themselves; this machine's resolver does not)."""
    request = urllib.request.Request(f"http://127.0.0.1:{ROUTER_PORT}/", headers={"Host": f"{host}:{ROUTER_PORT}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode().strip()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode().strip()
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc)


def remove_project(e2e: E2EStack, project: str) -> None:
    """Best effort: every container, volume and network of one compose project."""
    steps = ((["ps", "-a"], "{{.Names}}", ["rm", "-f", "-v"]), (["volume", "ls"], "{{.Name}}", ["volume", "rm", "-f"]),
             (["network", "ls"], "{{.Name}}", ["network", "rm"]))
    for listing, fmt, removal in steps:
        names = e2e.docker(*listing, "--filter", f"label={PROJECT_LABEL}={project}", "--format", fmt).stdout.split()
        if names:
            e2e.docker(*removal, *names)


@pytest.fixture
def routed(e2e: E2EStack, tmp_path: Path) -> Iterator[tuple[E2EStack, E2EStack, str]]:
    """The e2e stack and a second one (its own project), both with ``router:``, sharing one router folder;
    the router's project and the second stack's removed afterwards, whatever happened."""
    if e2e.docker("image", "inspect", ROUTER_IMAGE).returncode != 0:
        missing(f"the test image {ROUTER_IMAGE} is missing (scripts/build-test-images.sh)")
    move_ports(e2e.root)
    home = (tmp_path / "router").absolute()
    e2e.env["MULTISTACK_ROUTER_HOME"] = str(home)
    other_project = f"e2e{secrets.token_hex(3)}"
    other_root = tmp_path / "other"
    shutil.copytree(e2e.root, other_root, ignore=shutil.ignore_patterns(".instances", "__pycache__"))
    text = (other_root / "stack.yaml").read_text().replace(f"\nproject: {e2e.project}\n", f"\nproject: {other_project}\n")
    for base in (45000, 45001, 45002, 45003):
        text = text.replace(str(base), str(base + OTHER_BASE))
    (other_root / "stack.yaml").write_text(text)
    for name in ("compose.yml", "api.env", "admin.env"):
        path = other_root / name
        moved = path.read_text()
        for base in (45000, 45001, 45002, 45003):
            moved = moved.replace(str(base), str(base + OTHER_BASE))
        path.write_text(moved)
    other = E2EStack(other_root, other_project, e2e.pm2_home, e2e.machine, e2e.env)
    router_project = project_name(home, default_home=False)
    try:
        yield e2e, other, router_project
    finally:
        remove_project(e2e, router_project)
        remove_project(e2e, f"{other_project}-dev-3")


def router_containers(e2e: E2EStack, project: str) -> list[str]:
    done = e2e.docker("ps", "-a", "--filter", f"label={PROJECT_LABEL}={project}", "--format", "{{.Names}} {{.State}}")
    assert done.returncode == 0, done.stderr
    return done.stdout.split("\n")[:-1]


def test_hostnames_reach_each_instance_through_one_router(routed) -> None:
    e2e, other, router_project = routed
    e2e.inv("dev", "1", "start", check=True, timeout=180)
    started = e2e.inv("dev", "2", "start", check=True, timeout=180)
    other.inv("dev", "3", "start", check=True, timeout=180)
    p, q = e2e.project, other.project

    # Through the router, by content: each hostname reaches its own instance, containers and PM2 apps alike.
    assert through_router(f"web.1.{p}.localhost") == (200, "web 1")
    assert through_router(f"web.2.{p}.localhost") == (200, "web 2")
    assert through_router(f"api.1.{p}.localhost") == (200, "api 1")
    assert through_router(f"api.2.{p}.localhost") == (200, "api 2")
    assert through_router(f"web.3.{q}.localhost") == (200, "web 3")  # the other stack, the same router
    assert [line.split()[1] for line in router_containers(e2e, router_project)] == ["running"]  # one router
    # ... while the TCP ports keep answering.
    assert e2e.fetch(45100) == "web 1" and e2e.fetch(45200) == "web 2" and e2e.fetch(45102) == "api 1"
    assert e2e.fetch(45001 + 200) == "store 2"  # a service without a hostname keeps its port only
    # What the user is told: the hostname beside the port, in the table, --json and the instance's env.
    assert f"http://web.2.{p}.localhost:{ROUTER_PORT}/" in started.stdout
    ports = json.loads(e2e.inv("dev", "1", "ports", "--json", check=True).stdout)
    assert ports["web"] == 45100 and ports["hostnames"] == {"web": f"http://web.1.{p}.localhost:{ROUTER_PORT}/",
                                                            "api": f"http://api.1.{p}.localhost:{ROUTER_PORT}/"}
    env = (e2e.instance_dir(1) / "instance.env").read_text()
    assert f"MULTISTACK_URL_WEB=http://web.1.{p}.localhost:{ROUTER_PORT}/\n" in env

    # Stopping instance 1 takes its hostnames away, only its own.
    e2e.inv("dev", "1", "stop", check=True)
    status, body = through_router(f"web.1.{p}.localhost")
    assert status == 404 and "no running multistack instance" in body
    assert through_router(f"web.2.{p}.localhost") == (200, "web 2")
    assert through_router(f"web.3.{q}.localhost") == (200, "web 3")
    assert e2e.fetch(45100) is None

    # Cleaning one stack leaves the other's routes; cleaning the last one stops the router.
    e2e.inv("dev", "clean", "--all", "--yes", check=True, timeout=180)
    assert through_router(f"web.2.{p}.localhost")[0] == 404
    assert through_router(f"web.3.{q}.localhost") == (200, "web 3")
    other.inv("dev", "3", "clean", "--yes", check=True, timeout=180)
    assert router_containers(e2e, router_project) == []
    assert not e2e.listening(ROUTER_PORT)
    assert list((Path(e2e.env["MULTISTACK_ROUTER_HOME"]) / "routes").glob("*.json")) == []
