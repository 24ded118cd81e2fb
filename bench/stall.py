"""The event loop's stalls for bench/gui.py: a probe that measures them, and the phase of issue
19's "a window that never stutters" where a refresh, a training round, For you and an
explanation all run at once."""

from __future__ import annotations

import faulthandler
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Slot

from app.ui import task
from app.ui.window import MainWindow

FRAME_MS = 16
"""One frame at 60 Hz: the longest stall the window may have (issue 19)."""


def run_queue_ms() -> float:
    """Milliseconds the calling thread has spent runnable but waiting for a CPU (Linux's
    /proc/thread-self/schedstat; 0 where it is missing)."""
    try:
        return int(Path("/proc/thread-self/schedstat").read_text().split()[1]) / 1e6
    except (OSError, IndexError, ValueError):
        return 0.0


class Probe(QObject):
    """A 10 ms timer that records how late each tick came (the event loop's stalls).

    With ``trace_ms``, every thread's Python stack is written to stderr whenever a tick is
    more than that late (faulthandler's watchdog runs without the GIL, so it sees what every
    thread is doing, though not which one holds the GIL; it reads the other threads' frames
    while they run and once ended the process with a segmentation fault). Each summary gives
    the 1-minute load average at start and end: other programs' jobs share the CPUs, and the
    window waits for them too.
    """

    trace_ms = 0

    def __init__(self) -> None:
        super().__init__()
        self.late: list[float] = []
        self.busy: list[float] = []
        """CPU time (ms) the GUI thread itself used between two ticks: a stall with little of
        it was spent waiting (for the GIL or for a CPU), not working."""
        self._last = time.perf_counter()
        self._cpu = time.thread_time()
        self.queued: list[float] = []
        """Time (ms) the GUI thread waited on a run queue between two ticks (Linux schedstat):
        runnable, but every CPU busy with other threads. The rest of a stall it was asleep,
        waiting for the GIL or a lock."""
        self._queued = run_queue_ms()
        self.load = (0.0, 0.0)
        """The 1-minute load average when the probe started and when it stopped."""
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._on_timer_timeout)

    def start(self) -> None:
        self.late.clear()
        self.busy.clear()
        self.queued.clear()
        self.load = (os.getloadavg()[0], 0.0)
        self._last = time.perf_counter()
        self._cpu = time.thread_time()
        self._queued = run_queue_ms()
        self._timer.start()
        self._arm()

    def stop(self) -> None:
        self._timer.stop()
        self.load = (self.load[0], os.getloadavg()[0])
        if self.trace_ms:
            faulthandler.cancel_dump_traceback_later()

    def _arm(self) -> None:
        if self.trace_ms:
            faulthandler.dump_traceback_later((10 + self.trace_ms) / 1000, file=sys.stderr)

    @Slot()
    def _on_timer_timeout(self) -> None:
        now = time.perf_counter()
        cpu = time.thread_time()
        queued = run_queue_ms()
        self.late.append(max(0.0, (now - self._last) * 1000 - 10))
        self.busy.append((cpu - self._cpu) * 1000)
        self.queued.append(queued - self._queued)
        self._last, self._cpu, self._queued = now, cpu, queued
        self._arm()

    def summary(self) -> str:
        """p50, p99 and max of the ticks' lateness, and the load average (1 min) when the probe
        started and stopped: other jobs on the machine are outside the app's control."""
        if not self.late:
            return "no ticks"
        ordered = sorted(self.late)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        over = sum(1 for x in ordered if x > FRAME_MS)
        worst = max(range(len(self.late)), key=self.late.__getitem__)
        long = [n for n, x in enumerate(self.late) if x > FRAME_MS]
        late = sum(self.late[n] for n in long)
        queued = sum(min(self.queued[n], self.late[n]) for n in long)
        return (
            f"stalls p50 {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms, "
            f"max {ordered[-1]:.0f} ms (GUI thread on a CPU {self.busy[worst]:.0f} ms, "
            f"waiting for one {self.queued[worst]:.0f} ms), "
            f"{over} ticks late by >{FRAME_MS} ms (of {len(ordered)}"
            + (f"; {100 * queued / late:.0f}% of their lateness waiting for a CPU" if late else "")
            + "); "
            f"load {self.load[0]:.1f} -> {self.load[1]:.1f}"
        )


def run_until(done: Callable[[], bool], timeout_s: float) -> float:
    """Run the event loop until ``done()`` (checked every 20 ms); returns seconds taken."""
    loop = QEventLoop()
    started = time.perf_counter()

    class Checker(QObject):
        @Slot()
        def check(self) -> None:
            if done() or time.perf_counter() - started > timeout_s:
                loop.quit()

    checker = Checker()
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(checker.check)
    timer.start()
    if not done():
        loop.exec()
    timer.stop()
    return time.perf_counter() - started


def all_at_once(window: MainWindow, feed_count: int, epochs: int, ranked: int) -> None:
    """The stalls while everything runs together (issue 19's "a window that never stutters"):
    a refresh of every feed, a training round, For you ranked over the whole profile and an
    explanation, all started at once; each one's time is printed beside the stalls."""
    article = window.river.article_at(0)
    explained: list[object] = []
    probe = Probe()
    probe.start()
    t = time.perf_counter()
    window.refresh()
    window.train(epochs=epochs)
    window.river.reload()
    if article is not None:
        window.runner.submit(
            "explaining", task.explain, window.ranker, article.id, done=explained.append
        )
    took: dict[str, float] = {}

    def all_done() -> bool:
        now = time.perf_counter() - t
        ended = {
            "refresh": not window.scheduler.refreshing,
            "training": not window.scheduler.trainer.running,
            "For you": window.river.rowCount() > 0 and not window.river.loading,
            "explanation": bool(explained) or article is None,
        }
        for name, done in ended.items():
            if done and name not in took:
                took[name] = now
        return len(took) == len(ended)

    run_until(all_done, 900)
    probe.stop()
    times = ", ".join(f"{name} {s:.1f} s" for name, s in took.items())
    print(
        f"  all at once: refresh of {feed_count} feeds, a training round of {epochs} epochs, "
        f"For you over {ranked:,} articles and an explanation ({times}):"
    )
    print(f"    {probe.summary()}")
