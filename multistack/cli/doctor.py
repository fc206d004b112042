"""Checks: `inv doctor [N] [--json]` finds what would break running several instances.

Static checks read stack.yaml and the compose files (fixed container_name,
host ports no declared service covers, missing bind-mount sources, shared
networks, aliases, volumes and image tags); machine checks ask the engines
(Compose version, Docker engine, PM2, external networks, address pools) and,
for instance N, whether each of its ports is free. Exit code 5 when anything
would break a start (docs/doctor.md).
"""
from __future__ import annotations

from invoke import Context

from multistack.cli.exits import task, user_errors

HELP = {
    "arg": "the instance whose ports to check, given positionally: `inv doctor 1` (default: no port check)",
    "json": "print the findings as JSON: {stack, instance, ok, counts, findings: [...]}",
}


@task(name="doctor", iterable=["arg"], help=HELP)
@user_errors
def doctor_(c: Context, arg: list[str] | None = None, json: bool = False) -> None:
    """Check the stack and this machine for what breaks several instances: `inv doctor [N] [--json]`."""
    import json as jsonlib

    from multistack.act.doctor import render_report, run_doctor
    from multistack.errors import DoctorError, StackError
    from multistack.model.names import parse_instance_number
    from multistack.model.stack import load_stack
    from multistack.plan.masking import mask_json, mask_text

    stack = load_stack()
    words = arg or []
    if len(words) > 1:
        raise StackError(f"too many arguments: {' '.join(words)}", "use `inv doctor [N]`, e.g. `inv doctor 1`")
    n = parse_instance_number(words[0], stack) if words else None
    if n is not None:  # instance N's engine is asked: an SSH engine's connection first (act/engines.py)
        from multistack.act.engines import reached_for

        stack = reached_for(c, stack, "doctor", n)
    report = run_doctor(c, stack, n)
    # JSON is masked as data (mask_json): mask_text over JSON text would read `"key": "services.x"` as a secret field.
    print(jsonlib.dumps(mask_json(report.to_json()), indent=2) if json else mask_text(render_report(report)))
    errors = report.count("error")
    if errors:
        first = next(f for f in report.findings if f.severity == "error")
        raise DoctorError(f"doctor found {errors} problem(s) that would break a start, first: {first.describe()}",
                          first.fix or "see the fix lines above")


doctor_.optional_positionals = True  # type: ignore[attr-defined]
