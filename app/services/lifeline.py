"""The parent-death watch of our helper processes: a child ends itself when the process that
started it is gone, so that a killed window or command never leaves workers behind; and their
low CPU priority, so that the window's event loop gets a core soon after it wakes."""

from __future__ import annotations

import logging
import os
import threading
import time

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 1.0

HELPER_NICENESS = 19
"""The highest niceness; see :func:`lower_priority` for why this one."""


def watch_parent(parent: int, interval: float = WATCH_INTERVAL_S) -> None:
    """End this process (exit status 0, no clean-up) once its parent ``parent`` has died.

    Runs on a daemon thread; usable as a process-pool initialiser (``initargs=(os.getpid(),)``).
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def background(parent: int) -> None:
    """Start of a helper process (also a process-pool initialiser): it ends with ``parent``
    and leaves the CPU to the window first."""
    lower_priority()  # first: Linux sets it for the calling thread and the threads it starts
    watch_parent(parent)


def lower_priority() -> str:
    """Make this thread, and the threads it starts later, yield the CPU to the window.

    The highest niceness (19) rather than the 5 it was: beside two CPU-bound helpers, under
    other programs' load of 9-12 on two cores, a thread waking every 10 ms (the window's
    event loop) was typically late by 1.0 ms instead of 2.9 ms and more than a frame late 205
    times instead of 259 (seven rounds, docs/benchmarks/stalls.md), for about a fifth less CPU
    to the helpers against those programs. Linux's SCHED_IDLE did no better for the waking
    thread and cost the helpers a third; in the app, a training round beside a refresh took
    30 s with it instead of 18 s. Returns "nice", or "normal" where niceness is missing
    (Windows) or refused; never raises, since a helper at the normal priority still works.
    """
    nice = getattr(os, "nice", None)
    if nice is None:
        return "normal"
    try:
        nice(HELPER_NICENESS)  # an increment: the kernel stops at the highest niceness
    except OSError:
        log.info("could not lower this process's CPU priority")
        return "normal"
    return "nice"
