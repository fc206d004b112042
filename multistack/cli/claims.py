"""Worktree instance claims: ``inv dev.claim [N]``, ``inv dev.release``, ``inv dev.claims [--json] [--prune]``.

Placeholder wiring (issue 15): the tasks exist so ``dev`` lists them; the registry is built in act/claims.py.
"""
from __future__ import annotations

from invoke import Context

from multistack.cli.exits import task, user_errors


def _not_built() -> None:
    from multistack.errors import StackError

    raise StackError("instance claims are not built yet", "give the instance number: `inv dev N ACTION`")


@task(iterable=["arg"])
@user_errors
def claim(c: Context, arg: list[str] | None = None, json: bool = False) -> None:
    """Claim instance N (or the lowest free one) for this checkout."""
    _not_built()


claim.optional_positionals = True  # type: ignore[attr-defined]


@task
@user_errors
def release(c: Context) -> None:
    """Release this checkout's claim."""
    _not_built()


@task
@user_errors
def claims(c: Context, json: bool = False, prune: bool = False) -> None:
    """List every checkout's claim (checkout, state, ports)."""
    _not_built()
