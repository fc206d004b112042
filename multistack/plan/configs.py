"""Generated files carried inside the compose model, not bind-mounted (pure).

A bind mount's source is a path on the engine's machine: a remote engine has no
``.instances/`` folder, and Docker creates an empty directory where the file was
meant (docker/compose#8484, #9075). A top-level ``configs:`` entry with inline
``content:`` (Compose >= 2.23) travels with the compose model instead: compose
copies the text into the container when it creates it, on whatever engine that
is. So every generated file a container reads (a system member's overlays, its
gateway's haproxy.cfg) is carried this way, on every engine alike (one way, not
two: it works on the local engine too).

Two things differ from a bind mount, and are handled here:

- compose interpolates ``content:`` like any other value: ``$`` is written ``$$``;
- compose does not recreate a container when only a config's content changed
  (checked with Compose 2.40): the service gets a label with the hash of its
  configs' texts, so a changed file changes the service and ``up`` recreates it.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Iterable

#: The label whose value changes with the texts of a service's configs.
HASH_LABEL = "dev.multistack.configs-hash"
_KEY_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class InlineConfig:
    """One generated file as a compose config: its key, its text, where it lands in the container."""

    key: str
    text: str
    target: str

    @property
    def content(self) -> str:
        """The text as compose must be given it: ``$`` doubled (compose interpolates ``content:``)."""
        return self.text.replace("$", "$$")


def config_key(*parts: str) -> str:
    """A config key from names (``("lon-b", "node.json")`` -> ``lon-b_node.json``): compose's key characters only."""
    return _KEY_SAFE.sub("_", "_".join(parts))


def configs_hash(configs: Iterable[InlineConfig]) -> str:
    """The hash of the texts and targets of ``configs``: what the service's :data:`HASH_LABEL` says."""
    digest = hashlib.sha256()
    for config in sorted(configs, key=lambda c: (c.key, c.target)):
        digest.update(f"{config.key}\0{config.target}\0{config.text}\0".encode())
    return digest.hexdigest()[:16]
