"""The window's full garbage-collection passes, run while the reader leaves it alone.

A full pass of Python's cycle collector holds the GIL for 50-100 ms in the window's process
(:mod:`app.services.collector`), long enough to drop several frames of a scroll. The window
stops them from running by themselves and runs one here instead: when nothing the reader
does has touched the window for :data:`IDLE_S` and no background job is in flight, at most
once every :data:`EVERY_S`; and, so that garbage in cycles never piles up on a window that is
never idle, at the latest after :data:`AT_MOST_S` whatever the reader is doing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Slot

from app.services import collector

log = logging.getLogger(__name__)

IDLE_S = 5.0
"""How long the reader must have left the window alone."""
EVERY_S = 60.0
"""The least time between two passes while the reader is idle."""
AT_MOST_S = 600.0
"""The most time between two passes, idle or not."""
CHECK_MS = 2000
"""How often the sweeper looks whether a pass is due."""


class Sweeper(QObject):
    """Defers the process's full collection passes and runs them when due (see the module
    docstring). ``busy()`` says whether background work is in flight; :meth:`touch` is
    connected to whatever the reader does (scrolling, selecting, typing)."""

    def __init__(
        self,
        parent: QObject,
        busy: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self._busy = busy
        self._clock = clock
        self._touched = self._swept = clock()
        self.passes: list[float] = []
        """Milliseconds each of the latest ten passes took, the latest last."""
        self.count = 0
        """How many passes it ran."""
        self._thresholds = collector.defer()
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def stop(self) -> None:
        """No more passes from here; the collector runs its full passes by itself again."""
        if self._timer.isActive():
            self._timer.stop()
            collector.resume(self._thresholds)

    @Slot()
    def touch(self) -> None:
        """The reader did something in the window."""
        self._touched = self._clock()

    def due(self) -> bool:
        """Whether a full pass should run now."""
        if not collector.pending():
            return False
        now = self._clock()
        if now - self._swept >= AT_MOST_S:
            return True
        idle = now - self._touched >= IDLE_S and not self._busy()
        return idle and now - self._swept >= EVERY_S

    @Slot()
    def check(self) -> None:
        """Run a full pass if one is due."""
        if self.due():
            self._swept = self._clock()
            self.passes = [*self.passes[-9:], collector.sweep()]
            self.count += 1
            log.debug("full collection while idle: %.0f ms", self.passes[-1])
