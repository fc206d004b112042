"""The small stack the bad-input catalogues start from (tests/boundary/test_bad_input.py and
tests/boundary/): one compose service, one PM2 app, one env file holding a secret."""
from __future__ import annotations

STACK = """\
project: demo
instances: 0-5
compose:
  files: [compose.yml]
env_files: [app.env]
services:
  web: {port: 8000, compose: web, container_port: 8080}
  api: {port: 3000}
apps:
  api:
    command: python3 -m http.server
    env_files: [instance.env, app.env]
env:
  API_URL: "http://localhost:{{ ports.api }}"
"""
COMPOSE = """\
services:
  web:
    image: multistack-test/busybox:1
    ports: ["8000:8080"]
"""
ENV = "PORT=3000\nDB_URL=postgres://u:secret@localhost:5432/app\n"
TASKS = "from multistack.cli import namespace\nns = namespace()\n"
BASE: dict[str, str | bytes] = {"stack.yaml": STACK, "compose.yml": COMPOSE, "app.env": ENV, "tasks.py": TASKS}
