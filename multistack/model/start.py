"""The ``start:`` section of stack.yaml: how long ``inv dev N start`` may wait (pure).

``start: {wait_timeout: 300}``. Compose's ``up --wait`` waits forever without
``--wait-timeout`` (one start hung for 11 minutes on a healthcheck that never
returned), so every start has a bound; the PM2 apps' wait counts against it too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from multistack.model.reader import Node

#: Seconds a start may wait for its services and apps unless stack.yaml or ``--wait-timeout`` says otherwise.
DEFAULT_WAIT_TIMEOUT = 300
#: The longest bound accepted (a day): a larger one is a typo, not a wish.
MAX_WAIT_TIMEOUT = 86400


@dataclass(frozen=True)
class StartSettings:
    """What the user told ``start``: the bound on its waiting, in seconds."""

    wait_timeout: int = DEFAULT_WAIT_TIMEOUT


def parse_start(raw: Any, file: str) -> StartSettings:
    """Validate the raw value of ``start:`` (None: the defaults); ``file`` names stack.yaml in errors."""
    node = Node(raw, "start", file)
    timeout = node.integer("wait_timeout", lo=1, hi=MAX_WAIT_TIMEOUT)  # absent or null: None
    node.done()
    return StartSettings(DEFAULT_WAIT_TIMEOUT if timeout is None else timeout)
