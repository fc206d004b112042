"""Per-instance copies of the stack's env files: the same text, this instance's ports.

This replaces a sed script that moved any matching digits (inside longer
numbers, in passwords, keys and comments) and broke quoting. Here each file is
parsed by python-dotenv, the parser that reads the copies back, and only the
characters of values that carry a port or that the stack overrides change;
every other byte, comments, blank lines, ``export`` and quotes included, is
copied as is. All functions are pure: callers read and write the files.

What counts as a port (instance 0's base port of a declared service):

* in a value, a run of digits right after a ``:`` and followed by neither a
  digit nor ``@`` (``localhost:5433``, ``http://h:3211/api``, ``a:9092,b:9092``),
  outside any URL's ``user:password@`` part, and, when the caller passes
  ``local_hosts``, only after one of those hosts (``localhost:5433`` moves,
  ``mirror.example.com:9000`` does not; a bare ``:5433`` counts as local);
* the whole value of a key ending in ``PORT`` (``MINIO_PORT=9000``);
* the whole value of a key a service lists in ``env_keys``, whatever it was.

Comments are never rewritten: full-line ones, and inline ones as python-dotenv
reads them (``A=x # localhost:5433`` and ``A="x" # localhost:5433`` keep their
comment; ``A=x#localhost:5433`` has no comment, ``#`` is part of the value).
"""
from __future__ import annotations

import bisect
import codecs
import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Collection, Container, Sequence

from multistack.errors import StackError
from multistack.plan.masking import mask_line, userinfo_spans

if TYPE_CHECKING:
    from dotenv.parser import Binding

#: The comment line above the keys ``rewrite_env`` appends.
DEFAULT_HEADER = "# --- multistack: per-instance values ---"
#: How much of a malformed line an error shows.
SHOWN_LINE = 120
MALFORMED_HINT = ("use KEY=value, one per line; put a value with spaces or # in double quotes "
                  "and close every quote")

# The scanner below mirrors dotenv.parser (python-dotenv 1.x) to find where a
# value sits in the raw text; every value it finds is checked against what
# python-dotenv decoded, so a parser change fails loudly instead of writing a
# wrong file.
_LINE_END = re.compile(r"\r\n|\n|\r")
_LEADING_SPACE = re.compile(r"\s*", re.MULTILINE)
_EXPORT = re.compile(r"(?:export[^\S\r\n]+)?")
_KEY = re.compile(r"'[^']+'|[^=\#\s]+")
_BLANKS = re.compile(r"[^\S\r\n]*")
_EQUALS = re.compile(r"=[^\S\r\n]*")
_QUOTED = {
    "'": re.compile(r"'((?:\\.|[^'\\])*)'", re.DOTALL),
    '"': re.compile(r'"((?:\\.|[^"\\])*)"', re.DOTALL),
}
_ESCAPES = {"'": re.compile(r"\\[\\']"), '"': re.compile(r"\\[\\'\"abfnrtv]")}
_UNQUOTED = re.compile(r"[^\r\n]*")

_PORT_POSITION = re.compile(r"(?<=:)[0-9]+(?![0-9@])")
_NEEDS_QUOTES = re.compile(r"[\s#'\"$]")
_OVERRIDE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")  # used with fullmatch: `$` would let "A\n" through
_BOM = "\ufeff"


@dataclass(frozen=True)
class PortRule:
    """One service's port move: ``base`` (instance 0) becomes ``port`` in this instance."""

    base: int
    port: int
    service: str
    keys: tuple[str, ...] = ()  # env keys whose whole value is this service's port


@dataclass(frozen=True)
class _Entry:
    """One python-dotenv binding and where its value sits in its raw text."""

    raw: str  # byte for byte, with the blank lines before it and its line end
    key: str | None  # None for blank lines and comments
    value: str | None  # as python-dotenv decoded it; None for `KEY` without `=`
    start: int  # the value's span in raw, quotes excluded; for no value, the key's end
    end: int
    quote: str  # "", "'" or '"'
    export: bool


@dataclass(frozen=True)
class _Plan:
    """The rules of one rewrite, as lookups by text."""

    ports: dict[str, str]  # base port -> instance port
    key_ports: dict[str, str]  # env key -> instance port
    overrides: dict[str, str]
    hosts: Container[str] | None  # lowercased local hosts, IPv6 without brackets; None: any


# --------------------------------------------------------------------------
# Public API


def check_env_text(text: str, source: str) -> None:
    """Refuse a file python-dotenv cannot read, naming file and line.

    python-dotenv only warns and skips such lines, so an app would silently
    run without the setting; this makes it a :class:`StackError` instead.
    """
    _parse(text, source)


def rewrite_env(text: str, source: str, rules: Sequence[PortRule],
                overrides: Sequence[tuple[str, str]], header: str | None = None,
                local_hosts: Collection[str] | LocalHosts | None = None) -> str:
    """The instance copy of env file ``text`` (named ``source`` in messages).

    Ports move as described in the module docstring; each ``overrides`` key
    present in the file gets its new value on its own line(s), the others are
    appended, in order, below ``header``. ``local_hosts`` (e.g. localhost,
    127.0.0.1) keeps ports of other hosts, external services, as they are.
    The result ends with exactly one line end (none if empty).
    """
    plan = _plan(rules, overrides, local_hosts)
    bom, body = (_BOM, text[1:]) if text.startswith(_BOM) else ("", text)
    entries = _parse(body, source)
    newline = _newline_of(body)
    out = _end_with_one_newline("".join(_rewrite_entry(e, plan) for e in entries), newline)
    out += _appended(entries, plan.overrides, header, newline)
    return bom + out if out else ""


def read_env_values(text: str, interpolate: bool = False) -> dict[str, str | None]:
    """Key -> value of an env text, as python-dotenv reads it (``None``: no ``=``).

    ``${VAR}`` expansion is off by default so the result depends on the text
    alone, not on the environment multistack happens to run in.
    """
    from dotenv import dotenv_values

    _linear_dotenv()
    return dict(dotenv_values(stream=io.StringIO(text), interpolate=interpolate))


def encode_value(value: str) -> str:
    """A value written so python-dotenv reads it back exactly.

    Bare when that is unambiguous, else double-quoted with ``\\`` and ``"``
    escaped (and line breaks as ``\\n``/``\\r``, so each key stays on one line).
    ``${VAR}`` is still expanded by readers that interpolate; python-dotenv has
    no escape for it.
    """
    if value and not _NEEDS_QUOTES.search(value):
        return value
    return '"' + _escape(value, '"') + '"'


# --------------------------------------------------------------------------
# Parsing


def _parse(text: str, source: str) -> list[_Entry]:
    """The bindings of ``text``; a malformed one is a StackError with its line."""
    from dotenv.parser import parse_stream

    _linear_dotenv()
    entries = []
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise _malformed(binding, source)
        entries.append(_locate(binding, source))
    return entries


def _linear_dotenv() -> None:
    """Give python-dotenv's parser the linear inline-comment cut (idempotent).

    python-dotenv 1.x cuts an unquoted value's comment with ``re.sub(r"\\s+#.*", ...)``,
    which retries at every blank of a long run of blanks: a value with 300 KB of spaces
    took over three minutes to read. :func:`without_inline_comment` gives the same result
    (checked against that regex in tests/plan/test_masking_linear.py) in one pass.
    """
    from dotenv import parser

    if getattr(parser.parse_unquoted_value, "_multistack_linear", False):
        return

    def parse_unquoted_value(reader: parser.Reader) -> str:
        (part,) = reader.read_regex(parser._unquoted_value)  # noqa: SLF001 - dotenv's own pattern
        return without_inline_comment(part).rstrip()

    parse_unquoted_value._multistack_linear = True  # type: ignore[attr-defined]
    parser.parse_unquoted_value = parse_unquoted_value


def _malformed(binding: Binding, source: str) -> StackError:
    """The error for a line python-dotenv cannot parse, its secret masked."""
    raw = binding.original.string
    first_line = _LINE_END.split(raw[_end(_LEADING_SPACE, raw, 0):], maxsplit=1)[0].strip()
    shown = mask_line(first_line)
    if len(shown) > SHOWN_LINE:  # one line that fits a terminal, whatever the file holds
        shown = shown[:SHOWN_LINE] + f"... ({len(first_line)} characters)"
    return StackError(f"{source}:{_line_of(binding)}: malformed line: {shown}", hint=MALFORMED_HINT)


def _line_of(binding: Binding) -> int:
    """The line a binding starts on; python-dotenv counts the blank lines before it in."""
    raw = binding.original.string
    return binding.original.line + len(_LINE_END.findall(raw, 0, _end(_LEADING_SPACE, raw, 0)))


def _locate(binding: Binding, source: str) -> _Entry:
    """Find the value of a binding in its raw text, the way python-dotenv reads it."""
    raw = binding.original.string
    if binding.key is None:
        return _Entry(raw, None, None, 0, 0, "", False)
    pos = _end(_LEADING_SPACE, raw, 0)
    after_export = _end(_EXPORT, raw, pos)
    key_end = _end(_KEY, raw, after_export)
    entry = _Entry(raw, binding.key, binding.value, key_end, key_end, "", after_export > pos)
    if binding.value is not None:
        entry = _locate_value(entry, _end(_BLANKS, raw, key_end))
    quotes = 1 if raw[after_export] == "'" else 0  # a key may be single-quoted
    key = raw[after_export + quotes:key_end - quotes]
    if key != binding.key or _decoded(entry) != binding.value:
        raise RuntimeError(f"{source}:{_line_of(binding)}: multistack cannot follow python-dotenv's "
                           f"reading of {binding.key!r}; check the python-dotenv version")
    return entry


def _locate_value(entry: _Entry, pos: int) -> _Entry:
    """The entry with its value's span, ``pos`` being at the ``=``."""
    raw = entry.raw
    equals = _end(_EQUALS, raw, pos)
    first = raw[equals:equals + 1]
    if equals - pos > 1 and first == "#":  # `KEY= # comment`: empty value
        return _with_span(entry, equals, equals, "")
    if first in _QUOTED:
        end = _end(_QUOTED[first], raw, equals)
        return _with_span(entry, equals + 1, end - 1, first)
    part = raw[equals:_end(_UNQUOTED, raw, equals)]
    value = without_inline_comment(part).rstrip()
    return _with_span(entry, equals, equals + len(value), "")


def without_inline_comment(part: str) -> str:
    """``part`` without python-dotenv's inline comment (its ``re.sub(r"\\s+#.*", "", part)``).

    The comment starts at the blanks before the first ``#`` that follows a blank. A scan, not
    that regex: on a long run of blanks without ``#`` it retries from every blank (quadratic).
    """
    hash_at = part.find("#", 1)
    while hash_at > 0 and not part[hash_at - 1].isspace():
        hash_at = part.find("#", hash_at + 1)
    if hash_at < 0:
        return part
    start = hash_at
    while start > 0 and part[start - 1].isspace():
        start -= 1
    return part[:start]


def _end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where ``pattern`` matching at ``pos`` ends; python-dotenv already matched it there."""
    match = pattern.match(text, pos)
    if match is None:
        raise RuntimeError(f"multistack cannot follow python-dotenv's parse of {text!r}")
    return match.end()


def _with_span(entry: _Entry, start: int, end: int, quote: str) -> _Entry:
    return _Entry(entry.raw, entry.key, entry.value, start, end, quote, entry.export)


def _decoded(entry: _Entry) -> str | None:
    """The value as python-dotenv decodes the located span (for the self-check)."""
    if entry.value is None:
        return None
    inner = entry.raw[entry.start:entry.end]
    if not entry.quote:
        return inner
    return _ESCAPES[entry.quote].sub(lambda m: codecs.decode(m.group(0), "unicode-escape"), inner)


# --------------------------------------------------------------------------
# Rewriting


class LocalHosts:
    """The hosts that mean "this machine or its compose network": their ports move.

    A host with no dot (``localhost``, a compose service such as ``redpanda``,
    ``a`` in ``a:9092,b:9092``, or none at all in ``:5433``), a loopback or
    wildcard address, ``*.localhost``/``*.local``, ``host.docker.internal``,
    and any ``extra`` names. Anything else (``mirror.example.com:9000``) is an
    external service: rewriting its port was a bug of the sed-based tool.
    """

    def __init__(self, extra: Collection[str] = ()) -> None:
        self.extra = frozenset(h.strip("[]").lower() for h in extra)

    def __contains__(self, host: object) -> bool:
        if not isinstance(host, str):
            return False
        name = host.strip("[]").lower()
        if name in self.extra or name in ("::1", "0.0.0.0", "::", "host.docker.internal"):
            return True
        if "." not in name and ":" not in name:
            return True
        return name.startswith("127.") or name.endswith((".localhost", ".local"))


def _plan(rules: Sequence[PortRule], overrides: Sequence[tuple[str, str]],
          local_hosts: Collection[str] | LocalHosts | None) -> _Plan:
    """Lookups for the rules; two different ports for one base or key is a bug."""
    ports: dict[str, str] = {}
    key_ports: dict[str, str] = {}
    for rule in rules:
        _put(ports, str(rule.base), str(rule.port), f"base port {rule.base}")
        for key in rule.keys:
            _put(key_ports, key, str(rule.port), f"env key {key}")
    merged: dict[str, str] = {}
    for key, value in overrides:
        if not _OVERRIDE_KEY.fullmatch(key):
            raise ValueError(f"override key {key!r} is not a valid environment variable name")
        merged[key] = value  # the last value wins, at the first one's place
    if local_hosts is None or isinstance(local_hosts, LocalHosts):
        hosts = local_hosts
    else:
        hosts = frozenset(h.strip("[]").lower() for h in local_hosts) | {""}
    return _Plan(ports, key_ports, merged, hosts)


def _put(table: dict[str, str], key: str, value: str, what: str) -> None:
    if table.setdefault(key, value) != value:
        raise ValueError(f"{what} is given two instance ports: {table[key]} and {value}")


def _rewrite_entry(entry: _Entry, plan: _Plan) -> str:
    """The entry's raw text with its value replaced or its ports moved."""
    key = entry.key
    if key is None:
        return entry.raw
    if key in plan.overrides:
        return _set_value(entry, plan.overrides[key])
    if key in plan.key_ports:
        return _set_value(entry, plan.key_ports[key])
    if entry.value is None:
        return entry.raw
    if key.upper().endswith("PORT") and entry.value in plan.ports:
        return _set_value(entry, plan.ports[entry.value])
    inner = _move_ports(entry.raw[entry.start:entry.end], plan)
    return entry.raw[:entry.start] + inner + entry.raw[entry.end:]


def _move_ports(text: str, plan: _Plan) -> str:
    """Replace base ports in port positions, never inside a URL's user:password."""
    secret = userinfo_spans(text)  # sorted and disjoint: a bisection finds the one that may hold a match
    starts = [start for start, _ in secret]

    def swap(match: re.Match[str]) -> str:
        port = match.group()
        i = bisect.bisect_right(starts, match.start()) - 1
        if i >= 0 and match.start() < secret[i][1]:
            return port
        if plan.hosts is not None and _host_before(text, match.start() - 1) not in plan.hosts:
            return port
        return plan.ports.get(port, port)

    return _PORT_POSITION.sub(swap, text)


def _host_before(text: str, colon: int) -> str:
    """The lowercased host in front of the ``:`` at ``colon`` (``::1`` for ``[::1]``)."""
    if text[colon - 1:colon] == "]":
        opening = text.rfind("[", 0, colon)
        return text[opening + 1:colon - 1].lower() if opening >= 0 else ""
    start = colon
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "._-"):
        start -= 1
    return text[start:colon].lower()


def _set_value(entry: _Entry, value: str) -> str:
    """The entry with a new value, in the entry's own quoting style where it can be."""
    raw, start, end = entry.raw, entry.start, entry.end
    if entry.quote and not (entry.quote == "'" and _LINE_END.search(value)):
        return raw[:start] + _escape(value, entry.quote) + raw[end:]
    if entry.quote:  # single quotes cannot carry a line break: switch to double quotes
        start, end = start - 1, end + 1
    token = encode_value(value)
    if entry.value is None:  # `KEY` or `KEY # comment`: add `=value` after the key
        token = "=" + token
    if raw[end:end + 1] == "#" and not token.endswith('"'):  # `KEY= # c`, `KEY#`: keep the comment
        token += " "
    return raw[:start] + token + raw[end:]


def _escape(value: str, quote: str) -> str:
    """The inside of a quoted value; python-dotenv decodes it back to ``value``."""
    text = value.replace("\\", "\\\\").replace(quote, "\\" + quote)
    if quote == '"':
        text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text


def _appended(entries: list[_Entry], overrides: dict[str, str], header: str | None, newline: str) -> str:
    """The header and ``KEY=value`` lines of overrides the file does not have."""
    header = DEFAULT_HEADER if header is None else header
    if not header.startswith("#") or _LINE_END.search(header):
        raise ValueError(f"header must be a single comment line, got {header!r}")
    present = {e.key for e in entries}
    missing = [(k, v) for k, v in overrides.items() if k not in present]
    if not missing:
        return ""
    assignments = [e for e in entries if e.key is not None]
    export = "export " if assignments and all(e.export for e in assignments) else ""
    lines = [header] + [f"{export}{key}={encode_value(value)}" for key, value in missing]
    return "".join(line + newline for line in lines)


def _newline_of(text: str) -> str:
    """The file's own line end, so a CRLF file stays CRLF."""
    match = _LINE_END.search(text)
    return match.group() if match else "\n"


def _end_with_one_newline(text: str, newline: str) -> str:
    """Drop trailing blank lines and end the last line with one line end."""
    body = text.rstrip()
    if not body:
        return ""
    rest = text[len(body):]
    match = _LINE_END.search(rest)
    return body + (rest[:match.end()] if match else rest + newline)
