#!/usr/bin/env python3
"""demo-backend: one instance's data in its own PostgreSQL, Redis and MQTT broker.

- PostgreSQL (the instance's database ``DEMO_DATABASE``): table ``notes`` (written by
  ``POST /api/notes``) and table ``messages`` (every MQTT message it received).
- Redis (every key under the instance's prefix ``DEMO_REDIS_PREFIX``): a page-view
  counter, the recent notes cached for ``DEMO_CACHE_TTL`` seconds, the latest payload
  per MQTT topic.
- MQTT: subscribes to ``<namespace>/+/tags/#``; a new note is published on
  ``<namespace>/backend/tags/note``.

HTTP on 127.0.0.1:$PORT: ``/`` (a page), ``/api/state`` (the same as JSON),
``POST /api/notes`` (JSON ``{"body": "..."}`` or a form), ``/api/health``.
Exits 0 on SIGTERM.
"""
from __future__ import annotations

import html
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from democlients import Settings, ensure_clients

ensure_clients()

import paho.mqtt.client as mqtt  # noqa: E402 - after ensure_clients
import psycopg  # noqa: E402
import redis  # noqa: E402

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id bigserial PRIMARY KEY, body text NOT NULL, instance int NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS messages (
    id bigserial PRIMARY KEY, topic text NOT NULL, payload text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now());
"""
RECENT = 10
#: Messages kept in the table (the sensor sends one every 2 s): older ones are deleted.
KEEP_MESSAGES = 1000


class Database:
    """One autocommit connection, shared by the HTTP threads and the MQTT thread; reconnects once on a failure."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.lock = threading.Lock()
        self.conn = self.connect(attempts=30)
        self.run(SCHEMA)

    def connect(self, attempts: int = 1) -> psycopg.Connection[Any]:
        for attempt in range(attempts):
            try:
                return psycopg.connect(self.conninfo, autocommit=True)
            except psycopg.OperationalError:
                if attempt + 1 == attempts:
                    raise
                time.sleep(1)
        raise AssertionError("unreachable")

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            for attempt in (1, 2):
                try:
                    with self.conn.cursor() as cur:
                        cur.execute(sql, params or None)  # no params: several statements may run
                        return cur.fetchall() if cur.description else []
                except psycopg.OperationalError:
                    if attempt == 2:
                        raise
                    self.conn = self.connect(attempts=5)
        return []


class Backend:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.conninfo())
        self.cache = redis.Redis(host=settings.host, port=settings.redis_port, decode_responses=True,
                                 socket_timeout=5, health_check_interval=30)
        self.cache.ping()
        self.received = 0
        self.mqtt = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{settings.namespace}-backend")
        self.mqtt.on_connect = self.on_connect
        self.mqtt.on_message = self.on_message
        self.mqtt.connect_async(settings.host, settings.mqtt_port)
        self.mqtt.loop_start()

    def key(self, name: str) -> str:
        """Every Redis key of this instance: ``<namespace>:<name>``."""
        return f"{self.settings.redis_prefix}{name}"

    # --- MQTT -------------------------------------------------------------------
    def on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: Any, props: object) -> None:
        if not reason.is_failure:
            client.subscribe(self.settings.mqtt_subscribe, qos=1)  # again after every reconnect

    def on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        payload = message.payload.decode(errors="replace")
        self.received += 1
        try:
            self.db.run("INSERT INTO messages (topic, payload) VALUES (%s, %s)", (message.topic, payload))
            if self.received % 100 == 0:
                self.db.run("DELETE FROM messages WHERE id <= (SELECT max(id) FROM messages) - %s", (KEEP_MESSAGES,))
            self.cache.hset(self.key("mqtt:latest"), message.topic, payload)
            self.cache.incr(self.key("mqtt:received"))
        except (psycopg.Error, redis.RedisError) as exc:
            print(f"demo-backend: message on {message.topic} not stored: {exc}", file=sys.stderr, flush=True)

    # --- what the HTTP handlers do --------------------------------------------------
    def add_note(self, body: str) -> dict[str, Any]:
        rows = self.db.run("INSERT INTO notes (body, instance) VALUES (%s, %s) RETURNING id, created_at",
                           (body, self.settings.instance))
        note_id, created = rows[0]
        self.cache.delete(self.key("notes:recent"))
        note = {"id": note_id, "body": body, "instance": self.settings.instance, "created_at": created.isoformat()}
        self.mqtt.publish(self.settings.topic("backend", "note"), json.dumps(note), qos=1)
        return note

    def recent_notes(self) -> tuple[list[dict[str, Any]], str]:
        """The recent notes and where they came from: ``redis`` (cached) or ``postgres`` (then cached)."""
        cached = self.cache.get(self.key("notes:recent"))
        if cached is not None:
            return json.loads(cached), "redis"
        rows = self.db.run("SELECT id, body, instance, created_at FROM notes ORDER BY id DESC LIMIT %s", (RECENT,))
        notes = [{"id": i, "body": b, "instance": n, "created_at": t.isoformat()} for i, b, n, t in rows]
        self.cache.set(self.key("notes:recent"), json.dumps(notes), ex=self.settings.cache_ttl)
        return notes, "postgres"

    def state(self, count_view: bool = False) -> dict[str, Any]:
        s = self.settings
        views = self.cache.incr(self.key("page-views")) if count_view else int(self.cache.get(self.key("page-views")) or 0)
        notes, source = self.recent_notes()
        (notes_count, messages_count), = self.db.run("SELECT (SELECT count(*) FROM notes), (SELECT count(*) FROM messages)")
        messages = self.db.run("SELECT topic, payload, received_at FROM messages ORDER BY id DESC LIMIT %s", (RECENT,))
        keys = sorted(self.cache.scan_iter(count=1000))  # every key on this instance's Redis, prefixed or not
        return {
            "instance": s.instance,
            "namespace": s.namespace,
            "postgres": {"port": s.pg_port, "database": s.database, "notes_count": notes_count,
                         "messages_count": messages_count, "notes": notes, "notes_from": source},
            "redis": {"port": s.redis_port, "prefix": s.redis_prefix, "keys": keys, "page_views": views},
            "mqtt": {"port": s.mqtt_port, "subscribed": s.mqtt_subscribe, "connected": self.mqtt.is_connected(),
                     "received": self.received,
                     "latest": self.cache.hgetall(self.key("mqtt:latest")),
                     "messages": [{"topic": t, "payload": p, "received_at": r.isoformat()} for t, p, r in messages]},
        }

    def health(self) -> dict[str, bool]:
        checks = {"postgres": False, "redis": False, "mqtt": self.mqtt.is_connected()}
        try:
            checks["postgres"] = self.db.run("SELECT 1") == [(1,)]
        except psycopg.Error:
            pass
        try:
            checks["redis"] = bool(self.cache.ping())
        except redis.RedisError:
            pass
        return checks


def page(state: dict[str, Any]) -> str:
    """The state as a small HTML page, with a form that adds a note."""
    e = html.escape
    pg, rd, mq = state["postgres"], state["redis"], state["mqtt"]
    notes = "".join(f"<li>#{n['id']} {e(n['body'])} <small>{e(n['created_at'])}</small></li>" for n in pg["notes"])
    keys = "".join(f"<li><code>{e(k)}</code></li>" for k in rd["keys"])
    latest = "".join(f"<li><code>{e(t)}</code>: {e(p)}</li>" for t, p in sorted(mq["latest"].items()))
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>demo instance {state['instance']}</title>
<meta http-equiv="refresh" content="10"></head>
<body style="font-family: sans-serif; max-width: 60em">
<h1>Instance {state['instance']} <small>namespace <code>{e(state['namespace'])}</code></small></h1>
<h2>PostgreSQL <small>127.0.0.1:{pg['port']}, database <code>{e(pg['database'])}</code></small></h2>
<p>Notes: {pg['notes_count']}; MQTT messages stored: {pg['messages_count']}. Recent notes (read from {pg['notes_from']}):</p>
<ul>{notes or '<li>none yet</li>'}</ul>
<form method="post" action="/api/notes"><input name="body" placeholder="a note" required>
<button>add to this instance's database</button></form>
<h2>Redis <small>127.0.0.1:{rd['port']}, prefix <code>{e(rd['prefix'])}</code></small></h2>
<p>Page views: {rd['page_views']}. Every key on this instance's Redis:</p><ul>{keys}</ul>
<h2>MQTT <small>127.0.0.1:{mq['port']}, subscribed to <code>{e(mq['subscribed'])}</code></small></h2>
<p>{'Connected' if mq['connected'] else 'NOT connected'}; messages received since start: {mq['received']}. Latest per topic:</p>
<ul>{latest or '<li>none yet</li>'}</ul>
<p><a href="/api/state">/api/state</a> (JSON)</p>
</body></html>
"""


def handler_for(backend: Backend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = urllib.parse.urlsplit(self.path).path
            if path == "/":
                self.send(200, page(backend.state(count_view=True)), "text/html; charset=utf-8")
            elif path == "/api/state":
                self.send_json(200, backend.state())
            elif path == "/api/health":
                checks = backend.health()
                self.send_json(200 if all(checks.values()) else 503, checks)
            else:
                self.send_json(404, {"error": f"no such page: {path}"})

        def do_POST(self) -> None:  # noqa: N802
            if urllib.parse.urlsplit(self.path).path != "/api/notes":
                self.send_json(404, {"error": "POST /api/notes only"})
                return
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            # The page's form, unless the body is JSON (`curl -d '{...}'` says form-urlencoded too).
            form = (self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")
                    and not raw.lstrip().startswith("{"))
            try:
                body = urllib.parse.parse_qs(raw).get("body", [""])[0] if form else json.loads(raw)["body"]
            except (ValueError, KeyError, TypeError):
                self.send_json(400, {"error": 'send JSON {"body": "..."} or a form with a body field'})
                return
            if not isinstance(body, str) or not body.strip():
                self.send_json(400, {"error": "body must be a non-empty string"})
                return
            note = backend.add_note(body.strip())
            if form:  # the page's form: back to the page
                self.send_response(303)
                self.send_header("Location", "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_json(201, note)

        def send_json(self, code: int, value: object) -> None:
            self.send(code, json.dumps(value, indent=1, default=str) + "\n", "application/json")

        def send(self, code: int, text: str, content_type: str) -> None:
            data = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
            pass

    return Handler


def main() -> None:
    settings = Settings.from_env()
    backend = Backend(settings)
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), handler_for(backend))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"demo-backend: instance {settings.instance} on http://127.0.0.1:{server.server_port}/ "
          f"(database {settings.database}, redis prefix {settings.redis_prefix}, "
          f"mqtt {settings.mqtt_subscribe})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        backend.mqtt.loop_stop()


if __name__ == "__main__":
    main()
