"""stack.yaml is parsed once, at load: every section into typed values, and nothing reads raw YAML after.

Functions are counted by their code objects (a profile hook), so a count holds however a
module imported them; :class:`Node` is the one raw-YAML reader, so a Node made after
:func:`parse_stack` returned would be a section parsed again.
"""
from __future__ import annotations

import shutil
import sys
from collections import Counter
from pathlib import Path
from types import CodeType, FrameType
from typing import Any, Callable, Iterator

import pytest

from multistack.errors import StackError
from multistack.model import doctor, engines, mesh, namespaces, provision, stack, systems
from multistack.model.reader import Node
from multistack.model.stack import Stack, load_stack

ROOT = Path(__file__).resolve().parents[2]
PARSERS: tuple[Callable[..., Any], ...] = (
    stack.parse_stack, engines.parse_engines, mesh.parse_mesh, systems.parse_systems, provision.parse_steps,
    provision.parse_mode, namespaces.parse_namespaces, doctor.parse_doctor,
)


class Calls:
    """Counts calls of the parsers, and Nodes made outside parse_stack, while active."""

    def __init__(self) -> None:
        self.codes: dict[CodeType, str] = {f.__code__: f.__name__ for f in PARSERS}
        self.count: Counter[str] = Counter()
        self.nodes_outside = 0
        self._depth = 0  # inside parse_stack

    def hook(self, frame: FrameType, event: str, arg: Any) -> None:
        code = frame.f_code
        if event == "call":
            if code in self.codes:
                self.count[self.codes[code]] += 1
            if code is stack.parse_stack.__code__:
                self._depth += 1
            elif code is Node.__init__.__code__ and not self._depth:
                self.nodes_outside += 1
        elif event == "return" and code is stack.parse_stack.__code__:
            self._depth -= 1


@pytest.fixture
def calls() -> Iterator[Calls]:
    counter = Calls()
    sys.setprofile(counter.hook)
    try:
        yield counter
    finally:
        sys.setprofile(None)


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example stack (every section), copied so that nothing is written into the repository."""
    for name in ("stack.yaml", "compose", "env", "apps", "templates", "systems"):
        src = ROOT / name
        if src.exists():
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MULTISTACK_FILE", raising=False)
    monkeypatch.delenv("MULTISTACK_INSTANCE", raising=False)
    return tmp_path / "stack.yaml"


def test_load_parses_every_section_exactly_once(example: Path, calls: Calls) -> None:
    loaded = load_stack(example)
    sys.setprofile(None)
    assert loaded.mesh is not None and loaded.systems and loaded.provision  # the example has them all
    assert dict(calls.count) == {f.__name__: 1 for f in PARSERS}


def test_nothing_parses_again_after_load(example: Path) -> None:
    from multistack.act.generate import render_files
    from multistack.act.mesh import load_mesh
    from multistack.act.systems import plan_system
    from multistack.plan.instance import plan_instance
    from multistack.plan.namespaces import check_stack

    loaded = load_stack(example)
    counter = Calls()
    sys.setprofile(counter.hook)
    try:
        inst = plan_instance(loaded, 1)
        inst.variables()
        render_files(inst)
        check_stack(loaded)
        load_mesh(loaded)
        for system in loaded.systems.values():
            plan_system(loaded, system)
        loaded.engine_for(1)
    finally:
        sys.setprofile(None)
    assert not counter.count, counter.count
    assert counter.nodes_outside == 0


def test_the_stack_holds_typed_sections(make_stack) -> None:
    loaded = load_stack(make_stack("project: p\n"))
    assert not hasattr(loaded, "sections")
    assert loaded.mesh is None and dict(loaded.systems) == {} and loaded.provision == ()
    assert loaded.mode == "isolated" and not loaded.engines_declared
    (local,) = loaded.engines
    assert local.name == "local" and local.slots == tuple(range(10))
    assert dict(loaded.namespaces.overrides) == {} and dict(loaded.namespaces.selectors) == {}
    assert loaded.doctor == doctor.DoctorSettings()


def test_a_stack_built_in_code_has_the_default_engine() -> None:
    built = Stack(path=Path("/x/stack.yaml"), project="p", first=2, last=4, host_ip="127.0.0.2")
    assert built.engine_for(3).host_ip == "127.0.0.2"
    assert built.by_engine([2, 4]) == {built.engines[0]: [2, 4]}
    with pytest.raises(StackError, match="instance 5 is out of range 2-4"):
        built.engine_for(5)


@pytest.mark.parametrize("section, message", [
    ("engines:\n", "stack.yaml: engines: must name at least one engine"),
    ("mesh:\n", "stack.yaml: mesh: missing required key 'compose'"),
    ("mode: mixed\n", "stack.yaml: mode: must be one of isolated, shared, got 'mixed'"),
    ("systems: [a]\n", "stack.yaml: systems: must be a mapping, got a list"),
    ("provision: {db: {create: x, run_in: db}}\n", "provision.db.run_in: runs in compose service 'db'"),
    ("namespaces: {instances: {12: x}}\n", "namespaces.instances.12: instance 12 is out of range 0-9"),
    ("doctor: {ignore: [nope]}\n", "stack.yaml: doctor.ignore: unknown check 'nope'"),
])
def test_a_broken_section_stops_the_load_and_names_its_key(make_stack, section: str, message: str) -> None:
    with pytest.raises(StackError) as info:
        load_stack(make_stack("project: p\n" + section))
    assert message in info.value.message


def test_empty_sections_mean_their_defaults(make_stack) -> None:
    loaded = load_stack(make_stack("project: p\nsystems:\nprovision:\nnamespaces:\ndoctor:\nmode:\n"))
    assert dict(loaded.systems) == {} and loaded.provision == () and loaded.mode == "isolated"


def test_loading_imports_no_template_or_env_file_library() -> None:
    import subprocess

    code = ("import sys; from multistack.model.stack import load_stack; load_stack(); "
            "print(sorted(m for m in ('jinja2', 'dotenv', 'filelock', 'multistack.plan', 'multistack.io') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_dry_start_reads_no_section_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """``inv --dry dev 1 start``: each section parsed as often as stack.yaml is loaded, no Node after."""
    from multistack.cli.program import build_program
    from multistack.io import hostports

    root = tmp_path / "stack"
    shutil.copytree(ROOT / "tests" / "e2e" / "stack", root)
    monkeypatch.chdir(root)
    for key in ("MULTISTACK_FILE", "MULTISTACK_INSTANCE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr("multistack.io.tools.shutil.which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(hostports, "is_free", lambda port, host="127.0.0.1": True)
    counter = Calls()
    sys.setprofile(counter.hook)
    try:
        build_program().run(["inv", "--dry", "dev", "1", "start"], exit=False)
    finally:
        sys.setprofile(None)
    assert "up -d --remove-orphans --wait" in capsys.readouterr().out  # it got through the whole start
    loads = counter.count["parse_stack"]
    assert loads >= 1
    # the e2e stack declares no mesh and no systems: their parsers (and modules) are used only for a
    # stack that has the section, which keeps the start-up of read commands small
    absent = (mesh.parse_mesh, systems.parse_systems)
    assert dict(counter.count) == {f.__name__: loads for f in PARSERS if f not in absent}
    assert counter.nodes_outside == 0
