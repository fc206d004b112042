"""Decoding a user's file (model/usertext.py): the one line naming the file, line and byte, and the
text kept exactly as written otherwise (found by mutation testing, issue 11)."""
from __future__ import annotations

import pytest

from multistack.errors import StackError
from multistack.model.usertext import UTF8_HINT, decode_user_text


def refusal(data: bytes) -> StackError:
    with pytest.raises(StackError) as info:
        decode_user_text(data, "env/app.env")
    return info.value


def test_a_bad_byte_is_named_with_its_line_counted_from_one():
    assert refusal(b"\xe9t\xe9=1\n").message == "env/app.env: not valid UTF-8 at line 1 (byte 0xe9)"
    assert refusal(b"A=1\nB=2\r\nC=caf\xe9\n").message == "env/app.env: not valid UTF-8 at line 3 (byte 0xe9)"


def test_a_newline_after_the_bad_byte_does_not_count():
    assert refusal(b"A=1\nB=\x80\n\n\n").message == "env/app.env: not valid UTF-8 at line 2 (byte 0x80)"
    assert refusal(b"\n\xe9").message == "env/app.env: not valid UTF-8 at line 2 (byte 0xe9)"  # a first blank line counts


def test_a_small_byte_is_shown_with_two_hex_digits_and_the_fix_is_to_save_as_utf8():
    error = refusal("A=é".encode("utf-8")[:-1] + b"\x0a")  # a cut multi-byte sequence: its lead byte is named
    assert error.message == "env/app.env: not valid UTF-8 at line 1 (byte 0xc3)"
    assert refusal(b"\xff\xfeA\x00").message.endswith("(byte 0xff)")
    assert error.hint == UTF8_HINT == "save it as UTF-8"
    assert error.line() == "error: env/app.env: not valid UTF-8 at line 1 (byte 0xc3) (fix: save it as UTF-8)"


def test_valid_text_keeps_its_line_endings_and_byte_order_mark():
    assert decode_user_text(b"\xef\xbb\xbfA=1\r\nB=\xc3\xa9\r\n", "x") == "\ufeffA=1\r\nB=é\r\n"
    assert decode_user_text(b"", "x") == ""
