"""The live view: ``inv dev.watch`` (issue 16). Placeholder wiring; the dashboard is built in act/ and cli/."""
from __future__ import annotations

from invoke import Context

from multistack.cli.exits import task, user_errors


@task
@user_errors
def watch(c: Context, json: bool = False) -> None:
    """A live dashboard of every instance, mesh environment and system."""
    from multistack.errors import StackError

    raise StackError("the live dashboard is not built yet", "use `inv dev status --all`")
