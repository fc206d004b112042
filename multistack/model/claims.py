"""The claim registry as data (pure): which checkout holds which instance number of which stack.

Every worktree of one repository shares one registry file (io/claims.py finds it, under
``git rev-parse --git-common-dir``), so a claim is keyed by its stack: the project name
and the stack file's path relative to the checkout (``shop:stack.yaml``,
``shop:services/stack.yaml``), the same in every worktree, different for two stacks of one
repository. The text is versioned, sorted and indented, so the same claims are always
the same bytes (an unchanged registry is not rewritten).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from multistack.errors import StackError

#: The registry format this multistack writes (and the newest it reads).
REGISTRY_VERSION = 1


@dataclass(frozen=True)
class Claim:
    """Instance ``instance`` of stack ``stack`` belongs to the checkout at ``checkout``."""

    stack: str  # "<project>:<stack file relative to the checkout>"
    instance: int
    checkout: str  # the checkout's top folder, absolute
    claimed_at: str  # ISO 8601, UTC: when it was claimed (shown, never compared)

    def to_json(self) -> dict[str, Any]:
        return {"stack": self.stack, "instance": self.instance, "checkout": self.checkout,
                "claimed_at": self.claimed_at}


@dataclass(frozen=True)
class Registry:
    """Every claim of every stack sharing the file; at most one per (stack, instance) and per (stack, checkout)."""

    claims: tuple[Claim, ...] = ()

    def of_stack(self, key: str) -> list[Claim]:
        return sorted((c for c in self.claims if c.stack == key), key=lambda c: c.instance)

    def holder(self, key: str, n: int) -> Claim | None:
        """The claim on instance ``n`` of stack ``key``, if any."""
        return next((c for c in self.claims if c.stack == key and c.instance == n), None)

    def held_by(self, key: str, checkout: str) -> Claim | None:
        """The claim ``checkout`` holds on stack ``key``, if any."""
        return next((c for c in self.claims if c.stack == key and c.checkout == checkout), None)

    def to_text(self) -> str:
        """The file's text: the same claims give the same bytes."""
        ordered = sorted(self.claims, key=lambda c: (c.stack, c.instance))
        return json.dumps({"version": REGISTRY_VERSION, "claims": [c.to_json() for c in ordered]},
                          indent=2, sort_keys=True) + "\n"


def stack_key(project: str, stack_file: str) -> str:
    """The key a stack's claims are filed under: ``shop:stack.yaml``."""
    return f"{project}:{stack_file}"


def parse_registry(text: str, where: str) -> Registry:
    """The registry in ``text``; a damaged one (not JSON, wrong shapes, a number claimed twice) is one line."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _damaged(where, f"not JSON: {str(exc)[:80]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise _damaged(where, "no `claims` list")
    version = data.get("version")
    if type(version) is not int or version < 1:
        raise _damaged(where, "no valid `version`")
    if version > REGISTRY_VERSION:
        raise StackError(f"{where} was written by a newer multistack (registry version {version})",
                         "upgrade multistack in this checkout")
    claims = tuple(_claim(item, where) for item in data["claims"])
    _check_unique(claims, where)
    return Registry(claims)


def _claim(item: Any, where: str) -> Claim:
    if not isinstance(item, dict):
        raise _damaged(where, "a claim that is not an object")
    stack, n, checkout, when = (item.get(k) for k in ("stack", "instance", "checkout", "claimed_at"))
    if not isinstance(stack, str) or type(n) is not int or n < 0 or not isinstance(checkout, str) or not checkout:
        raise _damaged(where, f"a claim without stack, instance or checkout: {json.dumps(item)[:80]}")
    return Claim(stack, n, checkout, when if isinstance(when, str) else "")


def _check_unique(claims: tuple[Claim, ...], where: str) -> None:
    seen: set[tuple[str, Any]] = set()
    for claim in claims:
        for key in ((claim.stack, claim.instance), (claim.stack, claim.checkout)):
            if key in seen:
                raise _damaged(where, f"{claim.stack} {key[1]} is claimed twice")
            seen.add(key)


def _damaged(where: str, reason: str) -> StackError:
    return StackError(f"claim registry {where} is damaged: {reason}",
                      f"move it away (mv {where} {where}.broken); every checkout then claims again")
