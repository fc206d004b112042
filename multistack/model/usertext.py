"""The one way a user's file turns from bytes into text (pure: bytes in, text or one error out).

Every file a user writes or may edit (stack.yaml, env files, compose files,
templates, ``instance.json``, ``.default-instance``) is decoded here, strictly
as UTF-8: a Latin-1 byte is a one-line error naming the file, the line and the
byte, never a ``UnicodeDecodeError`` traceback. Decoding bytes (rather than
``Path.read_text``) also keeps line endings as written: a CRLF env file stays
CRLF in its copy. A UTF-8 byte-order mark is kept as ``\\ufeff``, as before
(the YAML reader skips it; an env file's first key shows it in its error).

The file opening lives in :mod:`multistack.io.userfiles`; model/ reads its
own declaration file through :func:`decode_user_text` too, so both share it.
"""
from __future__ import annotations

from multistack.errors import StackError

#: The fix printed with every decoding error.
UTF8_HINT = "save it as UTF-8"


def decode_user_text(data: bytes, name: str) -> str:
    """``data`` as UTF-8 text; a StackError ``NAME: not valid UTF-8 at line L (byte 0xNN)`` if it is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise StackError(f"{name}: not valid UTF-8 at line {line} (byte 0x{data[exc.start]:02x})",
                         UTF8_HINT) from None
