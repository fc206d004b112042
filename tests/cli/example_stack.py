"""The repository's example stack (stack.yaml at its root: services, a mesh, two systems), copied into
a test's folder, and the real command line run in it as a child process."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: What the example's stack.yaml names (its files must exist: model.stack.check_files).
PARTS = ("stack.yaml", "tasks.py", "compose", "env", "apps")
PROGRAM = "import sys; from multistack.cli.program import main; main(sys.argv[1:])"


def copy_example_stack(dest: Path, project: str | None = None) -> Path:
    """The example stack in ``dest`` (no .instances/, no env/.env: as a fresh clone has it).

    ``project``: another compose project name, so that what the engine says about it (status
    --all finds instances by their project label) is this test's alone.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for name in PARTS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns(".env", "__pycache__"))
        else:
            shutil.copy2(source, dest / name)
    if project is not None:
        text = (dest / "stack.yaml").read_text(encoding="utf-8")
        assert "\nproject: shipsec\n" in text
        (dest / "stack.yaml").write_text(text.replace("\nproject: shipsec\n", f"\nproject: {project}\n", 1),
                                         encoding="utf-8")
    return dest


def child_env(root: Path) -> dict[str, str]:
    """This venv and the repository's pm2 first on PATH (`inv`, `multistack`), a PM2_HOME of the test's
    own (no daemon there: nothing asks or starts the machine's PM2), no default instance from the
    caller's shell."""
    env = {k: v for k, v in os.environ.items() if k != "MULTISTACK_INSTANCE"}
    tools = [str(Path(sys.executable).parent), str(REPO / "node_modules" / ".bin")]  # inv; pm2 (found, not run)
    env["PATH"] = os.pathsep.join([*tools, env.get("PATH", "")])
    env["PM2_HOME"] = str(root.parent / f"{root.name}-pm2")
    return env


def run_cli(root: Path, *words: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``multistack WORDS`` in ``root``: the console script's code, in a process of its own."""
    return subprocess.run([sys.executable, "-c", PROGRAM, *words], cwd=root, env=child_env(root),
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
