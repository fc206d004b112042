"""What one ``inv dev`` request asks for: the action and instance (``DevCommand``) and its flags (``Options``).

Its own module so every action module (lifecycle, info, clone, ...) can take them without
importing :mod:`multistack.act.lifecycle`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

#: What ``inv dev [N] [ACTION]`` can do (multistack.cli.words reads the words). Here, not in
#: act/lifecycle.py, so that tab completion (cli/completion.py) offers them without importing the actions.
ACTIONS = ("start", "stop", "restart", "status", "logs", "clean", "info", "ports", "init", "project-name", "clone",
           "reset")
ALL_ACTIONS = ("stop", "status", "logs", "clean")  # actions that accept --all
DEFAULT_ACTION = "start"


@dataclass(frozen=True)
class DevCommand:
    """One ``inv dev`` request: an action for one instance, or for every instance."""

    action: str
    instance: int | None  # None with all_instances
    all_instances: bool = False
    #: Where the number came from (cli/words.py): given, env, claim, default-file or first (act/claims.py).
    source: str = field(default="given", compare=False)


@dataclass
class Options:
    json: bool = False
    force: bool = False
    yes: bool = False
    follow: bool = False
    tail: int | None = None
    mode: str | None = None  # --shared / --isolated (multistack.provision)
    wait_timeout: int | None = None  # --wait-timeout (start, restart); None: stack.yaml's start.wait_timeout
    source: int | None = None  # --from M (clone): the instance whose data is copied
