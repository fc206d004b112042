"""``inv doctor``: what in the user's compose files or on the machine would break instances.

Most multi-instance failures come from the user's compose files, not from
multistack: a fixed ``container_name``, a host port no declared service
covers, a bind-mounted file that does not exist yet (Docker then makes a
directory in its place), an alias on a shared network, more instances than
the engine has network address pools. The doctor finds them before ``up``
fails halfway, as :class:`Finding` rows (severity, check, file, key,
message, fix). One module per concept:

* :mod:`~multistack.model.doctor`: the ``doctor:`` section of stack.yaml and the table of checks;
* :mod:`~multistack.plan.compose_model`: the merged compose configuration of one instance (pure);
* :mod:`.static`: the static checks, comparing two instances' configurations (pure given the views);
* :mod:`.machine`: Compose, engine, PM2, networks, pools, ports, and the bind files to create (I/O);
* :mod:`.report`: findings, the report and its table.

This module puts them together: :func:`analyse` (the static checks of a
stack, which ``start`` runs through :func:`preflight`) and :func:`run_doctor`
(everything ``inv doctor`` prints).
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Mapping, TextIO

from multistack.act.doctor.machine import (check_settings_files, create_bind_files, machine_checks, path_kind,
                                           pool_capacity)
from multistack.act.doctor.report import SEVERITIES, Finding, Report, render_report, sort_findings, without_ignored
from multistack.act.doctor.static import (FAST_CHECKS, SHARED_MODE_CHECKS, BindFile, PathKind, StaticReport,
                                          shown_path, static_checks)
from multistack.errors import DoctorError
from multistack.io.compose_files import read_stack_files
from multistack.io.userfiles import read_user_text
from multistack.model.sources import StackFiles
from multistack.model.compose_doc import parse_compose
from multistack.model.doctor import CHECKS, DoctorSettings
from multistack.plan.masking import mask_text
from multistack.model.stack import Stack
from multistack.plan.compose_model import interpolate, merge_view, parse_port
from multistack.plan.envfiles import read_env_values
from multistack.act.shared import instance_plan
from multistack.plan.instance import plan_instance
from multistack.plan.render import OVERRIDE, GeneratedFile, render_instance

if TYPE_CHECKING:
    from invoke import Context

    from multistack.plan.instance import Instance

__all__ = [
    "CHECKS", "FAST_CHECKS", "SEVERITIES", "SHARED_MODE_CHECKS", "BindFile", "DoctorSettings", "Finding", "Report",
    "StaticReport", "analyse", "create_bind_files", "doctor_settings", "interpolate", "machine_checks", "parse_port",
    "pool_capacity", "preflight", "render_report", "run_doctor",
]


def doctor_settings(stack: Stack) -> DoctorSettings:
    """The stack's ``doctor:`` section (validated by parse_stack, see :mod:`multistack.model.doctor`)."""
    return stack.doctor


def analyse(stack: Stack, n: int | None = None, kind: PathKind = path_kind, *, inst: Instance | None = None,
            rendered: Mapping[str, GeneratedFile] | None = None, sources: StackFiles | None = None) -> StaticReport:
    """The static checks for instance ``n`` (default: the first): reads, never writes.

    Each base compose file is read once; the override is rendered for ``n``
    and for a second instance, and each merged view compared with the other.
    ``inst`` (the caller's plan of ``n``) and ``rendered`` (its files, as the
    caller rendered them) save planning and rendering ``n`` a second time; ``sources``
    (the stack's files as the caller read them) saves reading them again.
    """
    settings = doctor_settings(stack)
    check_settings_files(stack, settings)
    if not stack.compose_files:
        return StaticReport()
    n = (inst.n if inst else stack.first) if n is None else n
    own = inst if inst is not None and inst.n == n else instance_plan(stack, n)
    sources = sources or read_stack_files(stack)
    docs = sources.compose
    project_dir = (stack.root / stack.compose_files[0]).parent.resolve()
    views = []
    override_file = ""
    for number in (n, _other_instance(stack, n)):
        isolated = own if number == n and own.mode == "isolated" else None
        plan = isolated or plan_instance(stack, number, mode="isolated")  # the plan whose names and ports could collide
        files = rendered if isolated is not None and rendered is not None else render_instance(plan, sources)
        name = shown_path(plan.dir / OVERRIDE, stack.root)
        if number == n:
            override_file = name
        override = parse_compose(files[OVERRIDE].text, name, base=False)
        views.append(merge_view([*docs, override], compose_variables(stack, files), project_dir))
    base = merge_view(docs, views[0].variables, project_dir)
    report = static_checks(stack, settings, base, views[0], views[1], n, override_file, kind)
    if own.mode == "shared":  # one infra for every instance: nothing of it can collide between instances
        kept = tuple(f for f in report.findings if f.check in SHARED_MODE_CHECKS)
        return StaticReport(kept, report.bind_files, 0, report.shared_networks, report.external_networks)
    return report


def _other_instance(stack: Stack, n: int) -> int:
    """The instance compared with ``n``: the next one, or the previous one for the last."""
    return n + 1 if n < stack.last or stack.first == stack.last else n - 1


def compose_variables(stack: Stack, rendered: Mapping[str, Any]) -> dict[str, str]:
    """The values compose interpolates with: the instance's ``--env-file``s, else the project's ``.env``."""
    texts = [rendered[name].text for name in stack.compose_env_files if name in rendered]
    if not stack.compose_env_files and stack.compose_files:
        dotenv = (stack.root / stack.compose_files[0]).parent / ".env"
        if dotenv.is_file():
            texts.append(read_user_text(dotenv) or "")
    values: dict[str, str] = {}
    for text in texts:
        values.update({k: v or "" for k, v in read_env_values(text).items()})
    return values


def preflight(inst: Instance, err: TextIO | None = None,
              rendered: Mapping[str, GeneratedFile] | None = None, sources: StackFiles | None = None) -> StaticReport:
    """The fast subset ``start`` runs before acting: refuse on errors, print warnings.

    ``rendered``: the instance's files if the caller already rendered them (start writes them next),
    from ``sources``, the stack's files as the caller read them.
    """
    report = analyse(inst.stack, inst.n, inst=inst, rendered=rendered, sources=sources)
    errors = [f for f in report.findings if f.severity == "error"]
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        first = errors[0]
        raise DoctorError(f"instance {inst.n} cannot start: {first.describe()}{more}",
                          f"{first.fix}; `inv doctor {inst.n}` lists every problem")
    for finding in report.findings:
        if finding.severity == "warning":
            print(mask_text(finding.line()), file=err or sys.stderr)
    return report


def run_doctor(c: Context, stack: Stack, n: int | None = None) -> Report:
    """Static and machine checks; with ``n``, that instance's host ports too."""
    report = analyse(stack, n)
    inst = instance_plan(stack, n) if n is not None else None
    findings = list(report.findings) + machine_checks(c, stack, report, inst)
    if inst is None:
        findings.append(Finding("info", "port-taken", "", "", "ports not checked: give an instance number "
                                                              f"(`inv doctor {stack.first}`)"))
    ignore = doctor_settings(stack).ignore
    return Report(str(stack.path), n, tuple(sort_findings(without_ignored(findings, ignore))))
