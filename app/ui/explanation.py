"""The "Why this?" panel: which title words and which past reads carried an article's score."""

from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.services.ranking import ArticleExplanation

POSITIVE = (46, 160, 67)
NEGATIVE = (214, 39, 40)
BAR_WIDTH = 120


def _tint(share: float, top: float) -> str:
    weight = min(1.0, abs(share) / top) if top else 0.0
    r, g, b = POSITIVE if share >= 0 else NEGATIVE
    return f"rgba({r},{g},{b},{0.15 + 0.55 * weight:.2f})"


def _bar(share: float, top: float) -> str:
    width = max(1, round(BAR_WIDTH * min(1.0, abs(share) / top))) if top else 1
    r, g, b = POSITIVE if share >= 0 else NEGATIVE
    return (
        f'<table cellspacing="0" cellpadding="0"><tr><td width="{width}" height="8" '
        f'bgcolor="#{r:02x}{g:02x}{b:02x}"></td></tr></table>'
    )


def explanation_html(e: ArticleExplanation) -> str:
    """The panel's HTML: the summary in words, the tinted title, and the two share tables."""
    parts = [f"<p>{html.escape(line)}</p>" for line in e.summary().splitlines()]
    top_word = max((abs(w.total) for w in e.words), default=0.0)
    if e.feed is not None:
        top_word = max(top_word, abs(e.feed.share))
    chips = " ".join(
        f'<span style="background:{_tint(w.total, top_word)}">'
        f"&nbsp;{html.escape(w.token)}&nbsp;</span>"
        for w in e.words
    )
    parts.append(f"<h4>Title words</h4><p>{chips}</p>")
    rows = "".join(
        f"<tr><td>{html.escape(w.token)}</td><td align='right'>{w.attention:.2f}</td>"
        f"<td align='right'>{w.share:+.3f}</td><td align='right'>{w.bias:+.3f}</td>"
        f"<td align='right'>{w.total:+.3f}</td><td>{_bar(w.total, top_word)}</td></tr>"
        for w in sorted(e.words, key=lambda w: -abs(w.total))
    )
    parts.append(
        "<table cellpadding='2'><tr><th align='left'>word</th><th>attention</th>"
        "<th>model</th><th>you open it</th><th>share</th><th></th></tr>"
        f"{rows}</table>"
    )
    if e.feed is not None:
        parts.append(
            "<h4>This feed</h4><table cellpadding='2'><tr>"
            f"<td>{html.escape(e.feed.label)}</td><td align='right'>{e.feed.share:+.3f}</td>"
            f"<td>{_bar(e.feed.share, top_word)}</td></tr></table>"
        )
    top_past = max((abs(h.share) for h in e.history), default=0.0)
    past_rows = "".join(
        f"<tr><td>{html.escape(h.title)}</td><td align='right'>{h.attention:.2f}</td>"
        f"<td align='right'>{h.share:+.3f}</td><td>{_bar(h.share, top_past)}</td></tr>"
        for h in sorted(e.history, key=lambda h: -h.share)[:12]
    )
    if past_rows:
        parts.append(
            "<h4>Past reads that carried the score</h4><table cellpadding='2'>"
            "<tr><th align='left'>you opened</th><th>attention</th><th>share</th><th></th></tr>"
            f"{past_rows}</table>"
        )
    parts.append(
        f"<p style='color:gray'>Model version {e.model_version}. Attention is what the model "
        "looked at; share is what moved the score (the word shares, like the past reads' "
        "shares, add up to the score with the feed's).</p>"
    )
    return "".join(parts)


class ExplanationPanel(QFrame):
    """Shows one :class:`ArticleExplanation`; ``closed()`` when the reader dismisses it."""

    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("explanation")
        self.explanation: ArticleExplanation | None = None
        header = QHBoxLayout()
        self._title = QLabel("<b>Why this?</b>")
        close = QToolButton()
        close.setText("×")
        close.setToolTip("Close the explanation")
        close.clicked.connect(self._on_close_clicked)
        header.addWidget(self._title)
        header.addStretch(1)
        header.addWidget(close)
        self._body = QTextBrowser()
        self._body.setOpenLinks(False)
        self._body.setFrameShape(QFrame.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addLayout(header)
        layout.addWidget(self._body)

    def show_explanation(self, explanation: ArticleExplanation) -> None:
        """Fill the panel with ``explanation`` and show it."""
        self.explanation = explanation
        self._body.setHtml(explanation_html(explanation))
        self.show()

    def show_message(self, text: str) -> None:
        """A sentence instead of an explanation (no model yet, still working...)."""
        self.explanation = None
        self._body.setHtml(f"<p>{html.escape(text)}</p>")
        self.show()

    def text(self) -> str:
        """The panel's text as shown (for tests and accessibility)."""
        return self._body.toPlainText()

    def _on_close_clicked(self) -> None:
        self.hide()
        self.closed.emit()


__all__ = ["ExplanationPanel", "explanation_html"]
