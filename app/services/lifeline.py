"""The parent-death watch of our helper processes: a child ends itself when the process that
started it is gone, so that a killed window or command never leaves workers behind."""

from __future__ import annotations

import contextlib
import os
import threading
import time

WATCH_INTERVAL_S = 1.0


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
    watch_parent(parent)
    lower_priority()


def lower_priority(step: int = 5) -> None:
    """Make this process yield the CPU to the window (Unix niceness; a no-op elsewhere)."""
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):  # not permitted: run at the normal priority
            os.nice(step)
