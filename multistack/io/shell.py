"""The one door to the shell: argument lists joined with shlex and run by ``c.run``.

Going through ``Context.run`` is what makes ``inv --dry`` print exactly what
would run and lets unit tests record commands with ``MockContext``.
"""
from __future__ import annotations

import shlex
from typing import Any, Sequence

from invoke import Context, Result


def run(c: Context, argv: Sequence[str], **kwargs: Any) -> Result:
    return c.run(shlex.join(argv), **kwargs)


def probe(c: Context, argv: Sequence[str], **kwargs: Any) -> Result:
    """A quiet query whose failure is data, not an error (check ``.ok``)."""
    return c.run(shlex.join(argv), hide=True, warn=True, in_stream=False, **kwargs)


def is_dry(c: Context) -> bool:
    return bool(c.config.run.dry)
