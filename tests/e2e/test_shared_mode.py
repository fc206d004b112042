"""Shared mode end to end: one real PostgreSQL server, two instances, a database each.

The test starts its own PostgreSQL (Debian's postgresql package: initdb into a
temporary folder, a free port, ``pg_ctl start``; as the ``postgres`` user when
run as root, since PostgreSQL refuses root) and its own PM2 daemon, writes a
tiny ``mode: shared`` stack whose ``provision:`` creates and drops the
instance's database with psql, then runs ``inv dev ...`` as a subprocess and
checks from outside: ``pg_database`` and the apps' HTTP answers.

No Docker here: the "shared infra" is the test's server. Missing PostgreSQL or
PM2 skips the test with the reason, except under ``CI=true``, where it fails.
"""
from __future__ import annotations

import glob
import shlex
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCRUBBED_ENV = ("MULTISTACK_INSTANCE", "MULTISTACK_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_FILE", "PM2_HOME",
                "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE")


def missing(what: str) -> None:
    """Skip on a developer's machine; fail under CI=true, where a skip would hide a broken setup."""
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true but {what}", pytrace=False)
    pytest.skip(what)


def postgres_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: Debian keeps them out of PATH, in /usr/lib/postgresql/V/bin."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path and shutil.which("initdb") else None


def pm2_binary() -> str | None:
    local = REPO / "node_modules" / ".bin" / "pm2"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("pm2")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_base(count: int) -> int:
    """A base port B with B+1..B+count free (instance N's app listens on B + N)."""
    for _ in range(50):
        base = free_port() - 1
        try:
            socks = []
            for n in range(1, count + 1):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", base + n))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no run of free ports found")


@dataclass
class Postgres:
    port: int
    bin: Path

    def psql(self, sql: str) -> str:
        done = subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
                               "-v", "ON_ERROR_STOP=1", "-tAc", sql], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def databases(self, prefix: str) -> set[str]:
        return {line for line in self.psql("SELECT datname FROM pg_database").split() if line.startswith(prefix)}


def _as_owner(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user then."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv] if shutil.which("runuser") else \
        ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(argv)]


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    folder = postgres_bin()
    if folder is None:
        missing("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    if not shutil.which("psql"):
        missing("psql not on PATH: apt-get install postgresql-client")
    if os.geteuid() == 0:
        try:
            import pwd

            owner = pwd.getpwnam("postgres")
        except KeyError:
            missing("running as root and there is no `postgres` user to run the server as")
    # Not under pytest's tmp_path: as root that is a 0700 folder the postgres user cannot enter.
    work = Path(tempfile.mkdtemp(prefix="ms-pg-"))
    data = work / "data"
    if os.geteuid() == 0:
        os.chown(work, owner.pw_uid, owner.pw_gid)
    port = free_port()
    log = work / "server.log"
    init = subprocess.run(_as_owner([str(folder / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                     "-E", "UTF8", "--no-sync"]), capture_output=True, text=True, timeout=120)
    if init.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        pytest.fail(f"initdb failed: {init.stderr}")
    options = f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = subprocess.run(_as_owner([str(folder / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log),
                                      "-w", "-t", "60", "start"]), capture_output=True, text=True, timeout=90)
    if start.returncode != 0:
        text = log.read_text() if log.exists() else ""
        shutil.rmtree(work, ignore_errors=True)
        pytest.fail(f"pg_ctl start failed: {start.stdout}{start.stderr}\n{text}")
    try:
        yield Postgres(port, folder)
    finally:
        subprocess.run(_as_owner([str(folder / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(work, ignore_errors=True)


SERVER = """\
import http.server, json, os

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        keys = ("NAMESPACE", "DATABASE", "KAFKA_WRITES", "MODE")
        body = json.dumps({k.lower(): os.environ.get(k) for k in keys}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def stack_yaml(pg_port: int, base: int) -> str:
    psql = f"psql -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p {pg_port} -U postgres -d postgres"
    return textwrap.dedent(f"""\
        project: e2eshared
        instances: 1-3
        stride: 1
        mode: shared
        services:
          api: {{port: {base}}}
        apps:
          api:
            command: {sys.executable} server.py
            env:
              PORT: "{{{{ ports.api }}}}"
              NAMESPACE: "{{{{ namespace }}}}"
              DATABASE: "{{{{ database }}}}"
              KAFKA_WRITES: "{{{{ names.kafka_writes_topic }}}}"
              MODE: "{{{{ mode }}}}"
        provision:
          database:
            exists: {psql} -tAc "SELECT 1 FROM pg_database WHERE datname = '{{{{ database }}}}'"
            create: >-
              printf '%s\\n' "SELECT 'CREATE DATABASE {{{{ database }}}}'
              WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{{{{ database }}}}')\\gexec"
              | {psql}
            teardown: {psql} -c "DROP DATABASE IF EXISTS {{{{ database }}}} WITH (FORCE)"
        """)


@dataclass
class SharedStack:
    root: Path
    env: dict[str, str]
    pm2: str
    base: int

    def inv(self, *words: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "invoke", *words], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def ok(self, *words: str) -> str:
        done = self.inv(*words)
        assert done.returncode == 0, f"inv {' '.join(words)} (exit {done.returncode})\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def apps(self) -> dict[str, str]:
        done = subprocess.run([self.pm2, "jlist"], env=self.env, capture_output=True, text=True, timeout=60)
        lines = [line for line in done.stdout.splitlines() if line.startswith("[") and not line.startswith("[PM2")]
        return {p["name"]: p["pm2_env"]["status"] for p in json.loads(lines[-1] if lines else "[]")}

    def answer(self, n: int, mode: str | None = None, wait: float = 20) -> dict[str, str]:
        """What instance n's app says about itself over HTTP, once it listens (in ``mode``, when given)."""
        deadline = time.monotonic() + wait
        body: dict[str, str] = {}
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.base + n}/", timeout=2) as response:
                    body = json.loads(response.read())
                if mode is None or body.get("mode") == mode:
                    return body
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        pytest.fail(f"instance {n}'s app did not answer{f' in {mode} mode' if mode else ''} (last: {body})")


@pytest.fixture
def shared_stack(postgres: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SharedStack]:
    pm2 = pm2_binary()
    if not pm2:
        missing("PM2 is not installed (node_modules/.bin/pm2 or pm2 on PATH)")
    if not shutil.which("node"):
        missing("node is not on PATH (PM2 needs it)")
    base = free_base(3)
    root = tmp_path / "stack"
    root.mkdir()
    (root / "stack.yaml").write_text(stack_yaml(postgres.port, base))
    (root / "server.py").write_text(SERVER)
    (root / "tasks.py").write_text("from multistack.cli import namespace\nns = namespace()\n")
    pm2_home = tmp_path / "pm2"  # short: PM2's unix sockets live here
    pm2_home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env["PM2_HOME"] = str(pm2_home)
    env["PATH"] = os.pathsep.join([str(Path(pm2).parent), str(Path(sys.executable).parent), env.get("PATH", "")])
    for key in SCRUBBED_ENV:
        monkeypatch.delenv(key, raising=False)
    stack = SharedStack(root, env, pm2, base)
    try:
        yield stack
    finally:
        subprocess.run([pm2, "kill"], env=env, capture_output=True, timeout=60)
        for db in postgres.databases("e2eshared_"):
            postgres.psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def test_shared_mode_databases_per_instance(shared_stack: SharedStack, postgres: Postgres):
    assert postgres.databases("e2eshared_") == set()

    first = shared_stack.ok("dev", "1", "start")
    assert "database  created" in first and "instance 1: created 1, 0 already present" in first
    shared_stack.ok("dev", "2", "start")
    assert postgres.databases("e2eshared_") == {"e2eshared_instance_1", "e2eshared_instance_2"}

    # Each app got its own instance's names, by the one scheme.
    assert shared_stack.answer(1) == {"namespace": "e2eshared-dev-1", "database": "e2eshared_instance_1",
                                      "kafka_writes": "e2eshared-dev-1-writes", "mode": "shared"}
    assert shared_stack.answer(2)["database"] == "e2eshared_instance_2"

    again = shared_stack.ok("dev", "1", "start")
    assert "database  present (nothing to do)" in again
    assert "instance 1: nothing new to provision (1 already present)" in again
    assert postgres.databases("e2eshared_") == {"e2eshared_instance_1", "e2eshared_instance_2"}

    # --dry shows the commands of instance 3 and creates nothing.
    dry = shared_stack.ok("--dry", "dev", "3", "start")
    assert "CREATE DATABASE e2eshared_instance_3" in dry and "would create 1 (dry run)" in dry
    assert postgres.databases("e2eshared_") == {"e2eshared_instance_1", "e2eshared_instance_2"}

    refused = shared_stack.inv("dev", "1", "clean")  # stdin is not a terminal: no --yes, no teardown
    assert refused.returncode == 2 and "needs confirmation" in refused.stderr
    assert "e2eshared_instance_1" in postgres.databases("e2eshared_")

    cleaned = shared_stack.ok("dev", "1", "clean", "--yes")
    assert "instance 1: removed 1, 0 already absent" in cleaned
    assert postgres.databases("e2eshared_") == {"e2eshared_instance_2"}
    apps = shared_stack.apps()
    assert "e2eshared-api-1" not in apps and apps.get("e2eshared-api-2") == "online"  # issue 13: <project>-<app>-<N>
    assert not (shared_stack.root / ".instances" / "instance-1").exists()
    assert shared_stack.answer(2)["database"] == "e2eshared_instance_2"


def test_start_flag_is_remembered_until_clean(shared_stack: SharedStack, postgres: Postgres):
    """`start --isolated` on a shared stack provisions nothing; `--shared` later does, and clean tears down."""
    stack_file = shared_stack.root / "stack.yaml"
    stack_file.write_text(stack_file.read_text().replace("mode: shared\n", "mode: isolated\n"))
    shared_stack.ok("dev", "1", "start")
    assert postgres.databases("e2eshared_") == set()
    assert shared_stack.answer(1, "isolated")["mode"] == "isolated"

    out = shared_stack.ok("dev", "1", "start", "--shared")
    assert "instance 1: created 1" in out
    assert shared_stack.answer(1, "shared")["database"] == "e2eshared_instance_1"
    assert "mode             shared" in shared_stack.ok("dev", "1", "info")  # remembered without the flag

    shared_stack.ok("dev", "1", "stop")
    assert postgres.databases("e2eshared_") == {"e2eshared_instance_1"}  # stop never touches shared state
    shared_stack.ok("dev", "1", "clean", "--yes")
    assert postgres.databases("e2eshared_") == set()
