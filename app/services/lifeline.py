"""The parent-death watch of our helper processes: a child ends itself when the process that
started it is gone, so that a killed window or command never leaves workers behind; and the
CPU priorities that keep the window's event loop prompt while helpers work (issue 19)."""

from __future__ import annotations

import ctypes
import logging
import os
import platform
import struct
import sys
import threading
import time

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 1.0

HELPER_NICENESS = 5
"""How much lower a helper's priority is than the window's; see :func:`lower_priority`."""

FOREGROUND_SLICE_NS = 100_000
"""The scheduler slice asked for the window's GUI thread: the shortest Linux grants (0.1 ms)."""

GIL_TURN_S = 0.001
"""How long another thread of the window's process may hold the GIL once the GUI thread asks
for it (Python's default is 5 ms); see :func:`foreground`."""

_SCHED_SETATTR = {"x86_64": 314, "aarch64": 274}
"""The sched_setattr system call's number on the machines where it is asked for."""


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

    The system's default scheduler slice, not the window's short one (:func:`foreground`),
    which a spawned helper inherits; and niceness 5. Lower went too far: at 19 (or Linux's
    SCHED_IDLE) a waking thread beside two CPU-bound helpers was typically late 1.0 ms
    instead of 2.9 ms, but the helpers lost a fifth (a third) of their CPU to other programs,
    and against CPU-bound programs in the same session a helper at 19 gets about 1.5% of a
    core where one at 5 gets a quarter, which a training round beside two such programs
    (issue 19 asks at most 2.5x its quiet time) cannot afford (docs/benchmarks/stalls.md).
    Returns "nice", or "normal" where niceness is missing (Windows) or refused; never raises,
    since a helper at the normal priority still works.
    """
    _slice(0)
    nice = getattr(os, "nice", None)
    if nice is None:
        return "normal"
    try:
        nice(HELPER_NICENESS)
    except OSError:
        log.info("could not lower this process's CPU priority")
        return "normal"
    return "nice"


def foreground(slice_ns: int = FOREGROUND_SLICE_NS) -> bool:
    """Ask that the calling thread (the window's GUI thread) take a CPU soon after it wakes.

    Linux's EEVDF scheduler (6.6; the slice is asked for since 6.12) gives a thread with a
    short slice an early deadline and lets it preempt one with a longer slice, so that when
    it wakes (a timer, a repaint, a reply from a helper) it runs before the threads on the
    CPU finish their slices, with the same share of CPU time as before; unprivileged. Under
    other programs' load of 9-12 on two cores, beside two CPU-bound helpers at niceness 5, a
    thread waking every 10 ms had its worst lateness of each 8 s cut from a median of 132 ms
    to 70 ms over nine rounds, and alone from 91 ms to 38 ms over seven
    (docs/benchmarks/stalls.md). Threads and processes started later inherit the slice: the
    window's own threads keep it (a refresh thread that holds the GIL the GUI thread waits
    for gets back to a CPU as soon), a helper gives it back (:func:`lower_priority`).
    Elsewhere (another system, an older kernel that ignores the slice, a refusal) nothing
    changes. Returns whether the slice was set.

    It also shortens the turns the process's threads take at the GIL to :data:`GIL_TURN_S`: a
    thread of the window's own (a refresh's writer, story folding, a page of the river) running
    pure Python gives it up only once the GUI thread has waited the switch interval
    (:func:`sys.getswitchinterval`) for it, and the GUI thread asks several times in one tick.
    On a quiet machine, through a refresh of 500 feeds, a training round, For you and an
    explanation at once, the ticks late by more than a frame fell from 3 and 4 to 0 and 1 in
    two pairs of runs, with the refresh no slower (docs/benchmarks/stalls.md).
    """
    sys.setswitchinterval(GIL_TURN_S)
    return _slice(slice_ns)


def _slice(slice_ns: int) -> bool:
    """Set the calling thread's scheduler slice (0: the system's default), its policy the
    normal one and its niceness kept; False where it could not be set."""
    number = _SCHED_SETATTR.get(platform.machine()) if sys.platform == "linux" else None
    if number is None:
        return False
    try:
        nice = os.getpriority(os.PRIO_PROCESS, 0)  # the calling thread's, kept as it is
        attr = struct.pack("=IIQiIQQQII", 56, os.SCHED_OTHER, 0, nice, 0, slice_ns, 0, 0, 0, 0)
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.syscall(number, 0, ctypes.create_string_buffer(attr, len(attr)), 0) != 0:
            log.info("could not set a scheduler slice: %s", os.strerror(ctypes.get_errno()))
            return False
    except (OSError, AttributeError) as exc:
        log.info("could not set a scheduler slice: %s", exc)
        return False
    return True
