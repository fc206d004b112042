"""The names and numbers a user writes in stack.yaml or on the command line (pure).

One pattern per kind of name, one reader of ranges (``0-9``, ``5-9``,
``[5, 7]``) and one reader of instance numbers, so that two sections can never
disagree about what a valid name or number is. Patterns are matched with
``fullmatch`` (a trailing newline is not part of a name) and digits are ASCII
only: ``"²"``, ``"１"`` and ``"١"`` are not numbers, whatever ``str.isdigit``
says.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol, Sequence

from multistack.errors import StackError

#: Services, apps, engines, profiles, steps, systems, volumes: lowercase letters, digits, - and _.
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
#: A project name must also make a valid namespace (<project>-dev-N: DNS label, Kafka, MQTT...).
PROJECT_RE = re.compile(r"[a-z](?:[a-z0-9]|[-_](?=[a-z0-9])){0,39}")
#: An environment variable (and a template variable: ``{{ vars.X }}``).
ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: A compose service name (also a docker network name and a generated file's name).
SERVICE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Docker's own rule for context names.
CONTEXT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
DOCKER_HOST_RE = re.compile(r"(unix|tcp|ssh|npipe|fd)://.+")
#: A host name, an IPv4 address, or an IPv6 one in brackets.
HOST_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")
#: RFC 1123 label: what Docker's DNS and every resolver accept as a host name.
DNS_LABEL_RE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
#: A full host name: dot-separated DNS labels, 253 characters at most.
HOSTNAME_RE = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")
#: A system port name, used as ``{{ ports.NAME }}``.
PORT_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")

_NUMBER_RE = re.compile(r"[0-9]+")
_CANONICAL_RE = re.compile(r"0|[1-9][0-9]*")
_RANGE_RE = re.compile(r"([0-9]{1,4})-([0-9]{1,4})")


def normal_name(name: str) -> str:
    """The one normalisation used for uniqueness: case folded, ``_`` read as ``-``.

    ``temporal_ui`` and ``temporal-ui`` become the same env key
    (``PORT_TEMPORAL_UI``), the same DNS-ish label and, on a case-insensitive
    disk, ``App.env`` and ``app.env`` the same file: two names that normalise
    to one are refused, naming both, instead of silently replacing each other.
    """
    return name.casefold().replace("_", "-")


def first_clash(names: Sequence[str]) -> tuple[str, str] | None:
    """The first two of ``names`` that :func:`normal_name` makes one (earlier, later), or None."""
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(normal_name(name), name)
        if other != name:
            return other, name
    return None


def is_number(text: Any) -> bool:
    """ASCII digits only (``str.isdigit`` also says yes to ``"²"``, which ``int`` refuses)."""
    return isinstance(text, str) and _NUMBER_RE.fullmatch(text) is not None


def is_canonical_number(text: Any) -> bool:
    """A whole number as a person writes it: ASCII digits, no leading zero (``0`` itself is fine)."""
    return isinstance(text, str) and _CANONICAL_RE.fullmatch(text) is not None


def parse_range(text: Any) -> tuple[int, int] | None:
    """``"5-9"`` -> ``(5, 9)`` (numbers of at most four ASCII digits); None when it is not one."""
    if not isinstance(text, str):
        return None
    found = _RANGE_RE.fullmatch(text.strip())
    return (int(found.group(1)), int(found.group(2))) if found else None


class NumbersError(ValueError):
    """An item of a number list that is not a number or range (``reversed``: a range such as ``9-5``)."""

    def __init__(self, item: Any, reversed_range: bool) -> None:
        super().__init__(item)
        self.item = item
        self.reversed_range = reversed_range


def parse_numbers(value: Any) -> list[int]:
    """``5-9``, ``7``, ``"7"`` or a list of numbers and ranges -> the numbers (in order, repeats kept).

    Raises :class:`NumbersError` naming the first item that is none of those,
    or a range that ends before it starts, so the caller can name its key.
    """
    items = value if isinstance(value, list) else [value]
    numbers: list[int] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            numbers.append(item)
            continue
        span = parse_range(item)
        if span is not None:
            if span[0] > span[1]:
                raise NumbersError(item, reversed_range=True)
            numbers.extend(range(span[0], span[1] + 1))
        elif isinstance(item, str) and is_number(item.strip()):
            numbers.append(int(item.strip()))
        else:
            raise NumbersError(item, reversed_range=False)
    return numbers


def format_ranges(numbers: Sequence[int]) -> str:
    """``0, 3-5`` for [0, 3, 4, 5]: the inverse of :func:`parse_numbers`, for messages."""
    parts: list[str] = []
    start = prev = None
    for n in list(numbers) + [None]:  # type: ignore[list-item]
        if start is not None and n is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    return ", ".join(parts)


class InstanceRange(Protocol):
    """What reading an instance number needs to know of a stack (its range, its file's name)."""

    @property
    def first(self) -> int: ...

    @property
    def last(self) -> int: ...

    @property
    def path(self) -> Path: ...


def parse_instance_number(text: str | int, stack: InstanceRange) -> int:
    """Validate an instance number given by a user (``05``, ``abc`` and ``²`` are refused)."""
    lo, hi = stack.first, stack.last
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    elif isinstance(text, str) and is_canonical_number(text.strip()):
        value = int(text.strip())
    elif isinstance(text, str) and is_number(text.strip()):
        raise StackError(f"instance {text!r} has a leading zero", f"write it as {int(text)}")
    else:
        raise StackError(f"instance {text!r} is not a number",
                         f"give a whole number {lo}-{hi} without leading zeros, e.g. `inv dev {lo} start`")
    if not lo <= value <= hi:
        raise StackError(f"instance {value} is out of range {lo}-{hi}",
                         f"use {lo}-{hi}, or widen `instances:` in {stack.path.name}")
    return value
