"""Shared mode: one infra stack for many instances, each isolated by its namespace.

``mode: shared`` in stack.yaml (or ``inv dev N start --shared``) runs the
infra once, as the compose project ``<project>-shared`` (``inv dev.infra-up``)
or a mesh, and instance N's apps only. What keeps instances apart is then
per-instance state *inside* the shared services (a database, a bucket, a
Temporal namespace), created by the ``provision:`` steps of stack.yaml::

    provision:
      database:                      # steps run in order on start, teardown in reverse on clean
        run_in: postgres             # `host` (default) or a compose service: docker compose exec -T
        exists: psql -U app -tAc "SELECT 1 FROM pg_database WHERE datname = '{{ database }}'"
        create: ...                  # a shell string (run by sh -c) or an argv list; jinja over the
        teardown: ...                # instance's variables ({{ database }}, {{ names.bucket }}...)

Idempotency belongs to the commands themselves (``CREATE DATABASE`` cannot
run inside ``DO $$``: use ``SELECT 'CREATE DATABASE x' WHERE NOT EXISTS
(...) \\gexec``, piped to psql since ``-c`` does not take meta-commands).
``exists`` is what lets a run *say* what it did: it prints something when the
thing exists and nothing when it does not; a failing ``exists`` is an error,
never taken for "absent" (a server that is down must not look like an empty
one). Without ``exists`` a step always runs ``create`` and reports ``ran``.

Everything goes through :func:`multistack.shell.run`/``probe``, so ``--dry``
prints the exact commands and creates nothing.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence, TextIO, Union

from multistack.plan.compose import ALL_PROFILES, DEFAULT_COMPOSE
from multistack.errors import CommandFailed, StackError

if TYPE_CHECKING:
    from invoke import Context

    from multistack.plan.instance import Instance
    from multistack.model.stack import Stack, _Node

MODES = ("isolated", "shared")
DEFAULT_MODE = "isolated"
#: ``--shared``/``--isolated`` given to ``start`` stick to the instance (until clean) in this file.
MODE_FILE = "mode"
HOST = "host"
_SERVICE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_STEP_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

Command = Union[str, tuple[str, ...]]


# --------------------------------------------------------------------------
# Mode


def stack_mode(stack: Stack) -> str:
    """``mode:`` of stack.yaml, default isolated."""
    value = stack.sections.get("mode", DEFAULT_MODE)
    if value not in MODES:
        raise StackError(f"{stack.path.name}: mode: must be one of {', '.join(MODES)}, got {value!r}",
                         "isolated runs one infra per instance; shared runs it once")
    return value


def recorded_mode(stack: Stack, n: int) -> str | None:
    """The mode ``start --shared``/``--isolated`` left in the instance's folder, if any."""
    try:
        value = (stack.instance_dir(n) / MODE_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return value if value in MODES else None


def resolve_mode(stack: Stack, n: int, flag: str | None = None) -> str:
    """A flag, else the instance's remembered flag, else the stack's ``mode:``."""
    if flag is not None:
        if flag not in MODES:
            raise StackError(f"unknown mode {flag!r}", f"use one of: {', '.join(MODES)}")
        return flag
    return recorded_mode(stack, n) or stack_mode(stack)


def remember_mode(inst: Instance) -> None:
    """Make ``inst.mode`` the instance's own, so stop/clean/info act in the mode start used."""
    from multistack.io.writer import atomic_write

    path = inst.dir / MODE_FILE
    if recorded_mode(inst.stack, inst.n) != inst.mode:
        atomic_write(path, f"{inst.mode}\n")


# --------------------------------------------------------------------------
# The provision: section


@dataclass(frozen=True)
class Step:
    name: str
    create: Command
    exists: Command | None = None
    teardown: Command | None = None
    run_in: str = HOST  # or a compose service of the shared project


def parse_steps(stack: Stack) -> tuple[Step, ...]:
    """Validate ``provision:`` (a mapping of step name to step, run in the order written)."""
    from multistack.model.stack import _Node

    raw = stack.sections.get("provision")
    if raw is None:
        return ()
    top = _Node(raw, "provision", stack.path.name)
    steps = []
    for name, value in top.items():
        if not _STEP_RE.match(name):
            top.fail("step names are lowercase letters, digits, - and _", name)
        if not isinstance(value, dict):
            top.fail("must be a mapping with at least `create`", name)
        node = _Node(value, top.where(name), top.file)  # the raw value: a YAML key 1 is not "1"
        create = _command(node, "create")
        if create is None:
            node.fail("missing required key 'create'", hint="the command that creates the thing, idempotently")
        exists = _command(node, "exists")
        teardown = _command(node, "teardown")
        run_in = node.string("run_in", HOST)
        if run_in != HOST:
            if not _SERVICE_RE.match(run_in):
                node.fail(f"{run_in!r} is neither `host` nor a compose service name", "run_in")
            if not stack.compose_files:
                node.fail(f"runs in compose service {run_in!r} but the stack lists no compose files", "run_in",
                          "use `run_in: host`, or list the shared infra's compose files under compose.files")
        node.done()
        steps.append(Step(name, create, exists, teardown, run_in))
    return tuple(steps)


def _command(node: _Node, key: str) -> Command | None:
    value = node.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
        return tuple(str(v) for v in value)
    node.fail("must be a shell command string or a non-empty list of arguments", key)
    return None


# --------------------------------------------------------------------------
# Commands (pure)


def shared_project(stack: Stack) -> str:
    """The compose project of the shared infra; never an instance's ``<project>-dev-N``."""
    return f"{stack.project}-shared"


def shared_compose_args(stack: Stack, compose: Sequence[str] = DEFAULT_COMPOSE) -> list[str]:
    argv = [*compose, "-p", shared_project(stack)]
    for rel in stack.compose_files:
        argv += ["-f", str(stack.root / rel)]
    return argv


def infra_up(stack: Stack, compose: Sequence[str] = DEFAULT_COMPOSE) -> list[str]:
    """The shared infra on the compose files' own ports (the base ports, instance 0's)."""
    return [*shared_compose_args(stack, compose), "up", "-d", "--remove-orphans", "--wait"]


def infra_down(stack: Stack, compose: Sequence[str] = DEFAULT_COMPOSE, volumes: bool = False) -> list[str]:
    argv = [*shared_compose_args(stack, compose), *ALL_PROFILES, "down", "--remove-orphans"]
    return argv + ["--volumes"] if volumes else argv


def render_command(command: Command, variables: dict[str, Any], where: str) -> list[str]:
    """An argv: a list is rendered item by item; a string is rendered and run by ``sh -c``."""
    from multistack.plan.templating import render_string

    if isinstance(command, str):
        return ["sh", "-c", render_string(command, variables, where=where)]
    return [render_string(part, variables, where=f"{where}[{i}]") for i, part in enumerate(command)]


def step_argv(step: Step, which: str, inst: Instance, compose: Sequence[str] = DEFAULT_COMPOSE,
              variables: dict[str, Any] | None = None) -> list[str] | None:
    """The argv of ``step.<which>`` for ``inst`` (None when the step has no such command)."""
    command = getattr(step, which)
    if command is None:
        return None
    argv = render_command(command, variables if variables is not None else inst.variables(),
                          where=f"{inst.stack.path.name}: provision.{step.name}.{which}")
    if step.run_in == HOST:
        return argv
    return [*shared_compose_args(inst.stack, compose), "exec", "-T", step.run_in, *argv]


# --------------------------------------------------------------------------
# Running


@dataclass(frozen=True)
class Outcome:
    step: str
    state: str  # created | present | ran | would create | removed | absent | no teardown | would remove

    def line(self, width: int = 0) -> str:
        note = {"present": " (nothing to do)", "absent": " (nothing to remove)",
                "ran": " (no `exists` check: cannot tell whether it created something)"}.get(self.state, "")
        return f"  {self.step:<{width}}  {self.state}{note}"


def provision(c: Context, inst: Instance, compose: Sequence[str] = DEFAULT_COMPOSE,
              out: TextIO | None = None, err: TextIO | None = None) -> list[Outcome]:
    """Run every step's ``create`` that is needed, in order; say what each did."""
    from multistack.model.namespaces import check_stack

    steps = parse_steps(inst.stack)
    if not steps:
        return []
    check_stack(inst.stack)
    variables = inst.variables()
    outcomes = []
    for step in steps:
        if step.exists is not None and _exists(c, step, inst, compose, variables, err):
            outcomes.append(Outcome(step.name, "present"))
            continue
        _act(c, step, "create", inst, compose, variables, out, err)
        if _dry(c):
            outcomes.append(Outcome(step.name, "would create"))
        elif step.exists is None:
            outcomes.append(Outcome(step.name, "ran"))
        elif _exists(c, step, inst, compose, variables, err):
            outcomes.append(Outcome(step.name, "created"))
        else:
            raise CommandFailed(f"instance {inst.n}: provision step {step.name!r}: `create` succeeded but "
                                "`exists` still prints nothing",
                                f"check that provision.{step.name}.exists and .create name the same thing")
    _report(inst, "provision", outcomes, out)
    return outcomes


def teardown(c: Context, inst: Instance, compose: Sequence[str] = DEFAULT_COMPOSE,
             out: TextIO | None = None, err: TextIO | None = None) -> list[Outcome]:
    """Run the steps' ``teardown`` for this instance only, in reverse order."""
    from multistack.model.namespaces import check_stack

    steps = parse_steps(inst.stack)
    if not steps:
        return []
    check_stack(inst.stack)  # never tear down a name another instance shares
    variables = inst.variables()
    outcomes = []
    for step in reversed(steps):
        if step.teardown is None:
            outcomes.append(Outcome(step.name, "no teardown"))
            continue
        if step.exists is not None and not _dry(c) and not _exists(c, step, inst, compose, variables, err):
            outcomes.append(Outcome(step.name, "absent"))
            continue
        _act(c, step, "teardown", inst, compose, variables, out, err)
        outcomes.append(Outcome(step.name, "would remove" if _dry(c) else "removed"))
    _report(inst, "teardown", outcomes, out)
    return outcomes


def _dry(c: Context) -> bool:
    from multistack.io.shell import is_dry

    return is_dry(c)


def _streams(out: TextIO | None, err: TextIO | None) -> dict[str, Any]:
    return {k: v for k, v in (("out_stream", out), ("err_stream", err)) if v is not None}


def _exists(c: Context, step: Step, inst: Instance, compose: Sequence[str], variables: dict[str, Any],
            err: TextIO | None) -> bool:
    from multistack.io.shell import probe

    argv = step_argv(step, "exists", inst, compose, variables)
    assert argv is not None
    result = probe(c, argv)
    if not result.ok:
        reason = (result.stderr.strip().splitlines() or [f"exit {result.exited}"])[-1]
        raise CommandFailed(f"instance {inst.n}: provision step {step.name!r}: `exists` check failed: {reason}",
                            "is the shared infra up (`inv dev.infra-up`)? run the check by hand with `inv --dry`")
    return bool(result.stdout.strip())


def _act(c: Context, step: Step, which: str, inst: Instance, compose: Sequence[str], variables: dict[str, Any],
         out: TextIO | None, err: TextIO | None) -> None:
    from invoke.exceptions import UnexpectedExit

    from multistack.io.shell import run

    argv = step_argv(step, which, inst, compose, variables)
    assert argv is not None
    try:
        result = run(c, argv, **_streams(out, err))
    except UnexpectedExit as exc:
        result = exc.result
    if result.failed:
        raise CommandFailed(f"instance {inst.n}: provision step {step.name!r}: `{which}` failed "
                            f"(exit {result.exited})", "its output above says why; fix it and rerun")


def _report(inst: Instance, action: str, outcomes: list[Outcome], out: TextIO | None) -> None:
    stream = out or sys.stdout
    width = max(len(o.step) for o in outcomes)
    print(f"{action} of instance {inst.n} (namespace {inst.namespace}):", file=stream)
    for outcome in outcomes:
        print(outcome.line(width), file=stream)
    print(summary(inst, action, outcomes), file=stream)


def summary(inst: Instance, action: str, outcomes: list[Outcome]) -> str:
    """One line: what changed. ``nothing new`` is what a second ``start`` must say."""
    count = {state: sum(1 for o in outcomes if o.state == state) for state in {o.state for o in outcomes}}
    if action == "provision":
        if count.get("would create"):
            return f"instance {inst.n}: would create {count['would create']} (dry run)"
        new = count.get("created", 0)
        ran = count.get("ran", 0)
        present = count.get("present", 0)
        if new == 0 and ran == 0:
            return f"instance {inst.n}: nothing new to provision ({present} already present)"
        parts = [f"created {new}"] + ([f"ran {ran} without exists check"] if ran else [])
        return f"instance {inst.n}: {', '.join(parts)}, {present} already present"
    if count.get("would remove"):
        return f"instance {inst.n}: would remove {count['would remove']} (dry run)"
    return (f"instance {inst.n}: removed {count.get('removed', 0)}, {count.get('absent', 0)} already absent"
            + (f", {count['no teardown']} without teardown" if count.get("no teardown") else ""))
