"""What the doctor says: one :class:`Finding` per problem, a :class:`Report`, and its table (pure).

Severities: ``error`` (a start would fail), ``warning`` (starts, but
instances interfere or something is lost), ``fixed`` (multistack handles it
itself: in the override, or before ``up``), ``info`` (what was checked).
"""
from __future__ import annotations

import textwrap
from dataclasses import asdict, dataclass
from typing import Any, Iterable

from multistack.model.doctor import CHECKS

SEVERITIES = ("error", "warning", "fixed", "info")


@dataclass(frozen=True)
class Finding:
    """One row of the doctor's table: what is wrong (or was handled), where, and the fix."""

    severity: str  # error | warning | fixed | info
    check: str  # a key of CHECKS
    file: str  # relative to the stack's folder; "" for the machine
    key: str  # key path inside that file, e.g. services.web.container_name
    message: str
    fix: str = ""

    def where(self) -> str:
        return ": ".join(part for part in (self.file, self.key) if part) or "-"

    def describe(self) -> str:
        """``file: key: message``, or the message alone for the machine."""
        return f"{self.where()}: {self.message}" if self.file or self.key else self.message

    def line(self) -> str:
        """One line, for start's output."""
        text = f"{self.severity}: {self.describe()}"
        return f"{text} (fix: {self.fix})" if self.fix else text

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    """Everything ``inv doctor`` prints."""

    stack: str
    instance: int | None
    findings: tuple[Finding, ...]

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def ok(self) -> bool:
        return self.count("error") == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "instance": self.instance,
            "ok": self.ok,
            "counts": {s: self.count(s) for s in SEVERITIES},
            "findings": [f.to_json() for f in self.findings],
        }


def without_ignored(findings: Iterable[Finding], ignore: Iterable[str]) -> list[Finding]:
    """Drop what ``doctor.ignore`` names, except errors: a start would still fail."""
    ignored = set(ignore)
    return [f for f in findings if f.severity == "error" or f.check not in ignored]


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then by check in CHECKS order, then by place."""
    order = list(CHECKS)
    return sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), order.index(f.check), f.file, f.key))


def render_report(report: Report, width: int = 88) -> str:
    """A table of findings; the last column holds where, what and the fix, wrapped to ``width``."""
    title = f"doctor: {report.stack}" + (f", instance {report.instance}" if report.instance is not None else "")
    first = max([len("severity")] + [len(f.severity) for f in report.findings])
    second = max([len("check")] + [len(f.check) for f in report.findings])
    lines = [title, f"{'severity':<{first}}  {'check':<{second}}  where / finding / fix",
             f"{'-' * first}  {'-' * second}  {'-' * width}"]
    indent = " " * (first + second + 4)
    for finding in report.findings:
        cell = [finding.where()] if finding.file or finding.key else []
        cell += textwrap.wrap(finding.message, width)
        if finding.fix:
            cell += textwrap.wrap(f"fix: {finding.fix}", width, subsequent_indent="     ")
        lines.append(f"{finding.severity:<{first}}  {finding.check:<{second}}  {cell[0]}")
        lines += [f"{indent}{text}" for text in cell[1:]]
    counts = ", ".join(f"{s}: {report.count(s)}" for s in SEVERITIES)
    verdict = "ok: nothing here would break a start" if report.ok else "FAILED: fix the errors above before starting"
    return "\n".join(lines) + f"\n\n{counts}; {verdict}"
