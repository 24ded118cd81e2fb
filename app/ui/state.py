"""The window's presentation model, without Qt: the place the river shows and its filter, the
background work under way with its progress, the last status message, and whether the window
has closed.

The window and its helpers change it; whoever cares observes it (the window shows the status
message in its status bar, the progress in its progress label and bar, and enables Refresh
when no refresh runs). Observers are plain callables told the name of what changed; the model
never knows who listens, and nothing here imports Qt, so it is tested without a window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

PlaceT = TypeVar("PlaceT")

Observer = Callable[[str], None]
"""Called with the name of what changed: "place", "show_read", "search", "busy", "progress",
"status" or "closed"."""

REFRESH = "refresh"
TRAIN = "train"


class ViewState(Generic[PlaceT]):
    """What the window shows and does, apart from how it is drawn.

    ``place`` is what the river shows (the window's :class:`~app.ui.sidebar.Place`);
    ``show_read`` and ``search`` filter it. ``busy`` names the background jobs under way
    (:data:`REFRESH`, :data:`TRAIN`); ``progress_text`` and ``progress_bar`` (``(done, total)``,
    ``(0, 0)`` for "busy, no measure", None for hidden) are what the status bar's right end
    shows; ``status`` is the last message said.
    """

    def __init__(self, place: PlaceT) -> None:
        self._place = place
        self._show_read = False
        self._search = ""
        self._busy: frozenset[str] = frozenset()
        self._progress_text = ""
        self._progress_bar: tuple[int, int] | None = None
        self._status = ""
        self._closed = False
        self._observers: list[Observer] = []

    def observe(self, observer: Observer) -> None:
        """Call ``observer`` with the name of each change from now on."""
        self._observers.append(observer)

    def _changed(self, name: str) -> None:
        for observer in list(self._observers):
            observer(name)

    @property
    def place(self) -> PlaceT:
        return self._place

    @place.setter
    def place(self, place: PlaceT) -> None:
        if place != self._place:
            self._place = place
            self._changed("place")

    @property
    def show_read(self) -> bool:
        return self._show_read

    @show_read.setter
    def show_read(self, value: bool) -> None:
        if value != self._show_read:
            self._show_read = value
            self._changed("show_read")

    @property
    def search(self) -> str:
        """The search box's words, stripped ("" when none)."""
        return self._search

    @search.setter
    def search(self, text: str) -> None:
        text = text.strip()
        if text != self._search:
            self._search = text
            self._changed("search")

    @property
    def busy(self) -> frozenset[str]:
        return self._busy

    def is_busy(self, job: str) -> bool:
        return job in self._busy

    def start(self, job: str) -> None:
        """``job`` runs from now on."""
        if job not in self._busy:
            self._busy = self._busy | {job}
            self._changed("busy")

    def finish(self, job: str) -> None:
        """``job`` has ended (or never ran)."""
        if job in self._busy:
            self._busy = self._busy - {job}
            self._changed("busy")

    @property
    def progress_text(self) -> str:
        return self._progress_text

    @progress_text.setter
    def progress_text(self, text: str) -> None:
        if text != self._progress_text:
            self._progress_text = text
            self._changed("progress")

    @property
    def progress_bar(self) -> tuple[int, int] | None:
        return self._progress_bar

    @progress_bar.setter
    def progress_bar(self, value: tuple[int, int] | None) -> None:
        if value != self._progress_bar:
            self._progress_bar = value
            self._changed("progress")

    @property
    def status(self) -> str:
        return self._status

    def say(self, text: str) -> None:
        """A message for the reader; told again even when it is the same words."""
        log.debug("status: %s", text)
        self._status = text
        self._changed("status")

    @property
    def closed(self) -> bool:
        """The window has closed: nothing new should start."""
        return self._closed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._changed("closed")
