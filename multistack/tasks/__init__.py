"""multistack's invoke collections. ``tasks.py`` at a stack's root needs only
``from multistack.tasks import namespace; ns = namespace()``.
"""
from __future__ import annotations

from invoke import Collection


def namespace() -> Collection:
    """The root namespace: ``dev`` (instances) plus the other collections."""
    from .. import argv
    from . import dev

    argv.install_on_running_program()
    from .doctor import doctor_

    from . import mesh

    from . import system

    return Collection(dev.ns, doctor_, mesh.ns, system.ns)
