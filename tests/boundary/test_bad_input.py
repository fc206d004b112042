"""The bad-input catalogue: every mistake gives one line, a documented exit code, and changes nothing.

Each case starts from a small valid stack in tmp_path, breaks one thing
(stack.yaml, an env file, a template, the command line, the engines), runs the
real CLI, and checks: exactly one line on stderr, starting with ``error:``;
the exit code docs/exit-codes.md gives for it; no traceback; and the folder
byte for byte as it was (files, modes, folders). Most cases run in-process
through :func:`multistack.cli.build_program`; engine states run ``inv`` in a
subprocess with fake ``docker``/``docker-compose`` scripts first on PATH (no
real engine is touched), or with no engine on PATH at all.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from multistack.errors import EXIT_CONFLICT, EXIT_DOCTOR, EXIT_ENGINE, EXIT_USAGE
from tests.catalogue import BASE, COMPOSE, STACK, run_cli, snapshot


FAKE_DOCKER = """\
#!/bin/sh
# A stand-in for docker: FAKE_COMPOSE sets `compose version`, FAKE_ENGINE=down fails the rest.
if [ "$1" = compose ]; then
  if [ -n "$FAKE_COMPOSE" ]; then echo "$FAKE_COMPOSE"; exit 0; fi
  echo "docker: 'compose' is not a docker command." >&2; exit 1
fi
if [ "$FAKE_ENGINE" = down ]; then
  echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
  exit 1
fi
case "$1" in
  info) echo '{"ServerVersion": "20.10.24"}' ;;
  network) echo '{"Name": "bridge", "Driver": "bridge", "Scope": "local"}' ;;
esac
exit 0
"""
FAKE_COMPOSE_V1 = "#!/bin/sh\necho 1.29.2\n"
FAKE_PM2 = "#!/bin/sh\n[ \"$1\" = jlist ] && echo '[]'\nexit 0\n"


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]
    code: int
    message: str  # a fragment of the one stderr line
    files: dict[str, str | None] = field(default_factory=dict)  # changes to BASE; None deletes
    env: dict[str, str] = field(default_factory=dict)
    locked: bool = False  # another process holds instance 1's lock
    engine: str | None = None  # "none" (no docker on PATH), else `inv` in a subprocess: "old", "down", "v1",
    # "up" (a fake engine that answers) or "no-pm2" (the same without pm2)


def replace(old: str, new: str, text: str = STACK) -> str:
    assert old in text, old
    return text.replace(old, new)


CASES = [
    # ---- stack.yaml
    Case("no-stack-file", ["dev", "ports"], EXIT_USAGE, "no stack.yaml in", {"stack.yaml": None}),
    Case("stack-file-var-missing", ["dev", "ports"], EXIT_USAGE, "MULTISTACK_FILE=nope.yaml: no such file",
         env={"MULTISTACK_FILE": "nope.yaml"}),
    Case("malformed-yaml", ["dev", "ports"], EXIT_USAGE, "stack.yaml:2:", {"stack.yaml": "project: demo\n  bad: [\n"}),
    Case("missing-project", ["dev", "ports"], EXIT_USAGE, "missing required key 'project'",
         {"stack.yaml": replace("project: demo\n", "")}),
    Case("bad-project-name", ["dev", "ports"], EXIT_USAGE, "'My App' is not a valid project name",
         {"stack.yaml": replace("project: demo", "project: My App")}),
    Case("unknown-key", ["dev", "ports"], EXIT_USAGE, "unknown key 'sevrices'",
         {"stack.yaml": STACK + "sevrices: {}\n"}),
    Case("port-out-of-range", ["dev", "ports"], EXIT_USAGE, "services.web.port: must be 1-65535, got 70000",
         {"stack.yaml": replace("port: 8000", "port: 70000")}),
    Case("port-plan-collision", ["dev", "ports"], EXIT_USAGE, "port 8100 is used by api of instance 0 and by web of instance 1",
         {"stack.yaml": replace("port: 3000", "port: 8100")}),
    Case("port-plan-overflow", ["dev", "ports"], EXIT_USAGE, "instance 5 would get port 65900",
         {"stack.yaml": replace("port: 3000", "port: 65400")}),
    Case("instances-reversed", ["dev", "ports"], EXIT_USAGE, "first instance 9 is after last instance 1",
         {"stack.yaml": replace("instances: 0-5", "instances: 9-1")}),
    Case("container-port-missing", ["dev", "ports"], EXIT_USAGE, "missing 'container_port' for a compose service",
         {"stack.yaml": replace(", container_port: 8080", "")}),
    Case("compose-file-missing", ["dev", "ports"], EXIT_USAGE, "compose.files: compose.yml does not exist",
         {"compose.yml": None}),
    Case("compose-service-unknown", ["--dry", "dev", "1", "init"], EXIT_USAGE, "no service 'wbe'",
         {"stack.yaml": replace("compose: web", "compose: wbe")}),
    Case("compose-yaml-malformed", ["doctor"], EXIT_USAGE, "compose.yml:4:1: malformed YAML",
         {"compose.yml": "services:\n  web:\n   - [\n"}),
    Case("app-command-unclosed-quote", ["dev", "ports"], EXIT_USAGE,
         "apps.api.command: cannot be split into arguments: No closing quotation",
         {"stack.yaml": replace("python3 -m http.server", "python3 'server.py")}),
    Case("app-command-blank", ["dev", "ports"], EXIT_USAGE, "apps.api.command: has no program to run",
         {"stack.yaml": replace("python3 -m http.server", "' '")}),
    Case("numeric-service-without-port", ["dev", "ports"], EXIT_USAGE, "services.8000: missing required key 'port'",
         {"stack.yaml": replace("  api: {port: 3000}", "  8000: {compose: web}")}),
    Case("instances-too-many", ["dev", "ports"], EXIT_USAGE, "instances: must be a range",
         {"stack.yaml": replace("instances: 0-5", "instances: 0-99999")}),
    Case("app-env-file-unknown", ["dev", "ports"], EXIT_USAGE, "'api.env' is not an instance env file",
         {"stack.yaml": replace("[instance.env, app.env]", "[instance.env, api.env]")}),
    Case("doctor-unknown-key", ["doctor"], EXIT_USAGE, "doctor: unknown key 'bind_file'",
         {"stack.yaml": STACK + "doctor: {bind_file: {}}\n"}),
    Case("doctor-template-missing", ["doctor"], EXIT_USAGE, "template conf.tpl does not exist",
         {"stack.yaml": STACK + "doctor: {bind_files: {conf/app.cfg: conf.tpl}}\n"}),
    Case("bad-namespace-template", ["dev", "1", "info"], EXIT_USAGE, "namespace 'Demo_0' contains 'D', '_'",
         {"stack.yaml": STACK + "namespace: \"Demo_{{ n }}\"\n"}),
    # ---- env files
    Case("env-file-missing", ["dev", "ports"], EXIT_USAGE, "env_files: app.env does not exist", {"app.env": None}),
    Case("env-unclosed-quote", ["--dry", "dev", "1", "init"], EXIT_USAGE, "app.env:2: malformed line",
         {"app.env": "PORT=3000\nSECRET=\"abc\nOTHER=1\n"}),
    Case("env-copies-collide", ["dev", "ports"], EXIT_USAGE, "would both be copied to app.env",
         {"stack.yaml": replace("env_files: [app.env]", "env_files: [app.env, other/app.env]"),
          "other/app.env": "X=1\n"}),
    # ---- templates
    Case("env-template-unknown-variable", ["--dry", "dev", "1", "init"], EXIT_USAGE,
         "env.API_URL: unknown template variable", {"stack.yaml": replace("ports.api", "ports.nope")}),
    Case("env-template-syntax", ["doctor"], EXIT_USAGE, "template syntax error",
         {"stack.yaml": replace("{{ ports.api }}", "{{ ports.api ")}),
    Case("override-template-missing", ["dev", "ports"], EXIT_USAGE, "override_template: o.yml.j2 does not exist",
         {"stack.yaml": replace("files: [compose.yml]", "files: [compose.yml]\n  override_template: o.yml.j2")}),
    Case("override-template-unknown-variable", ["--dry", "dev", "1", "init"], EXIT_USAGE,
         "unknown template variable", {"stack.yaml": replace("files: [compose.yml]",
                                                             "files: [compose.yml]\n  override_template: o.yml.j2"),
                                       "o.yml.j2": "name: {{ projet }}\n"}),
    Case("override-template-collides", ["--dry", "dev", "1", "start"], EXIT_DOCTOR,
         "instance 1 cannot start: compose.yml: services.web.container_name",
         {"stack.yaml": replace("files: [compose.yml]", "files: [compose.yml]\n  override_template: o.yml.j2"),
          "o.yml.j2": "name: {{ project_name }}\nservices:\n  web:\n    ports: !override ['{{ ports.web }}:8080']\n",
          "compose.yml": COMPOSE.replace("    image:", "    container_name: web\n    image:")}),
    # ---- command line
    Case("instance-out-of-range", ["dev", "9"], EXIT_USAGE, "instance 9 is out of range 0-5"),
    Case("instance-leading-zero", ["dev", "05", "ports"], EXIT_USAGE, "instance '05' has a leading zero"),
    Case("unknown-word", ["dev", "strat"], EXIT_USAGE, "unknown action or instance 'strat'"),
    Case("two-instances", ["dev", "1", "2"], EXIT_USAGE, "two instances given"),
    Case("all-with-start", ["dev", "start", "--all"], EXIT_USAGE, "`start` does not take --all"),
    Case("use-leading-zero", ["dev.use", "07"], EXIT_USAGE, "instance '07' has a leading zero"),
    Case("default-instance-env", ["dev", "ports"], EXIT_USAGE, "MULTISTACK_INSTANCE=abc",
         env={"MULTISTACK_INSTANCE": "abc"}),
    Case("doctor-too-many", ["doctor", "1", "2"], EXIT_USAGE, "too many arguments: 1 2"),
    Case("doctor-not-a-number", ["doctor", "one"], EXIT_USAGE, "instance 'one' is not a number"),
    Case("instance-locked", ["dev", "1", "init"], EXIT_CONFLICT, "instance 1 is busy: `start` (pid", locked=True),
    # ---- engine states
    Case("no-docker", ["dev", "1", "logs"], EXIT_ENGINE, "Docker Compose v2 not found", engine="none"),
    Case("compose-too-old", ["dev", "1", "logs"], EXIT_ENGINE, "Docker Compose 2.20.0 is too old", engine="old"),
    Case("compose-v1", ["dev", "1", "logs"], EXIT_ENGINE, "docker-compose is Compose v1 (1.29.2)", engine="v1"),
    Case("engine-down", ["dev", "1", "status"], EXIT_ENGINE, "Docker engine not reachable: Cannot connect",
         engine="down"),
    Case("engine-down-doctor", ["doctor"], EXIT_DOCTOR, "first: Docker engine not reachable", engine="down"),
    Case("pm2-missing", ["doctor"], EXIT_DOCTOR, "first: stack.yaml: apps: PM2 not found", engine="no-pm2"),
    Case("port-taken-doctor", ["doctor", "1"], EXIT_DOCTOR, "is already in use, held by", engine="up",
         files={"stack.yaml": replace("port: 3000", "port: {held}")}),
]


def in_subprocess(argv: list[str], cwd: Path, engine: str, env: dict[str, str]) -> tuple[int, str, str]:
    fake = cwd.parent / "fakebin"
    fake.mkdir(exist_ok=True)
    (fake / "inv").symlink_to(Path(sys.executable).parent / "inv")
    (fake / "bash").symlink_to(shutil.which("bash") or "/bin/bash")  # invoke's shell; no real engine here
    if engine != "none":
        (fake / "docker").write_text(FAKE_DOCKER)
        (fake / "docker").chmod(0o755)
    if engine not in ("none", "no-pm2"):
        (fake / "pm2").write_text(FAKE_PM2)
        (fake / "pm2").chmod(0o755)
    if engine == "v1":
        (fake / "docker-compose").write_text(FAKE_COMPOSE_V1)
        (fake / "docker-compose").chmod(0o755)
    variables = {"PATH": str(fake), "HOME": str(cwd.parent), "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8",
                 "MULTISTACK_OWN_TOOLS": "off",  # PM2 only where the test puts it, not this repository's
                 "FAKE_COMPOSE": {"old": "2.20.0", "v1": ""}.get(engine, "2.40.3"),
                 "FAKE_ENGINE": "down" if engine == "down" else "up", **env}
    result = subprocess.run([str(fake / "inv"), *argv], cwd=cwd, env=variables, capture_output=True, text=True,
                            timeout=60)
    return result.returncode, result.stdout, result.stderr


@pytest.fixture
def lock_holder():
    """Hold an instance's lock from another process, as a running `inv dev 1 start` would."""
    holders = []

    def hold(root: Path, n: int = 1) -> None:
        folder = root / ".instances" / ".locks"
        folder.mkdir(parents=True)
        script = ("import os, sys, time\nfrom filelock import FileLock\nlock = FileLock(sys.argv[1]); lock.acquire()\n"
                  "open(sys.argv[2], 'w').write(f'`start` (pid {os.getpid()}: dev 1 start)\\n')\n"
                  "print('held', flush=True)\ntime.sleep(60)\n")
        proc = subprocess.Popen([sys.executable, "-c", script, str(folder / f"instance-{n}.lock"),
                                 str(folder / f"instance-{n}.owner")], stdout=subprocess.PIPE, text=True)
        holders.append(proc)
        assert proc.stdout and proc.stdout.readline().strip() == "held"

    yield hold
    for proc in holders:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, request) -> None:
    root = tmp_path / "stack"
    files: dict[str, str | None] = {**BASE, **case.files}
    held = request.getfixturevalue("held_port") if "{held}" in str(case.files) else None
    for rel, text in files.items():
        if text is None:
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).replace("{held}", str(held - 100)) if held else text)
    monkeypatch.chdir(root)
    for name in ("MULTISTACK_FILE", "MULTISTACK_INSTANCE"):
        monkeypatch.delenv(name, raising=False)
    if case.locked:
        request.getfixturevalue("lock_holder")(root)
    before = snapshot(root)
    if case.engine is None or case.engine == "none" and not case.env:
        for key, value in case.env.items():
            monkeypatch.setenv(key, value)
        if case.engine == "none":
            monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        code, out, err = run_cli(case.argv, capsys)
    else:
        code, out, err = in_subprocess(case.argv, root, case.engine, case.env)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in out + err, err
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), lines[0]
    assert case.message in lines[0], lines[0]
    assert code == case.code, (code, lines[0])
    assert snapshot(root) == before


def test_the_catalogue_is_big_enough():
    kinds = {"stack": 0, "env": 0, "template": 0, "cli": 0, "engine": 0}
    for case in CASES:
        if case.engine:
            kinds["engine"] += 1
        elif case.id.startswith("env-") and "template" not in case.id:
            kinds["env"] += 1
        elif "template" in case.id:
            kinds["template"] += 1
        elif case.argv[0] in ("dev", "dev.use", "doctor") and not case.files and not case.env.get("MULTISTACK_FILE"):
            kinds["cli"] += 1
        else:
            kinds["stack"] += 1
    assert len(CASES) >= 25 and all(count >= 3 for count in kinds.values()), kinds


def test_every_exit_code_is_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "exit-codes.md").read_text()
    for code in {case.code for case in CASES} | {1}:
        assert f"| {code} |" in doc
