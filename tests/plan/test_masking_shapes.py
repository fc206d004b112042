"""Masking by value shape, both sides of each threshold: credentials go, ordinary values stay."""
from __future__ import annotations

import base64
import random
import secrets

import pytest

from multistack.plan.masking import (ENTROPY_MIN_LENGTH, MASK, is_secret_field, is_secret_key, looks_like_token,
                                     mask_json, mask_line, mask_text, secret_spans)

GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXZhbHVl"


@pytest.mark.parametrize("key", [
    "DB_PWD", "GPG_PASSPHRASE", "SMTP_PASS", "SESSION_SECRET_V2", "X_TOKEN", "'X_TOKEN'", '"DB_PASSWORD"',
    "S3_KEY", "GOOGLE_CREDENTIAL", "SSH_PRIVATE", "AZURE_ACCOUNTKEY", "SharedAccessKey", "ApiKey",
])
def test_more_secret_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["PWD", "PASS", "PASSPORT", "KEY", "KEYS_DIR", "MONKEY_PATCH", "PUBLIC_URL",
                                 "HOSTNAME", "NAMESPACE", "IMAGE_TAG", "COMPOSE_PROJECT_NAME"])
def test_ordinary_keys(key: str) -> None:
    assert not is_secret_key(key)


@pytest.mark.parametrize("name", ["Password", "pwd", "Pwd", "PASS", "sig", "AccountKey", "--token", "db_password"])
def test_connection_string_fields(name: str) -> None:
    assert is_secret_field(name)


@pytest.mark.parametrize("name", ["Server", "host", "port", "User Id", "Database", "AccountName", "--env"])
def test_ordinary_fields(name: str) -> None:
    assert not is_secret_field(name)


@pytest.mark.parametrize(("text", "shown"), [
    ("https://" + GITHUB + "@github.com/o/r.git", "https://****@github.com/o/r.git"),
    ("postgres://u:pw@h/db", "postgres://u:****@h/db"),
    ("tcp://user:pw@host:2376", "tcp://user:****@host:2376"),
    ("ssh://user:pw@host", "ssh://user:****@host"),
    ("Server=db;Database=app;User Id=sa;Password=pw;", "Server=db;Database=app;User Id=sa;Password=****;"),
    ("password=pw host=db port=5432", "password=**** host=db port=5432"),
    ("password='p w' host=db", "password='****' host=db"),
    ("A=1;AccountKey=k+/==;B=2", "A=1;AccountKey=****;B=2"),
    ("Uid=sa;Pwd=x;", "Uid=sa;Pwd=****;"),
    ("-e 'DB_PASSWORD=a b' -e X=1", "-e 'DB_PASSWORD=****' -e X=1"),
    ("--token=abc --name=x", "--token=**** --name=x"),
    ('{"DB_PASSWORD": "x", "HOST": "h"}', '{"DB_PASSWORD": "****", "HOST": "h"}'),
    ("id AKIAIOSFODNN7EXAMPLE.", "id ****."),
    ("xoxb-1234567890-abcdefghij", MASK),
    ("xoxp-1234567890-abcdefghij x", MASK + " x"),
    ("Bearer " + JWT, "Bearer " + MASK),
    ("github_pat_11ABCDEFG0123456789_abcdefghij", MASK),
    ("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----",
     "-----BEGIN PRIVATE KEY-----****-----END PRIVATE KEY-----"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\\nb3Blbn", "-----BEGIN OPENSSH PRIVATE KEY-----****"),
])
def test_secret_shapes_are_masked(text: str, shown: str) -> None:
    assert mask_text(text) == shown


@pytest.mark.parametrize("text", [
    "localhost:5433", "http://localhost:3211/api", "redis://redis:6379/0", "demo-dev-1", "demo_instance_1",
    "/home/runner/work/MyProject2024/MyProject/.instances/instance-1", "/Users/JohnSmith2/Projects/stack/apps",
    "ghcr.io/org/image-name:v1.2.3-alpine", "image@sha256:" + "a" * 10 + "0123456789abcdef" * 3 + "0" * 6,
    "MultistackE2eInstanceNamespace2Prod", "XMLHttpRequestFactory2ForWebSocketsV8Engine",
    "550e8400-e29b-41d4-a716-446655440000", "18000", "0.0.0.0", "host.docker.internal", "e2e-api-1",
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "ghp_short", "host:port",
    "docker compose -p demo-dev-1 -f a.yml up -d --wait", "see http://h/a@b:c", "PORT=3000",
])
def test_ordinary_values_stay(text: str) -> None:
    assert mask_text(text) == text


def test_hex_digest_stays_but_hex_secret_goes() -> None:
    digest = secrets.token_hex(32)
    assert mask_text(f"busybox@sha256:{digest}") == f"busybox@sha256:{digest}"
    assert mask_text(f"key {digest}") == f"key {MASK}"


def test_entropy_length_threshold_both_sides() -> None:
    rng = random.Random(7)
    for _ in range(50):
        word = base64.b64encode(rng.randbytes(48)).decode().replace("/", "A").replace("+", "B")
        assert looks_like_token(word[:ENTROPY_MIN_LENGTH + 8]), word
        assert not looks_like_token(word[:ENTROPY_MIN_LENGTH - 1]), word


def test_random_tokens_are_masked_nearly_always() -> None:
    """The shape rules are a backstop to key names; they catch the usual generators."""
    hidden = sum(mask_text(secrets.token_urlsafe(32)) == MASK for _ in range(500))
    assert hidden >= 490
    assert all(mask_text(secrets.token_hex(20)) == MASK for _ in range(100))


def test_spans_are_sorted_and_disjoint() -> None:
    text = f"postgres://u:pw@h Password=x; {GITHUB} {JWT}"
    spans = secret_spans(text)
    assert spans == sorted(spans)
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))


def test_mask_line_uses_shapes_for_ordinary_keys() -> None:
    assert mask_line(f"REPO=https://{GITHUB}@github.com/x") == "REPO=https://****@github.com/x"
    assert mask_line(f"NOTE={JWT}") == "NOTE=****"
    assert mask_line('"DB_PASSWORD"="x"') == '"DB_PASSWORD"="****"'
    assert mask_line("KEY_PASSPHRASE: words here") == "KEY_PASSPHRASE: ****"


def test_mask_json_masks_by_key_and_shape() -> None:
    data = {"engine": {"docker_host": "tcp://u:pw@h:2376", "host": "h"}, "DB_PASSWORD": "x", "n": 1,
            "list": [GITHUB, "plain"]}
    assert mask_json(data) == {"engine": {"docker_host": "tcp://u:****@h:2376", "host": "h"},
                               "DB_PASSWORD": MASK, "n": 1, "list": [MASK, "plain"]}
