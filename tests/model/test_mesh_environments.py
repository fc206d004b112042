"""stack.yaml's mesh.project and mesh.env_file per environment: side by side, or one shared project (pure)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from multistack.errors import StackError
from multistack.model.mesh import fill_name, names_environment, parse_mesh

FILE = "stack.yaml"


def mesh_of(**keys: Any):
    raw = {"compose": ["m.yml"], "profiles": {"db": ["pg"]},
           "environments": {"staging": {"compose": "s.yml", "template": "env/staging.env.example"},
                            "production": {"compose": "p.yml", "template": "env/production.env.example"}},
           **keys}
    return parse_mesh(raw, FILE, Path("/x"), "athyper")


def test_default_is_one_shared_project_and_env_file():
    mesh = mesh_of()
    assert not mesh.side_by_side
    assert [mesh.project_of(e) for e in ("staging", "production")] == ["athyper-mesh", "athyper-mesh"]
    assert mesh.env_file_of("staging") == mesh.env_file_of("production") == "env/.env"
    assert mesh.env_path == Path("/x/env/.env")


def test_a_project_template_gives_each_environment_its_project_and_env_file():
    mesh = mesh_of(project="{{ project }}-mesh-{{environment}}")
    assert mesh.side_by_side
    assert mesh.projects() == {"athyper-mesh-staging": "staging", "athyper-mesh-production": "production"}
    assert mesh.env_file == "env/.env.{{ environment }}"  # the default when the project names the environment
    assert mesh.env_file_of("staging") == "env/.env.staging"
    assert mesh.env_path_of("production") == Path("/x/env/.env.production")


def test_an_explicit_env_file_template():
    mesh = mesh_of(project="athyper-mesh-{{ environment }}", env_file="mesh/env/{{ environment }}.env")
    assert mesh.env_file_of("staging") == "mesh/env/staging.env"


@pytest.mark.parametrize("keys, message", [
    ({"project": "athyper-mesh-{{ environment }}", "env_file": "env/.env"},
     "stack.yaml: mesh.env_file: every environment would write env/.env, but each has its own project"),
    ({"env_file": "env/.env.{{ environment }}"},
     "stack.yaml: mesh.env_file: 'env/.env.{{ environment }}' gives each environment its own env file, "
     "but they share one project 'athyper-mesh'"),
    ({"project": "athyper-{{ env }}"}, "stack.yaml: mesh.project: unknown placeholder '{{ env }}'"),
    ({"project": "Athyper-{{ environment }}"},
     "stack.yaml: mesh.project: 'Athyper-staging' is not a valid compose project name"),
    ({"project": "Bad"}, "stack.yaml: mesh.project: 'Bad' is not a valid compose project name"),
    ({"project": "a-{{ environment }}", "env_file": "env/{{ environment }}.env.example"},
     "stack.yaml: mesh.environments.staging.template: the active env file env/staging.env.example cannot "
     "also be a template"),
])
def test_names_that_cannot_work_are_refused_at_load(keys, message):
    with pytest.raises(StackError) as info:
        mesh_of(**keys)
    assert info.value.message.startswith(message), info.value.message


def test_fill_name():
    assert fill_name("{{project}}-{{ environment }}", "local", "p") == "p-local"
    assert names_environment("x-{{environment}}") and not names_environment("x-{{ project }}")
