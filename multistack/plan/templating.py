"""The one jinja2 environment: strict, deterministic, and imported only to render.

``StrictUndefined`` turns a misspelt variable into an error naming the
template and the variable instead of an empty string in a generated file.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from multistack.errors import StackError

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=None)
def environment(search_path: str | None = None) -> jinja2.Environment:
    """A strict environment loading from ``search_path`` (a user's folder) then the package."""
    import jinja2

    paths = [search_path] if search_path else []
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*paths, str(TEMPLATES)]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tojson"] = lambda v: json.dumps(v, sort_keys=True)
    env.filters["yaml_str"] = lambda v: json.dumps(str(v))  # a JSON string is a valid YAML scalar
    return env


def _explain(exc: Exception) -> str:
    import jinja2

    if isinstance(exc, jinja2.UndefinedError):
        return f"unknown template variable: {exc.message}"
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"template syntax error at line {exc.lineno}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


_SIMPLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z0-9_]+))?\s*\}\}")


def _render_simple(template: str, variables: dict[str, Any]) -> str | None:
    """Plain ``{{ name }}`` / ``{{ name.key }}`` substitution without importing jinja2.

    Read commands (``ports``, ``info``) render URL templates; jinja2 costs more
    to import than the whole command. Anything else (filters, blocks, unknown
    names) returns None and goes to jinja2, which gives the strict error.
    """
    rest = _SIMPLE.sub("", template)
    if "{{" in rest or "{%" in rest or "{#" in rest:
        return None
    out = []
    pos = 0
    for match in _SIMPLE.finditer(template):
        name, key = match.groups()
        if name not in variables:
            return None
        value = variables[name]
        if key is not None:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        if isinstance(value, (dict, list, bool)) or value is None:
            return None
        out += [template[pos:match.start()], str(value)]
        pos = match.end()
    out.append(template[pos:])
    return "".join(out)


def render_string(template: str, variables: dict[str, Any], where: str) -> str:
    """Render one inline template (a value in stack.yaml); errors name ``where``."""
    if "{" not in template:
        return template
    simple = _render_simple(template, variables)
    if simple is not None:
        return simple
    import jinja2

    try:
        return environment().from_string(template).render(variables)
    except (jinja2.TemplateError, TypeError, ValueError) as exc:
        raise StackError(f"{where}: {_explain(exc)}",
                         f"use only: {', '.join(sorted(variables))}") from None


def render_file(name: str, variables: dict[str, Any], user_dir: Path | None = None) -> str:
    """Render a template file: the user's (``user_dir/name``) or the package's ``name``."""
    import jinja2

    env = environment(str(user_dir) if user_dir else None)
    try:
        return env.get_template(name).render(variables)
    except jinja2.TemplateNotFound:
        raise StackError(f"template {name} not found", "check the template path in stack.yaml") from None
    except (jinja2.TemplateError, TypeError, ValueError) as exc:
        raise StackError(f"{name}: {_explain(exc)}", "fix the template or the stack's variables") from None
