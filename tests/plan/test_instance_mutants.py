"""The variables a template sees, each by its name, in env:, namespace: and database:.

Mutation testing found the variable names of ``Instance.variables`` and of the
namespace/database templates unchecked (``instance``, ``project_name``, ``instance_dir``,
``namespace``): renaming one would break users' templates silently.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from tests.audit.fake import FakeEngine, engine, run_program  # noqa: F401  (engine: a fixture)

STACK = """\
project: shop
instances: 0-5
namespace: "{{ project }}-{{ instance }}-{{ project_name }}"
database: "db_{{ n }}_{{ namespace | replace('-', '_') }}"
services:
  web: {port: 8000}
env:
  N: "{{ n }}"
  INSTANCE: "{{ instance }}"
  PROJECT: "{{ project }}"
  PROJECT_NAME: "{{ project_name }}"
  NAMESPACE: "{{ namespace }}"
  FOLDER: "{{ instance_dir }}"
  WEB: "{{ ports.web }}"
  BUCKET: "{{ names.bucket }}"
  DB: "{{ names.database }}"
"""


def test_every_variable_by_name(make_stack: Callable[..., Path], engine: FakeEngine,
                                capsys: pytest.CaptureFixture[str]) -> None:
    root = make_stack(STACK).parent
    code, out, err = run_program(["dev", "2", "init"], capsys)
    assert code == 0, err
    folder = root / ".instances" / "instance-2"
    env = dict(line.split("=", 1) for line in (folder / "instance.env").read_text().splitlines()
               if "=" in line and not line.startswith("#"))
    ns = "shop-2-shop-dev-2"
    assert {k: env[k] for k in ("N", "INSTANCE", "PROJECT", "PROJECT_NAME", "NAMESPACE", "FOLDER", "WEB", "BUCKET", "DB")} == {
        "N": "2", "INSTANCE": "2", "PROJECT": "shop", "PROJECT_NAME": "shop-dev-2", "NAMESPACE": ns,
        "FOLDER": str(folder), "WEB": "8200", "BUCKET": ns, "DB": "db_2_shop_2_shop_dev_2",
    }
    assert env["MULTISTACK_NAMESPACE"] == ns


def test_plain_templates_render_without_jinja_syntax_errors(make_stack: Callable[..., Path], engine: FakeEngine,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """``{{ x }}`` with spaces or without, twice on a line, next to literal braces of JSON."""
    make_stack("project: shop\ninstances: 0-5\nservices:\n  web: {port: 8000}\n"
               "env:\n  A: '{{n}}-{{ n }}-{{  project  }}'\n  B: 'x{{ ports.web }}y{{ ports.web }}z'\n")
    code, out, err = run_program(["dev", "3", "init"], capsys)
    assert code == 0, err
    text = Path(".instances/instance-3/instance.env").read_text()
    assert "\nA=3-3-shop\n" in text and "\nB=x8300y8300z\n" in text


# --------------------------------------------------------------------------
# The whole plan of one instance: engine, mode, shared ports, every variable.
# Mutation testing found the engine's values, the mode and the shared-mode ports unchecked.

from multistack.model.stack import load_stack  # noqa: E402
from multistack.plan.instance import plan_instance  # noqa: E402

MIXED = """\
project: shop
instances: 0-5
mode: shared
compose:
  files: [compose.yml]
services:
  web: {port: 8000, compose: web, container_port: 8080}
  api: {port: 3000}
apps:
  api: {command: "node server.js"}
  ui: {command: "node ui.js"}
engines:
  local: {slots: 0-2}
  big: {context: bigbox, host: bigbox.lan, host_ip: 0.0.0.0, slots: 3-5}
"""


def mixed(make_stack: Callable[..., Path]):
    return load_stack(make_stack(MIXED, {"compose.yml": "services:\n  web: {image: busybox, ports: ['8000:8080']}\n"}))


def test_every_variable_of_an_instance_on_a_remote_engine(make_stack: Callable[..., Path]) -> None:
    stack = mixed(make_stack)
    root = stack.root
    inst = plan_instance(stack, 4, "isolated")
    assert (inst.n, inst.ports, inst.namespace, inst.database, inst.mode) == (
        4, {"web": 8400, "api": 3400}, "shop-dev-4", "shop_instance_4", "isolated")
    assert (inst.project_name, inst.dir, inst.engine.name) == ("shop-dev-4", root / ".instances/instance-4", "big")
    assert inst.app_names == ["shop-api-4", "shop-ui-4"]
    variables = inst.variables()
    names = variables.pop("names")
    assert variables == {
        "n": 4, "instance": 4, "project": "shop", "project_name": "shop-dev-4", "namespace": "shop-dev-4",
        "ports": {"web": 8400, "api": 3400}, "host_ip": "0.0.0.0", "host": "bigbox.lan", "engine": "big",
        "temporal_namespace": "shop-dev-4", "task_queue": "shop-dev-4", "redis_prefix": "shop-dev-4:",
        "database": "shop_instance_4", "instance_dir": str(root / ".instances/instance-4"), "root": str(root),
        "mode": "isolated",
    }
    assert (names["database"], names["redis_prefix"], names["bucket"]) == ("shop_instance_4", "shop-dev-4:",
                                                                          "shop-dev-4")


def test_the_templates_ports_are_a_copy(make_stack: Callable[..., Path]) -> None:
    """The sandbox lets a template call ``ports.update(...)``: it must not move the instance's ports."""
    inst = plan_instance(mixed(make_stack), 1, "isolated")
    inst.variables()["ports"]["web"] = 1
    assert inst.ports == {"web": 8100, "api": 3100}


def test_shared_mode_uses_the_shared_infras_ports_for_compose_services(make_stack: Callable[..., Path]) -> None:
    stack = mixed(make_stack)
    shared = plan_instance(stack, 1)  # None: the stack's mode
    assert (shared.mode, shared.ports) == ("shared", {"web": 8000, "api": 3100})
    assert (shared.variables()["mode"], shared.variables()["host"], shared.variables()["engine"]) == (
        "shared", "localhost", "local")
    assert plan_instance(stack, 1, "shared").ports == {"web": 8000, "api": 3100}
    isolated = plan_instance(stack, 1, "isolated")
    assert (isolated.mode, isolated.ports) == ("isolated", {"web": 8100, "api": 3100})
