"""Instances: `inv dev [N] [ACTION] [--all]`, e.g. `inv dev 1 start`, `inv dev stop --all`.

ACTION is one of start (the default), stop, restart, status, logs, clean,
info, ports, init, project-name. N defaults to the workspace default
(`inv dev.use N`, or $MULTISTACK_INSTANCE), else the first instance.
stop, status, logs and clean take `--all` (or the word `all`).
"""
from __future__ import annotations

from invoke import Collection, Context, task

from ..cli import user_errors

HELP = {
    "arg": "instance number and/or action, given positionally: `inv dev 1 start`",
    "all": "act on every instance that exists (stop, status, logs, clean)",
    "json": "print JSON (info, ports, status)",
    "force": "overwrite generated files edited by hand, keeping them as .bak (init, start)",
    "yes": "clean without asking",
    "follow": "keep streaming logs",
    "tail": "number of log lines to show per service (logs)",
}


@task(name="run", default=True, iterable=["arg"], help=HELP)
@user_errors
def run_(c: Context, arg: list[str] | None = None, all: bool = False, json: bool = False, force: bool = False,
         yes: bool = False, follow: bool = False, tail: int | None = None) -> None:
    """Act on an instance: `inv dev [N] [ACTION] [--all]` (ACTION: start stop restart status logs clean info ports init project-name)."""
    from .. import lifecycle
    from ..actions import parse_words
    from ..stack import load_stack

    stack = load_stack()
    command = parse_words(arg or [], all, stack)
    lifecycle.dispatch(c, stack, command, json=json, force=force, yes=yes, follow=follow, tail=tail)


run_.optional_positionals = True  # type: ignore[attr-defined]


@task(iterable=["arg"], help={"arg": "the instance number to use by default: `inv dev.use 1`",
                               "clear": "forget the default"})
@user_errors
def use(c: Context, arg: list[str] | None = None, clear: bool = False) -> None:
    """Set this workspace's default instance for `inv dev` ($MULTISTACK_INSTANCE overrides it); no N prints it."""
    from ..actions import default_file, default_instance
    from ..errors import StackError
    from ..instance import parse_instance_number
    from ..stack import load_stack
    from ..writer import atomic_write

    stack = load_stack()
    path = default_file(stack)
    words = arg or []
    if len(words) > 1:
        raise StackError(f"too many arguments: {' '.join(words)}", "use `inv dev.use N`")
    if clear:
        path.unlink(missing_ok=True)
        print(f"default instance cleared (now {default_instance(stack)})")
    elif not words:
        print(default_instance(stack))
    else:
        number = parse_instance_number(words[0], stack)
        atomic_write(path, f"{number}\n")
        print(f"default instance: {number}")


use.optional_positionals = True  # type: ignore[attr-defined]
ns = Collection("dev", run_, use)
