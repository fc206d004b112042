"""The demo stack end to end: two instances of examples/demo, real services, data kept apart.

Two instances of the demo (PostgreSQL 15, Redis, Mosquitto from the local image
``multistack-demo/services:1``, and its PM2 apps) are started side by side with
``inv dev N start``; the tests then look from outside, with the tools a developer
would use: ``psql`` and ``redis-cli`` on each instance's published port, and an MQTT
subscriber (paho-mqtt) on each broker. What they show is what the tool is for:

- a row written through instance 1's backend is in instance 1's database, not in 2's;
- every Redis key of an instance carries that instance's prefix, and only that one;
- a subscriber on instance 1's topics never receives a message of instance 2;
- ``inv dev 1 clean --yes`` removes instance 1's containers, volumes and apps, and its
  data with them (a new instance 1 starts empty), while instance 2 keeps all of its own.

The stack is copied into a temporary folder under a project name of its own
(``demo<random>``), on ports 24000-24999 (stack.yaml's 4xxx base ports + 20000), so it
meets neither the other e2e tests (18000-19999) nor a demo a developer is running.
Its own PM2 daemon (``PM2_HOME`` in the temporary folder); everything is removed
afterwards, also when a test failed.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Iterator

import pytest

from tests.e2e.conftest import SCRUBBED_ENV, E2EStack, Machine, cli_env, missing
from tests.e2e.demo_stack import copy_demo

pytestmark = pytest.mark.e2e

DEMO_IMAGE = "multistack-demo/services:1"
#: stack.yaml's base ports, and the ones this test gives them instead.
PORTS = {"backend": (4080, 24080), "postgres": (4432, 24432), "redis": (4379, 24379), "mqtt": (4883, 24883)}
STRIDE = 100
DB_USER, DB_PASSWORD = "demo", "demo-password"  # examples/demo/env/demo.env
START_TIMEOUT = 240  # seconds: the first start of an instance runs initdb


@dataclass
class Demo:
    """The running copy of the demo and ways to look at each instance from outside."""

    stack: E2EStack
    psql: str
    redis_cli: str

    def inv(self, *words: str, timeout: float = START_TIMEOUT) -> str:
        return self.stack.inv(*words, timeout=timeout, check=True).stdout

    def port(self, service: str, n: int) -> int:
        return PORTS[service][1] + n * STRIDE

    def namespace(self, n: int) -> str:
        return f"{self.stack.project}-dev-{n}"

    def database(self, n: int) -> str:
        return f"{self.stack.project}_instance_{n}"

    def prefix(self, n: int) -> str:
        return f"{self.namespace(n)}:"

    # --- the backend ------------------------------------------------------------
    def api(self, n: int, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port('backend', n)}{path}", data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def page(self, n: int) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port('backend', n)}/", timeout=10) as response:
            return response.read().decode()

    # --- the services, directly ---------------------------------------------------
    def sql(self, n: int, query: str, database: str | None = None) -> subprocess.CompletedProcess[str]:
        """``psql`` on instance n's published port, as the demo's role, in ``database`` (default: n's own)."""
        env = {**self.stack.env, "PGPASSWORD": DB_PASSWORD, "PGCONNECT_TIMEOUT": "5"}
        argv = [self.psql, "-h", "127.0.0.1", "-p", str(self.port("postgres", n)), "-U", DB_USER,
                "-d", database or self.database(n), "-v", "ON_ERROR_STOP=1", "-tA", "-c", query]
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30, stdin=subprocess.DEVNULL)

    def rows(self, n: int, query: str) -> list[str]:
        done = self.sql(n, query)
        assert done.returncode == 0, f"psql on instance {n}: {done.stderr}"
        return done.stdout.splitlines()

    def redis_keys(self, n: int) -> list[str]:
        """Every key on instance n's Redis (``--scan``: all of them, prefixed or not)."""
        done = subprocess.run([self.redis_cli, "-h", "127.0.0.1", "-p", str(self.port("redis", n)), "--scan"],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr
        return sorted(done.stdout.split())


@pytest.fixture(scope="module")
def demo(machine: Machine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """Instances 1 and 2 of the demo, started side by side; all of it removed afterwards."""
    if subprocess.run([machine.docker, "image", "inspect", DEMO_IMAGE], capture_output=True).returncode != 0:
        missing(f"the demo image {DEMO_IMAGE} is missing (scripts/build-demo-images.sh)")
    psql, redis_cli = shutil.which("psql"), shutil.which("redis-cli")
    if not psql or not redis_cli:
        missing("psql and redis-cli are needed on the host (apt-get install postgresql-client redis-tools)")
    try:
        import paho.mqtt.client  # noqa: F401 - the subscriber of the MQTT test
        import psycopg  # noqa: F401 - the demo's apps run with this Python
        import redis  # noqa: F401
    except ImportError as exc:
        missing(f"the demo's client libraries are missing from this Python ({exc.name}: pip install -e '.[demo]')")
    tmp = tmp_path_factory.mktemp("demo")
    project = f"demo{secrets.token_hex(3)}"
    root = copy_demo(tmp / "stack", project, PORTS)
    pm2_home = tmp / "pm2"  # short: PM2's unix sockets live here
    pm2_home.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for key in SCRUBBED_ENV:
            mp.delenv(key, raising=False)
        stack = E2EStack(root, project, pm2_home, machine, cli_env(pm2_home, machine.pm2))
        running = Demo(stack, psql, redis_cli)
        try:
            starts = {}
            for n in (1, 2):
                began = time.monotonic()
                running.inv("dev", str(n), "start")
                starts[n] = time.monotonic() - began
            print(f"demo: instance 1 started in {starts[1]:.1f}s, instance 2 in {starts[2]:.1f}s")
            yield running
        finally:
            stack.inv("dev", "clean", "--all", "--yes", timeout=180)
            stack.remove_everything()


def test_each_backend_reports_its_own_instance_names(demo: Demo) -> None:
    for n in (1, 2):
        state = demo.api(n, "/api/state")
        assert state["instance"] == n
        assert state["namespace"] == demo.namespace(n)
        assert state["postgres"]["database"] == demo.database(n)
        assert state["postgres"]["port"] == demo.port("postgres", n)
        assert state["redis"]["prefix"] == demo.prefix(n)
        assert state["mqtt"]["subscribed"] == f"{demo.namespace(n)}/+/tags/#"
        assert demo.api(n, "/api/health") == {"postgres": True, "redis": True, "mqtt": True}
        assert f"Instance {n} " in demo.page(n)


def test_the_pages_form_and_a_curl_style_post_add_notes(demo: Demo) -> None:
    """The page's form (form-encoded, answered with a redirect) and `curl -d '{...}'` (JSON sent as a form)."""
    url = f"http://127.0.0.1:{demo.port('backend', 1)}/api/notes"
    form, curl = f"form-{secrets.token_hex(4)}", f"curl-{secrets.token_hex(4)}"
    for data in (urllib.parse.urlencode({"body": form}), json.dumps({"body": curl})):
        request = urllib.request.Request(url, data=data.encode(),
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=10) as response:  # follows the form's 303 to the page
            assert response.status in (200, 201)
    assert demo.rows(1, f"SELECT count(*) FROM notes WHERE body IN ('{form}', '{curl}')") == ["2"]


def test_a_row_written_through_backend_1_is_in_database_1_only(demo: Demo) -> None:
    body = f"note-{secrets.token_hex(4)}"
    note = demo.api(1, "/api/notes", {"body": body})
    assert note["instance"] == 1

    assert demo.rows(1, f"SELECT instance FROM notes WHERE body = '{body}'") == ["1"]
    assert demo.rows(2, f"SELECT count(*) FROM notes WHERE body = '{body}'") == ["0"]
    # Each server holds only its own instance's database: 1's is not even there on 2's port.
    assert demo.database(1) in demo.rows(1, "SELECT datname FROM pg_database")
    assert demo.database(1) not in demo.rows(2, "SELECT datname FROM pg_database")
    refused = demo.sql(2, "SELECT 1", database=demo.database(1))
    assert refused.returncode != 0 and "does not exist" in refused.stderr
    # And the backend reads back what it wrote, from its own database.
    assert body in [n["body"] for n in demo.api(1, "/api/state")["postgres"]["notes"]]
    assert body not in [n["body"] for n in demo.api(2, "/api/state")["postgres"]["notes"]]


def test_redis_keys_of_each_instance_carry_only_its_prefix(demo: Demo) -> None:
    for n in (1, 2):
        demo.page(n)  # counts a page view: <prefix>page-views
        demo.api(n, "/api/notes", {"body": f"cached-{n}"})
        demo.api(n, "/api/state")  # caches the recent notes: <prefix>notes:recent
    for n, other in ((1, 2), (2, 1)):
        keys = demo.redis_keys(n)
        assert f"{demo.prefix(n)}page-views" in keys and f"{demo.prefix(n)}notes:recent" in keys, keys
        assert all(k.startswith(demo.prefix(n)) for k in keys), keys
        assert not any(k.startswith(demo.prefix(other)) for k in keys), keys


def test_a_subscriber_on_instance_1_never_receives_instance_2s_messages(demo: Demo) -> None:
    import paho.mqtt.client as mqtt

    received: list[tuple[str, dict[str, Any]]] = []
    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{secrets.token_hex(3)}")
    # Instance 1's topics; and everything else on its broker, with '#', to catch a stray one.
    topics = [(f"{demo.namespace(1)}/#", 1), ("#", 1)]
    client.on_connect = lambda c, *_: c.subscribe(topics)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda c, u, m: received.append((m.topic, json.loads(m.payload)))
    client.connect("127.0.0.1", demo.port("mqtt", 1))
    client.loop_start()
    try:
        assert subscribed.wait(10), "no SUBACK from instance 1's broker"
        mark = secrets.token_hex(4)
        for n in (2, 1, 2):  # instance 2's notes are published on its own broker, under its namespace
            demo.api(n, "/api/notes", {"body": f"mqtt-{mark}-{n}"})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (
                any(p.get("body") == f"mqtt-{mark}-1" for _, p in received)
                and sum(t.endswith("/sensor-1/tags/temperature") for t, _ in received) >= 2):
            time.sleep(0.2)
        time.sleep(1)  # a message of instance 2, if one were routed here, would have arrived by now
    finally:
        client.loop_stop()
        client.disconnect()

    assert any(p.get("body") == f"mqtt-{mark}-1" for _, p in received), received
    assert any(t == f"{demo.namespace(1)}/sensor-1/tags/temperature" for t, _ in received), received
    assert all(t.startswith(f"{demo.namespace(1)}/") for t, _ in received), received
    assert all(p.get("instance") == 1 for _, p in received), received
    assert not any(f"mqtt-{mark}-2" in json.dumps(p) for _, p in received), received
    # Instance 2 did publish, and received, its own: stored in its own database by its backend.
    stored = demo.rows(2, f"SELECT topic FROM messages WHERE payload LIKE '%mqtt-{mark}-2%'")
    assert stored and all(t == f"{demo.namespace(2)}/backend/tags/note" for t in stored), stored
    assert demo.rows(1, f"SELECT count(*) FROM messages WHERE payload LIKE '%mqtt-{mark}-2%'") == ["0"]


def test_clean_1_removes_instance_1s_data_only(demo: Demo) -> None:
    body1, body2 = f"gone-{secrets.token_hex(4)}", f"kept-{secrets.token_hex(4)}"
    demo.api(1, "/api/notes", {"body": body1})
    demo.api(2, "/api/notes", {"body": body2})
    keys2 = demo.redis_keys(2)
    project1, project2 = demo.namespace(1), demo.namespace(2)  # compose projects <project>-dev-N

    demo.inv("dev", "1", "clean", "--yes", timeout=180)

    stack = demo.stack
    assert stack.containers(1) == [], stack.containers(1)
    volumes = stack.volumes()
    assert project1 not in volumes.values(), volumes
    assert sorted(v for v, p in volumes.items() if p == project2) == sorted(
        f"{project2}_{name}" for name in ("mqttdata", "pgdata", "redisdata")), volumes
    apps = stack.apps()  # PM2 names end in -N (the package names them <project>-<app>-N)
    assert len(apps) == 2 and all(name.endswith("-2") for name in apps), apps
    assert set(apps.values()) == {"online"}, apps
    assert not stack.instance_dir(1).exists()
    for service in PORTS:
        assert not stack.listening(demo.port(service, 1)), f"{service} of instance 1 still answers"
    # Instance 2 keeps everything: its row, its keys, its running backend.
    assert demo.rows(2, f"SELECT count(*) FROM notes WHERE body = '{body2}'") == ["1"]
    assert set(keys2) <= set(demo.redis_keys(2))
    assert demo.api(2, "/api/health") == {"postgres": True, "redis": True, "mqtt": True}

    # A new instance 1 starts from nothing: its volume, and the row in it, went with clean.
    demo.inv("dev", "1", "start")
    assert demo.rows(1, f"SELECT count(*) FROM notes WHERE body = '{body1}'") == ["0"]
    assert all(k.startswith(demo.prefix(1)) for k in demo.redis_keys(1))
    assert demo.rows(2, f"SELECT count(*) FROM notes WHERE body = '{body2}'") == ["1"]
