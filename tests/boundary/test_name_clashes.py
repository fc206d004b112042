"""Names that normalise to one, and the mesh's active env file: the catalogue's last gaps (issue 12).

Same harness as tests/boundary/test_readers.py (its stack, its snapshot, the
real CLI in-process): one line ``error: ... (fix: ...)``, the documented exit
code, no traceback, the folder byte for byte as it was.

Names: systems, members, mesh profiles and environments, and engines go
through the one normalisation of model/names.py (``normal_name``: case folded,
``_`` read as ``-``), like services and apps: ``lon_b`` and ``lon-b`` would
share a compose project, env keys or host names, so they are refused, naming
both and the key path.

The mesh's active env file (``env/.env``): not UTF-8, a malformed line (whose
value is a secret and must not be printed), a folder or a broken link in its
place. A link to a real file is read through, as before.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from multistack.errors import EXIT_CONFLICT, EXIT_USAGE
from tests.catalogue import STACK
from tests.boundary.test_readers import (  # the catalogue's harness, one copy
    INIT, MANIFEST, PORTS, Case, check_one_line, make_stack, manifest_with, run_cli, snapshot, stack_dir,
    write)  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
URLS = ["mesh.urls"]

SYSTEM = "    compose_files: [compose.yml]\n    gateway: {forward: [\"80:web:8080\"]}\n    members:\n"


def systems(*blocks: str) -> str:
    return STACK + "systems:\n" + "".join(blocks)


def system(name: str, members: str = "      a: {slot: 1}\n") -> str:
    return f"  {name}:\n{SYSTEM}{members}"


def engines(*names: str) -> str:
    """Engines named ``names``, instance 0-5 shared out (the last takes the rest)."""
    lines = ["engines:\n"]
    for i, name in enumerate(names):
        slots = f", slots: [{i}]" if i < len(names) - 1 else ""
        lines.append(f"  {name}: {{context: box{i}, host: box{i}.lan{slots}}}\n")
    return STACK + "".join(lines)


NAME_CASES = [
    Case("systems-dash-underscore", PORTS, EXIT_USAGE, "systems.lon-b: system names 'lon_b' and 'lon-b' differ only",
         {"stack.yaml": systems(system("lon_b"), system("lon-b", "      b: {slot: 2}\n"))}),
    Case("systems-far-apart", PORTS, EXIT_USAGE, "system names 'x_y_z' and 'x-y_z' differ only",
         {"stack.yaml": systems(system("x_y_z"), system("other", "      c: {slot: 3}\n"),
                                system("x-y_z", "      b: {slot: 2}\n"))}),
    Case("members-case", PORTS, EXIT_USAGE, "members.db: 'db' and 'Db' are the same name once lowercased",
         {"stack.yaml": systems(system("suite", "      Db: {slot: 1}\n      db: {slot: 2}\n"))}),
    Case("members-case-upper-last", PORTS, EXIT_USAGE, "members.STORE: 'STORE' and 'store'",
         {"stack.yaml": systems(system("suite", "      store: {slot: 1}\n      STORE: {slot: 2}\n"))}),
    Case("engines-dash-underscore", PORTS, EXIT_USAGE, "engines.big-box: engine names 'big_box' and 'big-box' differ",
         {"stack.yaml": engines("big_box", "big-box")}),
    Case("engines-first-and-third", PORTS, EXIT_USAGE, "engine names 'e_1' and 'e-1' differ only",
         {"stack.yaml": engines("e_1", "other", "e-1")}),
]


def mesh_stack(**change: object) -> str:
    """The root stack.yaml's project and mesh: section, with ``change`` applied to the mesh."""
    raw = yaml.safe_load((ROOT / "stack.yaml").read_text())
    mesh = dict(raw["mesh"])
    for key, value in change.items():
        mesh[key] = value
    return yaml.safe_dump({"project": raw["project"], "mesh": mesh}, sort_keys=False)


def example_mesh() -> dict[str, dict]:
    raw = yaml.safe_load((ROOT / "stack.yaml").read_text())["mesh"]
    return {"profiles": dict(raw["profiles"]), "environments": dict(raw["environments"])}


def mesh_with_profile(new: str, like: str) -> str:
    profiles = example_mesh()["profiles"]
    profiles[new] = profiles[like]
    return mesh_stack(profiles=profiles)


def mesh_with_environment(new: str, like: str) -> str:
    envs = example_mesh()["environments"]
    envs[new] = envs[like]
    return mesh_stack(environments=envs)


LOCAL = (ROOT / "env" / "local.env.example").read_text()
SECRET = "hunter2-never-shown"
MESH_CASES = [
    Case("profiles-dash-underscore", URLS, EXIT_USAGE, "mesh.profiles.data-base: profile names 'data_base' and",
         {"stack.yaml": mesh_with_profile("data_base", "db").replace("  environments:",
                                                                      "    data-base: [redis]\n  environments:")}),
    Case("profiles-case-of-mesh", URLS, EXIT_USAGE, "profile names 'tele_metry' and 'tele-metry' differ only",
         {"stack.yaml": mesh_with_profile("tele_metry", "telemetry").replace(
             "  environments:", "    tele-metry: [loki]\n  environments:")}),
    Case("environments-dash-underscore", URLS, EXIT_USAGE,
         "mesh.environments.my-local: environment names 'my_local' and 'my-local' differ only",
         {"stack.yaml": mesh_with_environment("my_local", "local").replace("  hostnames:", "    my-local: {compose: compose/mesh/docker-compose.local.yml, "
                   "template: env/local.env.example}\n  hostnames:", 1)}),
    Case("environments-after-the-others", URLS, EXIT_USAGE, "environment names 'stage_2' and 'stage-2' differ only",
         {"stack.yaml": mesh_with_environment("stage_2", "staging").replace(
             "  hostnames:", "    stage-2: {compose: compose/mesh/docker-compose.staging.yml, "
             "template: env/staging.env.example}\n  hostnames:", 1)}),
    # ---- the active env file, env/.env
    Case("mesh-env-latin1", URLS, EXIT_USAGE, "env/.env: not valid UTF-8 at line 2 (byte 0xe9)",
         {"env/.env": b"ENVIRONMENT=local\nNAME=caf\xe9\n"}),
    Case("mesh-env-utf16", URLS, EXIT_USAGE, "env/.env: not valid UTF-8 at line 1 (byte 0xff)",
         {"env/.env": LOCAL.encode("utf-16")}),
    Case("mesh-env-malformed-secret", URLS, EXIT_USAGE, "env/.env:2: malformed line: DB_PASSWORD ****",
         {"env/.env": f"ENVIRONMENT=local\nDB_PASSWORD {SECRET}\n"}),
    Case("mesh-env-unclosed-quote", URLS, EXIT_USAGE, "env/.env:2: malformed line",
         {"env/.env": f'ENVIRONMENT=local\nMESH_ADMIN_PASSWORD="{SECRET}\n'}),
    Case("mesh-env-folder", URLS, EXIT_CONFLICT, "env/.env is not a readable file (a folder or a broken link)",
         {"env/.env/x": "ENVIRONMENT=local\n"}),
    Case("mesh-env-broken-link", URLS, EXIT_CONFLICT, "env/.env is not a readable file",
         {"env/.env": Path("nowhere")}),  # type: ignore[dict-item]
    Case("mesh-env-link-to-folder", URLS, EXIT_CONFLICT, "env/.env is not a readable file",
         {"elsewhere/x": "ENVIRONMENT=local\n", "env/.env": Path("../elsewhere")}),  # type: ignore[dict-item]
    Case("mesh-env-write-over-folder", ["mesh.env", "local"], EXIT_CONFLICT, "env/.env is a folder where a file",
         {"env/.env/x": "ENVIRONMENT=local\n"}),
]


def make_mesh(root: Path, files: dict[str, object]) -> None:
    """The example mesh (compose/mesh/, env/*.env.example) in ``root``; a Path value is a symlink to it."""
    shutil.copytree(ROOT / "compose" / "mesh", root / "compose" / "mesh")
    (root / "env").mkdir()
    for template in (ROOT / "env").glob("*.env.example"):
        shutil.copy(template, root / "env" / template.name)
    (root / "stack.yaml").write_text(mesh_stack())
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            path.symlink_to(content)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(str(content))


@pytest.fixture
def quiet_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal: no prompt


@pytest.mark.parametrize("case", NAME_CASES, ids=[c.id for c in NAME_CASES])
def test_names_that_normalise_to_one_are_refused(case: Case, stack_dir: Path, capsys) -> None:
    make_stack(stack_dir, case.files)  # type: ignore[arg-type]
    before = snapshot(stack_dir)
    code, out, err = run_cli(case.argv, capsys)
    check_one_line(code, out, err, case)
    assert snapshot(stack_dir) == before


@pytest.mark.parametrize("case", MESH_CASES, ids=[c.id for c in MESH_CASES])
def test_mesh_names_and_env_file(case: Case, stack_dir: Path, quiet_stdin: None, capsys) -> None:
    make_mesh(stack_dir, case.files)
    before = snapshot(stack_dir)
    code, out, err = run_cli(case.argv, capsys)
    check_one_line(code, out, err, case)
    assert SECRET not in out + err
    assert snapshot(stack_dir) == before


#: io/paths.check_owner reads instance.json with the one manifest reader: damaged is damaged, not foreign.
OWNER_CASES = [
    Case("manifest-instance-a-string", INIT, EXIT_USAGE, "manifest is damaged: instance missing or of the wrong type",
         setup=(tuple(INIT),), after={MANIFEST: manifest_with(instance="1")}),
    Case("manifest-project-a-list", INIT, EXIT_USAGE, "manifest is damaged: project_name missing",
         setup=(tuple(INIT),), after={MANIFEST: manifest_with(project_name=["demo-dev-1"])}),
    Case("manifest-huge-number", INIT, EXIT_USAGE, "manifest is damaged",
         setup=(tuple(INIT),), after={MANIFEST: '{"version": 1e400, "instance": 2, "project_name": "x"}'}),
]


@pytest.mark.parametrize("case", OWNER_CASES, ids=[c.id for c in OWNER_CASES])
def test_a_damaged_manifest_is_not_a_foreign_folder(case: Case, stack_dir: Path, capsys) -> None:
    make_stack(stack_dir, case.files)  # type: ignore[arg-type]
    for argv in case.setup:
        code, _out, err = run_cli(argv, capsys)
        assert code == 0, err
    for rel, content in case.after.items():
        write(stack_dir / rel, content(stack_dir) if callable(content) else content)
    before = snapshot(stack_dir)
    code, out, err = run_cli(case.argv, capsys)
    check_one_line(code, out, err, case)
    assert "belongs to instance" not in err
    assert snapshot(stack_dir) == before


def test_distinct_names_still_pass(stack_dir: Path, capsys) -> None:
    """The check refuses only what normalises to one: ``lon-a`` and ``lon-b``, ``big`` and ``bigger`` are fine."""
    make_stack(stack_dir, {"stack.yaml": engines("big", "bigger").replace(
        "engines:", "systems:\n" + system("lon-a") + system("lon-b", "      b: {slot: 2}\n") + "engines:")})
    code, _out, err = run_cli(PORTS, capsys)
    assert code == 0, err


def test_a_link_to_a_real_env_file_is_read_through(stack_dir: Path, quiet_stdin: None, capsys) -> None:
    """env/.env may be a link to a file kept elsewhere: reading follows it (writing never does)."""
    make_mesh(stack_dir, {"kept/local.env": LOCAL, "env/.env": Path("../kept/local.env")})
    code, out, err = run_cli(URLS, capsys)
    assert code == 0, err
    assert "gateway.mesh.athyper.local" in out
