"""Instance numbers claimed per checkout (parallel git worktrees): ``inv dev.claim [N]``, ``inv dev.release``,
``inv dev.claims [--json] [--prune]``. See docs/worktrees.md.

Every worktree of a repository shares one registry (``<git common dir>/multistack/claims.json``);
``inv --dry`` says what would be written and writes nothing.
"""
from __future__ import annotations

import json as jsonlib
from typing import TYPE_CHECKING, Any, Mapping

from invoke import Context

from multistack.cli.exits import task, user_errors
from multistack.plan.masking import mask_json, mask_text

if TYPE_CHECKING:
    from multistack.io.status import InstanceState
    from multistack.model.stack import Stack


@task(iterable=["arg"], help={"arg": "the instance number to claim (default: the lowest free one)",
                               "json": "print the claim as JSON (multistack/schema/output/dev.claim.json)",
                               "force": "claim N even when something without a claim uses it on the engine"})
@user_errors
def claim(c: Context, arg: list[str] | None = None, json: bool = False, force: bool = False) -> None:
    """Claim instance N (or the lowest free one) for this checkout: `inv dev` then uses it."""
    from multistack.act import claims as act
    from multistack.errors import StackError
    from multistack.model.names import parse_instance_number
    from multistack.model.stack import load_stack

    stack = load_stack()
    words = arg or []
    if len(words) > 1:
        raise StackError(f"too many arguments: {' '.join(words)}", "use `inv dev.claim [N]`")
    wanted = parse_instance_number(words[0], stack) if words else None
    outcome = act.claim(c, stack, wanted, lambda: _states(c, stack), force=force)
    held = outcome.claim
    if json:
        inst = _ports(stack, held.instance)
        print(jsonlib.dumps(mask_json({"instance": held.instance, "checkout": held.checkout, "stack": held.stack,
                                       "registry": str(outcome.place.registry), "new": outcome.new,
                                       "written": outcome.written, "project_name": stack.compose_project(held.instance),
                                       "ports": inst}), indent=2))
    elif not outcome.new:
        print(f"this checkout already holds instance {held.instance}")
    elif outcome.written:
        print(f"claimed instance {held.instance} for {held.checkout}")


claim.optional_positionals = True  # type: ignore[attr-defined]


@task
@user_errors
def release(c: Context) -> None:
    """Release this checkout's claim (its instance keeps running: stop or clean it first if you are done)."""
    from multistack.act import claims as act
    from multistack.model.stack import load_stack

    stack = load_stack()
    outcome = act.release(c, stack)
    if outcome is None:
        print("this checkout holds no claim")
    elif outcome.written:
        print(f"released instance {outcome.claim.instance}")


@task(help={"json": "print JSON (multistack/schema/output/dev.claims.json)",
            "prune": "release the claims whose checkout is gone (stale), and say how to clean their instances",
            "yes": "with --prune: also clean each stale claim's instance (containers, volumes, PM2 apps)"})
@user_errors
def claims(c: Context, json: bool = False, prune: bool = False, yes: bool = False) -> None:
    """List every checkout's claim on this stack: checkout, state (running/stopped/stale), ports."""
    from multistack.act import claims as act
    from multistack.io.claims import place_of, read_registry
    from multistack.model.stack import load_stack

    stack = load_stack()
    place = place_of(stack)
    registry = read_registry(place)  # a listing alone asks the engine only when there is a claim
    states = _states(c, stack) if registry.of_stack(place.key) else {}
    pruned, written = act.prune(c, stack, place) if prune else ([], False)
    if written:
        registry = read_registry(place)
    rows = act.rows(stack, states, place, registry)
    if json:
        print(jsonlib.dumps(mask_json({"stack": place.key, "registry": str(place.registry),
                                       "checkout": str(place.checkout), "claims": rows,
                                       "pruned": [p.instance for p in pruned]}), indent=2))
    else:
        _print_rows(rows)
    for stale in pruned:
        _after_prune(c, stack, stale.instance, stale.checkout, yes, json, written)


def _after_prune(c: Context, stack: Stack, n: int, checkout: str, yes: bool, quiet: bool, written: bool) -> None:
    """A released stale claim's instance may still hold containers, volumes, PM2 apps: clean them, or say how."""
    import sys

    verb = "released" if written else "would release"
    out = sys.stderr if quiet else sys.stdout
    if not yes:
        print(f"{verb} instance {n} (its checkout {checkout} is gone); remove what it left on the engine with "
              f"`inv dev {n} clean --yes`", file=out)
        return
    print(f"{verb} instance {n} (its checkout {checkout} is gone); cleaning it", file=out)
    from contextlib import nullcontext, redirect_stdout

    from multistack.act import lifecycle
    from multistack.act.options import DevCommand

    with redirect_stdout(sys.stderr) if quiet else nullcontext():  # --json: stdout holds the JSON alone
        lifecycle.dispatch(c, stack, DevCommand("clean", n), yes=True, force=True)  # force: its claim was stale


def _print_rows(rows: list[dict[str, Any]]) -> None:
    from multistack.io.tables import table

    if not rows:
        print("no claims (claim one with `inv dev.claim`, or `inv dev start` inside git)")
        return
    body = [[r["instance"], r["state"], f"{r['checkout']}{' (this checkout)' if r['mine'] else ''}",
             " ".join(f"{k}={v}" for k, v in sorted(r["ports"].items()))] for r in rows]
    print(mask_text(table(["N", "STATE", "CHECKOUT", "PORTS"], body)))


def _states(c: Context, stack: Stack) -> Mapping[int, InstanceState]:
    """Every instance's state from one engine query (one ``docker ps`` per engine, one ``pm2 jlist``)."""
    from multistack.act.lifecycle import query_engines
    from multistack.io.tools import detect

    if not stack.compose_files and not stack.apps:
        return {}
    engines = detect(c, stack.root, need_compose=False, need_pm2=bool(stack.apps), need_engine=False)
    states, _unreachable = query_engines(c, stack, engines)  # an engine that does not answer: nothing known there
    return states


def _ports(stack: Stack, n: int) -> dict[str, int]:
    from multistack.act.shared import instance_plan

    return dict(instance_plan(stack, n).ports)
