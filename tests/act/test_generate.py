"""Generation of .instances/instance-N: compose acceptance, idempotency, staleness, hand edits."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from multistack.errors import ConflictError, StackError
from multistack.act.generate import generate, is_fresh
from multistack.plan.instance import plan_instance
from multistack.plan.ports import instance_ports
from multistack.model.stack import load_stack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example stack, so generation writes into tmp_path."""
    for name in ("stack.yaml", "compose", "env", "apps"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, tmp_path / name)
    return tmp_path / "stack.yaml"


def compose_config(compose_bin: str, stack_path: Path, n: int) -> dict:
    stack = load_stack(stack_path)
    inst = plan_instance(stack, n)
    generate(inst)
    argv = [compose_bin, "-p", inst.project_name, "-f", str(stack.root / "compose/docker-compose.yml"),
            "-f", str(inst.dir / "docker-compose.override.yml"), "--env-file", str(inst.dir / "instance.env"),
            "config", "--format", "json"]
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("n", [0, 1, 5])
def test_compose_accepts_override_and_publishes_only_instance_ports(compose_bin, example, n):
    config = compose_config(compose_bin, example, n)
    published = sorted(int(p["published"]) for svc in config["services"].values() for p in svc.get("ports", []))
    stack = load_stack(example)
    expected = sorted(port for name, port in instance_ports(stack, n).items() if stack.service(name).compose)
    assert published == expected
    assert config["name"] == f"shipsec-dev-{n}"
    hosts = {p.get("host_ip") for svc in config["services"].values() for p in svc.get("ports", [])}
    assert hosts == {"127.0.0.1"}


def test_per_instance_values_reach_inside_services(compose_bin, example):
    config = compose_config(compose_bin, example, 2)
    assert "external://localhost:9292" in " ".join(config["services"]["redpanda"]["command"])
    assert config["services"]["temporal-ui"]["environment"]["TEMPORAL_CORS_ORIGINS"] == "http://localhost:5373"


def test_generation_is_idempotent_and_deterministic(example):
    inst = plan_instance(load_stack(example), 1)
    first = generate(inst)
    assert {a.state for a in first.actions} == {"create"}
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in inst.dir.iterdir()}
    second = generate(inst)
    assert {a.state for a in second.actions} == {"identical"}
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in inst.dir.iterdir()}
    assert before == after
    assert is_fresh(inst)


def test_same_inputs_give_byte_identical_files(example, tmp_path):
    inst = plan_instance(load_stack(example), 4)
    generate(inst)
    texts = {p.name: p.read_bytes() for p in inst.dir.iterdir()}
    shutil.rmtree(inst.dir)
    generate(inst)
    assert texts == {p.name: p.read_bytes() for p in inst.dir.iterdir()}


def test_changed_source_makes_instance_stale_and_regenerates(example):
    inst = plan_instance(load_stack(example), 1)
    generate(inst)
    env = example.parent / "env/backend.env"
    env.write_text(env.read_text() + "NEW_KEY=localhost:5433\n")
    assert not is_fresh(inst)
    states = {a.name: a.state for a in generate(inst).actions}
    assert states["backend.env"] == "update"
    assert states["worker.env"] == "identical"
    assert "NEW_KEY=localhost:5533" in (inst.dir / "backend.env").read_text()


def test_hand_edit_is_refused_then_kept_as_bak_with_force(example):
    inst = plan_instance(load_stack(example), 1)
    generate(inst)
    override = inst.dir / "docker-compose.override.yml"
    override.write_text(override.read_text() + "# my edit\n")
    env = example.parent / "env/backend.env"
    env.write_text(env.read_text() + "X=1\n")
    with pytest.raises(ConflictError, match="docker-compose.override.yml"):
        generate(inst)
    assert "X=1" not in (inst.dir / "backend.env").read_text()  # nothing written
    result = generate(inst, force=True)
    assert (inst.dir / "docker-compose.override.yml.bak").read_text().endswith("# my edit\n")
    assert "# my edit" not in override.read_text()
    assert any(a.backup for a in result.actions)


def test_env_copies_keep_permission_bits(example):
    env = example.parent / "env/backend.env"
    env.chmod(0o640)
    inst = plan_instance(load_stack(example), 1)
    generate(inst)
    assert (inst.dir / "backend.env").stat().st_mode & 0o777 == 0o640


def test_unknown_template_variable_writes_nothing(example):
    text = example.read_text().replace('SHIPSEC_INSTANCE: "{{ n }}"', 'SHIPSEC_INSTANCE: "{{ nn }}"')
    example.write_text(text)
    inst = plan_instance(load_stack(example), 1)
    with pytest.raises(StackError, match="env.SHIPSEC_INSTANCE: unknown template variable"):
        generate(inst)
    assert not inst.dir.exists()


def test_malformed_env_file_names_file_and_line(example):
    env = example.parent / "env/worker.env"
    env.write_text("A=1\nthis is not a line\n")
    inst = plan_instance(load_stack(example), 1)
    with pytest.raises(StackError, match=r"env/worker.env:2"):
        generate(inst)
    assert not inst.dir.exists()


def test_env_copy_rewrites_ports_and_appends_instance_values(example):
    inst = plan_instance(load_stack(example), 3)
    generate(inst)
    from dotenv import dotenv_values

    values = dotenv_values(inst.dir / "backend.env")
    assert values["PORT"] == "3511"
    assert values["MINIO_PORT"] == "9300"
    assert values["REQUEST_TIMEOUT_MS"] == "3100"
    assert values["DATABASE_URL"] == "postgresql://shipsec:shipsec@localhost:5733/shipsec_instance_3"
    assert values["TEMPORAL_TASK_QUEUE"] == "shipsec-dev-3"
    assert values["COMPOSE_PROJECT_NAME"] == "shipsec-dev-3"


def test_ecosystem_names_apps_per_instance(example):
    inst = plan_instance(load_stack(example), 2)
    generate(inst)
    text = (inst.dir / "pm2.config.cjs").read_text()
    for name in ("shipsec-backend-2", "shipsec-worker-2", "shipsec-frontend-2"):  # issue 13: the seed's names
        assert f'name: "{name}"' in text
    assert '"PORT": "5373"' in text  # frontend's env, rewritten from 5173


def test_undeclared_port_and_container_name_are_neutralised(make_stack, compose_bin):
    compose = """\
    services:
      web:
        image: busybox
        container_name: web
        ports: ["8000:80", "9999:99"]
      extra:
        image: busybox
        ports: ["7000:7000"]
    """
    path = make_stack("project: demo\ncompose: {files: [compose.yml]}\nservices:\n  web: {port: 8000, compose: web, container_port: 80}\n",
                      {"compose.yml": compose})
    inst = plan_instance(load_stack(path), 2)
    generate(inst)
    result = subprocess.run([compose_bin, "-p", inst.project_name, "-f", str(path.parent / "compose.yml"),
                             "-f", str(inst.dir / "docker-compose.override.yml"), "config", "--format", "json"],
                            capture_output=True, text=True, check=True)
    config = json.loads(result.stdout)
    assert [p["published"] for p in config["services"]["web"]["ports"]] == ["8200"]
    assert config["services"]["extra"].get("ports", []) == []
    assert config["services"]["web"]["container_name"] == "web-2"


def test_compose_service_that_does_not_exist(make_stack):
    path = make_stack("project: demo\ncompose: {files: [compose.yml]}\nservices:\n  web: {port: 8000, compose: wbe, container_port: 80}\n",
                      {"compose.yml": "services:\n  web: {image: busybox}\n"})
    with pytest.raises(StackError, match="services.web.compose: no service 'wbe'"):
        generate(plan_instance(load_stack(path), 1))
