#!/usr/bin/env python3
"""A PM2 app of the e2e test stack: `python3 app.py ROLE` serves `ROLE N` on 127.0.0.1:$PORT.

PORT and MULTISTACK_INSTANCE come from the instance's env (PM2 passes the
ecosystem's env). Standard library only; exits 0 on SIGTERM/SIGINT.
"""
from __future__ import annotations

import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


def main() -> None:
    role = sys.argv[1] if len(sys.argv) > 1 else "app"
    port = int(os.environ["PORT"])
    body = f"{role} {os.environ['MULTISTACK_INSTANCE']}\n".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
            pass

    server = HTTPServer(("127.0.0.1", port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"{role}: serving on 127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
