"""Clone and reset an instance's data (issue 17, point 5). Placeholder wiring: built in this module."""
from __future__ import annotations

from typing import TYPE_CHECKING

from invoke import Context

from multistack.errors import StackError
from multistack.plan.instance import Instance

if TYPE_CHECKING:
    from multistack.act.options import Options


def clone(c: Context, inst: Instance, opts: Options) -> None:
    """``inv dev N clone --from M``."""
    raise StackError("clone is not built yet", "start the instance empty: `inv dev N start`")


def reset(c: Context, inst: Instance, opts: Options) -> None:
    """``inv dev N reset``."""
    raise StackError("reset is not built yet", "use `inv dev N clean --yes` then `inv dev N start`")
