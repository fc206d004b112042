"""Which instance number a checkout may claim, and the registry after a claim or a release (pure).

The choice is the lowest number of the stack's range that no other checkout holds and
that nothing without a claim uses on the engine (``busy``: a compose project or PM2 app
of that number, or a port it would publish, held by something no claim accounts for).
Ports are checked by the caller one candidate at a time (:func:`candidates`), lowest first,
so a free machine costs one check.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from multistack.model.claims import Claim, Registry


def candidates(first: int, last: int, registry: Registry, key: str, checkout: str,
               busy: Iterable[int] = ()) -> list[int]:
    """The numbers ``checkout`` could claim, lowest first: in range, not another checkout's, not ``busy``."""
    excluded = set(busy) | {c.instance for c in registry.of_stack(key) if c.checkout != checkout}
    return [n for n in range(first, last + 1) if n not in excluded]


def engine_busy(present: Iterable[int], registry: Registry, key: str, ours: Iterable[int]) -> set[int]:
    """Numbers in use on the engine by something that holds no claim (and is not this checkout's own).

    ``present``: the numbers with containers or PM2 apps; ``ours``: those this checkout
    generated itself (its ``.instances/instance-N``), which it may claim back.
    """
    claimed = {c.instance for c in registry.of_stack(key)}
    return set(present) - claimed - set(ours)


def with_claim(registry: Registry, claim: Claim) -> Registry:
    """The registry with ``claim`` added (a claim on the same number or by the same checkout is replaced)."""
    kept = tuple(c for c in registry.claims
                 if c.stack != claim.stack or (c.instance != claim.instance and c.checkout != claim.checkout))
    return replace(registry, claims=kept + (claim,))


def without(registry: Registry, key: str, instances: Iterable[int]) -> Registry:
    """The registry without stack ``key``'s claims on ``instances``."""
    gone = set(instances)
    return replace(registry, claims=tuple(c for c in registry.claims if c.stack != key or c.instance not in gone))
