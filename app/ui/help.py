"""Keyboard shortcuts and the dialog that lists them."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("j", "next article"),
    ("k", "previous article"),
    ("Space", "scroll the article, then go to the next one"),
    ("o / Enter", "open the article in your browser"),
    ("m", "mark read / unread"),
    ("s", "star / unstar"),
    ("w", "why this? (explain the ranking)"),
    ("r", "refresh feeds"),
    ("/", "search"),
    ("Shift+A", "mark all shown as read"),
    ("Esc", "leave the search box"),
    ("?", "this help"),
)


def shortcuts_html() -> str:
    """The shortcut table as HTML."""
    rows = "".join(
        f"<tr><td align='right'><b><code>{key}</code></b></td><td>&nbsp;&nbsp;{what}</td></tr>"
        for key, what in SHORTCUTS
    )
    return f"<table cellpadding='3'>{rows}</table>"


class HelpDialog(QDialog):
    """Lists the keyboard shortcuts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        label = QLabel(shortcuts_html())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(buttons)
