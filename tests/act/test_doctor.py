"""`inv doctor`: static checks on the compose files, machine checks through recorded probes, the task."""
from __future__ import annotations

import re

import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest
from invoke import MockContext, Result

from multistack.act import doctor
from multistack.cli.program import build_program
from multistack.act.doctor import (BindFile, Finding, StaticReport, analyse, create_bind_files, interpolate,
                               parse_port, pool_capacity)
from multistack.errors import EXIT_DOCTOR, DoctorError, StackError
from multistack.plan.instance import plan_instance
from multistack.model.stack import load_stack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example stack in tmp_path (the cwd)."""
    for name in ("stack.yaml", "compose", "env", "apps"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MULTISTACK_FILE", raising=False)
    monkeypatch.delenv("MULTISTACK_INSTANCE", raising=False)
    return tmp_path / "stack.yaml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def break_example(stack_path: Path) -> None:
    """A fixed container_name, an uncovered host port and a missing bind-mounted file."""
    compose = stack_path.parent / "compose" / "docker-compose.yml"
    edit(compose, "  redis:\n    image: redis:7.4.1-alpine\n",
         "  redis:\n    image: redis:7.4.1-alpine\n    container_name: shipsec-redis\n")
    edit(compose, '      - "3100:3100"\n', '      - "3100:3100"\n      - "9096:9096"\n')
    edit(compose, "      - loki_data:/loki\n", "      - loki_data:/loki\n      - ./loki/local-config.yaml:/etc/loki/local-config.yaml:ro\n")


def problems(report: StaticReport) -> list[Finding]:
    return [f for f in report.findings if f.severity != "info"]


def small_stack(make_stack, compose: str, extra: str = "", files: dict[str, str] | None = None) -> Path:
    yaml_text = "project: demo\ninstances: 0-3\ncompose: {files: [compose.yml]}\nservices:\n" \
                "  web: {port: 8000, compose: web, container_port: 80}\n" + textwrap.dedent(extra)
    return make_stack(yaml_text, {"compose.yml": compose, **(files or {})})


WEB = """\
services:
  web:
    image: busybox
    ports: ["8000:80"]
"""

# --------------------------------------------------------------------------
# The example stack, clean and broken


@pytest.mark.parametrize("n", [None, 0, 3, 9])
def test_example_stack_has_no_problems(example, n):
    report = analyse(load_stack(example), n)
    assert problems(report) == []
    assert report.networks_per_instance == 1
    assert report.bind_files == ()


def test_broken_example_gets_one_finding_each_with_its_fix(example):
    break_example(example)
    report = analyse(load_stack(example), 2)
    found = {f.check: f for f in problems(report)}
    assert len(problems(report)) == 3
    name = found["container-name"]
    assert (name.severity, name.file, name.key) == ("fixed", "compose/docker-compose.yml",
                                                    "services.redis.container_name")
    assert "'shipsec-redis-2'" in name.message and name.fix
    port = found["uncovered-port"]
    assert (port.severity, port.key) == ("warning", "services.loki.ports[1]")
    assert "9096" in port.message and "container_port: 9096" in port.fix
    bind = found["bind-mount"]
    assert (bind.severity, bind.key) == ("fixed", "services.loki.volumes[1]")
    assert "compose/loki/local-config.yaml" in bind.message and "doctor: {bind_files:" in bind.fix
    assert [b.display for b in report.bind_files] == ["compose/loki/local-config.yaml"]


def test_broken_example_start_creates_the_file_and_says_so(example, capsys):
    break_example(example)
    report = analyse(load_stack(example), 1)
    target = example.parent / "compose/loki/local-config.yaml"
    assert create_bind_files(report, dry=True) == [] and not target.exists()
    assert "would create compose/loki/local-config.yaml (empty, bind-mounted by loki)" in capsys.readouterr().out
    assert create_bind_files(report) == [target]
    assert target.read_bytes() == b""
    assert "created compose/loki/local-config.yaml" in capsys.readouterr().out
    target.write_text("kept")
    assert create_bind_files(report) == []  # never replaces a file that appeared meanwhile
    assert target.read_text() == "kept"
    assert [f.check for f in problems(analyse(load_stack(example), 1))] == ["container-name", "uncovered-port"]


def test_dry_start_of_broken_example_warns_and_writes_nothing(example, capsys):
    break_example(example)
    before = sorted(p.relative_to(example.parent) for p in example.parent.rglob("*"))
    try:
        build_program().run(["multistack", "--dry", "dev", "1", "start"], exit=True)
    except SystemExit as exc:
        assert not exc.code
    out, err = capsys.readouterr()
    assert "would create compose/loki/local-config.yaml" in out
    assert err.count("warning: ") == 1 and "services.loki.ports[1]" in err
    assert sorted(p.relative_to(example.parent) for p in example.parent.rglob("*")) == before


# --------------------------------------------------------------------------
# Templates that do not fix what the default one fixes: errors


def test_override_template_without_renames_collides(make_stack):
    compose = """\
    services:
      web:
        image: busybox
        container_name: web
        ports: ["8000:80", "9999:99"]
    """
    template = "name: {{ project_name }}\nservices:\n  web:\n    environment: {A: '1'}\n"
    path = make_stack("project: demo\ninstances: 0-3\ncompose: {files: [compose.yml], override_template: o.yml.j2}\n"
                      "services:\n  web: {port: 8000, compose: web, container_port: 80}\n",
                      {"compose.yml": compose, "o.yml.j2": template})
    report = analyse(load_stack(path), 1)
    errors = [f for f in report.findings if f.severity == "error"]
    assert [(f.check, f.key) for f in errors] == [
        ("container-name", "services.web.container_name"),
        ("uncovered-port", "services.web.ports[0]"),
        ("uncovered-port", "services.web.ports[1]"),
    ]
    assert "the same in every instance" in errors[0].message and "override template" in errors[0].fix
    assert "already allocated" in errors[1].message
    with pytest.raises(DoctorError, match=r"instance 1 cannot start: compose.yml: services.web.container_name: "
                                          r".*\(and 2 more\)") as info:
        doctor.preflight(plan_instance(load_stack(path), 1))
    assert info.value.exit_code == EXIT_DOCTOR


def test_per_instance_values_by_interpolation_are_fine(make_stack):
    compose = """\
    services:
      web:
        image: ${COMPOSE_PROJECT_NAME}-web
        build: .
        container_name: ${COMPOSE_PROJECT_NAME}-web
        ports: ["8000:80"]
        networks: [edge]
    networks:
      edge:
        name: ${COMPOSE_PROJECT_NAME}-edge
    volumes:
      data:
        name: ${COMPOSE_PROJECT_NAME}-data
    """
    path = small_stack(make_stack, compose, "env:\n  COMPOSE_PROJECT_NAME: '{{ project_name }}'\n")
    path.write_text(path.read_text().replace("compose: {files: [compose.yml]}",
                                             "compose: {files: [compose.yml], env_files: [instance.env]}"))
    report = analyse(load_stack(path), 1)
    assert [(f.severity, f.check) for f in problems(report)] == [("fixed", "container-name")]
    assert report.networks_per_instance == 1


# --------------------------------------------------------------------------
# Each static check


def test_host_network(make_stack):
    report = analyse(load_stack(small_stack(make_stack, WEB + "  agent: {image: x, network_mode: host}\n")))
    assert [(f.severity, f.check, f.key) for f in problems(report)] == [
        ("warning", "host-network", "services.agent.network_mode")]


def test_bind_mounts_short_long_folders_and_declared(make_stack, tmp_path):
    compose = """\
    services:
      web:
        image: busybox
        ports: ["8000:80"]
        volumes:
          - ./conf/app.cfg:/etc/app.cfg:ro
          - type: bind
            source: ./certs/tls.pem
            target: /certs/tls.pem
          - ./data:/data
          - cache:/cache
          - /var/empty-anon
          - ${CONF_DIR:-./etc}/extra.ini:/extra.ini
          - ./.instances/instance-1/logs:/logs
          - ./present.cfg:/present.cfg
          - ./stale.yaml:/stale.yaml
          - ./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg
    volumes:
      cache:
    """
    path = small_stack(make_stack, compose, "doctor:\n  bind_files:\n    haproxy.cfg: templates/haproxy.cfg\n",
                       {"present.cfg": "x", "templates/haproxy.cfg": "global\n"})
    (tmp_path / "stale.yaml").mkdir()
    report = analyse(load_stack(path), 1)
    rows = sorted((f.severity, f.key) for f in problems(report))
    assert rows == [
        ("fixed", "services.web.volumes[0]"),
        ("fixed", "services.web.volumes[1]"),
        ("fixed", "services.web.volumes[5]"),
        ("fixed", "services.web.volumes[9]"),
        ("warning", "services.web.volumes[2]"),
        ("warning", "services.web.volumes[8]"),
    ]
    assert sorted(b.display for b in report.bind_files) == ["certs/tls.pem", "conf/app.cfg", "etc/extra.ini",
                                                            "haproxy.cfg"]
    created = create_bind_files(report)
    assert len(created) == 4
    assert (tmp_path / "haproxy.cfg").read_text() == "global\n"
    assert (tmp_path / "conf/app.cfg").read_text() == ""
    assert not (tmp_path / "data").exists()  # folders are Docker's to create: a warning only


def test_declared_bind_file_template_must_exist(make_stack):
    path = small_stack(make_stack, WEB, "doctor: {bind_files: {a.cfg: missing.tpl}}\n")
    with pytest.raises(StackError, match=r"doctor.bind_files.a.cfg: template missing.tpl does not exist"):
        analyse(load_stack(path))


@pytest.mark.parametrize("section, message", [
    ("doctor: {ignroe: []}", "unknown key 'ignroe'"),
    ("doctor: {ignore: [nope]}", "unknown check 'nope'"),
    ("doctor: {bind_files: {a.cfg: [1]}}", "must be a template file or empty"),
    ("doctor: [1]", "doctor: must be a mapping"),
])
def test_bad_doctor_settings(make_stack, section, message):
    with pytest.raises(StackError, match=message):
        analyse(load_stack(small_stack(make_stack, WEB, section + "\n")))


def test_env_file_missing(make_stack):
    compose = WEB + "    env_file: [web.env, {path: opt.env, required: false}]\n"
    report = analyse(load_stack(small_stack(make_stack, compose)))
    assert [(f.severity, f.check, f.key) for f in problems(report)] == [
        ("error", "env-file", "services.web.env_file[0]")]


def test_networks_aliases_volumes_images(make_stack):
    compose = """\
    services:
      web:
        image: busybox
        ports: ["8000:80"]
        networks:
          proxy: {aliases: [www]}
          back: {}
          fixed: {}
      api:
        build: ./api
        image: demo/api:dev
      worker:
        build: ./worker
    networks:
      proxy: {external: true, name: edge-proxy}
      back: {}
      fixed: {name: demo-fixed}
    volumes:
      shared: {name: demo-shared}
      own: {}
      ext: {external: true, name: outside}
    """
    report = analyse(load_stack(small_stack(make_stack, compose)))
    rows = sorted((f.severity, f.check, f.key) for f in problems(report))
    assert rows == [
        ("warning", "build-image", "services.api.image"),
        ("warning", "shared-alias", "services.web.networks.proxy.aliases"),
        ("warning", "shared-network", "networks.fixed.name"),
        ("warning", "shared-volume", "volumes.shared.name"),
    ]
    # web: back (per instance); api and worker: default (per instance); proxy external, fixed shared
    assert report.networks_per_instance == 2
    assert report.shared_networks == ("demo-fixed",)
    assert report.external_networks == (("compose.yml", "networks.proxy", "edge-proxy"),)


def test_ignore_drops_warnings_but_never_errors(make_stack):
    compose = WEB + "    env_file: web.env\n  agent: {image: x, network_mode: host}\n"
    path = small_stack(make_stack, compose, "doctor: {ignore: [host-network, env-file]}\n")
    report = analyse(load_stack(path))
    assert [(f.severity, f.check) for f in problems(report)] == [("error", "env-file")]


def test_shared_mode_skips_collision_checks(make_stack):
    compose = WEB.replace("image: busybox", "image: busybox\n    container_name: web") + \
        "    volumes: [./x.cfg:/x.cfg]\n"
    path = small_stack(make_stack, compose, "mode: shared\n")
    report = analyse(load_stack(path), 1)
    assert [f.check for f in problems(report)] == ["bind-mount"]


# --------------------------------------------------------------------------
# Pure helpers


@pytest.mark.parametrize("spec, expected", [
    ("8000:80", [("", 8000, 80, "tcp")]),
    ("127.0.0.1:8000:80/udp", [("127.0.0.1", 8000, 80, "udp")]),
    ("[::1]:8000:80", [("::1", 8000, 80, "tcp")]),
    ("8000-8001:80-81", [("", 8000, 80, "tcp"), ("", 8001, 81, "tcp")]),
    ("80", []),
    (80, []),
    ("127.0.0.1::80", []),
    ("${WEB_PORT:-8100}:80", [("", 8100, 80, "tcp")]),
    ({"target": 80, "published": "8000", "host_ip": "127.0.0.1"}, [("127.0.0.1", 8000, 80, "tcp")]),
    ({"target": 80}, []),
])
def test_parse_port(spec, expected):
    assert [(p.host_ip, p.port, p.target, p.protocol) for p in parse_port(spec, {})] == expected


@pytest.mark.parametrize("text, expected", [
    ("${A}", "1"), ("${B:-d}", "d"), ("${E:-d}", "d"), ("${E-d}", ""), ("${B-d}", "d"),
    ("$A/x", "1/x"), ("$$A", "$A"), ("${A:+y}", "y"), ("${B:+y}", ""), ("${B}", ""),
])
def test_interpolate(text, expected):
    assert interpolate(text, {"A": "1", "E": ""}) == expected


def test_pool_capacity():
    assert pool_capacity({}) == 31
    assert pool_capacity({"DefaultAddressPools": [{"Base": "10.200.0.0/16", "Size": 24}]}) == 256


# --------------------------------------------------------------------------
# Machine checks, with recorded probes


COMPOSE_VERSION = "docker compose version --short"
INFO = "docker info --format '{{json .}}'"
NETWORKS = "docker network ls --format '{{json .}}'"
IMAGES = re.compile(r"docker image inspect ")


def net(name: str, driver: str = "bridge") -> str:
    return json.dumps({"Name": name, "Driver": driver, "Scope": "local"})


def context(version: str = "2.40.3", info: dict | None = None, networks: list[str] | None = None,
            extra: dict[str, Result] | None = None) -> MockContext:
    info = {"ServerVersion": "20.10.24"} if info is None else info
    networks = [net("bridge"), net("host", "host"), net("none", "null")] if networks is None else networks
    results = {
        COMPOSE_VERSION: Result(stdout=version + "\n"),
        INFO: Result(stdout=json.dumps(info) + "\n") if info else Result(stderr="Cannot connect to the Docker "
                                                                                "daemon at unix:///x\n", exited=1),
        NETWORKS: Result(stdout="\n".join(networks) + "\n"),
        IMAGES: Result(stdout="sha256:0\n"),  # every image present (issue 13's `image` check)
        **(extra or {}),
    }
    return MockContext(run=results, repeat=True)


@pytest.fixture
def tools(monkeypatch):
    """docker and pm2 "installed" for shutil.which."""
    monkeypatch.setattr("multistack.io.tools.shutil.which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr("multistack.act.doctor.machine.shutil.which", lambda name: f"/usr/bin/{name}")


def machine(stack_path: Path, c: MockContext, n: int | None = None) -> list[Finding]:
    stack = load_stack(stack_path)
    return doctor.machine_checks(c, stack, analyse(stack, n), plan_instance(stack, n) if n is not None else None)


def rows(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.severity, f.check) for f in findings]


def test_machine_all_good(make_stack, tools):
    c = context()
    found = machine(small_stack(make_stack, WEB), c)
    assert rows(found) == [("info", "compose"), ("info", "engine"), ("info", "address-pools")]
    assert "30 of 31 address pools free" in found[2].message
    commands = [call.args[0] for call in c.run.call_args_list]
    assert commands[:3] == [COMPOSE_VERSION, INFO, NETWORKS]
    assert len(commands) == 4 and IMAGES.match(commands[3])  # one `docker image inspect` for every image


def test_machine_image_missing_is_an_error_with_pull_policy_never_else_a_warning(make_stack, tools):
    from multistack.act.doctor.machine import image_findings, missing_images

    stack = load_stack(small_stack(make_stack, WEB))
    assert missing_images("Error: No such image: a:1\nError: No such image: b\n") == {"a:1", "b"}
    never = image_findings(stack, {"web": ("local/x:1", "never")}, {"local/x:1"})
    pulled = image_findings(stack, {"web": ("local/x:1", "missing")}, {"local/x:1"})
    assert rows(never) == [("error", "image")] and "pull_policy: never" in never[0].message
    assert rows(pulled) == [("warning", "image")] and "docker load" in pulled[0].fix
    assert image_findings(stack, {"web": ("local/x:1", "never")}, set()) == []


def test_machine_compose_too_old_and_engine_down(make_stack, tools):
    found = machine(small_stack(make_stack, WEB), context(version="2.20.0", info={}))
    assert rows(found) == [("error", "compose"), ("error", "engine")]
    assert "2.20.0 is too old" in found[0].message
    assert found[1].message == "Docker engine not reachable: Cannot connect to the Docker daemon at unix:///x"


def test_machine_compose_v1(make_stack, tools):
    c = context(extra={COMPOSE_VERSION: Result(stdout="1.29.2\n"), "docker-compose version --short":
                       Result(stdout="1.29.2\n")})
    found = machine(small_stack(make_stack, WEB), c)
    assert rows(found)[0] == ("error", "compose") and "Compose v1" in found[0].message


def test_machine_pm2_missing(make_stack, tools, monkeypatch):
    monkeypatch.setattr("multistack.io.tools.shutil.which", lambda name: None if name == "pm2" else f"/usr/bin/{name}")
    path = small_stack(make_stack, WEB, "apps:\n  api: {command: python3 -m http.server}\n")
    found = machine(path, context())
    assert ("error", "pm2") in rows(found)
    assert next(f for f in found if f.check == "pm2").fix.startswith("run `npm install`")


def test_machine_external_network_and_pools(make_stack, tools):
    compose = WEB + "    networks: [default, proxy]\nnetworks:\n  proxy: {external: true}\n"
    path = small_stack(make_stack, compose)
    bridges = [net("bridge")] + [net(f"other{i}") for i in range(27)]
    found = machine(path, context(networks=bridges))
    assert ("error", "external-network") in rows(found)
    pools = next(f for f in found if f.check == "address-pools")
    assert pools.severity == "warning" and "only 3 more instance(s)" in pools.message
    found = machine(path, context(networks=bridges + [net("proxy")] + [net(f"x{i}") for i in range(3)]))
    assert ("error", "external-network") not in rows(found)
    pools = next(f for f in found if f.check == "address-pools")
    assert pools.severity == "error" and "fully subnetted" in pools.message and "default-address-pools" in pools.fix


def test_machine_pools_count_instances_that_already_have_networks(make_stack, tools):
    path = small_stack(make_stack, WEB)  # instances 0-3, one network each
    bridges = [net("bridge")] + [net(f"o{i}") for i in range(29)] + [net("demo-dev-1_default")]  # 31: none free
    found = machine(path, context(networks=bridges), n=1)
    pools = next(f for f in found if f.check == "address-pools")
    assert pools.severity == "warning"  # instance 1 has its network already: it can start, the others cannot
    assert "only 0 more instance(s)" in pools.message
    found = machine(path, context(networks=bridges), n=2)
    pools = next(f for f in found if f.check == "address-pools")
    assert pools.severity == "error" and pools.message.startswith("instance 2 needs 1 network(s)")


def test_dry_shows_queries_and_runs_none(make_stack, tools):
    c = context()
    c.config.run.dry = True
    found = machine(small_stack(make_stack, WEB), c)
    assert rows(found) == [("info", "engine")]
    assert [call.args[0] for call in c.run.call_args_list] == [COMPOSE_VERSION, INFO, NETWORKS]


def test_port_taken_names_the_holder(make_stack, tools, held_port):
    base = held_port - 100  # instance 1 of `web` lands on the held port
    path = make_stack(f"project: demo\ninstances: 0-3\ncompose: {{files: [compose.yml]}}\nservices:\n"
                      f"  web: {{port: {base}, compose: web, container_port: 80}}\n",
                      {"compose.yml": f"services:\n  web: {{image: busybox, ports: ['{base}:80']}}\n"})
    ps = "docker ps -a --filter label=com.docker.compose.project --format"
    c = MockContext(run={COMPOSE_VERSION: Result(stdout="2.40.3\n"), INFO: Result(stdout='{"ServerVersion": "1"}'),
                         NETWORKS: Result(stdout=net("bridge")), ps: Result(stdout=""),
                         IMAGES: Result(stdout="sha256:0\n")}, repeat=True)
    found = [f for f in machine(path, _prefix_context(c, ps), n=1) if f.check == "port-taken"]
    assert rows(found) == [("error", "port-taken")]
    assert found[0].key == "services.web.port"
    assert f"port {held_port} (web of instance 1) is already in use, held by " in found[0].message
    assert f"(pid {os.getpid()})" in found[0].message


def _prefix_context(c: MockContext, prefix: str) -> MockContext:
    """A MockContext that answers any command starting with ``prefix`` (the ps format is long)."""
    original = c.run

    def run(command, **kwargs):
        if command.startswith(prefix):
            return original(prefix, **kwargs)
        return original(command, **kwargs)

    c.run = run  # type: ignore[method-assign]
    return c


def test_port_held_by_the_instance_itself(make_stack, tools, held_port, monkeypatch):
    base = held_port - 100
    path = make_stack(f"project: demo\ninstances: 0-3\ncompose: {{files: [compose.yml]}}\nservices:\n"
                      f"  web: {{port: {base}, compose: web, container_port: 80}}\n",
                      {"compose.yml": f"services:\n  web: {{image: busybox, ports: ['{base}:80']}}\n"})
    ps = "docker ps -a --filter label=com.docker.compose.project --format"
    row = json.dumps({"project": "demo-dev-1", "service": "web", "name": "demo-dev-1-web-1", "state": "running",
                      "status": "Up 1 minute", "ports": ""})
    c = MockContext(run={COMPOSE_VERSION: Result(stdout="2.40.3\n"), INFO: Result(stdout='{"ServerVersion": "1"}'),
                         NETWORKS: Result(stdout=net("bridge")), ps: Result(stdout=row + "\n"),
                         IMAGES: Result(stdout="sha256:0\n")}, repeat=True)
    found = [f for f in machine(path, _prefix_context(c, ps), n=1) if f.check == "port-taken"]
    assert rows(found) == [("info", "port-taken")]
    assert "held by instance 1 itself" in found[0].message


# --------------------------------------------------------------------------
# The task


def run_cli(argv: list[str]) -> int:
    try:
        build_program().run(["multistack", *argv], exit=True)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_task_json_shape(example, monkeypatch, capsys):
    break_example(example)
    monkeypatch.setattr(doctor, "machine_checks", lambda c, stack, report, inst=None: [
        Finding("info", "engine", "", "", "Docker engine 20.10.24")])
    assert run_cli(["doctor", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"stack", "instance", "ok", "counts", "findings"}
    assert data["ok"] is True and data["instance"] is None
    assert data["counts"] == {"error": 0, "warning": 1, "fixed": 2, "info": 2}
    assert set(data["findings"][0]) == {"severity", "check", "file", "key", "message", "fix"}
    assert [f["severity"] for f in data["findings"]] == ["warning", "fixed", "fixed", "info", "info"]


def test_task_table_and_exit_code_on_errors(example, monkeypatch, capsys):
    monkeypatch.setattr(doctor, "machine_checks", lambda c, stack, report, inst=None: [
        Finding("error", "engine", "", "", "Docker engine not reachable: x", "start dockerd")])
    assert run_cli(["doctor", "2"]) == EXIT_DOCTOR
    out, err = capsys.readouterr()
    assert out.startswith(f"doctor: {example}, instance 2\nseverity  check")
    assert "error: 1, warning: 0" in out
    assert err.strip().splitlines() == ["error: doctor found 1 problem(s) that would break a start, first: "
                                        "Docker engine not reachable: x (fix: start dockerd)"]


def test_task_example_is_clean(example, monkeypatch, capsys):
    monkeypatch.setattr(doctor, "machine_checks", lambda c, stack, report, inst=None: [])
    assert run_cli(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "error: 0, warning: 0, fixed: 0" in out and "ok: nothing here would break a start" in out


@pytest.mark.parametrize("argv, message", [
    (["doctor", "12"], "instance 12 is out of range 0-9"),
    (["doctor", "1", "2"], "too many arguments: 1 2"),
    (["doctor", "x"], "instance 'x' is not a number"),
])
def test_task_bad_arguments(example, capsys, argv, message):
    assert run_cli(argv) == 2
    assert message in capsys.readouterr().err


def test_bind_file_of_a_race_is_left_alone(tmp_path):
    target = tmp_path / "a.cfg"
    report = StaticReport(bind_files=(BindFile(target, None, ("web",), "a.cfg"),))
    target.write_text("mine")
    assert create_bind_files(report) == []
    assert target.read_text() == "mine"


def test_bind_file_that_cannot_be_created_is_a_user_error(tmp_path):
    (tmp_path / "conf").write_text("a file, not a folder")
    report = StaticReport(bind_files=(BindFile(tmp_path / "conf" / "a.cfg", None, ("web",), "conf/a.cfg"),))
    with pytest.raises(StackError) as info:
        create_bind_files(report)
    assert "cannot create bind-mounted file conf/a.cfg" in info.value.message
    assert list(tmp_path.iterdir()) == [tmp_path / "conf"]  # no temp file left behind


def test_preflight_reuses_the_callers_plan_and_rendered_files(example, monkeypatch):
    from multistack.io.compose_files import read_stack_files
    from multistack.plan.render import render_instance

    break_example(example)
    stack = load_stack(example)
    inst = plan_instance(stack, 1)
    rendered = render_instance(inst, read_stack_files(stack))
    planned: list[int] = []
    renders: list[int] = []
    original_plan, original_render = doctor.plan_instance, doctor.render_instance
    monkeypatch.setattr(doctor, "plan_instance", lambda s, n, **kw: planned.append(n) or original_plan(s, n, **kw))
    monkeypatch.setattr(doctor, "render_instance", lambda i, docs: renders.append(i.n) or original_render(i, docs))
    report = doctor.preflight(inst, rendered=rendered)
    assert (planned, renders) == ([2], [2])  # only the instance it is compared with
    assert report == analyse(stack, 1)  # the same findings as planning and rendering itself
