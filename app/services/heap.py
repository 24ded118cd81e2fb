"""Handing freed memory back to the operating system after large, short-lived allocations."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from functools import cache

log = logging.getLogger(__name__)


@cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


def trim() -> bool:
    """Return free heap pages to the system (glibc ``malloc_trim``); False where unavailable.

    Large encodes leave tens of megabytes in freed arenas that glibc keeps for reuse; this
    lets the resident size fall back after them.
    """
    libc = _libc()
    if libc is None:
        return False
    try:
        return bool(libc.malloc_trim(0))
    except (AttributeError, OSError) as exc:  # a libc without it (musl): nothing to do
        log.debug("malloc_trim unavailable: %s", exc)
        return False
