"""Secrets never reach the screen: keys judged by name, URL passwords by position."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from multistack.plan.masking import MASK, is_secret_key, mask_line, mask_mapping, mask_urls, mask_value, userinfo_spans


@pytest.mark.parametrize("key", [
    "POSTGRES_PASSWORD", "db_password", "MYSQL_PASSWD", "JWT_SECRET", "SESSION_SECRET",
    "SECRET_STORE_MASTER_KEY", "INTERNAL_SERVICE_TOKEN", "GITHUB_TOKEN", "OPENAI_API_KEY",
    "AWS_ACCESS_KEY_ID", "GCP_PRIVATE_KEY_PEM", "GOOGLE_CREDENTIALS", "AUTH_URL", "OAUTH_CLIENT_ID",
    "MINIO_SECRET_KEY", "MINIO_ACCESS_KEY", "VITE_PUBLIC_POSTHOG_KEY", "SMTP_PASS", "stripe_key",
])
def test_secret_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", [
    "MINIO_ROOT_USER", "DATABASE_URL", "PORT", "KEY", "REDIS_KEY_PREFIX", "KEYCLOAK_URL",
    "PASSPORT_NUMBER", "LOG_LEVEL", "NODE_ENV", "TEMPORAL_NAMESPACE", "MINIO_PORT",
])
def test_not_secret_keys(key: str) -> None:
    assert not is_secret_key(key)


def test_secret_value_is_masked_whatever_it_is() -> None:
    assert mask_value("MINIO_ROOT_PASSWORD", "minioadmin-secret") == MASK
    assert mask_value("JWT_SECRET", "x") == "****"
    assert mask_value("AUTH_URL", "http://localhost:3211/auth") == MASK


def test_empty_secret_stays_empty() -> None:
    """An empty secret is worth seeing: it is usually the bug."""
    assert mask_value("DB_PASSWORD", "") == ""


@pytest.mark.parametrize(("value", "masked"), [
    ("postgresql://user:pw@host:5433/db", "postgresql://user:****@host:5433/db"),
    ("postgresql://shipsec:shipsec@localhost:5433/shipsec", "postgresql://shipsec:****@localhost:5433/shipsec"),
    ("redis://:s3cret@localhost:6379/0", "redis://:****@localhost:6379/0"),
    ("amqp://u:p@ss@h:5672/", "amqp://u:****@h:5672/"),  # the host follows the last @
    ("mongodb://u:pw@h1:1,h2:2/db?x=y", "mongodb://u:****@h1:1,h2:2/db?x=y"),
    ("a=http://u:1@h b=https://v:2@k/p", "a=http://u:****@h b=https://v:****@k/p"),
    ('"postgres://u:pw@h/db"', '"postgres://u:****@h/db"'),
])
def test_url_passwords_are_masked(value: str, masked: str) -> None:
    assert mask_value("DATABASE_URL", value) == masked
    assert mask_urls(value) == masked


@pytest.mark.parametrize("value", [
    "http://localhost:3211/api", "https://user@host/x", "postgres://u:@h/db", "localhost:5433",
    "user:pw", "see http://h/a@b:c", "plain text", "",
])
def test_values_without_url_password_are_unchanged(value: str) -> None:
    assert mask_value("DATABASE_URL", value) == value


def test_userinfo_spans_cover_user_and_password() -> None:
    text = "x postgres://u:pw@h:1/d"
    [(start, end)] = userinfo_spans(text)
    assert text[start:end] == "u:pw"
    assert userinfo_spans("http://h:1/p") == []


@pytest.mark.parametrize(("line", "masked"), [
    ("POSTGRES_PASSWORD=shipsec", "POSTGRES_PASSWORD=****"),
    ("export JWT_SECRET=abc\n", "export JWT_SECRET=****\n"),
    ('SESSION_SECRET="dev-session-secret"', 'SESSION_SECRET="****"'),
    ("API_KEY='k'", "API_KEY='****'"),
    ("DB_PASSWORD=", "DB_PASSWORD="),
    ('DB_PASSWORD=""', 'DB_PASSWORD=""'),
    ("DB_PASSWORD = x", "DB_PASSWORD = ****"),
    ('DB_PASSWORD="unterminated', "DB_PASSWORD=****"),
    ("DB_PASSWORD=abc # note", "DB_PASSWORD=****"),
    ("DB_PASSWORD hunter2", "DB_PASSWORD ****"),  # a typical malformed line
    ("DB_PASSWORD: hunter2", "DB_PASSWORD: ****"),
    ("DATABASE_URL=postgresql://u:pw@h:5433/db", "DATABASE_URL=postgresql://u:****@h:5433/db"),
    ("MINIO_ROOT_USER=minioadmin", "MINIO_ROOT_USER=minioadmin"),
    ("PORT=3211\r\n", "PORT=3211\r\n"),
])
def test_mask_line_assignments(line: str, masked: str) -> None:
    assert mask_line(line) == masked


@pytest.mark.parametrize(("line", "masked"), [
    ("# psql postgresql://shipsec:shipsec@localhost:5433/shipsec",
     "# psql postgresql://shipsec:****@localhost:5433/shipsec"),
    ("# DB_PASSWORD=commented-out", "# DB_PASSWORD=****"),  # issue 12: still a password
    ("connect to postgres://u:p@h now", "connect to postgres://u:****@h now"),
    ("postgres://u:p@h", "postgres://u:****@h"),
    ("", ""),
    ("just text", "just text"),
])
def test_mask_line_other_lines_hide_secret_shapes(line: str, masked: str) -> None:
    assert mask_line(line) == masked


def test_mask_mapping() -> None:
    values = {"MINIO_ROOT_USER": "minioadmin", "MINIO_ROOT_PASSWORD": "minioadmin-secret",
              "DATABASE_URL": "postgresql://shipsec:shipsec@localhost:5433/shipsec", "EMPTY_TOKEN": ""}
    assert mask_mapping(values) == {
        "MINIO_ROOT_USER": "minioadmin", "MINIO_ROOT_PASSWORD": MASK,
        "DATABASE_URL": "postgresql://shipsec:****@localhost:5433/shipsec", "EMPTY_TOKEN": "",
    }
    assert mask_mapping({"FLAG": None}) == {"FLAG": None}  # type: ignore[dict-item]


def test_mask_mapping_does_not_change_its_input() -> None:
    values = {"JWT_SECRET": "x"}
    mask_mapping(values)
    assert values == {"JWT_SECRET": "x"}


def test_import_is_stdlib_only() -> None:
    """masking is imported by every printing command: it must not drag in dotenv or yaml."""
    code = ("import sys, multistack.plan.masking; "
            "bad = [m for m in ('dotenv', 'yaml', 'jinja2', 'invoke') if m in sys.modules]; "
            "sys.exit(str(bad) if bad else 0)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
