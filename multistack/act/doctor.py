"""``inv doctor``: what in the user's compose files or on the machine would break instances.

Most multi-instance failures come from the user's compose files, not from
multistack: a fixed ``container_name``, a host port no declared service
covers, a bind-mounted file that does not exist yet (Docker then makes a
directory in its place), an alias on a shared network, more instances than
the engine has network address pools. This module finds them before ``up``
fails halfway, as :class:`Finding` rows (severity, check, file, key,
message, fix).

Two layers, as everywhere in multistack:

* **Static checks** (pure functions of data): the base compose files, read
  with their ``!override``/``!reset`` tags kept, merged with the override
  multistack renders for instance N *and* for a second instance M. Comparing
  the two effective configurations is what tells "differs per instance"
  from "the same in every instance, so they collide", whatever the override
  template or the ``${VAR}`` interpolation does. ``start`` runs these (the
  fast subset) before acting, and pre-creates missing bind-mounted files.
* **Machine checks**: Compose v2 version, Docker engine, PM2, external
  networks, address pools (one ``docker info`` and one ``docker network ls``)
  and the instance's host ports; every engine query goes through
  :func:`multistack.shell.probe`, so ``inv --dry doctor`` shows them.

Severities: ``error`` (a start would fail), ``warning`` (starts, but
instances interfere or something is lost), ``fixed`` (multistack handles it
itself: in the override, or before ``up``), ``info`` (what was checked).
"""
from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence, TextIO

from multistack.errors import DoctorError, EngineError, StackError

if TYPE_CHECKING:
    from invoke import Context

    from multistack.plan.instance import Instance
    from multistack.model.stack import Stack

SEVERITIES = ("error", "warning", "fixed", "info")

#: Every check, in the order findings are listed; the names ``doctor.ignore`` accepts.
CHECKS: dict[str, str] = {
    "compose": "Docker Compose v2 is installed and new enough for the override's !override/!reset tags",
    "engine": "the Docker engine answers",
    "pm2": "PM2 is installed (stacks with apps)",
    "container-name": "no fixed container_name shared by every instance",
    "uncovered-port": "no host port published by the base files that no declared service covers",
    "host-network": "no service in the host's network namespace",
    "bind-mount": "every bind-mount source exists (a missing one becomes a directory)",
    "env-file": "every env_file a compose service reads exists",
    "external-network": "every external network exists",
    "shared-network": "no network with a fixed name shared by every instance",
    "shared-alias": "no alias on a network that instances share",
    "shared-volume": "no volume with a fixed name shared by every instance",
    "build-image": "no locally built image tag shared by every instance",
    "address-pools": "the engine has network address pools for every instance",
    "port-taken": "every host port of instance N is free",
}
#: The checks ``start`` runs before acting (no engine query beyond start's own).
FAST_CHECKS = ("container-name", "uncovered-port", "host-network", "bind-mount", "env-file",
               "shared-network", "shared-alias", "shared-volume", "build-image")

#: Docker's default address pools (libnetwork ipamutils): 172.17-31.0.0/16, then 192.168.0.0/16 in /20s.
DEFAULT_ADDRESS_POOLS = tuple({"Base": f"172.{i}.0.0/16", "Size": 16} for i in range(17, 32)) + (
    {"Base": "192.168.0.0/16", "Size": 20},)
POOLS_FIX = ("remove unused networks (`docker network prune`), lower `instances:` in stack.yaml, or give "
             "dockerd more pools: \"default-address-pools\": [{\"base\": \"10.200.0.0/16\", \"size\": 24}] "
             "in /etc/docker/daemon.json (256 networks)")


@dataclass(frozen=True)
class Finding:
    """One row of the doctor's table: what is wrong (or was handled), where, and the fix."""

    severity: str  # error | warning | fixed | info
    check: str  # a key of CHECKS
    file: str  # relative to the stack's folder; "" for the machine
    key: str  # key path inside that file, e.g. services.web.container_name
    message: str
    fix: str = ""

    def where(self) -> str:
        return ": ".join(part for part in (self.file, self.key) if part) or "-"

    def describe(self) -> str:
        """``file: key: message``, or the message alone for the machine."""
        return f"{self.where()}: {self.message}" if self.file or self.key else self.message

    def line(self) -> str:
        """One line, for start's output."""
        text = f"{self.severity}: {self.describe()}"
        return f"{text} (fix: {self.fix})" if self.fix else text

    def to_json(self) -> dict[str, str]:
        return asdict(self)


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


@dataclass(frozen=True)
class Report:
    """Everything ``inv doctor`` prints."""

    stack: str
    instance: int | None
    findings: tuple[Finding, ...]

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def ok(self) -> bool:
        return self.count("error") == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "instance": self.instance,
            "ok": self.ok,
            "counts": {s: self.count(s) for s in SEVERITIES},
            "findings": [f.to_json() for f in self.findings],
        }


# --------------------------------------------------------------------------
# The `doctor:` section of stack.yaml


@dataclass(frozen=True)
class DoctorSettings:
    bind_files: tuple[tuple[str, str | None], ...] = ()  # path -> template (None: an empty file)
    ignore: tuple[str, ...] = ()


def doctor_settings(stack: Stack) -> DoctorSettings:
    """Validate ``doctor: {bind_files: {path: template-or-empty}, ignore: [check...]}`` (pure)."""
    from multistack.model.stack import _kind, _Node

    node = _Node(stack.sections.get("doctor"), "doctor", stack.path.name)
    files = node.child("bind_files")
    pairs = []
    for path, template in files.items():
        if not path or path.startswith("~"):
            files.fail("must be a path relative to the stack's folder (or absolute)", path)
        if template is not None and not isinstance(template, str):
            files.fail(f"must be a template file or empty (an empty file), got {_kind(template)}", path,
                       "write `path: path/to/template` or `path: ''`")
        pairs.append((path, template or None))
    ignore = node.strings("ignore")
    for name in ignore:
        if name not in CHECKS:
            node.fail(f"unknown check {name!r}", "ignore", f"checks: {', '.join(CHECKS)}")
    node.done()
    return DoctorSettings(tuple(pairs), ignore)


def check_settings_files(stack: Stack, settings: DoctorSettings) -> None:
    """Every declared bind-file template exists (I/O, like stack.check_files)."""
    for path, template in settings.bind_files:
        if template and not (stack.root / template).is_file():
            raise StackError(f"{stack.path.name}: doctor.bind_files.{path}: template {template} does not exist",
                             f"create {template}, or write `{path}: ''` for an empty file")


# --------------------------------------------------------------------------
# Reading compose files with their tags


@dataclass(frozen=True)
class Tagged:
    """A value carrying a compose merge tag (``!override``, ``!reset``)."""

    tag: str
    value: Any


def load_compose_text(text: str, name: str) -> dict[str, Any]:
    """A compose document as data, its ``!reset``/``!override`` tags kept as :class:`Tagged`."""
    import yaml

    try:
        data = yaml.load(text, Loader=_tagged_loader())  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise StackError(f"{name}{where}: malformed YAML: {getattr(exc, 'problem', None) or exc}",
                         "fix the compose file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise StackError(f"{name}: a compose file must be a mapping", "start it with `services:`")
    return data


_LOADER: type | None = None


def _tagged_loader() -> type:
    global _LOADER
    if _LOADER is None:
        import yaml

        class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
            """Safe loading that keeps compose's merge tags."""

        def tagged(loader: Any, suffix: str, node: Any) -> Tagged:
            if isinstance(node, yaml.MappingNode):
                value: Any = loader.construct_mapping(node, deep=True)
            elif isinstance(node, yaml.SequenceNode):
                value = loader.construct_sequence(node, deep=True)
            else:
                value = loader.construct_scalar(node)
            return Tagged("!" + suffix, value)

        Loader.add_multi_constructor("!", tagged)
        _LOADER = Loader
    return _LOADER


def read_compose_files(stack: Stack) -> list[tuple[str, dict[str, Any]]]:
    """``(name as listed in stack.yaml, data)`` for each base compose file, in order."""
    docs = []
    for rel in stack.compose_files:
        try:
            text = (stack.root / rel).read_text(encoding="utf-8")
        except OSError as exc:
            raise StackError(f"cannot read compose file {rel}: {exc.strerror}",
                             f"create {rel} or remove it from compose.files") from None
        data = load_compose_text(text, rel)
        if not isinstance(data.get("services"), dict):
            raise StackError(f"{rel}: no `services:` mapping", "a compose file needs a services: section")
        docs.append((rel, data))
    return docs


# --------------------------------------------------------------------------
# Interpolation, as compose does it (`${VAR}`, `${VAR:-default}`, `$$`)

_VAR = re.compile(r"\$(?:(?P<esc>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
                  r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """``text`` with compose's variable syntax replaced; unset variables become "" as in compose."""

    def sub(match: re.Match[str]) -> str:
        if match.group("esc"):
            return "$"
        value = variables.get(match.group("braced") or match.group("named") or "")
        op, arg = match.group("op"), match.group("arg") or ""
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if value is not None else arg
        if op == ":+":
            return arg if value else ""
        if op == "+":
            return arg if value is not None else ""
        return value or ""

    return _VAR.sub(sub, text)


# --------------------------------------------------------------------------
# The effective configuration of one instance: base files merged with its override


@dataclass(frozen=True)
class Item:
    """A value and where it was written (file, key path)."""

    file: str
    key: str
    value: Any


@dataclass
class ServiceView:
    name: str
    scalars: dict[str, Item] = field(default_factory=dict)  # container_name, image, build, network_mode
    ports: list[Item] = field(default_factory=list)
    volumes: list[Item] = field(default_factory=list)
    env_files: list[Item] = field(default_factory=list)
    networks: dict[str, Item] = field(default_factory=dict)  # network -> Item(value: None or its mapping)
    declares_networks: bool = False


@dataclass
class View:
    """One instance's compose configuration as compose will merge it, with its interpolation values."""

    services: dict[str, ServiceView]
    networks: dict[str, Item]  # top-level, name -> Item(spec mapping)
    volumes: dict[str, Item]
    variables: dict[str, str]
    project_dir: Path

    def text(self, value: Any) -> str:
        return interpolate(str(value), self.variables)


_SCALARS = ("container_name", "image", "build", "network_mode")
_LISTS = {"ports": "ports", "volumes": "volumes", "env_file": "env_files"}


def merge_view(docs: Sequence[tuple[str, Mapping[str, Any]]], variables: Mapping[str, str],
               project_dir: Path) -> View:
    """Merge compose documents the way ``docker compose -f a -f b`` does, for the keys checked here.

    Lists append, except when the later file tags them ``!reset`` (emptied)
    or ``!override`` (replaced); scalars and mappings: the later file wins.
    """
    services: dict[str, ServiceView] = {}
    networks: dict[str, Item] = {}
    volumes: dict[str, Item] = {}
    for rel, data in docs:
        for name, raw in _mapping(data.get("services")).items():
            spec = _mapping(raw)
            view = services.setdefault(str(name), ServiceView(str(name)))
            base = f"services.{name}"
            for key in _SCALARS:
                if key in spec:
                    value = spec[key]
                    if isinstance(value, Tagged):
                        value = None if value.tag == "!reset" else value.value
                    if value is None:
                        view.scalars.pop(key, None)
                    else:
                        view.scalars[key] = Item(rel, f"{base}.{key}", value)
            for key, attr in _LISTS.items():
                if key not in spec:
                    continue
                value = spec[key]
                current: list[Item] = getattr(view, attr)
                if isinstance(value, Tagged):
                    current.clear()
                    value = value.value if value.tag == "!override" else []
                if isinstance(value, (str, int, dict)):
                    value = [value]
                for i, entry in enumerate(value or []):
                    current.append(Item(rel, f"{base}.{key}[{i}]", entry))
            if "networks" in spec:
                value = spec["networks"]
                if isinstance(value, Tagged):
                    view.networks.clear()
                    value = value.value if value.tag == "!override" else {}
                view.declares_networks = True
                entries = {str(v): None for v in value} if isinstance(value, list) else _mapping(value)
                for net, netspec in entries.items():
                    view.networks[str(net)] = Item(rel, f"{base}.networks.{net}", netspec)
        for section, target in (("networks", networks), ("volumes", volumes)):
            for name, spec in _mapping(data.get(section)).items():
                previous = target.get(str(name))
                merged = {**(_mapping(previous.value) if previous else {}), **_mapping(spec)}
                target[str(name)] = Item(rel, f"{section}.{name}", merged)
    return View(services, networks, volumes, dict(variables), project_dir)


def _mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, Tagged):
        value = value.value
    return value if isinstance(value, dict) else {}


# --------------------------------------------------------------------------
# Ports


@dataclass(frozen=True)
class Published:
    host_ip: str  # "" for every address
    port: int
    target: int
    protocol: str = "tcp"

    def overlaps(self, other: Published) -> bool:
        if (self.port, self.protocol) != (other.port, other.protocol):
            return False
        wild = ("", "0.0.0.0", "::")
        return self.host_ip == other.host_ip or self.host_ip in wild or other.host_ip in wild


def parse_port(spec: Any, variables: Mapping[str, str]) -> list[Published]:
    """The fixed host ports of one ``ports:`` entry (short or long syntax); [] for ephemeral ones."""
    if isinstance(spec, dict):
        published = spec.get("published")
        target = spec.get("target")
        if published in (None, "") or target is None:
            return []
        return _pairs(str(spec.get("host_ip") or ""), interpolate(str(published), variables),
                      interpolate(str(target), variables), str(spec.get("protocol") or "tcp"))
    if isinstance(spec, int) and not isinstance(spec, bool):
        return []
    text = interpolate(str(spec), variables).strip()
    text, _, protocol = text.partition("/")
    ip = ""
    if text.startswith("["):
        ip, _, text = text[1:].partition("]")
        text = text.lstrip(":")
        parts = text.split(":")
    else:
        parts = text.split(":")
        if len(parts) > 2:
            ip, parts = ":".join(parts[:-2]), parts[-2:]
    if len(parts) != 2 or not parts[0]:
        return []
    return _pairs(ip, parts[0], parts[1], protocol or "tcp")


def _pairs(ip: str, published: str, target: str, protocol: str) -> list[Published]:
    hosts, targets = _port_range(published), _port_range(target)
    if not hosts or not targets:
        return []
    if len(targets) == 1:
        targets = targets * len(hosts)
    return [Published(ip, h, t, protocol) for h, t in zip(hosts, targets)]


def _port_range(text: str) -> list[int]:
    match = re.fullmatch(r"\s*(\d+)(?:-(\d+))?\s*", text)
    if not match:
        return []
    lo = int(match.group(1))
    hi = int(match.group(2) or lo)
    return list(range(lo, hi + 1)) if lo <= hi and hi - lo < 1024 else []


def published_ports(view: View, service: str) -> list[tuple[Item, Published]]:
    return [(item, pub) for item in view.services[service].ports for pub in parse_port(item.value, view.variables)]


# --------------------------------------------------------------------------
# Static checks (pure): data in, findings out


PathKind = Callable[[Path], "str | None"]  # "file", "dir", "empty-dir" or None (missing)


def path_kind(path: Path) -> str | None:
    """What is at ``path``; the only file-system access of the static checks."""
    if path.is_file():
        return "file"
    if path.is_dir():
        try:
            return "dir" if any(path.iterdir()) else "empty-dir"
        except OSError:
            return "dir"
    return None


def static_checks(stack: Stack, settings: DoctorSettings, base: View, view_n: View, view_m: View, n: int,
                  override_file: str, kind: PathKind = path_kind) -> StaticReport:
    """Compare the effective configuration of instance ``n`` with a second instance's.

    ``base`` is the base files alone (what the user wrote), ``view_n`` and
    ``view_m`` add the override of instance n and of another instance m.
    """
    findings: list[Finding] = []
    findings += _container_names(stack, base, view_n, view_m, n, override_file)
    findings += _ports(stack, base, view_n, view_m, n)
    findings += _env_files(stack, view_n, kind)
    bind_findings, bind_files = _bind_mounts(stack, settings, view_n, kind)
    findings += bind_findings
    net_findings, per_instance, shared, external = _networks(view_n, view_m)
    findings += net_findings
    findings += _volumes(view_n, view_m)
    findings += _build_images(view_n, view_m)
    return StaticReport(tuple(_filtered(findings, settings)), tuple(bind_files), per_instance,
                        tuple(shared), tuple(external))


def _filtered(findings: Iterable[Finding], settings: DoctorSettings) -> list[Finding]:
    """Drop what ``doctor.ignore`` names, except errors: a start would still fail."""
    return [f for f in findings if f.severity == "error" or f.check not in settings.ignore]


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


def _relative_to(path: Path, root: Path) -> str:
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
                               f"{name} reads env file {_relative_to(path, stack.root)}, which does not exist: "
                               "compose refuses to start", f"create {_relative_to(path, stack.root)}, or write "
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
    for name, svc in view.services.items():
        for item in svc.volumes:
            value = item.value
            value = {**value, "source": view.text(value.get("source") or "")} if isinstance(value, dict) \
                else view.text(value)
            bind = _bind_source(value)
            if bind is None:
                continue
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
        shown = _relative_to(path, stack.root)
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
        spec = _mapping(item.value) if item else {}
        where = (item.file, item.key) if item else ("", f"networks.{net}")
        ext = _external_name(net, spec, view_n)
        if ext is not None:
            external.append((where[0], where[1], ext))
            shared_nets[net] = ext
            continue
        fixed = spec.get("name")
        other = _mapping(view_m.networks[net].value).get("name") if net in view_m.networks else None
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
    aliases = _mapping(item.value).get("aliases") or []
    return [aliases] if isinstance(aliases, (str, int)) else list(aliases) if isinstance(aliases, list) else []


def _volumes(view_n: View, view_m: View) -> list[Finding]:
    out = []
    for name, item in view_n.volumes.items():
        spec = _mapping(item.value)
        if _external_name(name, spec, view_n) is not None or not spec.get("name"):
            continue
        other = _mapping(view_m.volumes[name].value).get("name") if name in view_m.volumes else None
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


# --------------------------------------------------------------------------
# Analysis of a stack: reads the files, renders the overrides, runs the static checks


def _other_instance(stack: Stack, n: int) -> int:
    return n + 1 if n < stack.last or stack.first == stack.last else n - 1


def compose_variables(stack: Stack, rendered: Mapping[str, Any]) -> dict[str, str]:
    """The values compose interpolates with: the instance's ``--env-file``s, else the project's ``.env``."""
    from multistack.plan.envfiles import read_env_values

    texts = [rendered[name].text for name in stack.compose_env_files if name in rendered]
    if not stack.compose_env_files and stack.compose_files:
        dotenv = (stack.root / stack.compose_files[0]).parent / ".env"
        if dotenv.is_file():
            texts.append(dotenv.read_text(encoding="utf-8"))
    values: dict[str, str] = {}
    for text in texts:
        values.update({k: v or "" for k, v in read_env_values(text).items()})
    return values


def analyse(stack: Stack, n: int | None = None, kind: PathKind = path_kind) -> StaticReport:
    """The static checks for instance ``n`` (default: the first): reads, never writes."""
    from multistack.plan.instance import plan_instance
    from multistack.plan.render import OVERRIDE, render_instance

    settings = doctor_settings(stack)
    check_settings_files(stack, settings)
    if not stack.compose_files:
        return StaticReport()
    n = stack.first if n is None else n
    shared = getattr(plan_instance(stack, n), "mode", "isolated") == "shared"
    docs = read_compose_files(stack)
    project_dir = (stack.root / stack.compose_files[0]).parent.resolve()
    views = []
    override_file = ""
    for number in (n, _other_instance(stack, n)):
        inst = _isolated_plan(stack, number)
        rendered = render_instance(inst)
        name = f"{_relative_to(inst.dir / OVERRIDE, stack.root)}"
        if number == n:
            override_file = name
        override = load_compose_text(rendered[OVERRIDE].text, name)
        views.append(merge_view([*docs, (name, override)], compose_variables(stack, rendered), project_dir))
    base = merge_view(docs, views[0].variables, project_dir)
    report = static_checks(stack, settings, base, views[0], views[1], n, override_file, kind)
    if shared:  # one infra for every instance: nothing of it can collide between instances
        kept = tuple(f for f in report.findings if f.check in SHARED_MODE_CHECKS)
        return StaticReport(kept, report.bind_files, 0, report.shared_networks, report.external_networks)
    return report


#: The static checks that still apply when the compose files run once, as shared infra.
SHARED_MODE_CHECKS = ("bind-mount", "env-file")


def _isolated_plan(stack: Stack, n: int) -> Instance:
    """Instance n as it runs its own compose project (the plan whose names and ports could collide)."""
    from multistack.plan.instance import plan_instance

    try:
        return plan_instance(stack, n, mode="isolated")  # type: ignore[call-arg]
    except TypeError:  # a plan_instance without modes
        return plan_instance(stack, n)


def preflight(inst: Instance, err: TextIO | None = None) -> StaticReport:
    """The fast subset ``start`` runs before acting: refuse on errors, print warnings."""
    report = analyse(inst.stack, inst.n)
    errors = [f for f in report.findings if f.severity == "error"]
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        first = errors[0]
        raise DoctorError(f"instance {inst.n} cannot start: {first.describe()}{more}",
                          f"{first.fix}; `inv doctor {inst.n}` lists every problem")
    for finding in report.findings:
        if finding.severity == "warning":
            print(finding.line(), file=err or sys.stderr)
    return report


def create_bind_files(report: StaticReport, dry: bool = False, out: TextIO | None = None) -> list[Path]:
    """Create each missing bind-mounted file (never replacing one that appeared meanwhile)."""
    created = []
    for bind in report.bind_files:
        what = f"a copy of {bind.template.name}" if bind.template else "empty"
        users = f", bind-mounted by {', '.join(bind.services)}" if bind.services else ""
        if bind.path.exists():
            continue
        if dry:
            print(f"would create {bind.display} ({what}{users})", file=out or sys.stdout)
            continue
        try:
            data = bind.template.read_bytes() if bind.template else b""
            mode = (bind.template.stat().st_mode & 0o777) if bind.template else 0o644
            done = _create_exclusive(bind.path, data, mode)
        except OSError as exc:  # e.g. a parent that is a file, or a folder we may not write
            raise StackError(f"cannot create bind-mounted file {bind.display}: {_os_reason(exc)}",
                             "fix its path (compose volumes: or doctor.bind_files), or create it yourself") from None
        if done:
            created.append(bind.path)
            print(f"created {bind.display} ({what}{users}; Docker would have made a directory)",
                  file=out or sys.stdout)
    return created


def _os_reason(exc: OSError) -> str:
    """``File exists: /x/stack.yaml``: the OS's reason and the path it is about."""
    return f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else str(exc)


def _create_exclusive(path: Path, data: bytes, mode: int) -> bool:
    """Write a temp file and hard-link it into place: complete, and never over an existing file."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


# --------------------------------------------------------------------------
# Machine checks (through shell.probe, so --dry shows them)


def engine_info_argv(docker: str = "docker") -> list[str]:
    return [docker, "info", "--format", "{{json .}}"]


def network_ls_argv(docker: str = "docker") -> list[str]:
    return [docker, "network", "ls", "--format", "{{json .}}"]


def parse_json_lines(text: str) -> list[dict[str, Any]]:
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                rows.append(value)
    return rows


def pool_capacity(info: Mapping[str, Any]) -> int:
    """How many networks the engine's address pools hold (its DefaultAddressPools, else Docker's defaults)."""
    pools = info.get("DefaultAddressPools") or DEFAULT_ADDRESS_POOLS
    total = 0
    for pool in pools:
        try:
            prefix = ipaddress.ip_network(str(pool.get("Base")), strict=False).prefixlen
            size = int(pool.get("Size"))
        except (ValueError, TypeError, AttributeError):
            continue
        if size >= prefix:
            total += 2 ** (size - prefix)
    return total


def address_pool_findings(stack: Stack, report: StaticReport, info: Mapping[str, Any],
                          networks: Sequence[Mapping[str, Any]], n: int | None) -> list[Finding]:
    """Instances × networks per instance against the pools left (pure)."""
    per = report.networks_per_instance
    if not per and not report.shared_networks:
        return []
    capacity = pool_capacity(info)
    bridges = [net for net in networks if net.get("Driver") == "bridge" and net.get("Scope", "local") == "local"]
    names = {str(net.get("Name", "")) for net in networks}
    free = max(capacity - len(bridges), 0)
    with_networks = {m for m in stack.instance_range
                     if any(name.startswith(stack.compose_project(m) + "_") for name in names)}
    shared_missing = sum(1 for name in report.shared_networks if name not in names)
    total = len(stack.instance_range)
    needed_all = (total - len(with_networks)) * per + shared_missing
    needed_next = (0 if n is not None and n in with_networks else per) + shared_missing
    key = "instances"
    who = f"instance {n}" if n is not None else "the next instance"
    if free < needed_next:
        return [Finding("error", "address-pools", stack.path.name, key,
                        f"{who} needs {needed_next} network(s) and the engine has {free} address pool(s) left "
                        f"({len(bridges)} of {capacity} in use): compose fails with \"all predefined address pools "
                        "have been fully subnetted\"", POOLS_FIX)]
    if free < needed_all:
        fits = (free - shared_missing) // per if per else total
        return [Finding("warning", "address-pools", stack.path.name, key,
                        f"{free} address pool(s) left ({len(bridges)} of {capacity} in use): only {fits} more "
                        f"instance(s) of {per} network(s) each can start, of the {total} in instances "
                        f"{stack.first}-{stack.last}", POOLS_FIX)]
    return [Finding("info", "address-pools", stack.path.name, key,
                    f"{free} of {capacity} address pools free; every instance needs {per} network(s)")]


def external_network_findings(report: StaticReport, names: set[str]) -> list[Finding]:
    return [Finding("error", "external-network", file, key,
                    f"external network {name!r} does not exist: compose refuses to start",
                    f"create it once: docker network create {name}")
            for file, key, name in report.external_networks if name not in names]


def port_findings(stack: Stack, inst: Instance, taken: Sequence[Any], own: Mapping[str, str]) -> list[Finding]:
    """Each taken port of the instance's plan, by whom; what the instance runs itself is fine.

    ``own``: service -> who holds its port legitimately (``instance 1 itself``, ``the shared infra``).
    """
    out = []
    for item in taken:
        where = (stack.path.name, f"services.{item.service}.port")
        if item.service in own:
            out.append(Finding("info", "port-taken", *where,
                               f"port {item.port} ({item.service}) is held by {own[item.service]} (running)"))
            continue
        who = f"held by {item.holder}" if item.holder else "held by another process (the OS does not say which)"
        out.append(Finding("error", "port-taken", *where,
                           f"port {item.port} ({item.service} of instance {inst.n}) is already in use, {who}",
                           "stop what holds it, or use another instance number"))
    return out


def machine_checks(c: Context, stack: Stack, report: StaticReport, inst: Instance | None = None) -> list[Finding]:
    """Compose, engine, PM2, networks, pools and ports: one ``docker info``, one ``docker network ls``."""
    from multistack.io.tools import OVERRIDE_TAG_MIN, find_compose, find_pm2, version_at_least
    from multistack.io.shell import is_dry, probe

    findings: list[Finding] = []
    needs_docker = bool(stack.compose_files)
    if is_dry(c):
        if needs_docker:
            for argv in (["docker", "compose", "version", "--short"], engine_info_argv(), network_ls_argv()):
                probe(c, argv)
            findings.append(Finding("info", "engine", "", "", "--dry: the engine queries above were shown, not run"))
        if inst is not None:
            findings += _port_checks(c, stack, inst, engine_ok=False, pm2=None)
        return findings
    if needs_docker:
        minimum = ".".join(map(str, OVERRIDE_TAG_MIN))
        try:
            argv, version = find_compose(c)
        except EngineError as exc:
            findings.append(Finding("error", "compose", "", "", exc.message, exc.hint or ""))
        else:
            if version_at_least(version, OVERRIDE_TAG_MIN):
                findings.append(Finding("info", "compose", "", "",
                                        f"Docker Compose {version} (`{' '.join(argv)}`; needs >= {minimum})"))
            else:
                findings.append(Finding("error", "compose", "", "",
                                        f"Docker Compose {version} is too old: the override uses !override and "
                                        f"!reset (Compose >= {minimum})", "upgrade Docker Compose"))
        findings += _engine_checks(c, stack, report, inst)
    pm2: tuple[str, ...] | None = None
    if stack.apps:
        try:
            pm2 = find_pm2(stack.root)
            findings.append(Finding("info", "pm2", stack.path.name, "apps", f"PM2: {pm2[0]}"))
        except EngineError as exc:
            findings.append(Finding("error", "pm2", stack.path.name, "apps", exc.message, exc.hint or ""))
    if inst is not None:
        findings += _port_checks(c, stack, inst, engine_ok=not any(f.check == "engine" and f.severity == "error"
                                                                    for f in findings), pm2=pm2)
    return findings


def _engine_checks(c: Context, stack: Stack, report: StaticReport, inst: Instance | None) -> list[Finding]:
    from multistack.io.shell import probe

    if not shutil.which("docker"):
        from multistack.io.tools import SETUP_HINT

        return [Finding("error", "engine", "", "", "the docker command is not installed", SETUP_HINT)]
    result = probe(c, engine_info_argv())
    info: dict[str, Any] = {}
    if result.ok:
        rows = parse_json_lines(result.stdout)
        info = rows[0] if rows else {}
    if not info.get("ServerVersion"):
        lines = [line for line in (result.stderr or "").strip().splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else "no answer"
        return [Finding("error", "engine", "", "", f"Docker engine not reachable: {reason}",
                        "start dockerd (scripts/setup-engines.sh or `systemctl start docker`) or set DOCKER_HOST")]
    findings = [Finding("info", "engine", "", "", f"Docker engine {info['ServerVersion']}")]
    listing = probe(c, network_ls_argv())
    networks = parse_json_lines(listing.stdout) if listing.ok else []
    if not listing.ok:
        return findings
    findings += external_network_findings(report, {str(net.get("Name", "")) for net in networks})
    findings += address_pool_findings(stack, report, info, networks, inst.n if inst else None)
    return findings


def _port_checks(c: Context, stack: Stack, inst: Instance, engine_ok: bool,
                 pm2: tuple[str, ...] | None) -> list[Finding]:
    from multistack.io.hostports import taken_ports

    taken = taken_ports(inst.ports, stack.host_ip)
    own: dict[str, str] = {}
    if taken:
        own.update(dict.fromkeys(_own_services(c, stack, inst, engine_ok, pm2), f"instance {inst.n} itself"))
    if getattr(inst, "mode", "isolated") == "shared":
        own.update(dict.fromkeys((svc.name for svc in stack.services if svc.compose), "the shared infra"))
    findings = port_findings(stack, inst, taken, own)
    if not taken:
        findings.append(Finding("info", "port-taken", stack.path.name, "services",
                                f"{len(inst.ports)} port(s) of instance {inst.n}, all free on {stack.host_ip}"))
    return findings


def _own_services(c: Context, stack: Stack, inst: Instance, engine_ok: bool, pm2: tuple[str, ...] | None) -> set[str]:
    """Services whose ports the instance holds itself (its containers run, its apps are online)."""
    from multistack.plan import compose
    from multistack.plan import pm2 as pm2_argv
    from multistack.io.shell import probe
    from multistack.io.status import collect, parse_containers, parse_jlist

    containers: list[dict[str, str]] = []
    processes: list[dict[str, Any]] = []
    if stack.compose_files and engine_ok:
        result = probe(c, compose.ps_all())
        containers = parse_containers(result.stdout) if result.ok else []
    if stack.apps and pm2:
        result = probe(c, pm2_argv.jlist(pm2))
        processes = parse_jlist(result.stdout) if result.ok else []
    state = collect(stack, containers, processes, {inst.n}).get(inst.n)
    own: set[str] = set()
    if state:
        running = {s.service for s in state.services if s.state == "running"}
        own |= {svc.name for svc in stack.services if svc.compose in running}
        if any(a.status == "online" for a in state.apps):
            own |= {svc.name for svc in stack.services if not svc.compose}
    return own


# --------------------------------------------------------------------------
# The whole doctor, and its output


def run_doctor(c: Context, stack: Stack, n: int | None = None) -> Report:
    from multistack.plan.instance import plan_instance

    report = analyse(stack, n)
    inst = plan_instance(stack, n) if n is not None else None
    findings = list(report.findings) + machine_checks(c, stack, report, inst)
    if inst is None:
        findings.append(Finding("info", "port-taken", "", "", "ports not checked: give an instance number "
                                                              f"(`inv doctor {stack.first}`)"))
    settings = doctor_settings(stack)
    return Report(str(stack.path), n, tuple(sort_findings(_filtered(findings, settings))))


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    order = list(CHECKS)
    return sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), order.index(f.check), f.file, f.key))


def render_report(report: Report, width: int = 88) -> str:
    """A table of findings; the last column holds where, what and the fix, wrapped to ``width``."""
    import textwrap

    title = f"doctor: {report.stack}" + (f", instance {report.instance}" if report.instance is not None else "")
    first = max([len("severity")] + [len(f.severity) for f in report.findings])
    second = max([len("check")] + [len(f.check) for f in report.findings])
    lines = [title, f"{'severity':<{first}}  {'check':<{second}}  where / finding / fix",
             f"{'-' * first}  {'-' * second}  {'-' * width}"]
    indent = " " * (first + second + 4)
    for finding in report.findings:
        cell = [finding.where()] if finding.file or finding.key else []
        cell += textwrap.wrap(finding.message, width)
        if finding.fix:
            cell += textwrap.wrap(f"fix: {finding.fix}", width, subsequent_indent="     ")
        lines.append(f"{finding.severity:<{first}}  {finding.check:<{second}}  {cell[0]}")
        lines += [f"{indent}{text}" for text in cell[1:]]
    counts = ", ".join(f"{s}: {report.count(s)}" for s in SEVERITIES)
    verdict = "ok: nothing here would break a start" if report.ok else "FAILED: fix the errors above before starting"
    return "\n".join(lines) + f"\n\n{counts}; {verdict}"
