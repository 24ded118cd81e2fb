"""Theme, resources, crash reports, and a check on the installed PySide6."""

from __future__ import annotations

import logging
import sys

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.ui import crash, resource, theme


def test_dark_palette_is_dark_and_readable() -> None:
    p = theme.dark_palette()
    base = p.color(QPalette.ColorRole.Base)
    text = p.color(QPalette.ColorRole.Text)
    assert base.lightness() < 60
    assert text.lightness() - base.lightness() > 150


def test_watcher_follows_the_scheme(qtbot: QtBot) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    watcher = theme.ThemeWatcher(app)
    assert watcher.parent() is app
    watcher.deleteLater()


def test_resources_exist() -> None:
    for name in ("heedful", "foryou", "latest", "star", "folder", "feed", "error", "refresh"):
        assert not resource.icon(name).isNull(), name
    assert "QListView#river" in resource.stylesheet()
    assert resource.DEFAULT_FEEDS.is_file()


def test_installed_pyside6_keeps_none_alive() -> None:
    # PySide6-Essentials 6.12.0 drops a reference to None on every void call under CPython
    # 3.11 and aborts the interpreter within seconds; pyproject.toml excludes that release.
    timer = QTimer()
    before = sys.getrefcount(None)
    for _ in range(5_000):
        timer.stop()
    assert sys.getrefcount(None) - before >= -10


def test_excepthook_logs_and_reports(caplog: pytest.LogCaptureFixture, qtbot: QtBot) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        with caplog.at_level(logging.CRITICAL, logger="app.ui.crash"):
            crash.excepthook(type(exc), exc, exc.__traceback__)
    assert "RuntimeError: boom" in caplog.text
    assert crash.shown and "RuntimeError: boom" in crash.shown[-1]
    for box in crash._open:
        box.close()
    crash.shown.clear()
