"""What the kernel says about itself: the machine-wide async I/O counters (``fs.aio-max-nr``, ``fs.aio-nr``).

Read from ``/proc`` (no process): the doctor compares them with what the stack's Redpanda
instances would reserve. Not Linux, or a masked ``/proc``: nothing known (None).
"""
from __future__ import annotations

import os
from pathlib import Path

PROC_FS = Path("/proc/sys/fs")


def aio_counters(folder: Path = PROC_FS) -> tuple[int, int] | None:
    """``(aio-max-nr, aio-nr)``: the machine's cap on async I/O requests, and how many are reserved now."""
    try:
        return int((folder / "aio-max-nr").read_text().strip()), int((folder / "aio-nr").read_text().strip())
    except (OSError, ValueError):
        return None


def cpu_count() -> int:
    """Logical CPUs here: Redpanda without ``--smp`` runs one shard on each."""
    return os.cpu_count() or 1
