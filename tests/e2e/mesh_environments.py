"""The e2e test mesh (tests/e2e/mesh) as a user makes it side by side: staging and production, one project each.

Shared by tests/act/test_mesh_environments.py (recorded commands) and
tests/e2e/test_mesh_environments.py (the real engine). The copy's stack.yaml
is edited the way a user would: a per-environment project name, no shared
env_file, two environments with their own templates (host ports 37100-37299).
"""
from __future__ import annotations

import shutil
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "mesh"
ENVIRONMENTS = """\
  environments:
    staging:
      compose: compose/docker-compose.remote.yml
      template: env/staging.env.example
    production:
      compose: compose/docker-compose.remote.yml
      template: env/production.env.example
"""
#: Host ports of each environment (its env template), by service.
PORTS = {env: {svc: base + i for i, svc in enumerate(("db", "pool-app", "pool-iam", "gateway", "iam", "metrics",
                                                        "cache"), 1)}
         for env, base in (("staging", 37100), ("production", 37200))}


def make_side_by_side(dest: Path, project: str) -> Path:
    """A copy of the test mesh in ``dest`` whose environments run side by side, stack project ``project``."""
    shutil.copytree(SOURCE, dest, ignore=shutil.ignore_patterns(".env*", "__pycache__"))
    stack_file = dest / "stack.yaml"
    text = stack_file.read_text()
    for old, new in (("\nproject: e2emesh\n", f"\nproject: {project}\n"),
                     ("\nmesh:\n", '\nmesh:\n  project: "{{ project }}-mesh-{{ environment }}"\n'),
                     ("  env_file: env/.env\n", "")):
        assert old in text, old
        text = text.replace(old, new)
    start, end = text.index("  environments:\n"), text.index("  hostnames:\n")
    stack_file.write_text(text[:start] + ENVIRONMENTS + text[end:])
    (dest / "tasks.py").write_text("from multistack.cli import namespace\n\nns = namespace()\n")
    return dest
