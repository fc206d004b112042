"""multistack: many isolated copies of one Docker Compose + PM2 development stack.

The package is layered: a pure core (``stack``, ``ports``, ``instance``,
``envfiles``, ``render``, ``manifest``, ``compose``, ``pm2``) that plans what
to write and what to run, a thin layer that writes files (``writer``) and runs
commands through invoke's ``Context.run``, and the invoke collections in
``multistack.tasks``.
"""
from __future__ import annotations

__version__ = "0.1.0"
