"""PM2 app names: the pattern ``pm2.app_name`` in stack.yaml, its names, and its exact inverse (pure).

PM2 names are global to one daemon, across namespaces (pm2#4658), and one
daemon (one ``PM2_HOME``) serves every stack of a user. So the name carries the
project as well as the app and the instance (``shop-api-1``; the seed's
``shipsec-backend-N``): two stacks with an ``api`` app and an instance 1 then
never replace, list or stop each other's apps. The inverse is exact (a full
match against this stack's own app names, checked by formatting it back), so
``shop`` never claims ``myshop-api-1``.
"""
from __future__ import annotations

import re
import string
from typing import Container, Sequence

from multistack.errors import StackError

#: The default pattern: project, app, instance.
DEFAULT_APP_NAME = "{project}-{app}-{n}"
#: The placeholders a pattern may use; ``{app}`` and ``{n}`` are required (else names collide).
PLACEHOLDERS = ("project", "app", "n")
#: A name PM2 handles as a name everywhere: no spaces, quotes, slashes or globs, and not all digits
#: (``pm2 stop 3`` means the app with id 3).
PM2_NAME_RE = re.compile(r"(?![0-9]+$)[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Beyond this many (app, instance) pairs a custom pattern is checked on a sample (first/last 1000 instances).
_CHECK_ALL_UP_TO = 20000
_NUMBER = r"0|[1-9][0-9]*"  # an instance number as written in a name: no leading zeros


def pattern_fields(pattern: str) -> list[str]:
    """The placeholders of ``pattern`` in order; StackError on a malformed one (``{`` unclosed, ``{x:3}``)."""
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise StackError(f"pm2.app_name {pattern!r}: {exc}",
                         "use {project}, {app} and {n}, e.g. {project}-{app}-{n}") from None
    fields = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            written = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise StackError(f"pm2.app_name {pattern!r}: unknown placeholder {{{written}}}",
                             "use only {project}, {app} and {n}")
        fields.append(name)
    return fields


def format_name(pattern: str, project: str, app: str, n: int) -> str:
    """The PM2 name of ``app`` in instance ``n``."""
    return pattern.format(project=project, app=app, n=n)


def check_pattern(pattern: str, project: str, apps: Sequence[str], instances: range) -> None:
    """``pattern`` names every (app, instance) with a valid PM2 name, each one different.

    Without ``{app}`` two apps of one instance get one name; without ``{n}`` one app of two
    instances does. With both, ``{app}{n}`` still gives ``a11`` to app ``a`` of instance 11 and
    app ``a1`` of instance 1: the names are checked, not only the placeholders.
    """
    where = "pm2.app_name"
    fields = pattern_fields(pattern)
    for needed in ("app", "n"):
        if needed not in fields:
            raise StackError(f"{where} {pattern!r}: must contain {{{needed}}}",
                             "every app of every instance needs its own name, e.g. {project}-{app}-{n}")
    if pattern == DEFAULT_APP_NAME or not apps:
        return  # the default ends in -<digits>: unique by construction, and the project is a valid name part
    numbers = list(instances)
    if len(numbers) * len(apps) > _CHECK_ALL_UP_TO:
        numbers = numbers[:1000] + numbers[-1000:]
    seen: dict[str, tuple[str, int]] = {}
    for n in numbers:
        for app in apps:
            name = format_name(pattern, project, app, n)
            if not PM2_NAME_RE.fullmatch(name):
                raise StackError(f"{where} {pattern!r} makes {name!r} for app {app} of instance {n}: "
                                 "not a valid PM2 name",
                                 "use letters, digits, '-', '_' and '.', starting with a letter or digit")
            if name in seen:
                other = seen[name]
                raise StackError(f"{where} {pattern!r} gives {name!r} to app {other[0]} of instance {other[1]} "
                                 f"and to app {app} of instance {n}",
                                 "put a separator between {app} and {n}, e.g. {project}-{app}-{n}")
            seen[name] = (app, n)


def name_regex(pattern: str, project: str, apps: Sequence[str]) -> re.Pattern[str]:
    """A full-match regex of this stack's app names: group ``app`` and group ``n``."""
    parts = []
    for literal, name, _, _ in string.Formatter().parse(pattern):
        parts.append(re.escape(literal))
        if name == "project":
            parts.append(re.escape(project))
        elif name == "app":
            parts.append("(?P<app>" + "|".join(re.escape(a) for a in sorted(apps, key=len, reverse=True)) + ")"
                         if "(?P<app>" not in "".join(parts) else "(?P=app)")
        elif name == "n":
            parts.append(f"(?P<n>{_NUMBER})" if "(?P<n>" not in "".join(parts) else "(?P=n)")
    return re.compile("".join(parts))


def parse_name(pattern: str, project: str, apps: Sequence[str], name: str,
               instances: Container[int] | None = None) -> tuple[str, int] | None:
    """``(app, n)`` when ``name`` is one of this stack's app names, else None (exact: formatted back).

    With ``instances``, a reading whose n is in the range comes first: under ``{app}{n}`` over 10-19,
    ``a12`` is app ``a`` of 12, not app ``a1`` of 2 (the load check made sure only one reading is in
    range). Without one in range (an app left from a wider range), the longest app's reading.
    """
    readings = []
    for app in sorted(apps, key=len, reverse=True):  # the longest app first, as the one regex did
        match = name_regex(pattern, project, [app]).fullmatch(name)
        if match and format_name(pattern, project, app, int(match.group("n"))) == name:
            readings.append((app, int(match.group("n"))))
    in_range = [r for r in readings if instances is not None and r[1] in instances]
    return (in_range or readings or [None])[0]
