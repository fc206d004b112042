"""Masking edge cases that mutation testing found unchecked: quoted keys, the ``_KEY``/``_PASS``
suffixes, a colon after the userinfo, and quotes kept around a masked value."""
from __future__ import annotations

import pytest

from multistack.plan.masking import (is_secret_field, is_secret_key, looks_like_token, mask_json, mask_line,
                                     mask_mapping, mask_text, mask_urls, mask_value)


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


# --------------------------------------------------------------------------
# Found by the per-module mutation run of plan/masking.py (issue 11, second pass)


@pytest.mark.parametrize("key", ["'STRIPE_KEY'", '"SMTP_PASS"', "'DB_PWD'"])
def test_a_quoted_key_with_a_secret_suffix_is_secret(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("text, shown", [
    ("mysql --pwd=hunter2 -h db", "mysql --pwd=**** -h db"),  # a flag's dashes are not part of its name
    ("tool --pass=hunter2", "tool --pass=****"),
    ('"Pwd"="hunter2"', '"Pwd"="****"'),  # a quoted short field name (connection-string style)
    ('"DB_PASSWORD"="hunter2"', '"DB_PASSWORD"="****"'),  # a quoted name at the very start
    ('echo "hi" "DB_PASSWORD"="s3cret"', 'echo "hi" "DB_PASSWORD"="****"'),  # an earlier quoted word
    ("PASSWORD=hunter2 and more text'", "PASSWORD=**** and more text'"),  # a quote at the text's end is not shell quoting
    ('PASSWORD="" HOST="db"', 'PASSWORD="" HOST="db"'),  # an empty password is shown, the rest untouched
    ('PASSWORD="hunter2', 'PASSWORD="****'),  # unclosed: to the end of the text
    ('first line\nPASSWORD="hunter2\nline2\nline3', 'first line\nPASSWORD="****\nline2\nline3'),  # ... of its line
    ("run 'DB_PASSWORD=hunter2\necho 'hello'", "run 'DB_PASSWORD=****\necho 'hello'"),  # shell quote unclosed on its line
    ("env 'DB_PASSWORD=a b' 'other'", "env 'DB_PASSWORD=****' 'other'"),  # closed by the first quote, not the last
])
def test_secret_fields_in_free_text(text: str, shown: str) -> None:
    assert mask_text(text) == shown


def test_an_unsigned_jwt_is_masked_with_its_trailing_dot_and_nothing_after() -> None:
    # alg "none": header.payload. with an empty signature
    assert mask_text("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. rest") == "Bearer **** rest"


@pytest.mark.parametrize("url, shown", [
    ("https://abcdefghij0123456789xyz@github.com/x", "https://****@github.com/x"),  # git's token-as-user
    ("https://abcdefghij0123456789@h/x", "https://****@h/x"),  # 20 characters with digits: a token
    ("https://abcdefghij012345678@h/x", "https://abcdefghij012345678@h/x"),  # 19: a user name
    ("postgres://app1@db/x", "postgres://app1@db/x"),  # a short user with a digit is a user
])
def test_a_url_user_without_password_is_masked_only_when_it_is_a_token(url: str, shown: str) -> None:
    assert mask_text(url) == shown


def test_the_class_switch_threshold_is_inclusive_of_its_documented_ratio() -> None:
    """docs/secrets.md: a run of 32+ is a token when its class changes per character reach 0.4."""
    assert looks_like_token("ABCDefgHIJklm23NOPqrs45TUVwx6Yz7")  # 13 changes over 31 steps: 0.42
    assert not looks_like_token("ABCDefgHIJklm23NOPqrs45TUVwx6Yza")  # 12 over 31: 0.39


def test_a_repetitive_run_is_not_a_token_however_mixed() -> None:
    assert mask_text("id=" + "xyXY12" * 6) == "id=" + "xyXY12" * 6  # 2.6 bits per character


@pytest.mark.parametrize("line", ["DB_PASSWORD=fooXX\n", "DB_PASSWORD=XhunterX"])
def test_no_character_of_a_secret_value_is_shown(line: str) -> None:
    assert mask_line(line) == "DB_PASSWORD=****" + ("\n" if line.endswith("\n") else "")


def test_a_key_without_a_value_stays_without_one() -> None:
    assert mask_mapping({"DB_PASSWORD": None, "HOST": None, "API_TOKEN": "x"}) == {
        "DB_PASSWORD": None, "HOST": None, "API_TOKEN": "****"}


@pytest.mark.parametrize("text, shown", [
    ("==> DB_PASSWORD=hunter2", "==> DB_PASSWORD=****"),  # a log arrow: an `=` at the very start
    (":info DB_PASSWORD: hunter2", ":info DB_PASSWORD: ****"),  # a `:` at the very start
    (": DB_PASSWORD=hunter2", ": DB_PASSWORD=****"),
    ("DB_PASSWORD = hunter2", "DB_PASSWORD = ****"),  # blanks around the `=`
    ("DB_PASSWORD:\thunter2", "DB_PASSWORD:\t****"),  # `KEY:<tab>value`
    ("DB_PASSWORD: hunter2", "DB_PASSWORD: ****"),
    ("DB_PASSWORD=Xylophone1", "DB_PASSWORD=****"),
    ("docker run --env=TOKEN=hunter2", "docker run --env=TOKEN=****"),  # the name right after another `=`
    ("connect to auth:8080", "connect to auth:8080"),  # `host:port`, even for a host called auth
    ("auth:8080 DB_PASSWORD=hunter2", "auth:8080 DB_PASSWORD=****"),  # ... and what follows is still read
    ("DB_PASSWORD= ", "DB_PASSWORD= "),  # nothing after the blanks: nothing to hide
    ("DB_PASSWORD=;HOST=db", "DB_PASSWORD=;HOST=db"),  # an empty value stays visibly empty
])
def test_separators_anywhere_in_free_text(text: str, shown: str) -> None:
    assert mask_text(text) == shown


CERT = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n"


def test_a_certificate_is_shown_and_the_private_key_after_it_is_not() -> None:
    text = CERT + "-----BEGIN RSA PRIVATE KEY-----\nMIIEsecret\n-----END RSA PRIVATE KEY-----\ntail"
    assert mask_text(text) == CERT + "-----BEGIN RSA PRIVATE KEY-----****-----END RSA PRIVATE KEY-----\ntail"


def test_every_private_key_of_a_text_is_masked_and_an_unterminated_one_to_the_end() -> None:
    two = "a -----BEGIN PRIVATE KEY-----x-----END PRIVATE KEY----- b -----BEGIN PRIVATE KEY-----y-----END PRIVATE KEY-----"
    assert mask_text(two) == ("a -----BEGIN PRIVATE KEY-----****-----END PRIVATE KEY----- "
                              "b -----BEGIN PRIVATE KEY-----****-----END PRIVATE KEY-----")
    assert mask_text(CERT + "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\nrest") == (
        CERT + "-----BEGIN EC PRIVATE KEY-----****")
    assert mask_text("-----BEGIN oops") == "-----BEGIN oops"  # no header end: nothing to mask
    empty = "-----BEGIN PRIVATE KEY----------END PRIVATE KEY-----"
    assert mask_text(empty) == empty


def test_json_output_is_masked_all_the_way_down() -> None:
    data = {"a": ["postgres://u:p@h/db", {"DB_PASSWORD": "x", "n": 3, "TOKEN": 5}], "b": ("x", "y"),
            1: "DB_PASSWORD=x", "c": None}
    assert mask_json(data) == {"a": ["postgres://u:****@h/db", {"DB_PASSWORD": "****", "n": 3, "TOKEN": 5}],
                               "b": ["x", "y"], 1: "DB_PASSWORD=****", "c": None}
    assert mask_value("DB_PASSWORD", "") == "" and mask_value("HOST", "postgres://u:p@h") == "postgres://u:****@h"


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
LOW_ENTROPY_PAT = "ghp_" + "a" * 36  # caught by its prefix alone, not by its randomness


@pytest.mark.parametrize("text, shown", [
    ("https://h/api/" + JWT + "?x=1", "https://h/api/****?x=1"),  # a JWT in a URL path: the path is kept
    ("Bearer+" + JWT, "Bearer+****"),  # after a `+` (form encoding)
    ("Bearer " + JWT + " and " + LOW_ENTROPY_PAT, "Bearer **** and ****"),  # what follows a JWT is still read
    ("eyJhbGciOiJub25lIn0", "eyJhbGciOiJub25lIn0"),  # a lone header is not a token
    ("sha256:" + "0123456789abcdef" * 4, "sha256:" + "0123456789abcdef" * 4),  # a digest at the text's start
    ("https://" + LOW_ENTROPY_PAT + ":x-oauth-basic@github.com/o/r.git", "https://****:****@github.com/o/r.git"),
    ("ghp_" + "a" * 16, "****"),  # 20 characters in all: a token
    ("ghp_" + "a" * 15, "ghp_" + "a" * 15),  # 19: too short to tell
    ("see https://docs.example.com then postgres://u:pw@db/x", "see https://docs.example.com then postgres://u:****@db/x"),
    ("https://abcdefghij0123456789@h:8080/x", "https://****@h:8080/x"),  # a token user, a port after the host
])
def test_tokens_and_urls_in_free_text(text: str, shown: str) -> None:
    assert mask_text(text) == shown


def test_the_shape_thresholds_are_inclusive() -> None:
    """docs/secrets.md: 32 characters or more, class changes >= 0.4 per step, entropy >= 3.5 bits."""
    assert looks_like_token("ABCabc012DEFdef345GHgh67IJij89KLkl01")  # 36 characters, 14 changes in 35: 0.4
    assert looks_like_token("Ae1Bf2Cg3Dh4ABCDe1f2g3h4ABCDABCD")  # 4 symbols x4 and 8 x2: exactly 3.5 bits


@pytest.mark.parametrize("text, shown", [
    ("db:5432 PASSWORD: hunter2 cache:6379", "db:5432 PASSWORD: **** cache:6379"),  # a `KEY: value` between two ports
    ("first line\nenv 'DB_PASSWORD=a b' x", "first line\nenv 'DB_PASSWORD=****' x"),  # shell quoting on a later line
    ("q=a+b+" + JWT, "q=a+b+****"),  # a JWT after two `+` of form encoding
])
def test_secrets_among_other_separators(text: str, shown: str) -> None:
    assert mask_text(text) == shown


#: 32 characters that change class at every step, all distinct: a credential by shape.
RANDOM_32 = "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xZ"


@pytest.mark.parametrize("name", ["DB_KEYX", "XPWD", "PWDX"])
def test_only_quotes_blanks_and_dashes_are_trimmed_from_a_name_before_it_is_judged(name: str) -> None:
    assert is_secret_key(name) is False
    assert is_secret_field(name) is False


def test_the_padding_of_a_run_does_not_count_towards_its_length_and_letters_do() -> None:
    assert looks_like_token(RANDOM_32) is True
    assert looks_like_token(RANDOM_32[:31] + "=") is False  # 31 characters and a pad: too short
    assert looks_like_token(RANDOM_32[:31] + "X") is True  # a final X is part of the body, not a pad
    assert looks_like_token("Xghp_" + "a1" * 8) is False  # a token prefix counts only at the start


def test_a_separator_inside_a_secret_value_does_not_end_the_scan() -> None:
    assert mask_text("PASSWORD=a=b TOKEN=c") == "PASSWORD=**** TOKEN=****"


def test_a_name_ending_in_x_is_judged_whole() -> None:
    assert mask_text("DB_KEYX=abc") == "DB_KEYX=abc"  # not DB_KEY
    assert mask_text("MY_TOKENX=abc") == "MY_TOKENX=****"  # an X is not a quote


def test_the_trailing_blanks_of_a_secret_value_are_masked_with_it() -> None:
    assert mask_line("TOKEN=abc  \n") == "TOKEN=****\n"
