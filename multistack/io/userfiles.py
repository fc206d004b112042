"""The one door through which a user's file is read: bytes in, decoded strictly, one-line errors.

Every reader of a file the user writes or may edit (compose and env files,
``instance.json``, ``.default-instance``, the mesh's ``env/.env``) calls
:func:`read_user_text`, so an unreadable file, a folder where the file
belongs, or invalid UTF-8 reads the same everywhere: one line naming the file
(and for UTF-8 the line and the byte) with the fix. The decoding itself is
:func:`multistack.model.usertext.decode_user_text` (model/ decodes
stack.yaml with it). Reading bytes keeps CRLF line endings as written.
"""
from __future__ import annotations

from pathlib import Path

from multistack.errors import StackError
from multistack.model.usertext import decode_user_text


def read_user_text(path: Path, name: str | None = None, *, what: str = "", hint: str | None = None,
                   missing_ok: bool = False) -> str | None:
    """The text of ``path`` (shown as ``name``); None when it is missing and ``missing_ok``.

    ``what`` ("compose file", "env file") and ``hint`` shape the error of an
    unreadable file: ``cannot read compose file NAME: Is a directory (fix: HINT)``.
    """
    shown = name or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        if missing_ok:
            return None
        raise StackError(f"cannot read {what + ' ' if what else ''}{shown}: {exc.strerror}", hint) from None
    except OSError as exc:
        raise StackError(f"cannot read {what + ' ' if what else ''}{shown}: {exc.strerror or exc}", hint) from None
    return decode_user_text(data, shown)
