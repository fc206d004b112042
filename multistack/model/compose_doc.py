"""A compose file as data: parsed once, tags kept, read by render, doctor and systems alike.

The user's compose files are part of what they declared, so they are parsed
here (pure: text in, :class:`ComposeDoc` out) and read from disk in
:mod:`multistack.io.compose_files`. A document keeps compose's merge tags
(``!override``, ``!reset``) as :class:`~multistack.model.yamldoc.Tagged`
values: the doctor needs them to merge files the way compose does, while the
override renderer and the systems checks want plain data
(:meth:`ComposeDoc.services`, :func:`base_services`, :func:`base_networks`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from multistack.errors import StackError
from multistack.model.yamldoc import Tagged, load_yaml

#: The hint of a malformed compose file.
COMPOSE_HINT = "fix the compose file"


@dataclass(frozen=True)
class ComposeDoc:
    """One compose document: its name as the user lists it, and its data with tags kept."""

    name: str  # as listed in stack.yaml (compose.files), or the override's path relative to the stack
    data: Mapping[str, Any] = field(default_factory=dict)

    def section(self, key: str) -> dict[str, Any]:
        """A top-level mapping (``services``, ``networks``, ``volumes``) as plain data; {} if absent."""
        value = untag(self.data.get(key))
        return value if isinstance(value, dict) else {}

    def services(self) -> dict[str, dict[str, Any]]:
        """Each service's spec as plain data (tags dropped, a non-mapping spec as {})."""
        return {str(name): spec if isinstance(spec, dict) else {} for name, spec in self.section("services").items()}


def parse_compose(text: str, name: str, *, base: bool = True) -> ComposeDoc:
    """Parse one compose file; ``base``: a file of compose.files, which must have ``services:``.

    Refuses malformed YAML (``name:line:col``), an alias bomb, and a document
    that is not a mapping, each as one StackError line.
    """
    data = load_yaml(text, name, tags="keep", hint=COMPOSE_HINT)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise StackError(f"{name}: a compose file must be a mapping", "start it with `services:`")
    if base and not isinstance(data.get("services"), dict):
        raise StackError(f"{name}: no `services:` mapping", "a compose file needs a services: section")
    return ComposeDoc(name, data)


def untag(value: Any) -> Any:
    """``value`` with every :class:`Tagged` replaced by what it carries (``!reset []`` -> [])."""
    if isinstance(value, Tagged):
        return untag(value.value)
    if isinstance(value, dict):
        return {key: untag(item) for key, item in value.items()}
    if isinstance(value, list):
        return [untag(item) for item in value]
    return value


def base_services(docs: Iterable[ComposeDoc]) -> dict[str, dict[str, Any]]:
    """The services of several files merged by name, later keys winning (only what render inspects)."""
    merged: dict[str, dict[str, Any]] = {}
    for doc in docs:
        for name, spec in doc.services().items():
            merged.setdefault(name, {}).update(spec)
    return merged


def base_networks(docs: Iterable[ComposeDoc]) -> dict[str, dict[str, Any]]:
    """The top-level networks of several files merged by name, later keys winning."""
    merged: dict[str, dict[str, Any]] = {}
    for doc in docs:
        for name, spec in doc.section("networks").items():
            merged.setdefault(str(name), {}).update(spec if isinstance(spec, dict) else {})
    return merged
