"""A progress bar on stderr for long evaluations: items done of the total, the time spent and
an estimate of the time left.

On a terminal it is one line redrawn in place; otherwise (a log file, a pipe) it writes a
plain line every few items or every ``interval`` seconds, whichever comes first, and one at
the end. It never writes to stdout, which carries the command's own output.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress", "duration"]

_WIDTH = 24


def duration(seconds: float) -> str:
    """``seconds`` as ``1h02m``, ``3m05s`` or ``42s`` (``?`` when unknown)."""
    if seconds != seconds or seconds < 0:  # NaN or negative
        return "?"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


class Progress:
    """Counts ``total`` items (``label``) as :meth:`advance` is called; :meth:`close` ends it.

    ``stream`` defaults to ``sys.stderr``; ``tty`` to whether the stream is a terminal.
    Without a terminal a line is written every ``every`` items (default: a tenth of the
    total, at least 1) or once ``interval`` seconds have passed since the last one.
    """

    def __init__(
        self,
        total: int,
        *,
        label: str = "readers",
        stream: TextIO | None = None,
        tty: bool | None = None,
        every: int | None = None,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = max(0, total)
        self.label = label
        self.done = 0
        self._stream = sys.stderr if stream is None else stream
        self._tty = self._stream.isatty() if tty is None else tty
        self._every = every if every is not None else max(1, self.total // 10)
        self._interval = interval
        self._clock = clock
        self._started = clock()
        self._last = self._started
        self._closed = False
        if self._tty:
            self._write(self.line(), end="")

    def line(self) -> str:
        """The current state as one line (no newline)."""
        elapsed = self._clock() - self._started
        share = self.done / self.total if self.total else 1.0
        filled = round(_WIDTH * share)
        bar = "#" * filled + "." * (_WIDTH - filled)
        if self.done:
            each = elapsed / self.done
            left = duration(each * (self.total - self.done))
            rate = f", {each:.1f} s each"
        else:
            left, rate = "?", ""
        return (
            f"{self.label} {self.done}/{self.total} [{bar}] {100 * share:3.0f}% "
            f"elapsed {duration(elapsed)}, left {left}{rate}"
        )

    def advance(self, count: int = 1) -> None:
        """Record ``count`` more items done and show it when due."""
        self.done = min(self.total, self.done + count)
        now = self._clock()
        if self._tty:
            self._write("\r" + self.line(), end="")
        elif (
            self.done % self._every == 0
            or now - self._last >= self._interval
            or self.done == self.total
        ):
            self._write(self.line())
            self._last = now

    def close(self) -> None:
        """End the bar (a newline on a terminal); further calls do nothing."""
        if self._closed:
            return
        self._closed = True
        if self._tty:
            self._write("")

    def _write(self, text: str, end: str = "\n") -> None:
        try:
            self._stream.write(text + end)
            self._stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: progress is optional
            pass

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
