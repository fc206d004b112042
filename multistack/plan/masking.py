"""Hide secrets in anything multistack prints (pure, stdlib only).

Env files hold database passwords, S3 keys and service tokens, and multistack
echoes env lines in tables, diffs, command echoes and error messages (a
malformed line is quoted back to the user). Everything printed goes through
this module first, so a screen share or a pasted CI log never leaks a
credential. Masking errs on the side of hiding: a false positive costs a
``****``, a false negative a rotated password.

Two judgements, both needed:

* by key name (:func:`is_secret_key`): ``DB_PASSWORD``, ``"X_TOKEN"``, ``Pwd`` in
  a connection string... the whole value goes;
* by value shape (:func:`mask_text`), whatever the key: the password of a URL
  (``postgres://u:****@h/db``, the host kept), a secret-named field of a
  connection string (``Server=h;Password=****;``, libpq ``password=**** host=h``),
  well-known token shapes (GitHub, GitLab, AWS, Slack, JWT), the body of a PEM
  private key, and long high-entropy base64/hex runs.

Cost: everything here is linear in the text. Input is user text (a 1 MB env
value is legal), so there are no regexes with nested or overlapping
quantifiers: ``str.find`` and simple character-class runs walk the text once,
and each finding is a span merged at the end.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Iterator, Mapping

#: What a secret value is replaced with; its length says nothing about the secret.
MASK = "****"

_SECRET_PARTS = ("PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "API_KEY", "APIKEY",
                 "ACCESS_KEY", "ACCESSKEY", "ACCOUNTKEY", "PRIVATE", "CREDENTIAL", "AUTH")
_SECRET_SUFFIXES = ("_KEY", "_PASS", "_PWD")
#: Field names that are secrets inside a connection string (``Uid=sa;Pwd=x;``, SAS ``sig=``),
#: too short or too common to judge an env key by (``PWD`` is the shell's folder).
_FIELD_SECRETS = frozenset({"PWD", "PASS", "SIG", "KEY"})

#: Where a ``KEY=value`` value ends in free text (a command line, a connection string).
_VALUE_END = frozenset(" \t\r\n;&\"'<>")
#: Characters of a key name, walked back from its ``=`` (``DB_PASSWORD``, ``--token``).
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_SCHEME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-")
#: Where a URL's authority stops: path, query, fragment, blank, quote or bracket of prose.
_AUTHORITY_END = re.compile(r"[/?#\s\"'<>]")
#: A run of base64/base64url characters with optional padding: the unit judged by shape.
#: One character class then a disjoint one, so a match never backtracks.
_WORD = re.compile(r"[A-Za-z0-9+/_\-]+=*")
_HEX = frozenset("0123456789abcdefABCDEF")
_DIGEST = re.compile(r"sha[0-9]*[:\-]\Z")
_TOKEN_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xoxa-", "xoxb-",
                   "xoxp-", "xoxr-", "xoxs-", "sk_live_", "rk_live_", "npm_", "pypi-")
_AWS_KEY_ID = re.compile(r"(?:AKIA|ASIA)[A-Z0-9]{16}")
_PEM_BEGIN = "-----BEGIN "
_PEM_DASHES = "-----"

#: Shape thresholds (see docs/secrets.md): long enough that ports, hostnames, namespaces,
#: paths and image tags never reach them, and random enough that words do not.
TOKEN_MIN_LENGTH = 20  # a known prefix (ghp_...) plus this many characters in all
ENTROPY_MIN_LENGTH = 32  # base64/hex runs shorter than this are never judged by entropy
ENTROPY_MIN_BITS = 3.5  # Shannon bits per character; random base64 of 32 chars has ~4.5
SWITCH_MIN_RATIO = 0.4  # class changes per character: random base64 ~0.64 (1st percentile 0.42)
USERINFO_TOKEN_LENGTH = 20  # a URL user without password this long, with digits, is a token

# KEY=value, KEY: value or `KEY value`, with an optional `export ` and a quoted key
# (python-dotenv allows single quotes; a double-quoted key is a malformed line that an
# error message quotes). The separator without = or : only counts for secret keys (see
# mask_line). Each part is one class run anchored by .match: linear.
_ASSIGNMENT = re.compile(
    r"(?P<lead>[^\S\r\n]*(?:export[^\S\r\n]+)?)"
    r"(?P<key>'[^'\r\n]+'|\"[^\"\r\n]+\"|[A-Za-z_][A-Za-z0-9_.\-]*)"
    r"(?P<sep>[^\S\r\n]*[=:][^\S\r\n]*|[^\S\r\n]+)"
)


# --------------------------------------------------------------------------
# Judging keys and values


def is_secret_key(key: str) -> bool:
    """Whether a key's value is a credential, judged by its name alone (quotes ignored)."""
    upper = key.strip().strip("'\"").upper()
    return any(part in upper for part in _SECRET_PARTS) or upper.endswith(_SECRET_SUFFIXES)


def is_secret_field(name: str) -> bool:
    """Whether ``name=`` inside free text or a connection string introduces a secret."""
    bare = name.lstrip("-").strip("'\"")
    return is_secret_key(bare) or bare.upper() in _FIELD_SECRETS


def looks_like_token(word: str, before: str = "") -> bool:
    """Whether a base64/hex run is a credential by its shape alone.

    ``before`` is the text just in front of it: a hex run right after ``sha256:`` is an
    image digest, not a secret.
    """
    word = word.lstrip("/+")  # `_WORD` runs take the slashes of `https://` and of paths
    if word.startswith(_TOKEN_PREFIXES) and len(word) >= TOKEN_MIN_LENGTH:
        return True
    if len(word) == 20 and _AWS_KEY_ID.fullmatch(word):
        return True
    body = word.rstrip("=")
    if len(body) < ENTROPY_MIN_LENGTH:
        return False
    if all(ch in _HEX for ch in body):
        return (not _DIGEST.search(before) and any(ch.isdigit() for ch in body)
                and any(ch.isalpha() for ch in body))
    classes = (any(ch.isupper() for ch in body), any(ch.islower() for ch in body),
               any(ch.isdigit() for ch in body))
    return all(classes) and _switches(body) >= SWITCH_MIN_RATIO and _entropy(body) >= ENTROPY_MIN_BITS


def _switches(text: str) -> float:
    """How often the next letter or digit changes class (upper, lower, digit), ``/+_-`` skipped.

    Random base64 changes class at about 64 % of its characters; a word, a CamelCase
    identifier or a path (``/Users/JohnSmith2/Projects``) at 20-38 %.
    """
    kinds = [0 if ch.isupper() else 1 if ch.islower() else 2 for ch in text if ch.isalnum()]
    if len(kinds) < 2:
        return 0.0
    return sum(a != b for a, b in zip(kinds, kinds[1:])) / (len(kinds) - 1)


def _entropy(text: str) -> float:
    """Shannon entropy in bits per character (one pass)."""
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in Counter(text).values())


# --------------------------------------------------------------------------
# Finding secrets: each finder yields (start, end) spans to replace by MASK


def userinfo_spans(text: str) -> list[tuple[int, int]]:
    """Where the ``user:password`` part of each URL in ``text`` sits.

    Shared with envfiles, which never rewrites a port-looking number in there:
    ``postgres://u:5433@h`` has a password, not a port. The host follows the last
    ``@`` of the authority. One pass: each ``://`` is found with ``str.find`` and
    its authority walked once.
    """
    return [(start, at) for start, at, _ in _authorities(text) if at >= 0]


def _authorities(text: str) -> Iterator[tuple[int, int, int]]:
    """(authority start, last ``@`` or -1, authority end) of each ``scheme://`` in ``text``."""
    cursor = 0
    while True:
        sep = text.find("://", cursor)
        if sep < 0:
            return
        scheme = sep
        while scheme > cursor and text[scheme - 1] in _SCHEME_CHARS:
            scheme -= 1
        while scheme < sep and text[scheme] not in _LETTERS:  # a scheme starts with a letter
            scheme += 1
        if scheme == sep:  # `1://`: no URL here; what follows may start one
            cursor = sep + 1
            continue
        start = sep + 3
        stop = _AUTHORITY_END.search(text, start)
        end = stop.start() if stop else len(text)
        cursor = max(end, start)
        yield start, text.rfind("@", start, end), end


def _url_secrets(text: str) -> Iterator[tuple[int, int]]:
    """A URL's password (``u:****@h``), or its user alone when that is a token (``ghp_...@h``)."""
    for start, at, _ in _authorities(text):
        if at < 0:
            continue
        colon = text.find(":", start, at)
        if colon >= 0:
            if colon + 1 < at:  # an empty password is worth seeing: it is usually the bug
                yield colon + 1, at
        elif _token_user(text[start:at]):
            yield start, at


def _token_user(user: str) -> bool:
    """A URL user without password that is a credential (git's ``https://<token>@host``)."""
    return looks_like_token(user) or (len(user) >= USERINFO_TOKEN_LENGTH
                                      and any(ch.isdigit() for ch in user))


def _field_secrets(text: str) -> Iterator[tuple[int, int]]:
    """Values of secret-named fields: ``Password=x;``, ``password=x host=h``, ``-e DB_TOKEN=x``,
    ``"DB_PASSWORD"="x"`` and ``DB_PASSWORD: x``. Each ``=`` or ``:`` is visited once and the
    name walked back no further than the previous one, so the whole scan is linear."""
    floor = 0  # names are never walked back past the previous separator or secret
    length = len(text)
    for sep in _separators(text):
        if sep < floor:
            continue
        name_end = sep
        while name_end > floor and text[name_end - 1] in " \t":
            name_end -= 1
        name_start, quote = _name_before(text, name_end, floor)
        floor = sep + 1
        if name_start == name_end or not is_secret_field(text[name_start:name_end]):
            continue
        if text[sep] == ":" and not text.startswith((" ", "\t"), sep + 1):
            continue  # `host:port`, `user:pw@` are not `KEY: value`
        value = sep + 1
        while value < length and text[value] in " \t":
            value += 1
        start, end = _value_span(text, value, quote)
        if end > start:
            yield start, end
        floor = max(floor, end)


def _separators(text: str) -> Iterator[int]:
    """Positions of ``=`` and ``:`` in order (two ``str.find`` cursors, linear)."""
    eq, colon = text.find("="), text.find(":")
    while eq >= 0 or colon >= 0:
        if colon < 0 or 0 <= eq < colon:
            yield eq
            eq = text.find("=", eq + 1)
        else:
            yield colon
            colon = text.find(":", colon + 1)


def _name_before(text: str, end: int, floor: int) -> tuple[int, str]:
    """Start of the key name ending at ``end`` and the quote opening it (``'DB_PASSWORD=x'``).

    A quoted name (``"DB_PASSWORD"=``) is taken with its quotes; the quote found right in
    front of a bare name is shell quoting around the whole ``KEY=value`` word.
    """
    start = end
    if end > floor and text[end - 1] in "'\"":
        quote = text[end - 1]
        opening = text.rfind(quote, floor, end - 1)
        if opening >= 0 and all(ch in _NAME_CHARS for ch in text[opening + 1:end - 1]):
            return opening, ""
        return end, ""
    while start > floor and text[start - 1] in _NAME_CHARS:
        start -= 1
    quote = text[start - 1] if start > floor and text[start - 1] in "'\"" else ""
    return start, quote


def _value_span(text: str, start: int, outer_quote: str) -> tuple[int, int]:
    """A field's value: inside its own quotes, up to the shell quote around it, or to a separator.

    Each span ends where a later field's name may start, so no text is scanned twice."""
    if start < len(text) and text[start] in "'\"":
        close = text.find(text[start], start + 1)
        return start + 1, close if close >= 0 else _line_end(text, start)
    if outer_quote:  # `'DB_PASSWORD=a b'` as shlex.join writes it; unclosed: an ordinary value
        close = text.find(outer_quote, start, _line_end(text, start))
        if close >= 0:
            return start, close
    end = start
    while end < len(text) and text[end] not in _VALUE_END:
        end += 1
    return start, end


def _line_end(text: str, start: int) -> int:
    newline = text.find("\n", start)
    return len(text) if newline < 0 else newline


def _pem_secrets(text: str) -> Iterator[tuple[int, int]]:
    """The body of every ``-----BEGIN ... PRIVATE KEY-----`` block (to its END, or the text's end)."""
    cursor = 0
    while True:
        begin = text.find(_PEM_BEGIN, cursor)
        if begin < 0:
            return
        header_end = text.find(_PEM_DASHES, begin + len(_PEM_BEGIN))
        if header_end < 0:
            return
        body = header_end + len(_PEM_DASHES)
        if "PRIVATE KEY" not in text[begin:header_end]:
            cursor = body
            continue
        footer = text.find("-----END", body)
        end = len(text) if footer < 0 else footer
        if end > body:
            yield body, end
        cursor = end + 1


def _token_secrets(text: str) -> Iterator[tuple[int, int]]:
    """Runs of base64/hex characters shaped like a credential; a JWT is its three parts."""
    pos = 0
    while True:
        match = _WORD.search(text, pos)
        if match is None:
            return
        start, end = match.span()
        word = match.group()
        head = max(word.rfind("/"), word.rfind("+")) + 1  # a JWT is base64url: its header has neither
        if word.startswith("eyJ", head):
            end = _jwt_end(text, end)
            if end > match.end():
                yield start + head, end
                pos = end
                continue
        if looks_like_token(word, text[max(0, start - 8):start]):
            yield start + len(word) - len(word.lstrip("/+")), end  # keep the `//` of a URL
        pos = end


def _jwt_end(text: str, end: int) -> int:
    """Where a JWT starting with a header run ending at ``end`` ends (``end``: not a JWT)."""
    if not text.startswith(".eyJ", end):
        return end
    payload = _WORD.match(text, end + 1)
    assert payload is not None
    if not text.startswith(".", payload.end()):
        return end
    signature = _WORD.match(text, payload.end() + 1)
    return signature.end() if signature else payload.end() + 1


# --------------------------------------------------------------------------
# Masking


def secret_spans(text: str) -> list[tuple[int, int]]:
    """Every secret in ``text`` by shape or field name, as sorted, merged spans."""
    spans = sorted([*_pem_secrets(text), *_url_secrets(text), *_field_secrets(text), *_token_secrets(text)])
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def mask_text(text: str) -> str:
    """Free text (an error line, a command echo, a table) as it may be printed."""
    if not text:
        return text
    out, cursor = [], 0
    for start, end in secret_spans(text):
        out += [text[cursor:start], MASK]
        cursor = end
    return "".join(out) + text[cursor:]


def mask_urls(text: str) -> str:
    """Replace the password of every URL userinfo in ``text`` by ``****`` (and a token user)."""
    out, cursor = [], 0
    for start, end in _url_secrets(text):
        out += [text[cursor:start], MASK]
        cursor = end
    return "".join(out) + text[cursor:]


def mask_value(key: str, value: str) -> str:
    """A value as it may be printed: all of it for a secret key, else its secret-shaped parts."""
    if is_secret_key(key):
        return MASK if value else ""
    return mask_text(value)


def mask_line(line: str) -> str:
    """An env line as it may be printed.

    ``KEY=value`` (optional ``export``, a quoted key) has its value masked by
    :func:`mask_value`, keeping surrounding quotes. A secret key followed by ``:``
    or just blanks (``DB_PASSWORD hunter2``, a typical malformed line) is masked
    too, since that line is exactly what an error message quotes. Any other line,
    comments included, goes through :func:`mask_text` (a password commented out is
    still a password).
    """
    match = _ASSIGNMENT.match(line)
    if match is None:
        return mask_text(line)
    key, sep = match["key"], match["sep"]
    if not is_secret_key(key) and "=" not in sep:
        return mask_text(line)
    body = line[match.end():]
    value = body.rstrip("\r\n")
    return line[:match.end()] + _mask_quoted(key, value) + body[len(value):]


def _mask_quoted(key: str, raw: str) -> str:
    """Mask a raw value, keeping its quotes so the line still reads as written."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[0] + mask_value(key, raw[1:-1]) + raw[0]
    return mask_value(key, raw)


def mask_mapping(d: Mapping[str, str]) -> dict[str, str]:
    """Key -> printable value; a ``None`` value (``KEY`` without ``=``) stays ``None``."""
    return {key: value if value is None else mask_value(key, value) for key, value in d.items()}


def mask_json(data: object) -> object:
    """A JSON-able structure with every string masked (values of secret keys wholly)."""
    if isinstance(data, str):
        return mask_text(data)
    if isinstance(data, Mapping):
        return {key: (mask_value(key, value) if isinstance(key, str) and isinstance(value, str)
                      else mask_json(value)) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [mask_json(item) for item in data]
    return data
