"""The audit's deliberate bugs, each made in a scratch copy: its test in tests/audit must fail.

    .venv/bin/python tests/audit/make_bugs.py [NUMBER...]    # e.g. 6 12b; none: all of them

Copies the repository to a temporary folder (the working tree is never changed), makes one
bug at a time as a text replacement, runs the audit test for it there and prints CAUGHT or
MISSED; then the unchanged copy's audit tests must all pass. A replacement whose text is no
longer found (the code moved) is reported as ``??``: update its pattern here.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MAIN = Path(__file__).resolve().parents[2]
TREE = Path(tempfile.mkdtemp(prefix="multistack-bugs-")) / "tree"
shutil.copytree(MAIN, TREE, ignore=shutil.ignore_patterns(".venv", "node_modules", "__pycache__", ".git", ".instances",
                                                           "mutants", ".hypothesis"))

BUGS = [
    ("1 pm2 logs bare names", "multistack/plan/pm2.py", 'argv = [*pm2, "logs", app_regex(inst.app_names),', 'argv = [*pm2, "logs", *inst.app_names,', "tests/audit/test_logs.py"),
    ("2 project label search", "multistack/io/status.py", 'match = re.fullmatch(re.escape(stack.project)', 'match = re.search(re.escape(stack.project)', "tests/audit/test_status.py"),
    ("3 mesh accepts extra", "multistack/act/mesh.py", "    if declared == actual:\n", "    if declared <= actual:\n", "tests/audit/test_mesh.py"),
    ("4 restart only starts", "multistack/act/lifecycle.py", "    stop(c, inst, opts, engines=engines)\n    start(c, inst, opts)", "    start(c, inst, opts)", "tests/audit/test_lifecycle.py"),
    ("5 compose edits not stale", "multistack/act/generate.py", "    stale = {path for path in set(current) | set(manifest.sources) if current.get(path) != manifest.sources.get(path)}\n", "    stale = set()\n", "tests/audit/test_generate.py"),
    ("6 direct write", "multistack/io/writer.py", '    payload = data.encode("utf-8") if isinstance(data, str) else data\n', '    payload = data.encode("utf-8") if isinstance(data, str) else data\n    if not exclusive:\n        with open(path, "wb") as direct:\n            direct.write(payload)\n        os.chmod(path, mode)\n        return True\n', "tests/audit/test_generate.py"),
    ("7 clean removes .instances", "multistack/act/lifecycle.py", "            shutil.rmtree(folder)\n", "            shutil.rmtree(folder.parent)\n", "tests/audit/test_lifecycle.py"),
    ("8 newer manifest accepted", "multistack/io/manifest.py", "version > VERSION", "version > VERSION + 1", "tests/audit/test_generate.py"),
    ("9 no system lock", "multistack/cli/system.py", '    with _lock(c, stack, name, "system.up"):\n', '    if True:\n', "tests/audit/test_systems.py"),
    ("10 rollback leaves network", "multistack/cli/system.py", "        _down_members(c, plan, [mp.name for mp in started], {}, engines, volumes=False)\n        _remove_network_if_unused(c, system.network, engines.docker)\n", "        _down_members(c, plan, [mp.name for mp in started], {}, engines, volumes=False)\n", "tests/audit/test_systems.py"),
    ("11 pm2 tail fixed", "multistack/plan/pm2.py", 'str(tail if tail is not None else 50)', '"50"', "tests/audit/test_logs.py"),
    ("12 eager jinja2", "multistack/model/stack.py", "from __future__ import annotations\n", "from __future__ import annotations\nimport jinja2\n", "tests/audit/test_lazy_imports.py"),
    ("12b eager filelock", "multistack/act/lifecycle.py", "from __future__ import annotations\n", "from __future__ import annotations\nimport filelock\n", "tests/audit/test_lazy_imports.py"),
    ("12c eager dotenv", "multistack/cli/dev.py", "from __future__ import annotations\n", "from __future__ import annotations\nimport dotenv\n", "tests/audit/test_lazy_imports.py"),
]
only = sys.argv[1:]
for name, rel, old, new, test in BUGS:
    if only and not any(name.startswith(o) for o in only):
        continue
    path = TREE / rel
    original = (MAIN / rel).read_text()
    path.write_text(original)
    if original.count(old) != 1:
        print(f"?? {name}: pattern found {original.count(old)} times in {rel}")
        continue
    path.write_text(original.replace(old, new))
    env = {"PYTHONPATH": str(TREE), "PATH": "/usr/bin:/bin", "HOME": "/root"}
    done = subprocess.run([str(MAIN / ".venv/bin/python"), "-m", "pytest", test, "-q", "-p", "no:cacheprovider", "-x"],
                          cwd=TREE, capture_output=True, text=True, env=env)
    path.write_text(original)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    print(("CAUGHT " if done.returncode == 1 else "MISSED ") + f"{name}: {last}")
# control: all pass unchanged
done = subprocess.run([str(MAIN / ".venv/bin/python"), "-m", "pytest", "tests/audit", "-q", "-p", "no:cacheprovider"],
                      cwd=TREE, capture_output=True, text=True, env={"PYTHONPATH": str(TREE), "PATH": "/usr/bin:/bin", "HOME": "/root"})
print("control:", done.stdout.strip().splitlines()[-1])
shutil.rmtree(TREE.parent, ignore_errors=True)
