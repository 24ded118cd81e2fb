"""Keyboard shortcuts and the dialog that lists them, with what For you learns from."""

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
    ("+", "more like this"),
    ("-", "less like this"),
    ("r", "refresh feeds"),
    ("/", "search"),
    ("Shift+A", "mark all shown as read"),
    ("u", "unfold a folded story: its copies show as their own rows"),
    ("Esc", "leave the search box"),
    ("?", "this help"),
)


OPENS = (
    "<p><b>What For you learns from.</b> An article counts as <i>opened</i> when you open it "
    "in your browser, or read it here for 4 seconds while this window is active. Selecting "
    "a row only shows it: moving through rows with j and k, asking “Why this?”, starring, "
    "or saying “less like this” never count. “More like this” and “less like this” are "
    "kept as your own word and can be undone under Model → Your feedback. “Why this?” takes "
    "your word too: “don't rank on this word” beside a title word, “fewer from this feed” "
    "and “more from this feed” under the feed, and it says back what you told it. A feed "
    "you have hardly been shown beside your others (a new one, one you never visit, or one "
    "you only read in its own view) has its best article "
    "wait just below the top 30 of For you for a look, and “Why this?” says so.</p>"
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
        label = QLabel(shortcuts_html() + OPENS)
        label.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(buttons)
