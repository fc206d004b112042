"""The one jinja2 environment: strict, sandboxed, deterministic, and imported only to render.

``StrictUndefined`` turns a misspelt variable into an error naming the
template and the variable instead of an empty string in a generated file.
Every run-time error a template can cause (``{{ n / 0 }}``, a huge power, a
macro that calls itself, a filter given the wrong type) is one line naming the
template, the line and the error, exit 2; a user template that is not UTF-8
reads like any user file (:mod:`multistack.model.usertext`).
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from multistack.errors import StackError
from multistack.model.usertext import decode_user_text

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).parent / "templates"


#: The largest result a template's ``**`` or ``*`` may build: bits of an integer, items of a string or list.
MAX_POWER_BITS = 100_000
MAX_REPEAT = 10_000_000


@lru_cache(maxsize=None)
def environment(search_path: str | None = None) -> jinja2.Environment:
    """A strict, sandboxed environment loading from ``search_path`` (a user's folder) then the package.

    Sandboxed: a template cannot reach Python internals, and a power or a
    repetition whose result would not fit in memory (``{{ 10 ** 10 ** 10 }}``,
    ``{{ "x" * 10 ** 12 }}``) is refused before it is computed.
    """
    paths = [search_path] if search_path else []
    env = _classes().Environment(
        loader=_classes().Loader([*paths, str(TEMPLATES)]),
        undefined=_undefined(),
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tojson"] = lambda v: json.dumps(v, sort_keys=True)
    env.filters["yaml_str"] = lambda v: json.dumps(str(v))  # a JSON string is a valid YAML scalar
    return env


def _undefined() -> type:
    import jinja2

    return jinja2.StrictUndefined


@lru_cache(maxsize=None)
def _classes() -> Any:
    """The sandboxed environment and the strict loader, built on first use (jinja2 stays out of import time)."""
    import types

    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    class Environment(SandboxedEnvironment):
        """Refuses ``**`` and ``*`` whose result would be huge (the sandbox alone computes them)."""

        intercepted_binops = frozenset({"**", "*"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            check_binop(operator, left, right)
            return super().call_binop(context, operator, left, right)

    class Loader(jinja2.FileSystemLoader):
        """A user's template file decoded like every user file: invalid UTF-8 names the file and line."""

        def get_source(self, environment: Any, template: str) -> Any:
            try:
                return super().get_source(environment, template)
            except UnicodeDecodeError:
                for folder in self.searchpath:
                    path = Path(folder) / template
                    if path.is_file():
                        decode_user_text(path.read_bytes(), template)
                raise

    return types.SimpleNamespace(Environment=Environment, Loader=Loader)


def check_binop(operator: str, left: Any, right: Any) -> None:
    """A TemplateError-shaped refusal of a power or repetition too large to compute."""
    from jinja2.sandbox import SecurityError

    if operator == "**" and _is_int(left) and _is_int(right) and abs(left) > 1 and right > 0:
        if right * abs(left).bit_length() > MAX_POWER_BITS:
            raise SecurityError(f"{left} ** {right} is too large to compute")
    if operator == "*":
        for times, seq in ((left, right), (right, left)):
            if _is_int(times) and isinstance(seq, (str, list, tuple)) and times * max(len(seq), 1) > MAX_REPEAT:
                raise SecurityError(f"repeating a value {times} times is too large")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: What a template can raise while it renders: its own errors and Python's, from the values it computes.
def _render_errors() -> tuple[type[BaseException], ...]:
    import jinja2

    return (jinja2.TemplateError, ArithmeticError, RecursionError, TypeError, ValueError, LookupError,
            AttributeError)


def _explain(exc: BaseException, filename: str | None = None) -> str:
    import jinja2
    from jinja2.sandbox import SecurityError

    if isinstance(exc, jinja2.UndefinedError):
        return f"unknown template variable: {exc.message}"
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"template syntax error at line {exc.lineno}: {exc.message}"
    line = _template_line(exc, filename)
    where = f" at line {line}" if line else ""
    if isinstance(exc, RecursionError):
        return f"template error{where}: recursion too deep (a macro that calls itself?)"
    if isinstance(exc, SecurityError):
        return f"template error{where}: {exc}"
    return f"template error{where}: {type(exc).__name__}: {exc}"


def _template_line(exc: BaseException, filename: str | None) -> int | None:
    """The template line a run-time error happened at (jinja2 rewrites tracebacks to template lines)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == (filename or "<template>"):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


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
    try:
        return environment().from_string(template).render(variables)
    except _render_errors() as exc:
        raise StackError(f"{where}: {_explain(exc)}",
                         f"use only: {', '.join(sorted(variables))}") from None


def render_file(name: str, variables: dict[str, Any], user_dir: Path | None = None) -> str:
    """Render a template file: the user's (``user_dir/name``) or the package's ``name``."""
    import jinja2

    env = environment(str(user_dir) if user_dir else None)
    try:
        template = env.get_template(name)
        return template.render(variables)
    except jinja2.TemplateNotFound:
        raise StackError(f"template {name} not found", "check the template path in stack.yaml") from None
    except _render_errors() as exc:
        raise StackError(f"{name}: {_explain(exc, _filename(env, name))}",
                         "fix the template or the stack's variables") from None


def _filename(env: jinja2.Environment, name: str) -> str | None:
    """The file jinja2 loaded ``name`` from (its traceback frames carry that name)."""
    try:
        return env.get_template(name).filename
    except Exception:  # noqa: BLE001 - only used to find a line number
        return None
