"""The live view: ``inv dev.watch`` (docs/dashboard.md).

On a terminal, a dashboard redrawn every ``--interval`` seconds (Textual, imported only
here); piped, or with ``--json``, one snapshot printed and the command exits.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from invoke import Context

from multistack.cli.exits import task, user_errors

if TYPE_CHECKING:
    from multistack.act.dashboard import Watch

DEFAULT_INTERVAL = 1.5
HELP = {
    "json": "print one snapshot as JSON and exit (multistack/schema/output/dev.watch.json)",
    "once": "print one snapshot as text and exit, even on a terminal",
    "interval": "seconds between refreshes on a terminal (1 to 10, default 1.5)",
}


@task(help=HELP)
@user_errors
def watch(c: Context, json: bool = False, once: bool = False, interval: str | None = None) -> None:
    """A live dashboard of every instance, the mesh and the systems (keys: s start, x stop, r restart, l logs, q quit)."""
    from multistack.act.dashboard import Watch
    from multistack.io.shell import for_real
    from multistack.model.stack import load_stack

    seconds = _seconds(interval)
    from multistack.act.engines import reached

    stack = reached(c, load_stack(), strict=False)  # SSH engines: their one connection (docs/engines.md)
    source = Watch(c, stack)
    dry = bool(for_real(c, lambda: False, dry=lambda: True))  # --dry: the queries shown, no live view
    if json or once or dry or not _terminal():
        _print_once(source, json)
        return
    from multistack.cli.dashboard import run_dashboard

    run_dashboard(source, seconds)


def _seconds(interval: str | None) -> float:
    """``--interval`` as seconds, 1 to 10. Taken as text: invoke's own float() would end in a traceback
    on ``--interval x``."""
    from multistack.errors import StackError

    if interval is None:
        return DEFAULT_INTERVAL
    try:
        if not interval.isascii():  # float() would take other scripts' digits: ASCII, as everywhere
            raise ValueError(interval)
        seconds = float(interval.strip())
    except ValueError:
        raise StackError(f"--interval {interval[:20]!r} is not a number of seconds",
                         "give 1 to 10 seconds, e.g. --interval 2") from None
    if not 1 <= seconds <= 10:  # nan and inf too
        raise StackError(f"--interval {seconds:g} is out of range", "give 1 to 10 seconds")
    return seconds


def _terminal() -> bool:
    """The live view needs a terminal on both ends (a key press in, a screen out)."""
    return all(stream is not None and not stream.closed and stream.isatty() for stream in (sys.stdin, sys.stdout))


def _print_once(source: Watch, as_json: bool) -> None:
    """One snapshot, text or JSON; an engine that did not answer makes it exit 3 after the snapshot
    (as ``inv dev status --all`` does)."""
    import json

    from multistack.act.dashboard import render_text
    from multistack.errors import EngineError
    from multistack.io.tools import engine_unreachable
    from multistack.plan.masking import mask_json, mask_text

    snapshot = source.tick()
    if as_json:
        print(json.dumps(mask_json(snapshot.to_json()), indent=2))
    else:
        print(mask_text(render_text(snapshot)))
    if snapshot.unreachable:
        name, why = next(iter(snapshot.unreachable.items()))
        if not source.stack.engines_declared:
            raise engine_unreachable(why)
        raise EngineError(f"engine {name} unreachable: {why}", f"start it (engines.{name} in stack.yaml)")
