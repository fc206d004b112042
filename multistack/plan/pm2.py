"""PM2 argument lists (pure).

App names are ``<project>-<app>-<N>`` (``pm2.app_name``, multistack.model.appnames): PM2 names
are global to one daemon, across namespaces and stacks (pm2#4658), so the project and the
instance in the name are what isolate them. Every selection here is by exact names, as one
anchored regex (``/^(a|b)$/``) or the instance's own ecosystem file: never a prefix, so stack
``shop`` never touches ``myshop-api-1``.
"""
from __future__ import annotations

import re
from typing import Sequence

from multistack.plan.instance import Instance
from multistack.plan.render import ECOSYSTEM

DEFAULT_PM2 = ("pm2",)


def ecosystem(inst: Instance) -> str:
    return str(inst.dir / ECOSYSTEM)


def start(inst: Instance, pm2: Sequence[str] = DEFAULT_PM2) -> list[str]:
    """(Re)start the instance's apps from its ecosystem file with the current env."""
    return [*pm2, "startOrRestart", ecosystem(inst), "--update-env"]


def stop(inst: Instance, pm2: Sequence[str] = DEFAULT_PM2) -> list[str]:
    return [*pm2, "stop", ecosystem(inst)]


def delete(inst: Instance, pm2: Sequence[str] = DEFAULT_PM2) -> list[str]:
    return [*pm2, "delete", ecosystem(inst)]


def stop_names(names: Sequence[str], pm2: Sequence[str] = DEFAULT_PM2) -> list[str]:
    """Stop apps by name regex: one command for the apps of many instances (``stop --all``)."""
    return [*pm2, "stop", app_regex(names)]


def delete_names(names: Sequence[str], pm2: Sequence[str] = DEFAULT_PM2) -> list[str]:
    """Delete apps by name regex: for an instance whose folder (and ecosystem) is gone."""
    return [*pm2, "delete", app_regex(names)]


def app_regex(names: Sequence[str]) -> str:
    """``pm2 logs a b`` streams only ``a``: one ``/^(a|b)$/`` target covers them all."""
    return "/^(" + "|".join(re.escape(n) for n in names) + ")$/"


def logs(inst: Instance, pm2: Sequence[str] = DEFAULT_PM2, follow: bool = False, tail: int | None = None) -> list[str]:
    argv = [*pm2, "logs", app_regex(inst.app_names), "--lines", str(tail if tail is not None else 50)]
    return argv if follow else argv + ["--nostream"]


def jlist(pm2: Sequence[str] = DEFAULT_PM2) -> list[str]:
    return [*pm2, "jlist"]
