"""Tab completion that knows the stack, driven through bash's (and zsh's) real completion function.

Each test sources the script `multistack completion bash` prints, sets COMP_WORDS, COMP_CWORD,
COMP_LINE and COMP_POINT as bash does on TAB, calls the function, and reads COMPREPLY: the
function runs the real `inv --complete` in a copy of the example stack.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from multistack.act.options import ACTIONS, ALL_ACTIONS
from tests.cli.example_stack import child_env, copy_example_stack, run_cli

INSTANCES = [str(n) for n in range(10)]  # the example's `instances: 0-9`

DRIVER = r"""
source "$1"
shift
COMP_WORDS=("$@")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
_multistack_complete "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example_stack(tmp_path_factory.mktemp("completion") / "stack")


@pytest.fixture(scope="module")
def bash_script(stack: Path) -> Path:
    printed = run_cli(stack, "completion", "bash")
    assert printed.returncode == 0, printed.stderr
    path = stack.parent / "inv.bash"
    path.write_text(printed.stdout)
    return path


def offered(script: Path, root: Path, *words: str) -> list[str]:
    """COMPREPLY after TAB on ``words`` (the last one is the word under the cursor, "" for a new one)."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", DRIVER, "driver", str(script), *words],
                          cwd=root, env=child_env(root), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_after_dev_the_actions_the_instances_and_all(bash_script, stack):
    words = offered(bash_script, stack, "inv", "dev", "")
    assert words == [*ACTIONS, *INSTANCES, "--all"]  # not the task names again (issue 16)


def test_after_an_instance_only_the_actions(bash_script, stack):
    assert offered(bash_script, stack, "inv", "dev", "1", "") == list(ACTIONS)


def test_a_partial_action_completes_among_the_actions(bash_script, stack):
    assert offered(bash_script, stack, "inv", "dev", "1", "st") == ["start", "stop", "status"]


def test_after_an_action_the_instances_and_all_when_it_takes_all(bash_script, stack):
    assert offered(bash_script, stack, "inv", "dev", "stop", "") == [*INSTANCES, "--all"]
    assert offered(bash_script, stack, "inv", "dev", "info", "") == INSTANCES  # info takes no --all
    assert offered(bash_script, stack, "inv", "dev", "--all", "") == list(ALL_ACTIONS)


def test_system_logs_offers_the_systems_then_their_members(bash_script, stack):
    assert offered(bash_script, stack, "inv", "system.logs", "") == ["suite", "sim"]
    assert offered(bash_script, stack, "inv", "system.logs", "sim", "") == ["dun-a", "lon-b", "nyc-c"]
    assert offered(bash_script, stack, "inv", "system.logs", "suite", "re") == ["retriever"]
    assert offered(bash_script, stack, "inv", "system.ps", "") == ["suite", "sim"]


def test_mesh_profiles_and_environments_as_flag_values(bash_script, stack):
    assert offered(bash_script, stack, "inv", "mesh.up", "--profile", "") == ["db", "mesh", "apps", "telemetry", "all"]
    assert offered(bash_script, stack, "inv", "mesh.up", "--env", "") == ["local", "staging", "production"]
    # bash splits `--env=lo` at `=` (COMP_WORDBREAKS): three words
    assert offered(bash_script, stack, "inv", "mesh.up", "--env", "=", "lo") == ["local"]
    assert offered(bash_script, stack, "inv", "mesh.env", "") == ["local", "staging", "production"]


def test_task_names_and_flags_still_complete(bash_script, stack):
    assert {"dev", "dev.use", "dev.run"} <= set(offered(bash_script, stack, "inv", "de"))
    assert offered(bash_script, stack, "inv", "mesh.u") == ["mesh.up", "mesh.urls"]
    assert offered(bash_script, stack, "inv", "dev", "1", "--fo") == ["--force", "--follow"]
    assert "--arg" not in offered(bash_script, stack, "inv", "dev", "--")  # how positionals travel, not a flag
    # once the instance and action are given, the next word may be another task
    assert "mesh.ps" in offered(bash_script, stack, "inv", "dev", "1", "start", "")


def test_the_multistack_program_completes_the_same(bash_script, stack):
    assert offered(bash_script, stack, "multistack", "dev", "1", "") == list(ACTIONS)


def test_a_large_range_offers_the_instances_that_exist(bash_script, tmp_path):
    root = tmp_path / "big"
    root.mkdir()
    (root / "stack.yaml").write_text("project: big\ninstances: 0-999\nstride: 10\nservices:\n  web: {port: 8000}\n")
    (root / "tasks.py").write_text("from multistack.cli import namespace\n\nns = namespace()\n")
    for n in (7, 42):
        (root / ".instances" / f"instance-{n}").mkdir(parents=True)
    (root / ".instances" / "instance-5000").mkdir()  # outside the range: not an instance of this stack
    assert offered(bash_script, root, "inv", "dev", "stop", "") == ["7", "42", "--all"]


def test_a_broken_stack_yaml_still_completes_task_names(bash_script, tmp_path):
    root = tmp_path / "broken"
    root.mkdir()
    (root / "stack.yaml").write_text("project: [unclosed\n")
    (root / "tasks.py").write_text("from multistack.cli import namespace\n\nns = namespace()\n")
    assert "dev.use" in offered(bash_script, root, "inv", "dev", "")


def test_a_keypress_imports_neither_jinja2_nor_dotenv_nor_the_actions_nor_asks_the_engine(stack):
    probe = ("import sys; sys.argv = ['inv', '--complete', '--', 'inv', 'dev', '1', '']\n"
             "from invoke.main import program\n"
             "import invoke.runners\n"
             "invoke.runners.Popen = None  # any command run would fail here\n"
             "program.run(exit=False)\n"
             "heavy = ('jinja2', 'dotenv', 'rich', 'multistack.act.lifecycle')\n"
             "print('heavy:', sorted(m for m in heavy if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=stack, env=child_env(stack), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "heavy: []"
    assert done.stdout.splitlines()[0] == "start"


def test_zsh_function_offers_the_same_words(stack):
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed")
    printed = run_cli(stack, "completion", "zsh")
    assert printed.returncode == 0
    script = stack.parent / "inv.zsh"
    script.write_text(printed.stdout)
    # compsys's compadd/_files/compdef are shell builtins of a completion widget: stand-ins print what they got
    driver = ('compdef() { :; }; compadd() { [[ $1 == -a ]] && print -rl -- ${(P)2}; }; _files() { print FILES; }\n'
              f'source {script}\n'
              'words=(inv dev 1 ""); CURRENT=4; _multistack_complete\n'
              'words=(inv system.logs ""); CURRENT=3; _multistack_complete\n'
              'words=(inv mesh.up --env=st); CURRENT=3; _multistack_complete\n')
    done = subprocess.run(["zsh", "-f", "-c", driver], cwd=stack, env=child_env(stack), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [*ACTIONS, "suite", "sim", "--env=staging"]


def test_an_unknown_shell_is_one_line_and_exit_2(stack):
    done = run_cli(stack, "completion", "fish")
    assert done.returncode == 2
    assert done.stderr == "error: no completion for shell 'fish' (fix: use one of: bash, zsh)\n"
    assert done.stdout == ""


# --------------------------------------------------------------------------
# The reading of a line, without a shell (pure).


def test_a_trailing_space_is_an_empty_word_under_the_cursor():
    from multistack.cli.completion import split_line

    assert split_line("inv dev 1 ") == (["dev", "1"], "")
    assert split_line("inv dev 1 ''") == (["dev", "1"], "")  # the remainder as cli/argv.py keeps it (shlex.join)
    assert split_line("inv dev 1 st") == (["dev", "1"], "st")
    assert split_line("inv") == ([], "")  # invoke's stock script: `inv <TAB>`
    assert split_line("/venv/bin/multistack dev") == ([], "dev")
    assert split_line('inv dev "1') == (["dev"], '"1')  # an open quote while typing: no error


def test_flag_values_are_not_positionals_and_equals_splits_are_read():
    from multistack.cli import namespace
    from multistack.cli.completion import read_line

    contexts = namespace().to_contexts()
    line = read_line(["dev", "--tail", "5", "1"], "", contexts, None)
    assert (line.task.name, line.words, line.value_of) == ("dev.run", ["1"], None)
    line = read_line(["mesh.up", "--env", "="], "lo", contexts, None)
    assert (line.task.name, line.value_of, line.current) == ("mesh.up", "--env", "lo")
    line = read_line(["dev", "1", "mesh.up", "--profile"], "=", contexts, None)
    assert (line.task.name, line.value_of, line.current) == ("mesh.up", "--profile", "")
