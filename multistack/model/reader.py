"""Reading raw YAML with key paths: the one reader every section parser uses (pure).

A :class:`Node` is a mapping being read: it knows where it is
(``mesh.profiles.db``), rejects keys nobody asked for, and turns every
mistake into a :class:`StackError` naming the file and the key path, so no
parser has to spell those messages itself.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from multistack.errors import StackError
from multistack.model.names import ENV_KEY_RE, first_clash


def kind(value: Any) -> str:
    """What a YAML value is, for a person: ``a mapping``, ``a list``, ``nothing``..."""
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "nothing"}.get(type(value), type(value).__name__)


class Node:
    """A mapping being read, which knows its key path and rejects unknown keys."""

    def __init__(self, data: Any, path: str, file: str) -> None:
        self.file = file
        self.path = path
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.fail(f"must be a mapping, got {kind(data)}")
        self.data: dict[Any, Any] = data
        self.seen: set[Any] = set()

    def where(self, key: str | None = None) -> str:
        """``services.web``; a key with a line break or blanks shows quoted (``services.'api\\n'``): one line."""
        if key and not (key.isprintable() and key.strip() == key):
            key = repr(key)
        parts = [p for p in (self.path, key) if p]
        return ".".join(parts) or "(top level)"

    def fail(self, message: str, key: str | None = None, hint: str | None = None) -> None:
        raise StackError(f"{self.file}: {self.where(key)}: {message}", hint)

    def refuse_clash(self, names: list[str], what: str) -> None:
        """Two ``what`` names that normalise to one (``lon_b``, ``lon-b``) would merge: refuse, naming both."""
        clash = first_clash(names)
        if clash:
            self.fail(f"{what} names {clash[0]!r} and {clash[1]!r} differ only in case or - versus _ "
                      "(they would share env keys, files or host names)", clash[1], "rename one of them")

    def get(self, key: str, default: Any = None) -> Any:
        """The key's value; an explicit null (``stride:`` left empty) counts as absent."""
        self.seen.add(key)
        value = self.data.get(key)
        return default if value is None else value

    def child(self, key: str) -> Node:
        return Node(self.get(key), self.where(key) if self.path or key else key, self.file)

    def string(self, key: str, default: str | None = None, pattern: re.Pattern[str] | None = None,
               what: str = "") -> str | None:
        """A non-empty string; with ``pattern``, the whole string must match it (``"x\\n"`` does not)."""
        value = self.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.fail(f"must be a non-empty string, got {kind(value)}", key)
        if pattern and not pattern.fullmatch(value):
            self.fail(f"{value!r} is not a valid {what or 'name'}", key,
                      "write it without spaces, line breaks or other characters the name does not allow")
        return value

    def integer(self, key: str, default: int | None = None, lo: int = 0, hi: int = 65535) -> int | None:
        value = self.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"must be an integer, got {kind(value)}", key, "write a whole number in ASCII digits, unquoted")
        if not lo <= value <= hi:
            self.fail(f"must be {lo}-{hi}, got {value}", key)
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail("must be a list of strings", key)
        return tuple(value)

    def env_map(self, key: str) -> tuple[tuple[str, str], ...]:
        node = self.child(key)
        pairs = []
        for name, value in node.data.items():
            node.seen.add(name)
            if not isinstance(name, str) or not ENV_KEY_RE.fullmatch(name):
                node.fail("is not a valid environment variable name", str(name),
                          "use letters, digits and _, not starting with a digit")
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                node.fail(f"must be a string or number, got {kind(value)}", name)
            pairs.append((name, str(value)))
        return tuple(pairs)

    def items(self) -> Iterator[tuple[str, Any]]:
        """Each key (as a string) and its raw value, marked as read."""
        for key, value in self.data.items():
            self.seen.add(key)
            yield str(key), value

    def done(self) -> None:
        unknown = [str(k) for k in self.data if k not in self.seen]
        if unknown:
            self.fail(f"unknown key {unknown[0]!r}", None,
                      "check the spelling against multistack/schema/stack.schema.json")
