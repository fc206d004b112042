#!/usr/bin/env python3
"""Stand-in for the example stack's apps: `python3 apps/devserver.py ROLE`.

ROLE is backend, worker or frontend (see stack.yaml `apps:`). PM2 starts it with the
instance's env already in os.environ (instance.env + the app's env copy).

- backend, frontend: an HTTP server on 127.0.0.1:$PORT answering GET / and
  GET /api/health with JSON {role, instance, namespace, port}.
- worker: no port; prints a heartbeat line with its namespace and task queue every
  10 seconds (HEARTBEAT_SECONDS overrides the period).

Standard library only. Exits 2 on a usage or configuration error, 0 on SIGTERM/SIGINT.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NoReturn

ROLES = ("backend", "worker", "frontend")
HTTP_ROLES = ("backend", "frontend")
HOST = "127.0.0.1"


def log(role: str, message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {role}: {message}", flush=True)


def fail(message: str) -> NoReturn:
    print(f"devserver: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def instance_number() -> int | str | None:
    raw = os.environ.get("SHIPSEC_INSTANCE")
    return int(raw) if raw is not None and raw.isdigit() else raw


def identity(role: str, port: int | None) -> dict:
    return {
        "role": role,
        "instance": instance_number(),
        "namespace": os.environ.get("SHIPSEC_NAMESPACE"),
        "port": port,
    }


def read_port(role: str) -> int:
    raw = os.environ.get("PORT", "").strip()
    if not raw:
        fail(f"{role} needs PORT in its environment (is its env file loaded?)")
    try:
        port = int(raw)
    except ValueError:
        fail(f"{role}: PORT must be an integer, got {raw!r}")
    if not 1 <= port <= 65535:
        fail(f"{role}: PORT must be between 1 and 65535, got {port}")
    return port


def make_handler(role: str, port: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = f"shipsec-devserver/{role}"

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            path = self.path.split("?", 1)[0]
            if path in ("/", "/api/health"):
                status, body = 200, {**identity(role, port), "status": "ok", "path": path}
            else:
                status, body = 404, {"error": "not found", "path": path}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            # One short line per request, on stdout (PM2's out log).
            log(role, f"{self.address_string()} {format % args}")

    return Handler


def serve(role: str) -> int:
    port = read_port(role)
    try:
        server = ThreadingHTTPServer((HOST, port), make_handler(role, port))
    except OSError as exc:
        fail(f"{role}: cannot listen on {HOST}:{port}: {exc.strerror or exc}")
    server.daemon_threads = True

    def stop(signum: int, _frame) -> None:
        log(role, f"received {signal.Signals(signum).name}, shutting down")
        # shutdown() blocks until serve_forever() returns: call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ident = identity(role, port)
    log(role, f"listening on http://{HOST}:{port} (instance {ident['instance']}, "
              f"namespace {ident['namespace']})")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    log(role, "stopped")
    return 0


def work(role: str) -> int:
    try:
        period = float(os.environ.get("HEARTBEAT_SECONDS", "10"))
    except ValueError:
        fail(f"{role}: HEARTBEAT_SECONDS must be a number")
    if period <= 0:
        fail(f"{role}: HEARTBEAT_SECONDS must be positive")
    stopping = threading.Event()

    def stop(signum: int, _frame) -> None:
        log(role, f"received {signal.Signals(signum).name}, shutting down")
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    namespace = os.environ.get("TEMPORAL_NAMESPACE") or os.environ.get("SHIPSEC_NAMESPACE")
    queue = os.environ.get("TEMPORAL_TASK_QUEUE")
    temporal = os.environ.get("TEMPORAL_ADDRESS")
    log(role, f"started (instance {os.environ.get('SHIPSEC_INSTANCE')}, temporal {temporal})")
    beats = 0
    while not stopping.is_set():
        beats += 1
        log(role, f"heartbeat {beats} namespace={namespace} task_queue={queue}")
        stopping.wait(period)
    log(role, "stopped")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ROLES:
        fail(f"usage: python3 apps/devserver.py {{{'|'.join(ROLES)}}}")
    role = argv[0]
    return serve(role) if role in HTTP_ROLES else work(role)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
