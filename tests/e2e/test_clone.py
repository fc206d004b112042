"""Clone and reset, end to end: real PostgreSQL, Redis and Mosquitto (the demo stack), real volumes.

``inv dev 3 clone --from 1`` must give instance 3 a copy of instance 1's data, checked from
outside with ``psql`` on each instance's published port: a row written through instance 1's
backend is readable in 3; a row then written in 3 is not in 1; ``reset`` empties 3 and
leaves 1 alone. Also: a running target is refused without ``--force`` (exit 4, one line),
``--dry`` creates no volume, the copied volumes carry compose's labels for instance 3 (so
``clean 3`` removes them and ``clean 1`` would not), and compose adopts them without a warning.

The demo is copied under a project name of its own on ports 26000-26999 (this test's range);
its own PM2 daemon. The shared-mode test starts its own PostgreSQL server (port 26950) and
checks ``CREATE DATABASE ... TEMPLATE`` copied a row. Everything is removed afterwards, also
when a test failed. The figures printed (``-s``) are the timings of each step.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.e2e.conftest import SCRUBBED_ENV, E2EStack, Machine, cli_env, missing, pm2_binary
from tests.e2e.demo_stack import copy_demo
from tests.e2e.test_demo import DB_PASSWORD, DB_USER, DEMO_IMAGE, START_TIMEOUT, Demo

pytestmark = pytest.mark.e2e

#: stack.yaml's base ports, and this test's (instances 1 and 3: +100, +300; all inside 26000-26999).
PORTS = {"backend": (4080, 26000), "postgres": (4432, 26010), "redis": (4379, 26020), "mqtt": (4883, 26030)}
STRIDE = 100
PG_PORT = 26950  # the shared-mode test's own PostgreSQL server
SHARED_APP_BASE = 26900  # instance N's app listens on 26900 + N


class CloneDemo(Demo):
    """The demo on this test's ports."""

    def port(self, service: str, n: int) -> int:
        return PORTS[service][1] + n * STRIDE


@pytest.fixture
def demo(machine: Machine, tmp_path: Path) -> Iterator[CloneDemo]:
    if subprocess.run([machine.docker, "image", "inspect", DEMO_IMAGE], capture_output=True).returncode != 0:
        missing(f"the demo image {DEMO_IMAGE} is missing (scripts/build-demo-images.sh)")
    psql, redis_cli = shutil.which("psql"), shutil.which("redis-cli")
    if not psql or not redis_cli:
        missing("psql and redis-cli are needed on the host (apt-get install postgresql-client redis-tools)")
    try:
        import psycopg  # noqa: F401 - the demo's apps run with this Python
        import redis  # noqa: F401
    except ImportError as exc:
        missing(f"the demo's client libraries are missing from this Python ({exc.name}: pip install -e '.[demo]')")
    project = f"mscl{secrets.token_hex(3)}"
    root = copy_demo(tmp_path / "stack", project, PORTS)
    pm2_home = tmp_path / "pm2"
    pm2_home.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for key in SCRUBBED_ENV:
            mp.delenv(key, raising=False)
        stack = E2EStack(root, project, pm2_home, machine, cli_env(pm2_home, machine.pm2))
        try:
            yield CloneDemo(stack, psql, redis_cli)
        finally:
            stack.inv("dev", "clean", "--all", "--yes", timeout=180)
            stack.remove_everything()


def timed(label: str, timings: dict[str, float], action) -> object:
    began = time.monotonic()
    result = action()
    timings[label] = time.monotonic() - began
    return result


def volume_labels(demo: CloneDemo, name: str) -> dict[str, str]:
    done = demo.stack.docker("volume", "inspect", name, "--format", "{{json .Labels}}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_clone_copies_instance_1s_data_into_3_and_reset_empties_3(demo: CloneDemo) -> None:
    stack, timings = demo.stack, {}
    timed("start 1", timings, lambda: demo.inv("dev", "1", "start"))
    first = f"from-1-{secrets.token_hex(4)}"
    assert demo.api(1, "/api/notes", {"body": first})["instance"] == 1
    before = stack.volumes()

    # --dry prints the copy and changes nothing: no volume, no folder for 3.
    dry = stack.inv("--dry", "dev", "3", "clone", "--from", "1", check=True)
    assert "docker run --rm --pull never" in dry.stdout and f"{demo.namespace(3)}_pgdata" in dry.stdout
    assert stack.volumes() == before and not stack.instance_dir(3).exists()

    cloned = timed("clone 3 --from 1", timings,
                   lambda: stack.inv("dev", "3", "clone", "--from", "1", timeout=START_TIMEOUT, check=True))
    assert f"instance 3: copied 3 volumes of instance 1 (mqttdata, pgdata, redisdata)" in cloned.stdout
    assert f"renamed the copied database {demo.database(1)} to {demo.database(3)}" in cloned.stdout
    assert "already exists but was not created by Docker Compose" not in cloned.stderr
    assert "Recreate" not in cloned.stdout + cloned.stderr
    # The row of instance 1, read from instance 3's own server, in 3's own database.
    assert demo.rows(3, f"SELECT instance FROM notes WHERE body = '{first}'") == ["1"]
    assert demo.api(3, "/api/health") == {"postgres": True, "redis": True, "mqtt": True}
    # Instance 1 was stopped for the copy and is back, with its row.
    assert demo.rows(1, f"SELECT count(*) FROM notes WHERE body = '{first}'") == ["1"]
    assert demo.api(1, "/api/health") == {"postgres": True, "redis": True, "mqtt": True}

    # The copies are instance 3's own to compose: its labels, no config-hash.
    for key in ("pgdata", "redisdata", "mqttdata"):
        labels = volume_labels(demo, f"{demo.namespace(3)}_{key}")
        assert labels["com.docker.compose.project"] == demo.namespace(3), labels
        assert labels["com.docker.compose.volume"] == key and "com.docker.compose.config-hash" not in labels

    third = f"from-3-{secrets.token_hex(4)}"
    assert demo.api(3, "/api/notes", {"body": third})["instance"] == 3
    assert demo.rows(3, f"SELECT count(*) FROM notes WHERE body = '{third}'") == ["1"]
    assert demo.rows(1, f"SELECT count(*) FROM notes WHERE body = '{third}'") == ["0"]

    # A running target is refused: one line, exit 4, nothing changed.
    for words in (("clone", "--from", "1"), ("reset",)):
        refused = stack.inv("dev", "3", *words)
        assert refused.rc == 4, refused
        assert refused.stderr.startswith("error: instance 3 is running") and refused.stderr.count("\n") == 1, refused
    assert demo.rows(3, f"SELECT count(*) FROM notes WHERE body = '{third}'") == ["1"]

    reset = timed("reset 3 --force", timings,
                  lambda: stack.inv("dev", "3", "reset", "--force", timeout=START_TIMEOUT, check=True))
    assert "instance 3: reset: volumes mqttdata, pgdata, redisdata empty" in reset.stdout
    assert demo.rows(3, "SELECT count(*) FROM notes") == ["0"]  # started again (--force), empty
    assert demo.database(1) not in demo.rows(3, "SELECT datname FROM pg_database")
    assert demo.rows(1, f"SELECT count(*) FROM notes WHERE body = '{first}'") == ["1"]  # 1 untouched

    # clean 3 removes instance 3's volumes (its labels say whose they are), and none of 1's.
    stack.inv("dev", "3", "clean", "--yes", timeout=180, check=True)
    volumes = stack.volumes()
    assert demo.namespace(3) not in volumes.values(), volumes
    assert sorted(v for v, p in volumes.items() if p == demo.namespace(1)) == sorted(
        f"{demo.namespace(1)}_{k}" for k in ("mqttdata", "pgdata", "redisdata"))
    print("clone e2e: " + ", ".join(f"{label} {seconds:.1f}s" for label, seconds in timings.items()))


# --------------------------------------------------------------------------
# Shared mode: CREATE DATABASE ... TEMPLATE on a real PostgreSQL server


def postgres_bin() -> Path | None:
    import glob

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def as_owner(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: its tools run as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def psql(database: str, sql: str) -> str:
    done = subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-d", database,
                           "-v", "ON_ERROR_STOP=1", "-tAc", sql], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def server() -> Iterator[None]:
    """A PostgreSQL server of this test's own on 127.0.0.1:26950 (trust auth), removed afterwards."""
    folder = postgres_bin()
    if folder is None or not shutil.which("psql"):
        missing("PostgreSQL server binaries and psql are needed: apt-get install postgresql")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        missing("running as root without runuser to run PostgreSQL as `postgres`")
    work = Path(tempfile.mkdtemp(prefix="ms-clone-pg-"))
    if os.geteuid() == 0:
        import pwd

        owner = pwd.getpwnam("postgres")
        os.chown(work, owner.pw_uid, owner.pw_gid)
    data = work / "data"
    init = subprocess.run(as_owner([str(folder / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                    "-E", "UTF8", "--no-sync"]), capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    options = f"-p {PG_PORT} -k {work} -c listen_addresses=127.0.0.1 -c fsync=off"
    started = subprocess.run(as_owner([str(folder / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                                       str(work / "log"), "-w", "-t", "60", "start"]),
                             capture_output=True, text=True, timeout=90)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield
    finally:
        subprocess.run(as_owner([str(folder / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(work, ignore_errors=True)


SERVER = """\
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(os.environ["DATABASE"].encode())
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""


def shared_stack(project: str) -> str:
    conn = f"-h 127.0.0.1 -p {PG_PORT} -U postgres -d postgres"
    return textwrap.dedent(f"""\
        project: {project}
        instances: 1-3
        stride: 1
        mode: shared
        services:
          api: {{port: {SHARED_APP_BASE}}}
        apps:
          api:
            command: {sys.executable} server.py
            env: {{PORT: "{{{{ ports.api }}}}", DATABASE: "{{{{ database }}}}"}}
        provision:
          database:
            exists: psql -X {conn} -tAc "SELECT 1 FROM pg_database WHERE datname = '{{{{ database }}}}'"
            create: psql -X -v ON_ERROR_STOP=1 {conn} -c "CREATE DATABASE {{{{ database }}}}"
            teardown: psql -X -v ON_ERROR_STOP=1 {conn} -c "DROP DATABASE IF EXISTS {{{{ database }}}} WITH (FORCE)"
          marker:
            create: echo created {{{{ namespace }}}}
            teardown: echo removed {{{{ namespace }}}}
        clone:
          database:
            psql: psql -X -q {conn}
        """)


def test_shared_mode_clone_copies_the_database_with_template(server: None, tmp_path: Path) -> None:
    pm2 = pm2_binary()
    if not pm2 or not shutil.which("node"):
        missing("PM2 and node are needed")
    project = f"msclsh{secrets.token_hex(2)}"
    root = tmp_path / "stack"
    root.mkdir()
    (root / "stack.yaml").write_text(shared_stack(project))
    (root / "server.py").write_text(SERVER)
    (root / "tasks.py").write_text("from multistack.cli import namespace\nns = namespace()\n")
    pm2_home = tmp_path / "pm2"
    pm2_home.mkdir()
    env = cli_env(pm2_home, pm2)
    for key in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE"):
        env.pop(key, None)

    def inv(*words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "invoke", *words], cwd=root, env=env, capture_output=True,
                              text=True, timeout=120, stdin=subprocess.DEVNULL)

    try:
        assert inv("dev", "1", "start").returncode == 0
        psql(f"{project}_instance_1", "CREATE TABLE t (v text); INSERT INTO t VALUES ('row-of-1')")
        began = time.monotonic()
        done = inv("dev", "3", "clone", "--from", "1")
        seconds = time.monotonic() - began
        assert done.returncode == 0, done.stdout + done.stderr
        assert psql(f"{project}_instance_3", "SELECT v FROM t") == "row-of-1"
        assert "CREATE DATABASE" in done.stdout or "copied database" in done.stdout
        assert f"not copied, recreated empty for instance 3: provision steps marker" in done.stdout
        assert f"removed {project}-dev-3" in done.stdout and f"created {project}-dev-3" in done.stdout
        # The source is open again, and keeps its row; 3's copy is its own.
        psql(f"{project}_instance_3", "INSERT INTO t VALUES ('row-of-3')")
        assert psql(f"{project}_instance_1", "SELECT string_agg(v, ',') FROM t") == "row-of-1"
        assert psql("postgres", f"SELECT datallowconn FROM pg_database WHERE datname = '{project}_instance_1'") == "t"
        refused = inv("dev", "3", "clone", "--from", "1")  # 3's app is online now
        assert refused.returncode == 4 and refused.stderr.startswith("error: instance 3 is running")
        assert inv("dev", "3", "reset", "--force").returncode == 0
        assert psql("postgres", f"SELECT count(*) FROM pg_database WHERE datname = '{project}_instance_3'") == "1"
        assert psql(f"{project}_instance_3", "SELECT count(*) FROM pg_tables WHERE tablename = 't'") == "0"
        print(f"shared clone e2e: clone 3 --from 1 {seconds:.1f}s")
    finally:
        subprocess.run([pm2, "kill"], env=env, capture_output=True, timeout=60)
