"""Instance env copies: only ports in port positions and overridden values change."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multistack.plan.envfiles import (
    DEFAULT_HEADER, PortRule, check_env_text, encode_value, read_env_values, rewrite_env,
)
from multistack.errors import EXIT_USAGE, StackError

# Instance 5 of a stride-100 plan.
RULES = (
    PortRule(5433, 5933, "postgres"),
    PortRule(3211, 3711, "backend", keys=("API_LISTEN",)),
    PortRule(3100, 3600, "loki"),
    PortRule(9000, 9500, "minio"),
    PortRule(9092, 9592, "redpanda"),
    PortRule(5173, 5673, "frontend", keys=("VITE_PORT", "DEV_SERVER_PORT")),
)
MOVED = {str(r.base): str(r.port) for r in RULES}


def rewrite(text: str, overrides: Sequence[tuple[str, str]] = (), **kwargs: object) -> str:
    return rewrite_env(text, "env/backend.env", RULES, overrides, **kwargs)  # type: ignore[arg-type]


def one(line: str) -> str:
    """The rewrite of a one-line file, without its line end."""
    return rewrite(line + "\n").removesuffix("\n")


# --------------------------------------------------------------------------
# Port positions


@pytest.mark.parametrize(("line", "expected"), [
    ("DB_HOST=localhost:5433", "DB_HOST=localhost:5933"),
    ("VITE_API_URL=http://localhost:3211/api", "VITE_API_URL=http://localhost:3711/api"),
    ("KAFKA_BROKERS=a:9092,b:9092", "KAFKA_BROKERS=a:9592,b:9592"),
    ("DATABASE_URL=postgres://u:p@h:5433/db", "DATABASE_URL=postgres://u:p@h:5933/db"),
    ("LOKI_URL=http://localhost:3100", "LOKI_URL=http://localhost:3600"),
    ("S3=http://127.0.0.1:9000?x=1", "S3=http://127.0.0.1:9500?x=1"),
    ("V6=[::1]:5433", "V6=[::1]:5933"),
    ("LISTEN=:3211", "LISTEN=:3711"),
    ("A=x#localhost:5433", "A=x#localhost:5933"),  # no blank before #: python-dotenv reads it as value
])
def test_port_after_a_colon_moves(line: str, expected: str) -> None:
    assert one(line) == expected


def test_several_ports_on_one_line_all_move() -> None:
    line = "MIX=localhost:5433,localhost:9092 http://h:3100/x;h:3211 h:9000"
    assert one(line) == "MIX=localhost:5933,localhost:9592 http://h:3600/x;h:3711 h:9500"


@pytest.mark.parametrize("line", [
    "A=15433",
    "A=localhost:15433",
    "A=localhost:54330",
    "A=localhost:90001",
    "A=localhost:05433",
    "A=pw=x5433y",
    "A=x5433y",
    "A=5433",  # a whole value, but A does not end in PORT
    "A=h5433:1",
    "TIMEOUT_MS=3100",
    "COUNT=9000",
    "RATE_LIMIT_WINDOW_MS=9000",
    "MAX_UPLOAD_SIZE_BYTES=900010",
    "DATABASE_URL=postgres://u:5433@h/db",  # a password, not a port
    "DATABASE_URL=postgres://u:x:5433y@h/db",
    "REDIS_URL=redis://:9092@h:1/0",
])
def test_numbers_that_are_not_ports_stay(line: str) -> None:
    assert one(line) == line


@pytest.mark.parametrize("line", [
    "# localhost:5433",
    "   # psql postgresql://u:p@localhost:5433/db",
    "#A=localhost:5433",
    "A:5433=x",  # a key, never rewritten
    "HOST_5433=x",
    "A=x # localhost:5433",  # an inline comment, as python-dotenv reads it
    "A=x\t# localhost:5433",
    'A="x" # localhost:5433',
    "A='x'  #localhost:5433",
    "A= # localhost:5433",
])
def test_comments_and_keys_stay(line: str) -> None:
    assert one(line) == line


def test_inline_comment_stays_while_the_value_moves() -> None:
    assert one("A=localhost:5433 # was localhost:5433") == "A=localhost:5933 # was localhost:5433"
    assert one('A="h:5433" # h:5433') == 'A="h:5933" # h:5433'


@pytest.mark.parametrize(("line", "expected"), [
    ('A="http://localhost:3211/api"', 'A="http://localhost:3711/api"'),
    ("A='http://localhost:3211/api'", "A='http://localhost:3711/api'"),
    ('A="a b localhost:5433 \\"q\\" #x"', 'A="a b localhost:5933 \\"q\\" #x"'),
    ('A="line1\nh:5433"', 'A="line1\nh:5933"'),  # a multi-line value
    ("export A=localhost:5433", "export A=localhost:5933"),
    ("export  A = 'localhost:5433'", "export  A = 'localhost:5933'"),
    ("  A=localhost:5433   ", "  A=localhost:5933   "),
])
def test_quoting_export_and_spacing_are_kept(line: str, expected: str) -> None:
    assert one(line) == expected


def test_local_hosts_keep_external_services_as_they_are() -> None:
    text = ("A=localhost:9000\nB=https://mirror.example.com:9000/scanners\nC=127.0.0.1:9000\n"
            "D=[::1]:9000\nE=:9000\nF=LOCALHOST:9000\n")
    hosts = ("localhost", "127.0.0.1", "::1")
    assert rewrite(text, local_hosts=hosts) == (
        "A=localhost:9500\nB=https://mirror.example.com:9000/scanners\nC=127.0.0.1:9500\n"
        "D=[::1]:9500\nE=:9500\nF=LOCALHOST:9500\n")
    assert "mirror.example.com:9500" in rewrite(text)  # without local_hosts, any host


# --------------------------------------------------------------------------
# Whole-value ports


@pytest.mark.parametrize(("line", "expected"), [
    ("MINIO_PORT=9000", "MINIO_PORT=9500"),
    ('POSTGRES_PORT="5433"', 'POSTGRES_PORT="5933"'),
    ("export PGPORT='5433'", "export PGPORT='5933'"),
    ("PORT=3211 # the API", "PORT=3711 # the API"),
    ("db_port=5433", "db_port=5933"),
    ("MINIO_PORT=9001", "MINIO_PORT=9001"),  # not a base port
    ("MINIO_PORT=09000", "MINIO_PORT=09000"),
    ("MINIO_PORT=9000x", "MINIO_PORT=9000x"),
    ("TIMEOUT_MS=3100", "TIMEOUT_MS=3100"),
    ("COUNT=9000", "COUNT=9000"),
    ("PORT_COUNT=9000", "PORT_COUNT=9000"),
])
def test_whole_value_of_a_port_key(line: str, expected: str) -> None:
    assert one(line) == expected


@pytest.mark.parametrize(("line", "expected"), [
    ("API_LISTEN=3211", "API_LISTEN=3711"),
    ("API_LISTEN=1234", "API_LISTEN=3711"),
    ("API_LISTEN=anything", "API_LISTEN=3711"),
    ("API_LISTEN=", "API_LISTEN=3711"),
    ("API_LISTEN= # set by multistack", "API_LISTEN= 3711 # set by multistack"),
    ('API_LISTEN="a b"', 'API_LISTEN="3711"'),
    ("export API_LISTEN='x'", "export API_LISTEN='3711'"),
    ("API_LISTEN", "API_LISTEN=3711"),
    ("VITE_PORT=5173", "VITE_PORT=5673"),
    ("DEV_SERVER_PORT=80", "DEV_SERVER_PORT=5673"),
])
def test_keys_named_by_a_service_get_its_port(line: str, expected: str) -> None:
    assert one(line) == expected


def test_conflicting_rules_are_a_bug() -> None:
    with pytest.raises(ValueError, match="5433"):
        rewrite_env("A=1\n", "x.env", [PortRule(5433, 1, "a"), PortRule(5433, 2, "b")], [])
    with pytest.raises(ValueError, match="K"):
        rewrite_env("A=1\n", "x.env", [PortRule(1, 2, "a", ("K",)), PortRule(3, 4, "b", ("K",))], [])


# --------------------------------------------------------------------------
# Overrides


SOURCE = """\
# backend
export NODE_ENV=development
DATABASE_URL=postgresql://shipsec:shipsec@localhost:5433/shipsec # instance 0
REDIS_KEY_PREFIX='shipsec:'

SHIPSEC_DATABASE="shipsec"
LOG_LEVEL=debug
"""


def test_overrides_replace_in_place_and_append_the_rest() -> None:
    out = rewrite(SOURCE, [
        ("SHIPSEC_DATABASE", "shipsec_instance_5"),
        ("SHIPSEC_INSTANCE", "5"),
        ("NODE_ENV", "test"),
        ("DATABASE_URL", "postgresql://shipsec:shipsec@localhost:5933/shipsec_instance_5"),
        ("REDIS_KEY_PREFIX", "shipsec-dev-5:"),
        ("SHIPSEC_NAMESPACE", "shipsec dev 5"),
    ])
    assert out == f"""\
# backend
export NODE_ENV=test
DATABASE_URL=postgresql://shipsec:shipsec@localhost:5933/shipsec_instance_5 # instance 0
REDIS_KEY_PREFIX='shipsec-dev-5:'

SHIPSEC_DATABASE="shipsec_instance_5"
LOG_LEVEL=debug
{DEFAULT_HEADER}
SHIPSEC_INSTANCE=5
SHIPSEC_NAMESPACE="shipsec dev 5"
"""


def test_no_header_when_nothing_is_appended() -> None:
    out = rewrite(SOURCE, [("LOG_LEVEL", "info")])
    assert out == SOURCE.replace("LOG_LEVEL=debug", "LOG_LEVEL=info").replace(":5433/", ":5933/")


def test_custom_header() -> None:
    out = rewrite("A=1\n", [("B", "2")], header="# per instance")
    assert out == "A=1\n# per instance\nB=2\n"
    with pytest.raises(ValueError, match="header"):
        rewrite("A=1\n", [("B", "2")], header="not a comment")


def test_appended_duplicates_last_wins_once() -> None:
    out = rewrite("A=1\n", [("B", "first"), ("C", "c"), ("B", "last"), ("A", "x"), ("A", "y")])
    assert out == f"A=y\n{DEFAULT_HEADER}\nB=last\nC=c\n"


def test_every_occurrence_of_an_overridden_key_is_replaced() -> None:
    """python-dotenv lets the last one win: replacing only the first would lose the override."""
    assert rewrite("A=1\nB=2\nexport A=3\n", [("A", "9")]) == "A=9\nB=2\nexport A=9\n"


def test_override_wins_over_a_port_rule() -> None:
    assert one("MINIO_PORT=9000") == "MINIO_PORT=9500"
    assert rewrite("MINIO_PORT=9000\nAPI_LISTEN=1\n", [("MINIO_PORT", "1"), ("API_LISTEN", "2")]) == \
        "MINIO_PORT=1\nAPI_LISTEN=2\n"


def test_override_values_are_not_port_rewritten() -> None:
    assert rewrite("A=1\n", [("A", "h:5433"), ("B", "h:5433")]) == f"A=h:5433\n{DEFAULT_HEADER}\nB=h:5433\n"


@pytest.mark.parametrize(("line", "value", "expected"), [
    ("A=old", "new value", 'A="new value"'),
    ("A=old # comment", "a#b", 'A="a#b" # comment'),
    ("A= # comment", "v", "A= v # comment"),
    ("A=", "", 'A=""'),
    ('A="old"', 'say "hi" \\o/', 'A="say \\"hi\\" \\\\o/"'),
    ("A='old'", "it's", "A='it\\'s'"),
    ("A='old'", "two\nlines", 'A="two\\nlines"'),
    ("A", "v", "A=v"),
    ("A # no value", "v", "A=v # no value"),
    ("A#no value", "v", "A=v #no value"),
    ("export A=old", "p$ss", 'export A="p$ss"'),
])
def test_override_in_place_keeps_the_line(line: str, value: str, expected: str) -> None:
    out = rewrite(line + "\n", [("A", value)])
    assert out == expected + "\n"
    assert read_env_values(out)["A"] == value


def test_appended_keys_use_export_when_the_file_does() -> None:
    assert rewrite("export A=1\n", [("B", "2")]) == f"export A=1\n{DEFAULT_HEADER}\nexport B=2\n"


def test_bad_override_key_is_a_bug() -> None:
    with pytest.raises(ValueError, match="name"):
        rewrite("A=1\n", [("NOT A KEY", "x")])


@pytest.mark.parametrize(("value", "written"), [
    ("plain", "plain"),
    ("postgres://u:p@h:5/db?x=1&y=2", "postgres://u:p@h:5/db?x=1&y=2"),
    ("with space", '"with space"'),
    ("a#b", '"a#b"'),
    ("", '""'),
    ('q"uote', '"q\\"uote"'),
    ("it's", '"it\'s"'),
    ("$HOME", '"$HOME"'),
    ("back\\slash", "back\\slash"),
    ("tab\there", '"tab\there"'),
    ("two\nlines", '"two\\nlines"'),
    ("ünïcode", "ünïcode"),
])
def test_encode_value(value: str, written: str) -> None:
    assert encode_value(value) == written
    assert read_env_values(f"K={written}\n") == {"K": value}


# --------------------------------------------------------------------------
# Malformed files


@pytest.mark.parametrize(("text", "lineno", "shown"), [
    ("A=1\nB C\n", 2, "B C"),
    ("# header\n\n\nA=1\n  = value\n", 5, "= value"),
    ('A=1\nB="unterminated\nC=3\n', 2, 'B="unterminated'),
    ("\n\nDB_PASSWORD hunter2\n", 3, "DB_PASSWORD ****"),
    ('A=1\nDB_PASSWORD="hunter2\n', 2, "DB_PASSWORD=****"),
    ("A=1\r\nB C\r\n", 2, "B C"),
    ("A='x' y\n", 1, "A='x' y"),
])
def test_malformed_line_is_reported_with_file_and_line(text: str, lineno: int, shown: str) -> None:
    for call in (lambda: check_env_text(text, "env/worker.env"),
                 lambda: rewrite_env(text, "env/worker.env", RULES, [("X", "1")])):
        with pytest.raises(StackError) as info:
            call()
        assert info.value.message == f"env/worker.env:{lineno}: malformed line: {shown}"
        assert info.value.hint and "KEY=value" in info.value.hint
        assert info.value.exit_code == EXIT_USAGE
        assert "hunter2" not in info.value.line()


def test_valid_files_pass_the_check() -> None:
    assert check_env_text(SOURCE, "env/backend.env") is None
    assert check_env_text("", "empty.env") is None
    odd = "JUST_A_KEY\nexport X=1\n'QUOTED'=2\nA=\n"
    assert check_env_text(odd, "x.env") is None
    # and what was let through is what an app reads (python-dotenv's own parser)
    assert read_env_values(odd) == {"JUST_A_KEY": None, "X": "1", "QUOTED": "2", "A": ""}


# --------------------------------------------------------------------------
# Layout: line ends, determinism, round trip


@pytest.mark.parametrize(("text", "expected"), [
    ("A=1", "A=1\n"),
    ("A=1\n", "A=1\n"),
    ("A=1\n\n\n", "A=1\n"),
    ("A=1\n  \n\t\n", "A=1\n"),
    ("A=1  ", "A=1  \n"),
    ("# only a comment", "# only a comment\n"),
    ("", ""),
    ("\n\n", ""),
    ("A=1\r\nB=2", "A=1\r\nB=2\r\n"),
    ("A=1\r\n\r\n", "A=1\r\n"),
    ("\n\nA=1\n", "\n\nA=1\n"),  # leading blank lines are formatting
    ("\ufeffA=localhost:5433\n", "\ufeffA=localhost:5933\n"),
])
def test_output_ends_with_exactly_one_line_end(text: str, expected: str) -> None:
    assert rewrite(text) == expected


def test_appending_to_a_file_without_final_newline_or_to_nothing() -> None:
    assert rewrite("A=1", [("B", "2")]) == f"A=1\n{DEFAULT_HEADER}\nB=2\n"
    assert rewrite("", [("B", "2")]) == f"{DEFAULT_HEADER}\nB=2\n"
    assert rewrite("A=1\r\n", [("B", "2")]) == f"A=1\r\n{DEFAULT_HEADER}\r\nB=2\r\n"


REALISTIC = """\
# ShipSec backend - development defaults for instance 0.
NODE_ENV=development
PORT=3211
# Connect by hand with: psql postgresql://shipsec:shipsec@localhost:5433/shipsec
DATABASE_URL=postgresql://shipsec:shipsec@localhost:5433/shipsec
TEMPORAL_ADDRESS=localhost:7233
MINIO_PORT=9000
MINIO_ROOT_PASSWORD=minioadmin-secret
KAFKA_BROKERS=localhost:9092,localhost:9092
LOKI_URL=http://localhost:3100
VITE_APP_NAME="ShipSec Studio (dev)"
JWT_SECRET="dev-jwt-secret-5433"
REQUEST_TIMEOUT_MS=3100
RATE_LIMIT_WINDOW_MS=9000
MAX_UPLOAD_SIZE_BYTES=900010
LOKI_TENANT_ID=
export WITH_EXPORT='localhost:5433' # comment h:5433
"""


def test_realistic_file_round_trips_through_python_dotenv() -> None:
    overrides = [("SHIPSEC_INSTANCE", "5"), ("DATABASE_URL", "postgresql://shipsec:shipsec@localhost:5933/x")]
    out = rewrite(REALISTIC, overrides)
    before, after = read_env_values(REALISTIC), read_env_values(out)
    expected = dict(before)
    expected.update(PORT="3711", MINIO_PORT="9500", KAFKA_BROKERS="localhost:9592,localhost:9592",
                    LOKI_URL="http://localhost:3600", WITH_EXPORT="localhost:5933", **dict(overrides))
    assert after == expected
    assert list(after) == list(expected)


def test_rewrite_is_deterministic() -> None:
    overrides = [("Z", "1"), ("A", "2"), ("M", "a b")]
    outs = {rewrite(REALISTIC, overrides) for _ in range(3)}
    outs.add(rewrite_env(REALISTIC, "other/name.env", tuple(reversed(RULES)), overrides))
    assert len(outs) == 1


def test_read_env_values() -> None:
    text = "A=1\nexport B='x y'\nC\nD=${A}-$HOME\n# E=5\n"
    assert read_env_values(text) == {"A": "1", "B": "x y", "C": None, "D": "${A}-$HOME"}
    assert read_env_values(text, interpolate=True)["D"].startswith("1-")  # type: ignore[union-attr]


def test_importing_envfiles_does_not_import_dotenv() -> None:
    code = ("import sys, multistack.plan.envfiles; "
            "sys.exit('dotenv imported' if 'dotenv' in sys.modules else 0)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


# --------------------------------------------------------------------------
# Properties


PORT_RE = re.compile(r"(?<=:)[0-9]+(?![0-9@])")
HOSTS = ["localhost", "127.0.0.1", "db", "a", "[::1]", "mirror.example.com"]
NUMBERS = sorted({int(p) for p in MOVED} | {15433, 54330, 90001, 5432, 8080, 1, 65535, 3101})
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def fragments(draw: st.DrawFn, quoted: bool) -> tuple[str, str]:
    """A piece of a value as (source, expected) raw text."""
    number = str(draw(st.sampled_from(NUMBERS)))
    kind = draw(st.sampled_from(["hostport", "url", "word", "number", "userinfo"] + ["quoted"] * quoted))
    host = draw(st.sampled_from(HOSTS))
    if kind == "hostport":
        return f"{host}:{number}", f"{host}:{MOVED.get(number, number)}"
    if kind == "url":
        path = draw(st.sampled_from(["", "/", "/api", "/db?sslmode=disable"]))
        return (f"http://{host}:{number}{path}", f"http://{host}:{MOVED.get(number, number)}{path}")
    if kind == "userinfo":  # the password looks like a port: it is not one
        text = f"postgres://u:{number}@{host}/db"
        return text, text
    if kind == "number":  # digits without a colon, or glued to other digits
        text = draw(st.sampled_from([number, f"x{number}y", f"1{number}", f"{number}0"]))
        return text, text
    if kind == "quoted":  # only safe between quotes
        text = draw(st.sampled_from([" ", " # ", "\\\\", "a b"]))
        return text, text
    text = draw(st.text(alphabet="abcXYZ_.-/09", min_size=1, max_size=6))
    return text, text


@st.composite
def values(draw: st.DrawFn, quote: str) -> tuple[str, str]:
    parts = draw(st.lists(fragments(quoted=bool(quote)), max_size=4))
    separators = [draw(st.sampled_from([",", "/", ";", "-", "x"])) for _ in parts]
    source = "".join(sep + src for sep, (src, _) in zip(separators, parts))[1:] if parts else ""
    expected = "".join(sep + exp for sep, (_, exp) in zip(separators, parts))[1:] if parts else ""
    return source, expected


KEYS = ["TIMEOUT_MS", "COUNT", "DATABASE_URL", "HOSTS", "JWT_SECRET", "MINIO_PORT", "PGPORT",
        "API_LISTEN", "VITE_PORT", "OVERRIDDEN", "ALSO_OVERRIDDEN"]
OVERRIDE_KEYS = ["OVERRIDDEN", "ALSO_OVERRIDDEN", "NEW_ONE", "NEW_TWO"]


@st.composite
def lines(draw: st.DrawFn) -> tuple[str, str, str | None]:
    """(source line, expected line, key) for one line of an env file."""
    kind = draw(st.sampled_from(["assign", "assign", "assign", "comment", "blank"]))
    if kind == "blank":
        blank = draw(st.sampled_from(["", "  ", "\t"]))
        return blank, blank, None
    if kind == "comment":
        src, _ = draw(values(quote='"'))
        text = draw(st.sampled_from(["", "  "])) + "# " + src
        return text, text, None
    key = draw(st.sampled_from(KEYS))
    quote = draw(st.sampled_from(["", '"', "'"]))
    if draw(st.booleans()):
        number = str(draw(st.sampled_from(NUMBERS)))
        src_value, exp_value = number, number
    else:
        src_value, exp_value = draw(values(quote=quote))
    if key.endswith("PORT") and src_value in MOVED:
        exp_value = MOVED[src_value]
    if key == "API_LISTEN":
        exp_value = "3711"
    elif key == "VITE_PORT":
        exp_value = "5673"
    prefix = draw(st.sampled_from(["", "export ", "  "])) + key + draw(st.sampled_from(["=", "= "]))
    comment = draw(st.sampled_from(["", " # h:5433", "  # note localhost:9000"]))
    if not quote and not src_value:
        comment = ""  # `KEY= # c` (an empty value) has its own tests
    return (prefix + quote + src_value + quote + comment,
            prefix + quote + exp_value + quote + comment, key)


@st.composite
def env_files(draw: st.DrawFn) -> tuple[list[tuple[str, str, str | None]], str]:
    body = draw(st.lists(lines(), max_size=12))
    ending = draw(st.sampled_from(["", "\n", "\n\n", "\n  \n"]))
    return body, ending


override_values = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12) | \
    st.sampled_from(["h:5433", "", " padded ", "a#b", '"', "'", "${X}", "back\\slash\\", "two\nlines"])


@PROPERTY_SETTINGS
@given(env_files(), st.lists(st.tuples(st.sampled_from(OVERRIDE_KEYS), override_values), max_size=5))
def test_only_ports_and_overridden_values_change(file: tuple[list[tuple[str, str, str | None]], str],
                                                 overrides: list[tuple[str, str]]) -> None:
    body, ending = file
    source = "\n".join(src for src, _, _ in body) + ending
    out = rewrite(source, overrides)
    final = dict(overrides)
    out_lines = out.split("\n")
    # Line by line: exact expected text, except overridden values (checked by reading back);
    # trailing blank lines go.
    kept = 1 + max((i for i, (src, _, _) in enumerate(body) if src.strip()), default=-1)
    for (src, exp, key), got in zip(body[:kept], out_lines):
        if key in final:
            assert got.startswith(src[:src.index("=") + 1]), (src, got)
            assert read_env_values(got + "\n")[key] == final[key]
        else:
            assert got == exp
    # The whole file reads back as the source with ports moved and overrides applied.
    expected_text = "\n".join(exp for _, exp, _ in body) + "\n"
    expected = read_env_values(expected_text)
    expected.update(final)
    assert read_env_values(out) == expected
    # Appended keys come after the header, in order, once.
    present = {key for _, _, key in body}
    missing = list(dict.fromkeys(k for k, _ in overrides if k not in present))
    if missing:
        assert out_lines[kept] == DEFAULT_HEADER
        appended = [line.split("=", 1)[0].removeprefix("export ") for line in out_lines[kept + 1:-1]]
        assert appended == missing
    else:
        assert len(out_lines) == kept + 1
    assert out == "" or (out_lines[-1] == "" and out_lines[-2].strip())


def decoded_oracle(key: str, value: str | None) -> str | None:
    """What a source value must read back as: python-dotenv's value, ports moved."""
    named = {k: str(r.port) for r in RULES for k in r.keys}
    if key in named:
        return named[key]
    if value is None:
        return None
    if key.upper().endswith("PORT") and value in MOVED:
        return MOVED[value]
    return PORT_RE.sub(lambda m: MOVED.get(m.group(), m.group()), value)


# No "/" in the alphabet: no URL userinfo, so the oracle above needs no URL parsing.
FUZZ_TOKENS = ["A", "B", "PORT", "API_LISTEN", "_", "=", "=", '"', "'", "#", " ", " ", "\t", "\n", "\n",
               "\r\n", "\r", "\\", "\\n", ":", ":", "@", "x", "5433", "9000", "3211", "15433", "export ",
               "$", "${A}", "\x0c", "\u2028", "é"]


@PROPERTY_SETTINGS
@given(st.lists(st.sampled_from(FUZZ_TOKENS), max_size=40).map("".join))
def test_any_text_is_refused_with_a_line_or_rewritten_faithfully(text: str) -> None:
    try:
        out = rewrite(text)
    except StackError as error:
        assert re.match(r"env/backend\.env:\d+: malformed line: ", error.message)
        with pytest.raises(StackError):
            check_env_text(text, "env/backend.env")
        return
    check_env_text(text, "env/backend.env")
    before, after = read_env_values(text), read_env_values(out)
    assert after == {key: decoded_oracle(key, value) for key, value in before.items()}
    # Without rules nothing but the end of the file may change.
    same = rewrite_env(text, "x.env", [], [])
    assert same.rstrip() == text.rstrip()
    if same:
        assert text.startswith(same[:-1].removesuffix("\r")) and same[-1] in "\r\n"


@PROPERTY_SETTINGS
@given(st.lists(st.sampled_from(FUZZ_TOKENS), max_size=30).map("".join),
       st.lists(st.tuples(st.sampled_from(["A", "B", "NEW"]), override_values), min_size=1, max_size=4))
def test_overrides_read_back_exactly(text: str, overrides: list[tuple[str, str]]) -> None:
    try:
        out = rewrite(text, overrides)
    except StackError:
        return
    values = read_env_values(out)
    for key, value in dict(overrides).items():
        assert values[key] == value


# --- LocalHosts: what the instance generation passes (multistack.render) ---------


def test_local_hosts_move_and_external_hosts_stay():
    from multistack.plan.envfiles import LocalHosts, PortRule, rewrite_env

    rules = [PortRule(9000, 9300, "minio"), PortRule(9092, 9392, "redpanda"), PortRule(5433, 5733, "postgres")]
    text = ("A=localhost:9000\nB=a:9092,b:9092\nC=https://mirror.example.com:9000/x\nD=:5433\n"
            "E=http://127.0.0.1:5433\nF=http://app.localhost:9000\nG=http://10.1.2.3:9000\nH=http://[::1]:5433\n")
    out = rewrite_env(text, "t.env", rules, (), local_hosts=LocalHosts())
    assert out == ("A=localhost:9300\nB=a:9392,b:9392\nC=https://mirror.example.com:9000/x\nD=:5733\n"
                   "E=http://127.0.0.1:5733\nF=http://app.localhost:9300\nG=http://10.1.2.3:9000\nH=http://[::1]:5733\n")


def test_local_hosts_extra_names():
    from multistack.plan.envfiles import LocalHosts

    hosts = LocalHosts(["dev.example.test"])
    assert "dev.example.test" in hosts and "other.example.test" not in hosts and "redis" in hosts
