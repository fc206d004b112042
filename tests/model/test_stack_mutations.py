"""Every key of the example stack.yaml set to a wrong value is a user error, never a traceback."""
from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from multistack.errors import StackError
from multistack.plan.instance import plan_instance
from multistack.io.compose_files import read_stack_files
from multistack.plan.render import render_instance
from multistack.model.stack import check_files, parse_stack

ROOT = Path(__file__).resolve().parents[2]
WRONG = (None, 7, {"a": 1})  # null, a wrong scalar, a wrong container


def key_paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield prefix + (key,)
        yield from key_paths(value, prefix + (key,))


def load_everything(doc: dict, path: Path) -> None:
    """What commands do with a stack: validate, check names, read the sections, render instance 1."""
    from multistack.act import systems
    from multistack.act.mesh import load_mesh
    from multistack.plan.namespaces import check_stack

    stack = parse_stack(doc, path)
    check_files(stack)
    check_stack(stack)
    if stack.mesh is not None:
        load_mesh(stack)
    for system in stack.systems.values():
        systems.plan_system(stack, system)
    render_instance(plan_instance(stack, 1), read_stack_files(stack))


def test_wrong_values_everywhere_are_user_errors(tmp_path):
    for name in ("stack.yaml", "compose", "env", "apps"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, tmp_path / name)
    raw = yaml.safe_load((tmp_path / "stack.yaml").read_text())
    load_everything(copy.deepcopy(raw), tmp_path / "stack.yaml")  # the example itself is fine
    tried = 0
    for path in key_paths(raw):
        for wrong in WRONG:
            doc = copy.deepcopy(raw)
            node = doc
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = wrong
            tried += 1
            try:
                load_everything(doc, tmp_path / "stack.yaml")
            except StackError:
                pass
            except Exception as exc:  # noqa: BLE001 - the point of the test
                pytest.fail(f"{'.'.join(map(str, path))} = {wrong!r}: {type(exc).__name__}: {exc}")
    assert tried > 300


def test_an_empty_key_means_its_default():
    stack = parse_stack(yaml.safe_load("project: p\nstride:\nhost_ip:\ninstances:\n"), Path("/x/stack.yaml"))
    assert (stack.stride, stack.host_ip, stack.first, stack.last) == (100, "127.0.0.1", 0, 9)
