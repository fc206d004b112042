"""multistack's invoke collections. ``tasks.py`` at a stack's root needs only
``from multistack.cli import namespace; ns = namespace()``.
"""
from __future__ import annotations

import sys

from invoke import Collection


def namespace() -> Collection:
    """The root namespace: ``dev`` (instances), ``mesh``, ``system`` and ``doctor``."""
    from multistack.cli import argv
    from multistack.cli import dev, mesh, system
    from multistack.cli.doctor import doctor_

    argv.install_on_running_program()
    from multistack.cli.exits import install_exit_flush

    install_exit_flush()  # `inv --list | head -1`: quiet, exit 141 (docs/exit-codes.md)
    from multistack.plan.masking import mask_text

    ns = Collection(dev.ns, doctor_, mesh.ns, system.ns)
    # io/shell.py echoes commands (--dry) through this: io cannot import plan itself.
    ns.configure({"multistack": {"mask": mask_text}})
    if not sys.stdout.isatty():
        # `inv --dry ... | sh` or a log file: the commands without invoke's bold ANSI codes.
        ns.configure({"run": {"echo_format": "{command}"}})
    return ns
