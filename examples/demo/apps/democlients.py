"""What both demo apps share: the instance's settings and the client libraries.

The apps run under PM2 as ``python3 apps/<app>.py``. When that ``python3`` lacks the
client libraries (psycopg, redis, paho-mqtt: ``pip install -e '.[demo]'``), the app
re-runs itself with the first ``.venv/bin/python`` found in the folders above it (the
repository's venv that scripts/bootstrap.sh made), so the demo does not depend on
which Python is first on the PATH of the PM2 daemon.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

CLIENTS = ("psycopg", "redis", "paho.mqtt")
#: Set on the re-run: a venv without the libraries must fail, not loop.
REEXEC_FLAG = "DEMO_REEXEC"


def ensure_clients() -> None:
    """Import the client libraries, or exec a Python that has them, or exit with what to install."""
    try:
        for name in CLIENTS:
            __import__(name)
        return
    except ImportError as exc:
        missing = exc.name
    if not os.environ.get(REEXEC_FLAG):
        for folder in Path(__file__).resolve().parents:
            python = folder / ".venv" / "bin" / "python"
            if python.is_file() and os.access(python, os.X_OK) and Path(sys.executable) != python:
                os.environ[REEXEC_FLAG] = "1"
                os.execv(str(python), [str(python), *sys.argv])
    sys.exit(f"{Path(sys.argv[0]).name}: the Python client library {missing!r} is missing "
             f"(fix: pip install -e '.[demo]' in the repository, or scripts/bootstrap.sh)")


@dataclass(frozen=True)
class Settings:
    """The instance's names and ports, from the env files multistack generated for it."""

    instance: int
    namespace: str
    database: str
    db_user: str
    db_password: str
    pg_port: int
    redis_port: int
    redis_prefix: str
    mqtt_port: int
    mqtt_subscribe: str
    cache_ttl: int
    sensor_interval: float
    host: str = "127.0.0.1"

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            instance=int(env["DEMO_INSTANCE"]),
            namespace=env["DEMO_NAMESPACE"],
            database=env["DEMO_DATABASE"],
            db_user=env["DEMO_DB_USER"],
            db_password=env["DEMO_DB_PASSWORD"],
            pg_port=int(env["DEMO_PG_PORT"]),
            redis_port=int(env["DEMO_REDIS_PORT"]),
            redis_prefix=env["DEMO_REDIS_PREFIX"],
            mqtt_port=int(env["DEMO_MQTT_PORT"]),
            mqtt_subscribe=env["DEMO_MQTT_SUBSCRIBE"],
            cache_ttl=int(env.get("DEMO_CACHE_TTL", "30")),
            sensor_interval=float(env.get("DEMO_SENSOR_INTERVAL", "2")),
        )

    def topic(self, device: str, tag: str) -> str:
        """``<namespace>/<device>/tags/<tag>``: what ``mqtt_subscribe`` (``<namespace>/+/tags/#``) matches."""
        return f"{self.namespace}/{device}/tags/{tag}"

    def conninfo(self) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(host=self.host, port=self.pg_port, dbname=self.database,
                             user=self.db_user, password=self.db_password, connect_timeout=5,
                             application_name=f"{self.namespace}-backend")
