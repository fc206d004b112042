"""Masking edge cases that mutation testing found unchecked: quoted keys, the ``_KEY``/``_PASS``
suffixes, a colon after the userinfo, and quotes kept around a masked value."""
from __future__ import annotations

import pytest

from multistack.plan.masking import is_secret_key, mask_line, mask_urls, mask_value


@pytest.mark.parametrize("key, secret", [
    ("'DB_PASSWORD'", True), ("  'API_TOKEN'  ", True), ("'aws_secret_access_key'", True),
    ("S3_KEY", True), ("SMTP_PASS", True), ("KEYCLOAK_URL", False), ("PASSAGE", False),
    ("'PORT'", False), ("key", False), ("PASS", False), ("_PASS", True),
])
def test_secret_keys(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


@pytest.mark.parametrize("text, shown", [
    ("postgres://u:hunter2@db:5432/app", "postgres://u:****@db:5432/app"),
    ("postgres://u@db:5432/app", "postgres://u@db:5432/app"),  # no password: the host's port is not one
    ("postgres://u:@db:5432/app", "postgres://u:@db:5432/app"),  # an empty password stays empty
    ("a=redis://:pw@r:6379 b=http://x:y@h:1/", "a=redis://:****@r:6379 b=http://x:****@h:1/"),
    ("amqp://u:p:q@h:5672", "amqp://u:****@h:5672"),  # everything after the first colon is the password
])
def test_url_passwords(text: str, shown: str) -> None:
    assert mask_urls(text) == shown


@pytest.mark.parametrize("line, shown", [
    ("DB_PASSWORD='hunter2'\n", "DB_PASSWORD='****'\n"),
    ('DB_PASSWORD="hunter2"', 'DB_PASSWORD="****"'),
    ("DB_PASSWORD='", "DB_PASSWORD=****"),  # one quote is not a pair
    ("export API_TOKEN=abc", "export API_TOKEN=****"),
    ("DB_PASSWORD hunter2", "DB_PASSWORD ****"),
    ("NOTE hunter2", "NOTE hunter2"),
    ("DB_URL='postgres://u:pw@h/db'", "DB_URL='postgres://u:****@h/db'"),
    ("DB_PASSWORD=", "DB_PASSWORD="),
])
def test_lines(line: str, shown: str) -> None:
    assert mask_line(line) == shown


def test_values() -> None:
    assert mask_value("SECRET", "x") == "****" and mask_value("SECRET", "") == ""
    assert mask_value("URL", "http://a:b@c") == "http://a:****@c"
