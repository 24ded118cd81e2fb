"""Large, short-lived allocations: handing freed memory back to the operating system, and
freeing big lists and sets a slice at a time beside the window's event loop."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from functools import cache
from typing import Any

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


def release(items: list[Any] | set[Any], step: int = 1000) -> None:
    """Empty ``items`` (a list, last first, or a set) ``step`` at a time.

    Why: a list or set of tens of thousands of objects freed at once is one C call that
    holds the interpreter lock until every object is gone (tens of milliseconds for the
    80,000 rows, shingle arrays and compared pairs of a story pass), and the window's event
    loop waits all of it out when that happens on one of its threads. Between slices the
    lock changes hands.
    """
    if isinstance(items, list):
        while items:
            del items[-step:]
        return
    while items:
        for _ in range(min(step, len(items))):
            items.pop()
