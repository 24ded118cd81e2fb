"""The tray icon: the unread count at a glance, and the window, a refresh or quitting one
click away. Shown only where the desktop has a system tray."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QRect, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from app.services import reading
from app.storage.database import Database
from app.storage.record import Stats
from app.ui import resource
from app.ui.worker import JobRunner

log = logging.getLogger(__name__)

POLL_MS = 60_000
"""How often the count is read when nothing else asked (a refresh or a mark asks at once)."""


def badge(base: QIcon, count: int, size: int = 64) -> QIcon:
    """``base`` with the unread count drawn in its lower right corner ("99+" past 99)."""
    pixmap = base.pixmap(size, size)
    if pixmap.isNull():
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
    if count > 0:
        text = str(count) if count < 100 else "99+"
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        box = QRect(size // 3, size // 2, size - size // 3, size // 2)
        painter.setBrush(QColor("#c62828"))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(box, size // 6, size // 6)
        font = QFont()
        font.setBold(True)
        font.setPixelSize(size // 3)
        painter.setFont(font)
        painter.setPen(QColor("white"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
    return QIcon(pixmap)


class TrayIcon(QObject):
    """The window's tray icon with its unread count; its menu shows ``window`` and holds the
    window's ``refresh`` and ``quit`` actions, and the count is read from ``db`` on ``runner``."""

    def __init__(
        self,
        window: QWidget,
        db: Database,
        runner: JobRunner,
        *,
        refresh: QAction,
        quit: QAction,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.db = db
        self.runner = runner
        self.unread: int | None = None
        self._base = resource.icon("heedful")
        self.icon = QSystemTrayIcon(self._base, self)
        self.icon.setToolTip("Heedful")
        self.menu = QMenu(window)
        self.act_show = QAction("Show Heedful", self.menu)
        self.act_show.triggered.connect(self.show_window)
        self.menu.addAction(self.act_show)
        self.menu.addAction(refresh)
        self.menu.addSeparator()
        self.menu.addAction(quit)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_icon_activated)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.update_count)
        self.timer.start()
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.icon.show()
        self.update_count()

    @Slot()
    def update_count(self) -> None:
        """Read the unread count in the background and show it."""
        self.runner.submit("counting unread", reading.stats, self.db, done=self._on_stats)

    @Slot(object)
    def _on_stats(self, stats: Stats) -> None:
        self.set_unread(stats.unread)

    def set_unread(self, count: int) -> None:
        if count == self.unread:
            return
        self.unread = count
        self.icon.setIcon(badge(self._base, count))
        noun = "article" if count == 1 else "articles"
        self.icon.setToolTip(f"Heedful: {count} unread {noun}")

    @Slot()
    def show_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    @Slot(QSystemTrayIcon.ActivationReason)
    def _on_icon_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.show_window()
