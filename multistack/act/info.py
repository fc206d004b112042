"""The read actions that print what an instance is: ``info``, ``ports``, ``project-name``.

They read the plan only (no engine, no lock); ``status`` and ``logs``, which ask the
engine, stay in :mod:`multistack.act.lifecycle`.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from invoke import Context

from multistack.plan.instance import Instance
from multistack.plan.masking import mask_json, mask_text

if TYPE_CHECKING:
    from multistack.act.options import Options


def ports(c: Context, inst: Instance, opts: Options) -> None:
    if opts.json:
        print(json.dumps(inst.ports, indent=2))
        return
    print(ports_table(inst))


def ports_table(inst: Instance) -> str:
    from multistack.io.tables import table

    rows = []
    for svc in inst.stack.services:
        port = inst.ports[svc.name]
        where = f"compose {svc.compose}:{svc.container_port}" if svc.compose else "host (pm2)"
        url = service_url(inst, svc.name)
        if url is None and inst.stack.engines_declared:  # say where it is reached: another engine's host, maybe
            url = f"{_host_of(inst, svc.name)}:{port}"
        rows.append([svc.name, port, where, url or ""])
    title = f"instance {inst.n} ({inst.project_name})"
    if inst.stack.engines_declared:
        title += f" on engine {inst.engine.describe()}"
    return mask_text(table(["service", "port", "runs in", "url"], rows, title=title))


def _host_of(inst: Instance, name: str) -> str:
    """Containers are reached on their engine's host; PM2 apps always run here."""
    return inst.engine.host if inst.stack.service(name).compose else "localhost"


def service_url(inst: Instance, name: str) -> str | None:
    svc = inst.stack.service(name)
    if not svc.url:
        return None
    if "{" not in svc.url:
        return svc.url
    from multistack.plan.templating import render_string

    return render_string(svc.url, {**inst.variables(), "port": inst.ports[name], "host": _host_of(inst, name)},
                         where=f"{inst.stack.path.name}: services.{name}.url")


def info_data(inst: Instance) -> dict[str, Any]:
    from multistack.plan.namespaces import derived_names

    data: dict[str, Any] = {
        "instance": inst.n,
        "project_name": inst.project_name,
        "namespace": inst.namespace,
        "mode": inst.mode,
        "dir": str(inst.dir),
        "initialised": (inst.dir / "instance.json").is_file(),
        "ports": inst.ports,
        "apps": inst.app_names,
        "names": derived_names(inst),
    }
    if inst.stack.engines_declared:
        data["engine"] = inst.engine.to_json()
    return data


def info(c: Context, inst: Instance, opts: Options) -> None:
    data = info_data(inst)
    if opts.json:
        print(json.dumps(mask_json(data), indent=2))
        return
    from multistack.io.tables import table

    rows = [[key, value] for key, value in (
        ("instance", inst.n), ("compose project", inst.project_name), ("namespace", inst.namespace),
        ("folder", data["dir"] + ("" if data["initialised"] else " (not generated yet: inv dev N init)")),
        ("pm2 apps", ", ".join(inst.app_names) or "-"),
        ("mode", inst.mode + (f" (infra: compose project {inst.stack.project}-shared)" if inst.mode == "shared" else "")),
    )]
    if inst.stack.engines_declared:
        rows.append(["engine", inst.engine.describe()])
    print(mask_text(table(["what", "value"], rows, title=f"instance {inst.n}")))
    print()
    from multistack.plan.namespaces import names_rows

    print(mask_text(table(["used by", "template name", "value"], names_rows(inst),
                          title=f"names of instance {inst.n} (namespace {inst.namespace})")))
    print()
    print(ports_table(inst))


def project_name(c: Context, inst: Instance, opts: Options) -> None:
    print(inst.project_name)
