"""Audit fixtures: the real program against a :class:`~tests.audit.fake.FakeEngine`."""
from __future__ import annotations

from tests.audit.fake import engine  # noqa: F401  (a fixture)
