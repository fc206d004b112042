"""examples/demo copied for an e2e test: its own project name and its own host ports (shared by
test_demo.py and test_clone.py, which each own a port range)."""
from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO_SOURCE = REPO / "examples" / "demo"


def copy_demo(dest: Path, project: str, ports: dict[str, tuple[int, int]]) -> Path:
    """examples/demo in ``dest`` as project ``project``, each ``service: (base, ours)`` moved to ``ours``."""
    shutil.copytree(DEMO_SOURCE, dest, ignore=shutil.ignore_patterns(".instances", "__pycache__"))
    stack_file = dest / "stack.yaml"
    text = stack_file.read_text()
    replacements = {"\nproject: demo\n": f"\nproject: {project}\n",
                    **{f"port: {base}\n": f"port: {ours}\n" for base, ours in ports.values()}}
    for old, new in replacements.items():
        assert text.count(old) == 1, f"examples/demo/stack.yaml no longer has {old.strip()!r} once"
        text = text.replace(old, new)
    stack_file.write_text(text)
    return dest
