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
