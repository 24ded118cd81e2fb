"""The settings dialog's network box: how feeds are fetched (system proxy, none, or manual)."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QLineEdit, QWidget

from app.feeds.proxy import PROXY_NONE, PROXY_SYSTEM

CHOICES = (
    (PROXY_SYSTEM, "System settings (proxy variables, the desktop's proxy)"),
    (PROXY_NONE, "No proxy: connect directly"),
    ("manual", "Manual proxy"),
)


class ProxyBox(QGroupBox):
    """Edits the ``proxy`` preference: "system", "none" or a proxy URL."""

    def __init__(self, value: str, parent: QWidget | None = None) -> None:
        super().__init__("Network", parent)
        self.mode = QComboBox()
        self.mode.setObjectName("proxyMode")
        for key, label in CHOICES:
            self.mode.addItem(label, key)
        self.url = QLineEdit()
        self.url.setObjectName("proxyUrl")
        self.url.setPlaceholderText("http://proxy.example:3128")
        manual = value not in (PROXY_SYSTEM, PROXY_NONE)
        self.mode.setCurrentIndex(2 if manual else 0 if value == PROXY_SYSTEM else 1)
        if manual:
            self.url.setText(value)
        self.mode.currentIndexChanged.connect(self._on_mode_changed)
        self._on_mode_changed()
        form = QFormLayout(self)
        form.addRow("Proxy:", self.mode)
        form.addRow("Proxy address:", self.url)
        form.addRow(
            "", QLabel("Redirect, size and time limits hold through a proxy as without one.")
        )

    def value(self) -> str:
        """The preference value as edited."""
        key = str(self.mode.currentData())
        return self.url.text().strip() if key == "manual" else key

    @Slot()
    def _on_mode_changed(self) -> None:
        self.url.setEnabled(self.mode.currentData() == "manual")
