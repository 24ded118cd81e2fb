"""Colours: the Fusion style with a palette that follows the system's light or dark scheme."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from app.ui import resource

log = logging.getLogger(__name__)


def is_dark() -> bool:
    """Whether the system asks for a dark colour scheme."""
    app = QGuiApplication.instance()
    if not isinstance(app, QGuiApplication):
        return False
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def dark_palette() -> QPalette:
    """A dark palette for platforms whose theme does not supply one."""
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: QColor(37, 38, 41),
        QPalette.ColorRole.WindowText: QColor(226, 228, 232),
        QPalette.ColorRole.Base: QColor(28, 29, 31),
        QPalette.ColorRole.AlternateBase: QColor(44, 46, 50),
        QPalette.ColorRole.ToolTipBase: QColor(44, 46, 50),
        QPalette.ColorRole.ToolTipText: QColor(226, 228, 232),
        QPalette.ColorRole.Text: QColor(226, 228, 232),
        QPalette.ColorRole.Button: QColor(48, 50, 54),
        QPalette.ColorRole.ButtonText: QColor(226, 228, 232),
        QPalette.ColorRole.BrightText: QColor(255, 110, 110),
        QPalette.ColorRole.Link: QColor(110, 168, 254),
        QPalette.ColorRole.Highlight: QColor(47, 111, 222),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Mid: QColor(70, 72, 78),
        QPalette.ColorRole.PlaceholderText: QColor(140, 144, 150),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 122, 128))
    return p


def apply_theme() -> None:
    """Fusion style, the stylesheet, and a palette for the system's current scheme."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    app.setStyle("Fusion")
    app.setPalette(dark_palette() if is_dark() else app.style().standardPalette())
    app.setStyleSheet(resource.stylesheet())


class ThemeWatcher(QObject):
    """Re-applies the theme when the system switches between light and dark."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.styleHints().colorSchemeChanged.connect(self._on_hints_color_scheme_changed)

    @Slot(Qt.ColorScheme)
    def _on_hints_color_scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        log.info("colour scheme changed to %s", scheme.name)
        apply_theme()
