"""Instances: `inv dev [N] [ACTION] [--all]`, e.g. `inv dev 1 start`, `inv dev stop --all`.

ACTION is one of start (the default), stop, restart, status, logs, clean,
info, ports, init, project-name, clone (``--from M``), reset. N defaults to $MULTISTACK_INSTANCE,
else this checkout's claim (`inv dev.claim`, docs/worktrees.md), else the workspace default
(`inv dev.use N`), else the first instance.
stop, status, logs and clean take `--all` (or the word `all`).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from invoke import Collection, Context

from multistack.cli.exits import task, user_errors

if TYPE_CHECKING:
    from multistack.model.stack import Stack

HELP = {
    "arg": "instance number and/or action, given positionally: `inv dev 1 start`",
    "all": "act on every instance that exists (stop, status, logs, clean)",
    "json": "print JSON (info, ports, status)",
    "force": "overwrite generated files edited by hand, keeping them as .bak (init, start); act on an instance "
             "another checkout claimed (start, restart, clean, clone, reset: docs/worktrees.md)",
    "yes": "clean without asking",
    "follow": "keep streaming logs",
    "tail": "number of log lines to show per service (logs)",
    "shared": "shared mode: infra runs once (inv dev.infra-up), this instance gets only its apps and its "
              "provisioned namespace; remembered by the instance until clean",
    "isolated": "isolated mode: one infra per instance (the default); remembered by the instance until clean",
    "from": "clone: the instance whose data is copied (`inv dev 3 clone --from 1`)",
    "wait-timeout": "seconds start/restart may wait for services to be healthy and apps to answer, then fail "
                    "and roll back (default: start.wait_timeout in stack.yaml, else 300)",
}


@task(name="run", default=True, iterable=["arg"], help=HELP)
@user_errors
def run_(c: Context, arg: list[str] | None = None, all: bool = False, json: bool = False, force: bool = False,
         yes: bool = False, follow: bool = False, tail: int | None = None, shared: bool = False,
         isolated: bool = False, wait_timeout: int | None = None, from_: str | None = None) -> None:
    """Act on an instance: `inv dev [N] [ACTION] [--all]` (ACTION: start stop restart status logs clean info ports init project-name clone reset)."""
    from multistack.act import lifecycle
    from multistack.cli.words import parse_words
    from multistack.model.stack import load_stack

    stack = load_stack()
    command = parse_words(arg or [], all, stack)
    if shared and isolated:
        from multistack.errors import StackError

        raise StackError("both --shared and --isolated given", "give one of them")
    mode = "shared" if shared else "isolated" if isolated else None
    lifecycle.dispatch(c, stack, command, json=json, force=force, yes=yes, follow=follow,
                       tail=_line_count(tail), mode=mode, wait_timeout=_seconds(wait_timeout),
                       source=_source(from_, command.action, stack))


run_.optional_positionals = True  # type: ignore[attr-defined]


@task(iterable=["arg"], help={"arg": "the instance number to use by default: `inv dev.use 1`",
                               "clear": "forget the default"})
@user_errors
def use(c: Context, arg: list[str] | None = None, clear: bool = False) -> None:
    """Set this workspace's default instance for `inv dev` ($MULTISTACK_INSTANCE overrides it); no N prints it."""
    from multistack.cli.words import default_file, default_instance
    from multistack.errors import StackError
    from multistack.model.names import parse_instance_number
    from multistack.model.stack import load_stack
    from multistack.io.paths import contained
    from multistack.io.shell import for_real
    from multistack.io.writer import atomic_write

    stack = load_stack()
    path = default_file(stack)
    words = arg or []
    if len(words) > 1:
        raise StackError(f"too many arguments: {' '.join(words)}", "use `inv dev.use N`")
    if clear:
        for_real(c, lambda: _forget_default(stack, path), dry=f"would remove {path}")
        now = for_real(c, lambda: default_instance(stack), dry=lambda: stack.first)  # --dry: the file is still there
        print(f"default instance cleared (now {now})")
    elif not words:
        print(default_instance(stack))
    else:
        number = parse_instance_number(words[0], stack)
        for_real(c, lambda: atomic_write(contained(path, stack.root), f"{number}\n"),  # --dry: written nowhere
                 dry=f"would write {path}: {number}")
        print(f"default instance: {number}")


def _forget_default(stack: Stack, path: Path) -> None:
    """Remove the default-instance file (never through a symlinked .instances/)."""
    from multistack.io.paths import contained, os_failure

    try:
        contained(path, stack.root).unlink(missing_ok=True)
    except OSError as exc:
        raise os_failure(exc, path, "remove") from None


use.optional_positionals = True  # type: ignore[attr-defined]


@task(name="infra-up")
@user_errors
def infra_up(c: Context) -> None:
    """Start the shared infra of shared mode: the compose files as the project `<project>-shared`."""
    from multistack.io.tools import detect
    from multistack.act.shared import infra_up as infra_up_argv
    from multistack.io.shell import run
    from multistack.model.stack import load_stack

    stack = load_stack()
    if not stack.compose_files:
        print("no compose files in stack.yaml: no shared infra to start")
        return
    engines = detect(c, stack.root)
    run(c, infra_up_argv(stack, engines.compose))


@task(name="infra-down", help={"volumes": "also remove the shared infra's volumes (every instance's data)",
                               "yes": "remove volumes without asking"})
@user_errors
def infra_down(c: Context, volumes: bool = False, yes: bool = False) -> None:
    """Stop the shared infra (`inv dev N stop` never does: other instances use it)."""
    from multistack.io.tools import detect
    from multistack.act.lifecycle import confirm
    from multistack.act.shared import infra_down as infra_down_argv, shared_project
    from multistack.io.shell import assume_yes, run
    from multistack.model.stack import load_stack

    stack = load_stack()
    if not stack.compose_files:
        print("no compose files in stack.yaml: no shared infra to stop")
        return
    if volumes:
        confirm(f"Remove the volumes of {shared_project(stack)}: the data of every shared-mode instance?",
                assume_yes(c, yes), what="infra-down --volumes")
    engines = detect(c, stack.root)
    run(c, infra_down_argv(stack, engines.compose, volumes=volumes))


def _seconds(value: str | int | None) -> int | None:
    """``--wait-timeout S``: a whole number of seconds, 1 or more (invoke hands a string: the default is None)."""
    if value is None:
        return None
    from multistack.errors import StackError
    from multistack.model.names import is_number

    text = str(value).strip()
    if not is_number(text) or int(text) < 1:
        raise StackError(f"--wait-timeout {value!r} is not a number of seconds", "give a whole number, e.g. --wait-timeout 120")
    return int(text)


def _source(value: str | None, action: str, stack: Stack) -> int | None:
    """``--from M``: an instance number of the stack, and only where it means something (clone)."""
    from multistack.errors import StackError
    from multistack.model.names import parse_instance_number

    if value is None:
        if action == "clone":
            raise StackError("clone needs the instance to copy from", "give it: `inv dev N clone --from M`")
        return None
    if action != "clone":
        raise StackError(f"--from is for clone, not {action}", "use `inv dev N clone --from M`")
    return parse_instance_number(str(value).strip(), stack)


def _line_count(tail: str | int | None) -> int | None:
    """invoke types ``--tail`` by its default (None: a string); a bad value is a user error, not compose's."""
    if tail is None:
        return None
    from multistack.errors import StackError
    from multistack.model.names import is_number

    text = str(tail).strip()
    if not is_number(text):
        raise StackError(f"--tail {tail!r} is not a number of lines", "give a whole number, e.g. --tail 50")
    return int(text)


def _collection() -> Collection:
    """``dev`` and its tasks: the worktree claims (cli/claims.py) and the live view (cli/watch.py) beside them."""
    from multistack.cli import claims, watch

    return Collection("dev", run_, use, infra_up, infra_down, claims.claim, claims.release, claims.claims,
                      watch.watch)


ns = _collection()
