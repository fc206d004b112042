"""Instance numbers claimed per checkout: claim, release, list, prune, and what ``inv dev`` does with them.

Parallel git worktrees of one repository share one registry (io/claims.py), so each
checkout holds its own instance number and no two start the same compose project on the
same ports. :func:`settle` is what ``inv dev`` asks before acting (act/lifecycle.py
``dispatch``): the first ``start`` in an unclaimed checkout claims a number, and an action
on another checkout's number warns (the actions that start it or destroy its data, REFUSING,
refuse without ``--force``).

The engine is asked once for every instance (``engine_view``: lifecycle's
``query_engines``, passed in by the caller so this module does not import lifecycle,
which imports it).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

from invoke import Context

from multistack.act.options import DevCommand, Options
from multistack.act.shared import instance_plan
from multistack.errors import ConflictError, StackError
from multistack.io.claims import (Place, checkout_gone, generated_here, place_of, read_registry, registry_lock,
                                  write_registry)
from multistack.io.shell import for_real, guard
from multistack.io.status import InstanceState
from multistack.model.claims import Claim, Registry
from multistack.model.stack import Stack
from multistack.plan import claims as choice

#: Every instance's state from one engine query (``lifecycle.query_engines``), asked only when needed.
EngineView = Callable[[], Mapping[int, InstanceState]]
#: Actions that refuse another checkout's instance without ``--force``: they start it or destroy its data.
REFUSING = ("start", "restart", "clean", "clone", "reset")
#: The action that claims a number in an unclaimed checkout (inside git).
CLAIMING = ("start",)
RUNNING, STOPPED, STALE = "running", "stopped", "stale"


@dataclass(frozen=True)
class Outcome:
    """What a claim did: ``new`` (False: the checkout held it already), ``written`` (False under --dry)."""

    claim: Claim
    place: Place
    new: bool
    written: bool


def own_claim(stack: Stack) -> int | None:
    """The instance this checkout holds for ``stack``, if any (a read: no lock, nothing written)."""
    place = place_of(stack)
    held = read_registry(place).held_by(place.key, str(place.checkout))
    return held.instance if held else None


# --------------------------------------------------------------------------
# claim and release


def claim(c: Context, stack: Stack, wanted: int | None, engine_view: EngineView | None = None,
          force: bool = False, place: Place | None = None) -> Outcome:
    """Claim ``wanted`` (or the lowest free number) for this checkout; under --dry, say it, write nothing.

    A number is free when no other checkout holds it and nothing without a claim uses it:
    no containers or PM2 apps of its compose project (unless this checkout generated that
    instance itself) and none of its ports taken. ``force`` claims a named number in use
    on the engine anyway (never one another checkout holds).
    """
    place = place or place_of(stack)
    checkout = str(place.checkout)
    held = read_registry(place).held_by(place.key, checkout)
    if held is not None and wanted in (None, held.instance):
        return Outcome(held, place, new=False, written=False)
    present = set(engine_view()) if engine_view is not None else set()
    ours = generated_here(stack)
    with guard(c, lambda: registry_lock(place)):
        registry = read_registry(place)  # again, under the lock: what another claim wrote meanwhile counts
        held = registry.held_by(place.key, checkout)
        if held is not None:
            if wanted in (None, held.instance):
                return Outcome(held, place, new=False, written=False)
            raise ConflictError(f"this checkout holds instance {held.instance} already",
                                "release it first (`inv dev.release`), then claim another")
        busy = choice.engine_busy(present, registry, place.key, ours)
        n = _named(stack, registry, place, wanted, busy, ours, force) if wanted is not None else \
            _lowest(stack, registry, place, busy, ours)
        new = Claim(place.key, n, checkout, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        written = for_real(c, lambda: write_registry(place, choice.with_claim(registry, new)) or True,
                           dry=lambda: _say(f"would write {place.registry}: instance {n} claimed by {checkout}"))
    return Outcome(new, place, new=True, written=bool(written))


def _say(line: str) -> bool:
    print(line)
    return False


def _named(stack: Stack, registry: Registry, place: Place, n: int, busy: set[int], ours: set[int],
           force: bool) -> int:
    """``n`` if this checkout may claim it, else the reason as one line."""
    holder = registry.holder(place.key, n)
    if holder is not None:
        raise ConflictError(f"instance {n} is claimed by {_who(place, holder)}", _fix_taken(place, holder))
    if force:
        return n
    if n in busy:
        raise ConflictError(f"instance {n} is in use on the engine ({stack.compose_project(n)} has containers or "
                            "PM2 apps) by a checkout that holds no claim",
                            "claim the lowest free number (`inv dev.claim`), or pass --force if it is yours")
    taken = [] if n in ours else _taken(stack, n)
    if taken:
        raise ConflictError(f"instance {n} cannot be claimed: " + "; ".join(taken),
                            "stop what holds the port, or claim another number (`inv dev.claim`)")
    return n


def _lowest(stack: Stack, registry: Registry, place: Place, busy: set[int], ours: set[int]) -> int:
    """The lowest number free in the registry, on the engine and on the host's ports."""
    for n in choice.candidates(stack.first, stack.last, registry, place.key, str(place.checkout), busy):
        if n in ours or not _taken(stack, n):
            return n
    held = len(registry.of_stack(place.key))
    raise ConflictError(f"no free instance number in {stack.first}-{stack.last}: {held} claimed, the others in use "
                        "on the engine or their ports taken",
                        "release a claim (`inv dev.claims --prune` drops those of gone checkouts) or widen "
                        f"`instances:` in {stack.path.name}")


def _taken(stack: Stack, n: int) -> list[str]:
    """The ports instance ``n`` would publish here that something holds (the start preflight's rule)."""
    from multistack.io.hostports import taken_ports

    inst = instance_plan(stack, n)
    compose = {svc.name for svc in stack.services if svc.compose}
    skip = compose if inst.mode == "shared" or not inst.engine.local else set()
    return [t.describe() for t in taken_ports({k: p for k, p in inst.ports.items() if k not in skip}, stack.host_ip)]


def _who(place: Place, holder: Claim) -> str:
    gone = " (gone: a stale claim)" if checkout_gone(place, holder.checkout) else ""
    return f"another checkout, {holder.checkout}{gone}"


def _fix_taken(place: Place, holder: Claim) -> str:
    if checkout_gone(place, holder.checkout):
        return "release the claims of gone checkouts with `inv dev.claims --prune`"
    return "claim the lowest free number (`inv dev.claim`), or release it there (`inv dev.release`)"


def release(c: Context, stack: Stack, place: Place | None = None) -> Outcome | None:
    """Drop this checkout's claim (None: it held none); under --dry, say it, write nothing."""
    place = place or place_of(stack)
    checkout = str(place.checkout)
    if read_registry(place).held_by(place.key, checkout) is None:
        return None
    with guard(c, lambda: registry_lock(place)):
        registry = read_registry(place)
        held = registry.held_by(place.key, checkout)
        if held is None:  # released meanwhile by another command of this checkout
            return None
        written = for_real(c, lambda: write_registry(place, choice.without(registry, place.key, [held.instance])) or True,
                           dry=lambda: _say(f"would write {place.registry}: instance {held.instance} released by "
                                            f"{checkout}"))
    return Outcome(held, place, new=False, written=bool(written))


# --------------------------------------------------------------------------
# listing and pruning


def rows(stack: Stack, states: Mapping[int, InstanceState], place: Place | None = None,
         registry: Registry | None = None) -> list[dict[str, Any]]:
    """Every claim of ``stack``: instance, checkout, state (running, stopped, stale), ports; from one engine answer."""
    place = place or place_of(stack)
    registry = registry if registry is not None else read_registry(place)
    found = []
    for held in registry.of_stack(place.key):
        state = states.get(held.instance)
        word = STALE if checkout_gone(place, held.checkout) else RUNNING if state and state.running else STOPPED
        ports = dict(instance_plan(stack, held.instance).ports) if held.instance in stack.instance_range else {}
        found.append({"instance": held.instance, "checkout": held.checkout, "mine": held.checkout == str(place.checkout),
                      "state": word, "project_name": stack.compose_project(held.instance), "ports": ports,
                      "claimed_at": held.claimed_at})
    return found


def prune(c: Context, stack: Stack, place: Place | None = None) -> tuple[list[Claim], bool]:
    """Release the claims whose checkout is gone: those claims, and whether the registry was written
    (False under --dry, which says what it would write)."""
    place = place or place_of(stack)
    if not _stale(place, read_registry(place)):
        return [], False
    with guard(c, lambda: registry_lock(place)):
        registry = read_registry(place)
        stale = _stale(place, registry)
        numbers = [s.instance for s in stale]
        if not stale:
            return [], False
        written = for_real(c, lambda: write_registry(place, choice.without(registry, place.key, numbers)) or True,
                           dry=lambda: _say(f"would write {place.registry}: the stale claims on "
                                            f"{', '.join(map(str, numbers))} released"))
    return stale, bool(written)


def _stale(place: Place, registry: Registry) -> list[Claim]:
    return [held for held in registry.of_stack(place.key) if checkout_gone(place, held.checkout)]


# --------------------------------------------------------------------------
# what `inv dev` does with claims


def settle(c: Context, stack: Stack, command: DevCommand, opts: Options, engine_view: EngineView) -> DevCommand:
    """The command ``inv dev`` runs, after the claims had their say.

    In a checkout inside git that holds no claim, ``start`` first claims its instance: the
    lowest free number when none was chosen (``command.source == "first"``), else the one
    named; it says which. An instance another checkout holds is a warning on stderr, and
    for the actions of REFUSING a refusal (exit 4) unless ``--force``.
    """
    if command.instance is None:
        return command
    place = place_of(stack)
    registry = read_registry(place)
    checkout = str(place.checkout)
    if command.action in CLAIMING and place.in_git and registry.held_by(place.key, checkout) is None:
        wanted = None if command.source == "first" else command.instance
        holder = registry.holder(place.key, wanted) if wanted is not None else None
        if holder is None or holder.checkout == checkout:
            outcome = claim(c, stack, wanted, engine_view, force=opts.force, place=place)
            verb = "claimed" if outcome.written else "would claim"
            print(f"{verb} instance {outcome.claim.instance} for this checkout ({checkout}); "
                  f"release it with `inv dev.release`")
            return replace(command, instance=outcome.claim.instance, source="claim")
    holder = registry.holder(place.key, command.instance)
    if holder is not None and holder.checkout != checkout:
        if command.action in REFUSING and not opts.force:
            raise ConflictError(f"instance {command.instance} is claimed by {_who(place, holder)}",
                                f"use this checkout's own instance, or pass --force to {command.action} it anyway")
        print(f"warning: instance {command.instance} is claimed by {_who(place, holder)}", file=sys.stderr)
    return command


def check_claim_range(stack: Stack, n: int) -> int:
    """This checkout's claimed number, refused when the stack's range no longer holds it."""
    if n not in stack.instance_range:
        raise StackError(f"this checkout's claim, instance {n}, is out of range {stack.first}-{stack.last}",
                         "release it (`inv dev.release`) and claim again (`inv dev.claim`)")
    return n
