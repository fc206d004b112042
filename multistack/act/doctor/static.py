"""The doctor's static checks: the user's compose files against two instances (pure given the views).

The base compose files (tags kept) are merged with the override multistack
renders for instance N *and* for a second instance M
(:mod:`multistack.plan.compose_model`). Comparing the two effective
configurations is what tells "differs per instance" from "the same in every
instance, so they collide", whatever the override template or the ``${VAR}``
interpolation does. ``start`` runs these (the fast subset) before acting,
and pre-creates missing bind-mounted files.

Data in, findings out: the only look at the disk is through the ``kind``
function the caller passes (:func:`multistack.act.doctor.machine.path_kind`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from multistack.act.doctor.report import Finding, without_ignored
from multistack.model.doctor import DoctorSettings
from multistack.model.stack import Stack
from multistack.plan.compose_model import Item, View, as_mapping, published_ports

#: The checks ``start`` runs before acting (no engine query beyond start's own).
FAST_CHECKS = ("container-name", "uncovered-port", "host-network", "bind-mount", "env-file",
               "shared-network", "shared-alias", "shared-volume", "build-image")

#: The static checks that still apply when the compose files run once, as shared infra.
SHARED_MODE_CHECKS = ("bind-mount", "env-file")


@dataclass(frozen=True)
class BindFile:
    """A bind-mounted file to create before ``up``: from a template, else empty."""

    path: Path
    template: Path | None
    services: tuple[str, ...]
    display: str  # the path as the user wrote it, relative to the stack's folder where possible


@dataclass(frozen=True)
class StaticReport:
    """What the static checks found, and what the machine checks and ``start`` need from them."""

    findings: tuple[Finding, ...] = ()
    bind_files: tuple[BindFile, ...] = ()
    networks_per_instance: int = 0
    shared_networks: tuple[str, ...] = ()  # non-external networks with one fixed name: created once
    external_networks: tuple[tuple[str, str, str], ...] = ()  # (file, key, engine name)


PathKind = Callable[[Path], "str | None"]  # "file", "dir", "empty-dir" or None (missing)


def static_checks(stack: Stack, settings: DoctorSettings, base: View, view_n: View, view_m: View, n: int,
                  override_file: str, kind: PathKind) -> StaticReport:
    """Compare the effective configuration of instance ``n`` with a second instance's.

    ``base`` is the base files alone (what the user wrote), ``view_n`` and
    ``view_m`` add the override of instance n and of another instance m;
    ``kind`` says what is on disk at a path (the checks' only look at the disk).
    """
    findings: list[Finding] = []
    findings += _container_names(stack, base, view_n, view_m, n, override_file)
    findings += _ports(stack, base, view_n, view_m, n)
    findings += _env_files(stack, view_n, kind)
    bind_findings, bind_files = _bind_mounts(stack, settings, view_n, kind)
    findings += bind_findings
    findings += _remote_binds(stack, view_n, n)
    net_findings, per_instance, shared, external = _networks(view_n, view_m)
    findings += net_findings
    findings += _volumes(view_n, view_m)
    findings += _build_images(view_n, view_m)
    return StaticReport(tuple(without_ignored(findings, settings.ignore)), tuple(bind_files), per_instance,
                        tuple(shared), tuple(external))


def _container_names(stack: Stack, base: View, view_n: View, view_m: View, n: int,
                     override_file: str) -> list[Finding]:
    out = []
    for name, svc in base.services.items():
        item = svc.scalars.get("container_name")
        if item is None:
            continue
        fixed = base.text(item.value)
        ours_n = view_n.services[name].scalars.get("container_name")
        ours_m = view_m.services[name].scalars.get("container_name")
        name_n = view_n.text(ours_n.value) if ours_n else ""
        name_m = view_m.text(ours_m.value) if ours_m else ""
        if name_n and name_n == name_m:
            hint = ("remove container_name (compose then names containers per project)"
                    + (", or set `container_name: {{ svc.container_name }}` in your override template"
                       if stack.override_template else ""))
            out.append(Finding("error", "container-name", item.file, item.key,
                               f"container name {name_n!r} is the same in every instance: the second one to start "
                               "fails (\"container name already in use\")", hint))
        elif ours_n is not None and ours_n.file == override_file:
            out.append(Finding("fixed", "container-name", item.file, item.key,
                               f"fixed container name {fixed!r}: the override names it {name_n!r} in instance {n} "
                               f"(<name>-N)", "nothing to do; or remove container_name and let compose name "
                                              "containers per project"))
    return out


def _ports(stack: Stack, base: View, view_n: View, view_m: View, n: int) -> list[Finding]:
    declared = {(s.compose, s.container_port) for s in stack.services if s.compose}
    out = []
    for name, svc in base.services.items():
        mode = view_n.services[name].scalars.get("network_mode")
        if mode is not None and view_n.text(mode.value) == "host":
            out.append(Finding("warning", "host-network", mode.file, mode.key,
                               f"{name} runs in the host's network: every port it listens on is the same in "
                               "every instance, and its ports: are ignored",
                               "publish its ports with ports: and declare them under services: in stack.yaml, "
                               "or run it once, outside the instances"))
            continue
        effective_n = published_ports(view_n, name)
        effective_m = [pub for _, pub in published_ports(view_m, name)]
        seen: set[str] = set()
        for item, pub in published_ports(base, name):
            if item.key in seen:
                continue
            kept = any(it.key == item.key and it.file == item.file and p == pub for it, p in effective_n)
            if kept:
                pub_n = next(p for it, p in effective_n if it.key == item.key and it.file == item.file)
                if any(pub_n.overlaps(other) for other in effective_m):
                    seen.add(item.key)
                    out.append(Finding(
                        "error", "uncovered-port", item.file, item.key,
                        f"host port {pub.port} of {name} is published by every instance: the second one to start "
                        "fails (\"port is already allocated\")",
                        f"declare it in stack.yaml (services: {{{name}-{pub.target}: {{port: {pub.port}, compose: "
                        f"{name}, container_port: {pub.target}}}}}) and keep `ports: !override` in the override"))
            elif pub.protocol != "tcp" or (name, pub.target) not in declared:
                seen.add(item.key)
                out.append(Finding(
                    "warning", "uncovered-port", item.file, item.key,
                    f"host port {pub.port} ({name}:{pub.target}/{pub.protocol}) is published by the base file but "
                    "by no instance: no service in stack.yaml declares it, so the override drops it",
                    f"declare it under services: in stack.yaml (e.g. {name}-{pub.target}: {{port: {pub.port}, "
                    f"compose: {name}, container_port: {pub.target}}}) to publish it per instance, or remove it"))
    return out


def shown_path(path: Path, root: Path) -> str:
    """``path`` as the user would write it: relative to the stack's folder when it is absolute."""
    try:
        return os.path.relpath(path, root) if path.is_absolute() else str(path)
    except ValueError:
        return str(path)


def _inside_instances(stack: Stack, path: Path) -> bool:
    folder = (stack.root / stack.instances_dir).resolve()
    return path == folder or folder in path.parents


def _resolve(view: View, source: str) -> Path:
    path = Path(source).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else view.project_dir / path))


def _env_files(stack: Stack, view: View, kind: PathKind) -> list[Finding]:
    out = []
    for name, svc in view.services.items():
        for item in svc.env_files:
            value = item.value
            required = True
            if isinstance(value, dict):
                required = value.get("required", True) is not False
                value = value.get("path", "")
            if not value:
                continue
            path = _resolve(view, view.text(value))
            if _inside_instances(stack, path) or not required or kind(path) == "file":
                continue
            out.append(Finding("error", "env-file", item.file, item.key,
                               f"{name} reads env file {shown_path(path, stack.root)}, which does not exist: "
                               "compose refuses to start", f"create {shown_path(path, stack.root)}, or write "
                                                          "`env_file: {path: ..., required: false}`"))
    return out


def _bind_source(value: Any) -> tuple[str, str] | None:
    """``(source, target)`` of a bind mount; None for named volumes, tmpfs and anonymous volumes."""
    if isinstance(value, dict):
        if value.get("type") != "bind" or not value.get("source"):
            return None
        return str(value["source"]), str(value.get("target") or "")
    parts = str(value).split(":")
    if len(parts) < 2:
        return None
    source = parts[0]
    if not source.startswith((".", "/", "~")):
        return None
    return source, parts[1]


def looks_like_file(source: str, target: str) -> bool:
    """A name with a suffix (``haproxy.cfg``), not a ``conf.d`` folder."""
    return any(Path(p).suffix not in ("", ".d") for p in (source, target) if p)


def _bind_mounts(stack: Stack, settings: DoctorSettings, view: View, kind: PathKind
                 ) -> tuple[list[Finding], list[BindFile]]:
    declared = {Path(os.path.normpath(stack.root / path)): (path, template) for path, template in settings.bind_files}
    mounts: dict[Path, list[tuple[str, Item, str, str]]] = {}
    for name, item, bind in _host_binds(view):
        source = bind[0]
        if not source.startswith((".", "/", "~")):
            continue  # interpolated to a named volume or to nothing
        path = _resolve(view, source)
        if not _inside_instances(stack, path):
            mounts.setdefault(path, []).append((name, item, source, bind[1]))
    findings: list[Finding] = []
    files: list[BindFile] = []
    for path, uses in mounts.items():
        names = tuple(dict.fromkeys(u[0] for u in uses))
        _, item, source, target = uses[0]
        shown = shown_path(path, stack.root)
        state = kind(path)
        services = ", ".join(names)
        if path in declared:
            continue  # below, with the declared ones
        if state is None and looks_like_file(source, target):
            files.append(BindFile(path, None, names, shown))
            findings.append(Finding(
                "fixed", "bind-mount", item.file, item.key,
                f"bind-mount source {shown} ({services}) does not exist, and Docker would create a directory "
                "there: multistack creates it as an empty file before `up`",
                f"create {shown} with its real content, or declare a template: doctor: {{bind_files: "
                f"{{{shown}: path/to/template}}}}"))
        elif state is None:
            findings.append(Finding(
                "warning", "bind-mount", item.file, item.key,
                f"bind-mount source {shown} ({services}) does not exist: Docker creates it as an empty "
                "directory owned by root",
                f"create it (mkdir -p {shown}); if it is a file, declare it: doctor: {{bind_files: {{{shown}: ''}}}}"))
        elif state == "empty-dir" and looks_like_file(source, target):
            findings.append(Finding(
                "warning", "bind-mount", item.file, item.key,
                f"bind-mount source {shown} ({services}) is an empty directory where a file is expected "
                "(Docker made it on an earlier start, when the file was missing)",
                f"remove the directory (rmdir {shown}) and create the file"))
    for path, (rel, template) in declared.items():
        if kind(path) is not None:
            continue
        uses = mounts.get(path, [])
        names = tuple(dict.fromkeys(u[0] for u in uses))
        item_file, item_key = (uses[0][1].file, uses[0][1].key) if uses else (stack.path.name, f"doctor.bind_files.{rel}")
        files.append(BindFile(path, stack.root / template if template else None, names, rel))
        how = f"a copy of {template}" if template else "an empty file"
        findings.append(Finding("fixed", "bind-mount", item_file, item_key,
                                f"{rel} does not exist: multistack creates it as {how} before `up` "
                                "(declared in doctor.bind_files)", "nothing to do"))
    return findings, files



def _host_binds(view: View) -> Iterator[tuple[str, Item, Any]]:
    """Every bind mount of the merged view, its source interpolated: ``(service, item, _bind_source)``."""
    for name, svc in view.services.items():
        for item in svc.volumes:
            value = item.value
            value = {**value, "source": view.text(value.get("source") or "")} if isinstance(value, dict) \
                else view.text(value)
            bind = _bind_source(value)
            if bind is not None:
                yield name, item, bind

def _remote_binds(stack: Stack, view: View, n: int) -> list[Finding]:
    """Instance ``n`` on another engine: each bind mount names a path of *that* machine, where this
    checkout (and ``.instances/``) is not, so Docker makes an empty directory there
    (docker/compose#8484; docs/engines.md "Files on a remote engine")."""
    engine = stack.engine_for(n)
    if engine.local:
        return []
    out = []
    for name, item, bind in _host_binds(view):
        if not bind[0].startswith((".", "/", "~")):
            continue
        shown = shown_path(_resolve(view, bind[0]), stack.root)
        out.append(Finding(
            "warning", "bind-mount", item.file, item.key,
            f"bind mount of {shown} ({name}): instance {n} runs on engine {engine.name}, where the path "
            "is looked up on that engine's machine (an empty directory if it is not there)",
            "put the file in the image, in a named volume, or in a compose `configs:` entry with `content:`"))
    return out


def _external_name(name: str, spec: Mapping[str, Any], view: View) -> str | None:
    external = spec.get("external")
    if isinstance(external, dict):
        return view.text(external.get("name") or spec.get("name") or name)
    if external is True or str(external).lower() == "true":
        return view.text(spec.get("name") or name)
    return None


def _networks(view_n: View, view_m: View) -> tuple[list[Finding], int, list[str], list[tuple[str, str, str]]]:
    used: dict[str, list[str]] = {}
    for name, svc in view_n.services.items():
        mode = svc.scalars.get("network_mode")
        if mode is not None:
            continue
        nets = list(svc.networks) if svc.declares_networks else ["default"]
        for net in nets:
            used.setdefault(net, []).append(name)
    findings: list[Finding] = []
    per_instance = 0
    shared: list[str] = []
    external: list[tuple[str, str, str]] = []
    shared_nets: dict[str, str] = {}
    for net, services in used.items():
        item = view_n.networks.get(net)
        spec = as_mapping(item.value) if item else {}
        where = (item.file, item.key) if item else ("", f"networks.{net}")
        ext = _external_name(net, spec, view_n)
        if ext is not None:
            external.append((where[0], where[1], ext))
            shared_nets[net] = ext
            continue
        fixed = spec.get("name")
        other = as_mapping(view_m.networks[net].value).get("name") if net in view_m.networks else None
        if fixed and view_n.text(fixed) == view_m.text(other or ""):
            name = view_n.text(fixed)
            shared.append(name)
            shared_nets[net] = name
            findings.append(Finding(
                "warning", "shared-network", where[0], f"{where[1]}.name",
                f"network {name!r} has a fixed name, so every instance joins the same network (the first one "
                "creates it, and its `down` tries to remove it under the others)",
                "remove `name:` (the project name then scopes it), or create it once yourself and declare it "
                "`external: true`"))
            continue
        per_instance += 1
    for name, svc in view_n.services.items():
        for net, item in svc.networks.items():
            if net not in shared_nets:
                continue
            aliases = _aliases(item)
            other_item = view_m.services[name].networks.get(net)
            other = _aliases(other_item) if other_item else []
            same = sorted({view_n.text(a) for a in aliases} & {view_m.text(a) for a in other})
            if same:
                findings.append(Finding(
                    "warning", "shared-alias", item.file, f"{item.key}.aliases",
                    f"alias {', '.join(same)} of {name} on shared network {shared_nets[net]!r} is the same in every "
                    "instance: DNS answers round-robin between instances",
                    "make the alias per instance (e.g. ${COMPOSE_PROJECT_NAME}-" + same[0] + ", with instance.env "
                    "in compose.env_files), or keep the service off the shared network"))
    return findings, per_instance, shared, external


def _aliases(item: Item) -> list[Any]:
    aliases = as_mapping(item.value).get("aliases") or []
    return [aliases] if isinstance(aliases, (str, int)) else list(aliases) if isinstance(aliases, list) else []


def _volumes(view_n: View, view_m: View) -> list[Finding]:
    out = []
    for name, item in view_n.volumes.items():
        spec = as_mapping(item.value)
        if _external_name(name, spec, view_n) is not None or not spec.get("name"):
            continue
        other = as_mapping(view_m.volumes[name].value).get("name") if name in view_m.volumes else None
        fixed = view_n.text(spec["name"])
        if fixed == view_m.text(other or ""):
            out.append(Finding("warning", "shared-volume", item.file, f"{item.key}.name",
                               f"volume {fixed!r} has a fixed name: every instance reads and writes the same data",
                               "remove `name:` (compose then prefixes the project name: one volume per instance)"))
    return out


def _build_images(view_n: View, view_m: View) -> list[Finding]:
    out = []
    for name, svc in view_n.services.items():
        image = svc.scalars.get("image")
        if "build" not in svc.scalars or image is None:
            continue
        other = view_m.services[name].scalars.get("image")
        tag = view_n.text(image.value)
        if other is not None and tag == view_m.text(other.value):
            out.append(Finding("warning", "build-image", image.file, image.key,
                               f"{name} is built locally and tagged {tag!r} in every instance: a build in one "
                               "instance replaces the image the others run",
                               "remove `image:` (compose tags <project>-<service>, one per instance), or put "
                               "${COMPOSE_PROJECT_NAME} in the tag"))
    return out
