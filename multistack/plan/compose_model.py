"""One instance's compose configuration as compose will merge it: interpolation, merge, published ports (pure).

The doctor compares the effective configuration of two instances (the base
files merged with each one's override) to tell "differs per instance" from
"the same in every instance, so they collide". This module builds that
view from parsed documents (:class:`~multistack.model.compose_doc.ComposeDoc`,
tags kept) the way ``docker compose -f a -f b`` merges them, for the keys
the checks look at, and reads ``ports:`` entries as compose does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from multistack.model.compose_doc import ComposeDoc
from multistack.model.yamldoc import Tagged


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
    """What the checks read of one service, each value with the file and key that set it."""

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
        """A value as compose sees it: a string, interpolated with this instance's variables."""
        return interpolate(str(value), self.variables)


_SCALARS = ("container_name", "image", "build", "network_mode")
_LISTS = {"ports": "ports", "volumes": "volumes", "env_file": "env_files"}


def merge_view(docs: Sequence[ComposeDoc], variables: Mapping[str, str], project_dir: Path) -> View:
    """Merge compose documents the way ``docker compose -f a -f b`` does, for the keys checked here.

    Lists append, except when the later file tags them ``!reset`` (emptied)
    or ``!override`` (replaced); scalars and mappings: the later file wins.
    """
    services: dict[str, ServiceView] = {}
    networks: dict[str, Item] = {}
    volumes: dict[str, Item] = {}
    for doc in docs:
        rel, data = doc.name, doc.data
        for name, raw in as_mapping(data.get("services")).items():
            spec = as_mapping(raw)
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
                entries = {str(v): None for v in value} if isinstance(value, list) else as_mapping(value)
                for net, netspec in entries.items():
                    view.networks[str(net)] = Item(rel, f"{base}.networks.{net}", netspec)
        for section, target in (("networks", networks), ("volumes", volumes)):
            for name, spec in as_mapping(data.get(section)).items():
                previous = target.get(str(name))
                merged = {**(as_mapping(previous.value) if previous else {}), **as_mapping(spec)}
                target[str(name)] = Item(rel, f"{section}.{name}", merged)
    return View(services, networks, volumes, dict(variables), project_dir)


def as_mapping(value: Any) -> dict[str, Any]:
    """A mapping whatever its tag; {} for anything else (a list, a scalar, nothing)."""
    if isinstance(value, Tagged):
        value = value.value
    return value if isinstance(value, dict) else {}


# --------------------------------------------------------------------------
# Ports


@dataclass(frozen=True)
class Published:
    """One fixed host port a ``ports:`` entry publishes."""

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
    match = re.fullmatch(r"\s*([0-9]+)(?:-([0-9]+))?\s*", text)  # ASCII digits: "８０" is no port
    if not match:
        return []
    lo = int(match.group(1))
    hi = int(match.group(2) or lo)
    return list(range(lo, hi + 1)) if lo <= hi and hi - lo < 1024 else []


def published_ports(view: View, service: str) -> list[tuple[Item, Published]]:
    """Each fixed host port of a service, with the ``ports:`` entry that publishes it."""
    return [(item, pub) for item in view.services[service].ports for pub in parse_port(item.value, view.variables)]
