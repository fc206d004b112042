"""Name schemes: the names an instance uses in a broker or a store, declared as templates (pure).

A scheme is one name an app uses, written the way the systems' own documents
write them: ``{namespace}[/{selector}]/{plc}/tags/{tag}`` (WarLink's MQTT tag
topic). Its parts:

- ``{name}``: a placeholder. ``namespace``, ``database``, ``n`` and ``project``
  are the instance's; ``selector`` is a service's selector
  (``namespaces.selectors``); any other name (``plc``, ``tag``) is an
  *entity*: a thing inside the instance, listed under ``namespaces.entities``
  or left open (a wildcard: ``+`` in MQTT, ``*`` elsewhere).
- ``[...]``: an optional part, dropped when a placeholder in it has no value
  (``[/{selector}]`` without a selector).
- anything else is literal. In MQTT a whole ``+`` level and a last ``#`` level
  make the name a subscription filter (``{namespace}/+/write``).

Each scheme belongs to a *system* whose rules say which characters a name may
hold and how two names can meet: MQTT names are compared level by level
(filters overlap when one topic could match both), Redis/Valkey keys and
Kafka topics as patterns (a wildcard matches one or more characters, never
Redis's ``:`` separator), the rest by equality. :func:`names_meet` is that
comparison; :mod:`multistack.plan.namespaces` applies it to every instance the
stack can run.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Mapping, Union

from multistack.errors import StackError

#: What stands for an open placeholder while a name is rendered (never in a valid value).
WILD = "\0"
#: The placeholders every instance fills itself.
INSTANCE_PLACEHOLDERS = ("namespace", "database", "n", "project")
SELECTOR = "selector"
PLACEHOLDER_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,59}")
#: Optional parts per template: each doubles the forms the uniqueness check compares.
MAX_GROUPS = 4
TEMPLATE_HINT = ("write literal text, {placeholder} and optional [parts], "
                 "e.g. '{namespace}[/{selector}]/{plc}/health'")


@dataclass(frozen=True)
class System:
    """What a system's names may hold and how they meet."""

    name: str  # the key users write: mqtt, redis, kafka, ...
    label: str  # what `info` prints in its "used by" column
    separator: str = ""  # MQTT levels, Redis key segments; "" for flat names
    forbidden: str = ""  # characters no literal or value may hold
    charset: re.Pattern[str] | None = None  # when set, every character of a name must match
    max_length: int = 0  # 0: no limit of its own


KAFKA_CHARS = re.compile(r"[a-zA-Z0-9._-]")
SYSTEMS: dict[str, System] = {s.name: s for s in (
    System("mqtt", "mqtt", "/", "\0"),
    System("redis", "redis/valkey", ":", "*\0"),
    System("kafka", "kafka", charset=KAFKA_CHARS, max_length=249),
    System("temporal", "temporal", forbidden="*\0"),
    System("postgresql", "postgresql", forbidden="*\0"),
    System("s3", "object storage", forbidden="*\0"),
)}
#: Other words for a system, as users and documents write them.
SYSTEM_ALIASES = {"valkey": "redis", "redis/valkey": "redis", "object storage": "s3"}


@dataclass(frozen=True)
class Part:
    """Literal text, or a placeholder (``text`` is then its name)."""

    text: str
    placeholder: bool = False


@dataclass(frozen=True)
class Group:
    """``[...]``: parts kept only when every placeholder in them has a value."""

    parts: tuple[Part, ...]


Piece = Union[Part, Group]


@dataclass(frozen=True)
class Template:
    source: str
    pieces: tuple[Piece, ...]

    @cached_property
    def placeholders(self) -> tuple[str, ...]:
        """Every placeholder, in order, once."""
        names: list[str] = []
        for piece in self.pieces:
            for part in piece.parts if isinstance(piece, Group) else (piece,):
                if part.placeholder and part.text not in names:
                    names.append(part.text)
        return tuple(names)

    @cached_property
    def entities(self) -> tuple[str, ...]:
        return tuple(p for p in self.placeholders if p not in INSTANCE_PLACEHOLDERS and p != SELECTOR)

    @cached_property
    def groups(self) -> int:
        return sum(1 for piece in self.pieces if isinstance(piece, Group))

    @cached_property
    def selector(self) -> str | None:
        """``optional`` (``[/{selector}]``), ``required``, or None when the template has none."""
        for piece in self.pieces:
            if isinstance(piece, Group) and any(p.placeholder and p.text == SELECTOR for p in piece.parts):
                return "optional"
            if isinstance(piece, Part) and piece.placeholder and piece.text == SELECTOR:
                return "required"
        return None

    def render(self, values: Mapping[str, str], keep: frozenset[int] | None = None) -> str:
        """The name with ``values`` filled in; a placeholder without a value is :data:`WILD`.

        An optional part is kept when each of its placeholders has a value (a
        :data:`WILD` value counts), or, with ``keep``, exactly when its index
        among the optional parts is in ``keep``.
        """
        out: list[str] = []
        index = 0
        for piece in self.pieces:
            if isinstance(piece, Group):
                wanted = (all(p.text in values for p in piece.parts if p.placeholder) if keep is None
                          else index in keep)
                index += 1
                if wanted:
                    out.extend(_fill(p, values) for p in piece.parts)
            else:
                out.append(_fill(piece, values))
        return "".join(out)


def _fill(part: Part, values: Mapping[str, str]) -> str:
    return values.get(part.text, WILD) if part.placeholder else part.text


@dataclass(frozen=True)
class Scheme:
    """One declared name: ``names.<key>``, for one system and purpose."""

    key: str
    system: System
    purpose: str
    template: Template
    prefix: bool = False  # the name is a key prefix (Redis): every key starting with it is the instance's

    @property
    def label(self) -> str:
        return self.system.label


# --------------------------------------------------------------------------
# Reading


def system_named(name: object, where: str) -> System:
    text = SYSTEM_ALIASES.get(str(name), str(name))
    if text not in SYSTEMS:
        raise StackError(f"{where}: unknown system {name!r}",
                         f"use one of: {', '.join(SYSTEMS)} (valkey is redis)")
    return SYSTEMS[text]


def parse_template(source: object, system: System, where: str) -> Template:
    """A template's pieces, with every rule of its system checked on the literal text."""
    if not isinstance(source, str) or not source:
        raise StackError(f"{where}: must be a non-empty template string", TEMPLATE_HINT)
    pieces: list[Piece] = []
    group: list[Part] | None = None
    for token in re.split(r"(\{[^{}\[\]]*\}|\[|\])", source):
        if not token:
            continue
        if token == "[":
            if group is not None:
                raise StackError(f"{where}: {source!r}: optional parts cannot nest", TEMPLATE_HINT)
            group = []
            continue
        if token == "]":
            if group is None:
                raise StackError(f"{where}: {source!r}: ']' without '['", TEMPLATE_HINT)
            if not any(p.placeholder for p in group):
                raise StackError(f"{where}: {source!r}: an optional part needs a placeholder in it", TEMPLATE_HINT)
            pieces.append(Group(tuple(group)))
            group = None
            continue
        part = _part(token, source, where)
        (group if group is not None else pieces).append(part)  # type: ignore[arg-type]
    if group is not None:
        raise StackError(f"{where}: {source!r}: '[' without ']'", TEMPLATE_HINT)
    template = Template(source, tuple(pieces))
    if template.groups > MAX_GROUPS:
        raise StackError(f"{where}: {source!r} has {template.groups} optional parts", f"use at most {MAX_GROUPS}")
    _check_literals(template, system, where)
    return template


def _part(token: str, source: str, where: str) -> Part:
    if token.startswith("{"):
        name = token[1:-1].strip()
        if not PLACEHOLDER_RE.fullmatch(name):
            raise StackError(f"{where}: {source!r}: {token!r} is not a placeholder",
                             "placeholders are {lowercase_name}: {namespace}, {selector}, {plc}...")
        return Part(name, placeholder=True)
    if set(token) & set("{}"):
        raise StackError(f"{where}: {source!r}: unbalanced '{{' or '}}'", TEMPLATE_HINT)
    return Part(token)


def _check_literals(template: Template, system: System, where: str) -> None:
    """The literal text obeys the system: Kafka's charset, MQTT's wildcards as whole levels."""
    literal = template.render({p: "x" for p in template.placeholders}, keep=frozenset(range(MAX_GROUPS)))
    bad = value_problem(literal, system, literal=True)
    if bad:
        raise StackError(f"{where}: {template.source!r} {bad}", TEMPLATE_HINT)


def value_problem(text: str, system: System, literal: bool = False) -> str | None:
    """Why ``text`` cannot be (a literal part of) a name of ``system``, or None.

    A value (an entity, such as a PLC's name) may not hold the system's
    separator or wildcards: it must stay one level, one segment. No name may hold a character
    that does not print (a control character, a zero-width or no-break space).
    """
    hidden = sorted({ch for ch in text if not ch.isprintable()})
    if hidden:  # a newline or an escape would break every line the name is printed on; a zero-width
        # character or a no-break space would make two different names look alike
        return f"contains {', '.join(f'U+{ord(ch):04X}' for ch in hidden)}, a character that does not print"
    if system.charset is not None:
        odd = sorted({ch for ch in text if not system.charset.fullmatch(ch)})
        if odd:
            return f"contains {', '.join(map(repr, odd))}, which a {system.name} name cannot hold"
    odd = sorted(set(text) & set(system.forbidden))
    if odd:
        return f"contains {', '.join(map(repr, odd))}, which a {system.name} name cannot hold"
    if system.name == "mqtt":
        if text.startswith("$"):
            return "starts with '$' (MQTT reserves those topics for the broker)"
        levels = text.split("/")
        if not literal and (len(levels) > 1 or set(text) & set("+#")):
            return "contains '/', '+' or '#' (a value is one MQTT topic level, without wildcards)"
        for i, level in enumerate(levels):
            if "#" in level and (level != "#" or i != len(levels) - 1):
                return "has '#' that is not the whole last level"
            if "+" in level and level != "+":
                return "has '+' that is not a whole level"
    elif system.separator and not literal and system.separator in text:
        return f"contains {system.separator!r}, the {system.name} separator (a value is one segment)"
    return None


# --------------------------------------------------------------------------
# Meeting: could one real name be both?


def names_meet(system: System, a: str, b: str, a_prefix: bool = False, b_prefix: bool = False) -> bool:
    """Whether one topic or key could be named by both ``a`` and ``b`` (rendered, wildcards as :data:`WILD`).

    MQTT: filters level by level (``+`` or a wildcard level is any one level,
    a last ``#`` any rest, its parent included). Elsewhere: a wildcard is one
    or more characters other than the separator; a prefix name also matches
    everything that starts with it.
    """
    if system.name == "mqtt":
        return _levels_meet(tuple(mqtt_filter(a).split("/")), tuple(mqtt_filter(b).split("/")))
    return _glob_meet(_tokens(a, a_prefix), _tokens(b, b_prefix), system.separator)


def mqtt_filter(name: str) -> str:
    """A rendered MQTT name as a subscription filter: a level holding a wildcard becomes ``+``."""
    return "/".join("+" if WILD in level else level for level in name.split("/"))


def _levels_meet(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x == "#" or y == "#":
            return True
        if x is None or y is None:
            return False
        if x != y and "+" not in (x, y):
            return False
    return True


_ONE, _STAR, _ANY = "one", "star", "any"  # one non-separator character; zero or more of them; zero or more of all


def _tokens(name: str, prefix: bool) -> tuple[str, ...]:
    out: list[str] = []
    for ch in name:
        out.extend((_ONE, _STAR) if ch == WILD else ("=" + ch,))
    if prefix:
        out.append(_ANY)
    return tuple(out)


def _glob_meet(a: tuple[str, ...], b: tuple[str, ...], sep: str) -> bool:
    """Whether the two patterns share a string (a small product automaton, memoised)."""

    def absorbs(star: str, token: str) -> bool:
        return star == _ANY or token == _ONE or token[1:] != sep

    @lru_cache(maxsize=None)
    def meet(i: int, j: int) -> bool:
        if i == len(a) or j == len(b):
            rest = a[i:] if j == len(b) else b[j:]
            return all(t in (_STAR, _ANY) for t in rest)
        x, y = a[i], b[j]
        if x in (_STAR, _ANY):
            if meet(i + 1, j) or ((y in (_STAR, _ANY) or absorbs(x, y)) and meet(i, j + 1)):
                return True
        if y in (_STAR, _ANY):
            if meet(i, j + 1) or ((x in (_STAR, _ANY) or absorbs(y, x)) and meet(i + 1, j)):
                return True
        if x in (_STAR, _ANY) or y in (_STAR, _ANY):
            return False
        same = x == y or (_ONE in (x, y) and (x if y == _ONE else y)[1:] != sep)
        return same and meet(i + 1, j + 1)

    return meet(0, 0)


def display(system: System, name: str) -> str:
    """A rendered name as a person (and a subscriber) writes it: ``+`` in MQTT, ``*`` elsewhere."""
    return mqtt_filter(name) if system.name == "mqtt" else name.replace(WILD, "*")
