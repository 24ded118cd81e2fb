"""Bugs, as opposed to known failures: logged with a traceback and shown in a crash dialog."""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

log = logging.getLogger(__name__)

shown: list[str] = []
"""Every crash report shown in this process (tests check that it stays empty)."""

_open: list[QMessageBox] = []


def show_crash(details: str, parent: QWidget | None = None) -> None:
    """A window-modal dialog saying that something went wrong, with the traceback under
    "Show Details". It does not block the caller; only one is open at a time."""
    shown.append(details)
    if QApplication.instance() is None or any(box.isVisible() for box in _open):
        return
    _open.clear()
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle("Heedful hit a bug")
    box.setText(
        "Something went wrong inside Heedful. Your data is safe; the details are in the log. "
        "You can keep working, but restarting is wise."
    )
    box.setDetailedText(details)
    box.open()
    _open.append(box)


def excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    """``sys.excepthook`` for the GUI: log with the traceback, then the crash dialog."""
    details = "".join(traceback.format_exception(kind, value, tb))
    log.critical("unhandled exception:\n%s", details)
    if issubclass(kind, KeyboardInterrupt):
        QApplication.quit()
        return
    show_crash(details)


def install() -> None:
    """Route unhandled exceptions (including those raised in slots) to :func:`excepthook`."""
    sys.excepthook = excepthook
