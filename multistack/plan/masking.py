"""Hide secrets in anything multistack prints (pure, stdlib only).

Env files hold database passwords, S3 keys and service tokens, and multistack
echoes env lines in tables, diffs and error messages (a malformed line is
quoted back to the user). Everything printed goes through this module first,
so a screen share or a pasted CI log never leaks a credential. Masking errs on
the side of hiding: a false positive costs a ``****``, a false negative a
rotated password.
"""
from __future__ import annotations

import re
from typing import Mapping

#: What a secret value is replaced with; its length says nothing about the secret.
MASK = "****"

_SECRET_PARTS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "ACCESS_KEY",
                 "PRIVATE_KEY", "CREDENTIAL", "AUTH")
_SECRET_SUFFIXES = ("_KEY", "_PASS")

# scheme://authority - the authority stops where the path, query or fragment
# starts, at whitespace, or at a quote (URLs are often quoted in env lines).
_URL_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://([^/?#\s\"'<>]*)")

# KEY=value, KEY: value or `KEY value`, with an optional `export ` and a
# single-quoted key as python-dotenv allows. The separator without = or : only
# counts for secret keys (see mask_line).
_ASSIGNMENT = re.compile(
    r"(?P<lead>\s*(?:export\s+)?)"
    r"(?P<key>'[^']+'|[A-Za-z_][A-Za-z0-9_.\-]*)"
    r"(?P<sep>\s*[=:]\s*|\s+)"
    r"(?P<value>.*?)"
    r"(?P<end>[\r\n]*)\Z",
    re.DOTALL,
)


def is_secret_key(key: str) -> bool:
    """Whether a key's value is a credential, judged by its name alone."""
    upper = key.strip().strip("'").upper()
    return any(part in upper for part in _SECRET_PARTS) or upper.endswith(_SECRET_SUFFIXES)


def userinfo_spans(text: str) -> list[tuple[int, int]]:
    """Where the ``user:password`` part of each URL in ``text`` sits.

    Shared with envfiles, which never rewrites a port-looking number in there:
    ``postgres://u:5433@h`` has a password, not a port.
    """
    spans = []
    for match in _URL_AUTHORITY.finditer(text):
        at = match.group(1).rfind("@")  # the host follows the last @
        if at >= 0:
            spans.append((match.start(1), match.start(1) + at))
    return spans


def mask_urls(text: str) -> str:
    """Replace the password of every URL userinfo in ``text`` by ``****``."""
    out, cursor = [], 0
    for start, end in userinfo_spans(text):
        colon = text.find(":", start, end)
        if colon < 0 or colon + 1 == end:  # no password, or an empty one
            continue
        out += [text[cursor:colon + 1], MASK]
        cursor = end
    return "".join(out) + text[cursor:]


def mask_value(key: str, value: str) -> str:
    """A value as it may be printed: all of it for a secret key, else URL passwords."""
    if is_secret_key(key):
        return MASK if value else ""
    return mask_urls(value)


def mask_line(line: str) -> str:
    """An env line as it may be printed.

    ``KEY=value`` (optional ``export``) has its value masked by :func:`mask_value`,
    keeping surrounding quotes. A secret key followed by ``:`` or just blanks
    (``DB_PASSWORD hunter2``, a typical malformed line) is masked too, since
    that line is exactly what an error message quotes. Any other line, comments
    included, only has URL passwords masked.
    """
    match = _ASSIGNMENT.match(line)
    if match is None:
        return mask_urls(line)
    key, sep = match["key"], match["sep"]
    if not is_secret_key(key) and "=" not in sep:
        return mask_urls(line)
    head = match["lead"] + key + sep
    return head + _mask_quoted(key, match["value"]) + match["end"]


def _mask_quoted(key: str, raw: str) -> str:
    """Mask a raw value, keeping its quotes so the line still reads as written."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[0] + mask_value(key, raw[1:-1]) + raw[0]
    return mask_value(key, raw)


def mask_mapping(d: Mapping[str, str]) -> dict[str, str]:
    """Key -> printable value; a ``None`` value (``KEY`` without ``=``) stays ``None``."""
    return {key: value if value is None else mask_value(key, value) for key, value in d.items()}
