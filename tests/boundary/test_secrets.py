"""No secret in any output: each case puts one credential in one place and runs the real CLI.

A case writes a small stack (stack.yaml, compose.yml, app.env) with one secret in
it - a malformed env line that an error quotes, a quoted key, a URL's userinfo,
a connection string, an engine's ``docker_host`` with credentials, a token shape
in a compose file that doctor reports - runs ``inv`` in-process (no engine on
PATH: nothing here reaches Docker), and checks that the secret's text is in
neither stdout nor stderr while its context (the host, the key name) still is.

Each case is also run once with masking switched off (``test_..._without_masking``),
and there the secret must show: so no case passes because nothing was printed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from multistack.plan import masking
from tests.catalogue import run_cli

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
"""
COMPOSE = """\
services:
  web:
    image: multistack-test/busybox:1
    ports: ["8000:8080"]
"""
ENV = "PORT=3000\nLOG_LEVEL=info\n"
TASKS = "from multistack.cli import namespace\nns = namespace()\n"

GITHUB = "ghp_R4nd0mT0k3nV4lu3abcdefghijklmnopqr"
GITHUB_FINE = "github_pat_11ABCDEFG0123456789_abcdefghijKLMNOP"
AWS = "AKIAIOSFODNN7EXAMPLE"
SLACK = "xoxb-1234567890-0987654321-AbCdEfGhIjKl"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXZhbHVl"
BASE64 = "q8Vx3LmT9zKp2RwYb7NcF4hJd6GsA1eU5oWiZ0Xy"  # 40 random base64 characters
HEX = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
PEM_BODY = "MIIEowIBAAKCAQEAx7Rk3bQ9"


def engine(url: str) -> str:
    """stack.yaml with instance 1 on an engine reached at ``url``."""
    return STACK + f'engines:\n  remote: {{docker_host: "{url}", slots: [1]}}\n'


def service_url(url: str) -> str:
    return STACK.replace("container_port: 8080}", f'container_port: 8080, url: "{url}"}}')


MESH = """\
project: demo
mesh:
  compose: [m/base.yml]
  profiles:
    mesh: [gateway]
  environments:
    local: {compose: m/local.yml, template: env/local.env.example}
  hostnames:
    gateway: "gateway.{{ env.MESH_DOMAIN }}"
  url: "https://admin:{{ env.ADMIN_PASSWORD }}@{{ host }}"
"""
MESH_ENV = "ENVIRONMENT=local\nMESH_DOMAIN=mesh.test\nADMIN_PASSWORD=mesh-admin-pw\n"


def mesh(stack: str = MESH, env: str = MESH_ENV, active: bool = False) -> dict[str, str]:
    """A stack with only a mesh; ``active``: env/.env made from the template already."""
    files = {"stack.yaml": stack, "m/base.yml": "services:\n  gateway:\n    image: busybox\n    profiles: [mesh]\n",
             "m/local.yml": "services: {}\n", "env/local.env.example": env}
    return {**files, "env/.env": env} if active else files


def compose_env_file(path: str) -> str:
    return COMPOSE + f"    env_file: [{path}]\n"


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]
    secret: str  # must appear in no output
    shown: tuple[str, ...]  # the context that must still be printed
    files: dict[str, str] = field(default_factory=dict)


def env_line(line: str) -> dict[str, str]:
    return {"app.env": ENV + line + "\nOTHER=1\n"}


INIT = ["--dry", "dev", "1", "init"]
INFO = ["dev", "1", "info"]
PORTS = ["dev", "1", "ports"]
DRY_START = ["--dry", "dev", "1", "start"]

CASES = [
    # ---- a malformed env line is quoted back in the error: secret-named keys
    Case("malformed-blank-separator", INIT, "hunter2-blank", ("DB_PASSWORD", "app.env:3"),
         env_line('DB_PASSWORD hunter2-blank "')),
    Case("malformed-double-quoted-key", INIT, "hunter2-dq", ('"DB_PASSWORD"', "malformed line"),
         env_line('"DB_PASSWORD"="hunter2-dq')),
    Case("malformed-single-quoted-key", INIT, "tok-sq-value", ("'X_TOKEN'",),
         env_line("'X_TOKEN'=\"tok-sq-value")),
    Case("malformed-pwd-suffix", INIT, "pwd-value-9", ("DB_PWD",), env_line('DB_PWD "pwd-value-9')),
    Case("malformed-passphrase-colon", INIT, "phrase-value-9", ("KEY_PASSPHRASE",),
         env_line("KEY_PASSPHRASE: phrase-value-9")),
    Case("malformed-pass-suffix", INIT, "smtp-pass-9", ("SMTP_PASS",), env_line('SMTP_PASS "smtp-pass-9')),
    Case("malformed-secret-inside", INIT, "inner-secret-9", ("MY_SECRET_VALUE",),
         env_line('MY_SECRET_VALUE "inner-secret-9')),
    Case("malformed-token-inside", INIT, "auth-tok-9", ("SERVICE_TOKEN_X",), env_line('SERVICE_TOKEN_X "auth-tok-9')),
    Case("malformed-key-suffix", INIT, "stripe-key-9", ("STRIPE_KEY",), env_line('STRIPE_KEY "stripe-key-9')),
    Case("malformed-credential", INIT, "cred-json-9", ("GOOGLE_CREDENTIALS",),
         env_line('GOOGLE_CREDENTIALS "cred-json-9')),
    Case("malformed-private", INIT, "priv-value-9", ("SSH_PRIVATE",), env_line('SSH_PRIVATE "priv-value-9')),
    Case("malformed-lowercase-password", INIT, "lower-pw-9", ("db_password",), env_line('db_password "lower-pw-9')),
    # ---- a malformed line of an ordinary key: the value's shape decides
    Case("malformed-url-password", INIT, "urlpw-9", ("DATABASE_URL", "db.lan"),
         env_line('DATABASE_URL "postgres://app:urlpw-9@db.lan:5432/app')),
    Case("malformed-url-token-user", INIT, GITHUB, ("REPO", "github.com"),
         env_line(f'REPO "https://{GITHUB}@github.com/org/repo.git')),
    Case("malformed-tcp-userinfo", INIT, "tcp-pw-9", ("DOCKER", "bigbox.lan"),
         env_line('DOCKER "tcp://admin:tcp-pw-9@bigbox.lan:2376')),
    Case("malformed-connection-string", INIT, "mssql-pw-9", ("CONN", "Server=db.lan"),
         env_line('CONN "Server=db.lan;Database=app;User Id=sa;Password=mssql-pw-9;')),
    Case("malformed-odbc-pwd", INIT, "odbc-pw-9", ("ODBC", "Uid=sa"), env_line('ODBC "Driver=x;Uid=sa;Pwd=odbc-pw-9;')),
    Case("malformed-libpq", INIT, "libpq-pw-9", ("PGCONN", "host=db.lan"),
         env_line('PGCONN "password=libpq-pw-9 host=db.lan port=5432')),
    Case("malformed-azure-account-key", INIT, "AzUrEkEy9", ("AZURE", "AccountName=acct"),
         env_line('AZURE "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=AzUrEkEy9+/==;')),
    Case("malformed-github-token", INIT, GITHUB, ("NOTE",), env_line(f'NOTE "{GITHUB}')),
    Case("malformed-github-fine-grained", INIT, GITHUB_FINE, ("NOTE",), env_line(f'NOTE "{GITHUB_FINE}')),
    Case("malformed-aws-key-id", INIT, AWS, ("NOTE",), env_line(f'NOTE "id {AWS}')),
    Case("malformed-slack", INIT, SLACK, ("NOTE",), env_line(f'NOTE "{SLACK}')),
    Case("malformed-jwt", INIT, "eyJzdWIiOiJ1c2VyIn0", ("NOTE", "Bearer"), env_line(f'NOTE "Bearer {JWT}')),
    Case("malformed-pem", INIT, PEM_BODY, ("TLS", "BEGIN RSA PRIVATE KEY"),
         env_line(f'TLS "-----BEGIN RSA PRIVATE KEY-----\\n{PEM_BODY}\\n-----END RSA PRIVATE KEY-----')),
    Case("malformed-base64", INIT, BASE64, ("BLOB",), env_line(f'BLOB "{BASE64}')),
    Case("malformed-hex", INIT, HEX, ("BLOB",), env_line(f'BLOB "{HEX}')),
    # ---- an engine's docker_host with credentials: info, ports, the --dry command echo
    Case("engine-tcp-info", INFO, "tcp-engine-pw", ("bigbox.lan:2376", "remote"),
         {"stack.yaml": engine("tcp://admin:tcp-engine-pw@bigbox.lan:2376")}),
    Case("engine-tcp-info-json", [*INFO, "--json"], "tcp-engine-pw", ("bigbox.lan:2376",),
         {"stack.yaml": engine("tcp://admin:tcp-engine-pw@bigbox.lan:2376")}),
    Case("engine-tcp-ports", PORTS, "tcp-engine-pw", ("bigbox.lan",),
         {"stack.yaml": engine("tcp://admin:tcp-engine-pw@bigbox.lan:2376")}),
    Case("engine-ssh-info", INFO, "ssh-engine-pw", ("ssh://deploy:", "ci.lan"),
         {"stack.yaml": engine("ssh://deploy:ssh-engine-pw@ci.lan")}),
    Case("engine-tcp-dry-start", DRY_START, "tcp-engine-pw", ("--host tcp://admin:", "bigbox.lan:2376 compose"),
         {"stack.yaml": engine("tcp://admin:tcp-engine-pw@bigbox.lan:2376")}),
    # An SSH engine: the one connection (`-l deploy -- ci.lan`, never the password), then its forwarded socket.
    Case("engine-ssh-dry-start", DRY_START, "ssh-engine-pw", ("-l deploy -- ci.lan", ".sock compose -p demo-dev-1"),
         {"stack.yaml": engine("ssh://deploy:ssh-engine-pw@ci.lan")}),
    Case("engine-tcp-dry-stop", ["--dry", "dev", "1", "stop"], "tcp-engine-pw", ("bigbox.lan:2376",),
         {"stack.yaml": engine("tcp://admin:tcp-engine-pw@bigbox.lan:2376")}),
    Case("engine-tcp-dry-logs", ["--dry", "dev", "1", "logs"], "tcp-engine-pw", ("bigbox.lan:2376", "logs"),
         {"stack.yaml": engine("tcp://admin:tcp-engine-pw@bigbox.lan:2376")}),
    Case("engine-tcp-dry-status", ["--dry", "dev", "1", "status"], "tcp-engine-pw", ("bigbox.lan:2376", "ps"),
         {"stack.yaml": engine("tcp://admin:tcp-engine-pw@bigbox.lan:2376")}),
    Case("engine-tcp-dry-clean", ["--dry", "dev", "1", "clean", "--yes"], "tcp-engine-pw",
         ("bigbox.lan:2376", "down"), {"stack.yaml": engine("tcp://admin:tcp-engine-pw@bigbox.lan:2376")}),
    Case("engine-token-user-info", INFO, GITHUB, ("bigbox.lan",),
         {"stack.yaml": engine(f"tcp://{GITHUB}@bigbox.lan:2376")}),
    Case("engine-bad-url-error", INFO, "bad-url-pw", ("is not a Docker host URL",),
         {"stack.yaml": engine("tcp://admin:bad-url-pw@[bigbox")}),
    # ---- a service URL with credentials, printed by ports and info
    Case("service-url-password-ports", PORTS, "svc-url-pw", ("localhost:8100",),
         {"stack.yaml": service_url("http://svc:svc-url-pw@localhost:{{ port }}/")}),
    Case("service-url-password-info", INFO, "svc-url-pw", ("localhost:8100",),
         {"stack.yaml": service_url("http://svc:svc-url-pw@localhost:{{ port }}/")}),
    Case("service-url-token-query", PORTS, "sig-value-9", ("localhost:8100", "sig="),
         {"stack.yaml": service_url("http://localhost:{{ port }}/?sv=1&sig=sig-value-9")}),
    Case("service-url-jwt", PORTS, "eyJzdWIiOiJ1c2VyIn0", ("localhost:8100",),
         {"stack.yaml": service_url("http://localhost:{{ port }}/?t=" + JWT)}),
    Case("service-url-password-dry-start", DRY_START, "svc-url-pw", ("localhost:8100",),
         {"stack.yaml": service_url("http://svc:svc-url-pw@localhost:{{ port }}/")}),
    # ---- a token shape in a compose file that doctor reports
    Case("doctor-compose-env-file-token", ["doctor"], GITHUB, ("env-file", "does not exist"),
         {"compose.yml": compose_env_file(f"{GITHUB}.env")}),
    Case("doctor-compose-env-file-token-json", ["doctor", "--json"], GITHUB, ("env-file",),
         {"compose.yml": compose_env_file(f"{GITHUB}.env")}),
    Case("doctor-compose-env-file-jwt", ["doctor"], "eyJzdWIiOiJ1c2VyIn0", ("env-file", "config/"),
         {"compose.yml": compose_env_file(f"config/{JWT}.env")}),
    Case("start-refusal-names-token", DRY_START, AWS, ("does not exist",),
         {"compose.yml": compose_env_file(f"{AWS}.env")}),
    # ---- the mesh: URLs with a password from the env file, hosts, init-data commands
    Case("mesh-urls-password", ["mesh.urls", "--env", "local"], "mesh-admin-pw", ("gateway.mesh.test", "admin:"),
         mesh()),
    Case("mesh-urls-json", ["mesh.urls", "--env", "local", "--json"], "mesh-admin-pw", ("gateway.mesh.test",),
         mesh()),
    Case("mesh-urls-active-env", ["mesh.urls"], "mesh-admin-pw", ("gateway.mesh.test",), mesh(active=True)),
    Case("mesh-urls-token-user", ["mesh.urls", "--env", "local"], GITHUB, ("gateway.mesh.test",),
         mesh(MESH.replace("admin:{{ env.ADMIN_PASSWORD }}", "{{ env.ADMIN_PASSWORD }}"),
              MESH_ENV.replace("mesh-admin-pw", GITHUB))),
    Case("mesh-init-data-dry", ["--dry", "mesh.init-data"], "init-db-pw", ("init-data 1/1", "db.lan"),
         mesh(MESH + '  init_data:\n    - {service: gateway, command: "psql postgresql://u:init-db-pw@db.lan/x"}\n',
              active=True)),
]


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "stack"
    root.mkdir()
    monkeypatch.chdir(root)
    for name in ("MULTISTACK_FILE", "MULTISTACK_INSTANCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "no-engines"))  # nothing here may reach an engine
    return root


def make_stack(root: Path, case: Case) -> None:
    files = {"stack.yaml": STACK, "compose.yml": COMPOSE, "app.env": ENV, "tasks.py": TASKS, **case.files}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def without_masking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every masking judgement says "not a secret" (print sites keep calling the same functions)."""
    monkeypatch.setattr(masking, "secret_spans", lambda text: [])
    monkeypatch.setattr(masking, "is_secret_key", lambda key: False)
    monkeypatch.setattr(masking, "_url_secrets", lambda text: iter(()))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_no_secret_in_any_output(case: Case, stack_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_stack(stack_dir, case)
    _code, out, err = run_cli(case.argv, capsys)
    printed = out + err
    assert "Traceback" not in printed, printed
    assert case.secret not in printed, printed
    for context in case.shown:
        assert context in printed, (context, printed)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_case_shows_its_secret_without_masking(case: Case, stack_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The case is not vacuous: with masking off, its secret is printed."""
    make_stack(stack_dir, case)
    without_masking(monkeypatch)
    _code, out, err = run_cli(case.argv, capsys)
    assert case.secret in out + err, out + err


def test_the_catalogue_is_broad() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
