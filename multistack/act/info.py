"""The read actions that print what an instance is: ``info``, ``ports``, ``project-name``.

They read the plan only (no engine, no lock); ``status`` and ``logs``, which ask the
engine, stay in :mod:`multistack.act.lifecycle`.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Sequence

from invoke import Context

from multistack.plan.instance import Instance
from multistack.plan.masking import mask_json, mask_text

if TYPE_CHECKING:
    from multistack.act.options import Options


def ports(c: Context, inst: Instance, opts: Options) -> None:
    if opts.json:
        print(json.dumps(ports_data(inst), indent=2))
        return
    print(ports_table(inst))


def ports_data(inst: Instance) -> dict[str, Any]:
    """Service -> port; with ``router:`` also ``hostnames``: service -> its hostname URL (no service
    has that name: model/router.py refuses it)."""
    from multistack.model.router import HOSTNAMES_KEY

    data: dict[str, Any] = dict(inst.ports)
    named = _host_urls(inst)
    if named is not None:
        data[HOSTNAMES_KEY] = named
    return data


def masked_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> str:
    """A table whose cells are masked before the columns are sized: masking the drawn table would
    shorten a cell (``admin:hunter2@`` -> ``admin:****@``) and shift the rest of its line. The whole
    is masked again, for a secret no single cell shows."""
    from multistack.io.tables import table

    cells = [[mask_text("" if v is None else str(v)) for v in row] for row in rows]
    return mask_text(table(headers, cells, title=mask_text(title) if title else title))


def ports_table(inst: Instance) -> str:
    rows = []
    named = _host_urls(inst)
    for svc in inst.stack.services:
        port = inst.ports[svc.name]
        where = f"compose {svc.compose}:{svc.container_port}" if svc.compose else "host (pm2)"
        url = service_url(inst, svc.name)
        if url is None and inst.stack.engines_declared:  # say where it is reached: another engine's host, maybe
            url = f"{_host_of(inst, svc.name)}:{port}"
        rows.append([svc.name, port, where, url or ""] + ([named.get(svc.name, "")] if named is not None else []))
    title = f"instance {inst.n} ({inst.project_name})"
    if inst.stack.engines_declared:
        title += f" on engine {inst.engine.describe()}"
    headers = ["service", "port", "runs in", "url"] + (["hostname"] if named is not None else [])
    return masked_table(headers, rows, title=title)


def _host_urls(inst: Instance) -> dict[str, str] | None:
    """Service -> hostname URL with ``router:`` (the table's ``hostname`` column); None without it."""
    if inst.stack.router is None:
        return None
    from multistack.plan.hostnames import host_urls

    return host_urls(inst)


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
    from multistack.plan.namespaces import derived_names, name_table

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
        "name_table": name_table(inst),  # the declared schemes' names, per selector and entity
    }
    if inst.stack.engines_declared:
        data["engine"] = inst.engine.to_json()
    named = _host_urls(inst)
    if named is not None:  # ``router:``: the hostnames, and where the router listens
        from multistack.plan.router import listen_address

        assert inst.stack.router is not None
        data["hostnames"] = named
        data["router"] = {"listen": listen_address(inst.stack.router), "image": inst.stack.router.image}
    return data


def info(c: Context, inst: Instance, opts: Options) -> None:
    data = info_data(inst)
    if opts.json:
        print(json.dumps(mask_json(data), indent=2))
        return
    rows = [[key, value] for key, value in (
        ("instance", inst.n), ("compose project", inst.project_name), ("namespace", inst.namespace),
        ("folder", data["dir"] + ("" if data["initialised"] else " (not generated yet: inv dev N init)")),
        ("pm2 apps", ", ".join(inst.app_names) or "-"),
        ("mode", inst.mode + (f" (infra: compose project {inst.stack.project}-shared)" if inst.mode == "shared" else "")),
    )]
    if inst.stack.engines_declared:
        rows.append(["engine", inst.engine.describe()])
        rows.append(["runs where", f"containers on engine {inst.engine.name}"
                     + ("" if inst.engine.local else f" (ports reached at {inst.engine.host})")
                     + ("; PM2 apps on this machine" if inst.app_names else "")])
    if "router" in data:
        rows.append(["router", f"{data['router']['listen']} (hostnames: docs/hostnames.md)"])
    print(masked_table(["what", "value"], rows, title=f"instance {inst.n}"))
    print()
    from multistack.plan.namespaces import names_rows, table_rows

    print(masked_table(["used by", "template name", "value"], names_rows(inst),
                       title=f"names of instance {inst.n} (namespace {inst.namespace})"))
    print()
    if inst.stack.namespaces.schemes:
        print(masked_table(["used by", "purpose", "selector", "entity", "name"], table_rows(inst),
                           title=f"declared names of instance {inst.n}"))
        print()
    print(ports_table(inst))


def project_name(c: Context, inst: Instance, opts: Options) -> None:
    print(inst.project_name)
