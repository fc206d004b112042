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

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence, TextIO

from multistack.plan.compose import DEFAULT_COMPOSE, ComposeCli, ComposeProject
from multistack.errors import CommandFailed, StackError
from multistack.plan.masking import mask_text
from multistack.io.shell import for_real
from multistack.model.provision import HOST, MODES, Command, Step

if TYPE_CHECKING:
    from invoke import Context

    from multistack.plan.instance import Instance
    from multistack.model.stack import Stack

#: ``--shared``/``--isolated`` given to ``start`` stick to the instance (until clean) in this file.
MODE_FILE = "mode"


# --------------------------------------------------------------------------
# Mode


def recorded_mode(stack: Stack, n: int) -> str | None:
    """The mode ``start --shared``/``--isolated`` left in the instance's folder, if any."""
    try:
        value = (stack.instance_dir(n) / MODE_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):  # unreadable or not text: no recorded mode
        return None
    return value if value in MODES else None


def resolve_mode(stack: Stack, n: int, flag: str | None = None) -> str:
    """A flag, else the instance's remembered flag, else the stack's ``mode:``."""
    if flag is not None:
        if flag not in MODES:
            raise StackError(f"unknown mode {flag!r}", f"use one of: {', '.join(MODES)}")
        return flag
    return recorded_mode(stack, n) or stack.mode


def instance_plan(stack: Stack, n: int, flag: str | None = None) -> Instance:
    """Instance ``n`` planned in its mode: the flag, else the remembered one, else the stack's."""
    from multistack.plan.instance import plan_instance

    return plan_instance(stack, n, resolve_mode(stack, n, flag))


def remember_mode(inst: Instance) -> None:
    """Make ``inst.mode`` the instance's own, so stop/clean/info act in the mode start used."""
    from multistack.io.paths import instance_file
    from multistack.io.writer import atomic_write

    path = instance_file(inst.stack, inst.n, MODE_FILE, inst.project_name)  # never through a link
    if recorded_mode(inst.stack, inst.n) != inst.mode:
        atomic_write(path, f"{inst.mode}\n")


# --------------------------------------------------------------------------
# Commands (pure)


def shared_project(stack: Stack) -> str:
    """The compose project of the shared infra; never an instance's ``<project>-dev-N``."""
    return f"{stack.project}-shared"


def shared_compose(stack: Stack, compose: Sequence[str] = DEFAULT_COMPOSE) -> ComposeProject:
    """The shared infra's compose project (the stack's files, on the default engine)."""
    project = ComposeProject.for_shared(shared_project(stack), stack.root, stack.compose_files)
    return ComposeProject(project.name, project.files, project.env_files, ComposeCli(tuple(compose)))


def shared_compose_args(stack: Stack, compose: Sequence[str] = DEFAULT_COMPOSE) -> list[str]:
    return shared_compose(stack, compose).args()


def infra_up(stack: Stack, compose: Sequence[str] = DEFAULT_COMPOSE) -> list[str]:
    """The shared infra on the compose files' own ports (the base ports, instance 0's)."""
    return shared_compose(stack, compose).up()


def infra_down(stack: Stack, compose: Sequence[str] = DEFAULT_COMPOSE, volumes: bool = False) -> list[str]:
    return shared_compose(stack, compose).down(volumes=volumes)


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
    return shared_compose(inst.stack, compose).exec(step.run_in, argv)


# --------------------------------------------------------------------------
# Running


@dataclass(frozen=True)
class StepOutcome:
    """What one provision step did for an instance (a job's outcome is act.parallel.Outcome)."""

    step: str
    state: str  # created | present | ran | would create | removed | absent | no teardown | would remove

    def line(self, width: int = 0) -> str:
        note = {"present": " (nothing to do)", "absent": " (nothing to remove)",
                "ran": " (no `exists` check: cannot tell whether it created something)"}.get(self.state, "")
        return f"  {self.step:<{width}}  {self.state}{note}"


def provision(c: Context, inst: Instance, compose: Sequence[str] = DEFAULT_COMPOSE,
              out: TextIO | None = None, err: TextIO | None = None) -> list[StepOutcome]:
    """Run every step's ``create`` that is needed, in order; say what each did."""
    from multistack.plan.namespaces import check_stack

    steps = inst.stack.provision
    if not steps:
        return []
    check_stack(inst.stack)
    variables = inst.variables()
    outcomes = []
    for step in steps:
        if step.exists is not None and _exists(c, step, inst, compose, variables, err):
            outcomes.append(StepOutcome(step.name, "present"))
            continue
        _act(c, step, "create", inst, compose, variables, out, err)
        state = for_real(c, lambda: _created(c, step, inst, compose, variables, err), dry=lambda: "would create")
        outcomes.append(StepOutcome(step.name, state or "would create"))
    _report(inst, "provision", outcomes, out)
    return outcomes


def teardown(c: Context, inst: Instance, compose: Sequence[str] = DEFAULT_COMPOSE,
             out: TextIO | None = None, err: TextIO | None = None) -> list[StepOutcome]:
    """Run the steps' ``teardown`` for this instance only, in reverse order."""
    from multistack.plan.namespaces import check_stack

    steps = inst.stack.provision
    if not steps:
        return []
    check_stack(inst.stack)  # never tear down a name another instance shares
    variables = inst.variables()
    outcomes = []
    for step in reversed(steps):
        if step.teardown is None:
            outcomes.append(StepOutcome(step.name, "no teardown"))
            continue
        # --dry does not ask `exists` here: it shows the teardown itself
        if step.exists is not None and for_real(c, lambda: not _exists(c, step, inst, compose, variables, err),
                                                dry=lambda: False):
            outcomes.append(StepOutcome(step.name, "absent"))
            continue
        _act(c, step, "teardown", inst, compose, variables, out, err)
        outcomes.append(StepOutcome(step.name, for_real(c, lambda: "removed", dry=lambda: "would remove") or "removed"))
    _report(inst, "teardown", outcomes, out)
    return outcomes


def _created(c: Context, step: Step, inst: Instance, compose: Sequence[str], variables: dict[str, Any],
             err: TextIO | None) -> str:
    """After ``create``: ``ran`` without an ``exists`` check, ``created`` when it now says so."""
    if step.exists is None:
        return "ran"
    if _exists(c, step, inst, compose, variables, err):
        return "created"
    raise CommandFailed(f"instance {inst.n}: provision step {step.name!r}: `create` succeeded but "
                        "`exists` still prints nothing",
                        f"check that provision.{step.name}.exists and .create name the same thing")


def _streams(out: TextIO | None, err: TextIO | None) -> dict[str, Any]:
    """Explicit streams mean "beside other instances" (clean --all): shell.run then gives no stdin."""
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


def _report(inst: Instance, action: str, outcomes: list[StepOutcome], out: TextIO | None) -> None:
    stream = out or sys.stdout
    width = max(len(o.step) for o in outcomes)
    print(f"{action} of instance {inst.n} (namespace {inst.namespace}):", file=stream)
    for outcome in outcomes:
        print(mask_text(outcome.line(width)), file=stream)
    print(step_summary(inst, action, outcomes), file=stream)


def step_summary(inst: Instance, action: str, outcomes: list[StepOutcome]) -> str:
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
