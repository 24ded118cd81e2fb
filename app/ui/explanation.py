"""The "Why this?" panel: which title words and which past reads carried an article's score,
with links to say "don't rank on this word", "fewer / more from this feed" on the spot."""

from __future__ import annotations

import html
import logging
from urllib.parse import quote

from PySide6.QtCore import QUrl, QUrlQuery, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.services.explanation import WordShare
from app.services.highlight import HighlightRule, weights
from app.services.number import signed
from app.services.ranking import ArticleExplanation

log = logging.getLogger(__name__)

POSITIVE = (46, 160, 67)
NEGATIVE = (214, 39, 40)
BAR_WIDTH = 120
PAST_ROWS = 12
ATTENTION_VS_SHARE = (
    "Attention is what the model looked at while it read the title and your past reads; a "
    "share is how much a word, a past read or a part moved this score. A word can draw much "
    "attention and still move the score little: the tints and bars follow the shares."
)
SCHEME = "heedful-feedback"
"""The links' own scheme: a click on one is feedback, never a page to open."""
LINKS = {"word-off": "word_off", "feed-less": "feed_less", "feed-more": "feed_more"}
"""Each link's path and the feedback kind it gives."""


def _tint(weight: float) -> str:
    """A background for a chip tinted at ``weight`` in [-1, 1] (0: none)."""
    if not weight:
        return "transparent"
    r, g, b = POSITIVE if weight > 0 else NEGATIVE
    return f"rgba({r},{g},{b},{0.2 + 0.6 * min(1.0, abs(weight)):.2f})"


def _bar(share: float, top: float) -> str:
    """A bar of ``share`` on the scale of the table's largest |share| ``top``."""
    width = max(1, round(BAR_WIDTH * min(1.0, abs(share) / top))) if top else 1
    r, g, b = POSITIVE if round(share, 3) >= 0 else NEGATIVE  # a -0.0004 is no loss
    return (
        f'<table cellspacing="0" cellpadding="0"><tr><td width="{width}" height="8" '
        f'bgcolor="#{r:02x}{g:02x}{b:02x}"></td></tr></table>'
    )


def _link(path: str, text: str, word: str = "") -> str:
    """A small feedback link; the word is percent-encoded and the whole address escaped, as
    titles come from untrusted feeds."""
    url = f"{SCHEME}:{path}" + (f"?w={quote(word, safe='')}" if word else "")
    return f'<a href="{html.escape(url, quote=True)}"><small>{html.escape(text)}</small></a>'


def _words_off(e: ArticleExplanation) -> set[str]:
    return {s.word for s in e.said if s.kind == "word_off" and s.word}


def _offered(e: ArticleExplanation) -> set[int]:
    """The title words that get "don't rank on this word": a content word's first occurrence
    (the one its click bias rides on), unless the reader already said so."""
    off = _words_off(e)
    seen: set[str] = set()
    found: set[int] = set()
    for w in e.title_words:
        if w.token in e.rankable and w.token not in off and w.token not in seen:
            seen.add(w.token)
            found.add(id(w))
    return found


def feedback_of(url: QUrl, e: ArticleExplanation | None) -> tuple[str, str] | None:
    """The (kind, word or "") a clicked link asks for, or None for anything that is not one
    of the panel's own links for the explanation ``e`` shown (logged, never raised): the
    address comes back from a page built on untrusted titles, so only the known kinds pass,
    and a word only when it is a rankable word of the explained title."""
    if e is None or url.scheme() != SCHEME or url.path() not in LINKS:
        log.debug("not a feedback link: %r", url.toString())
        return None
    kind = LINKS[url.path()]
    if kind != "word_off":
        return kind, ""
    word = QUrlQuery(url).queryItemValue("w", QUrl.ComponentFormattingOption.FullyDecoded)
    if not word or word not in e.rankable or all(w.token != word for w in e.title_words):
        log.debug("no such word in the explained title: %r", url.toString())
        return None
    return kind, word


def _parts_table(e: ArticleExplanation) -> str:
    groups = e.groups()
    top = max((abs(p.share) for p in groups), default=0.0)
    rows = "".join(
        f"<tr><td>{html.escape(p.label)}</td><td align='right'>{signed(p.share)}</td>"
        f"<td align='right'>{e.percent(p):.0f} %</td>"
        f"<td>{_bar(p.share, top)}</td></tr>"
        for p in groups
    )
    return (
        "<h4>The score, in parts</h4><table cellpadding='2'>"
        "<tr><th align='left'>part</th><th>share</th><th>of all</th><th></th></tr>"
        f"{rows}<tr><td><b>score</b></td><td align='right'><b>{signed(e.ranked)}</b></td>"
        "<td></td><td></td></tr></table>"
    )


def _words_section(e: ArticleExplanation) -> str:
    words = e.title_words
    tint = weights([w.total for w in words], HighlightRule(len(words), 0, 0))
    shown = {id(w): t if w.highlight else 0.0 for w, t in zip(words, tint, strict=True)}
    chips = " ".join(
        f'<span style="background:{_tint(shown[id(w)])}">&nbsp;{html.escape(w.token)}&nbsp;</span>'
        for w in words
    )
    top = max((abs(w.total) for w in words), default=0.0)
    offered = _offered(e)

    def off(w: WordShare) -> str:
        return _link("word-off", "don't rank on this word", w.token) if id(w) in offered else ""

    rows = "".join(
        f"<tr><td>{html.escape(w.token)}</td><td align='right'>{w.attention:.2f}</td>"
        f"<td align='right'>{signed(w.share)}</td><td align='right'>{signed(w.bias)}</td>"
        f"<td align='right'>{signed(w.total)}</td><td>{_bar(w.total, top)}</td>"
        f"<td>{off(w)}</td></tr>"
        for w in sorted(words, key=lambda w: -abs(w.total))
    )
    return (
        f"<h4>Title words</h4><p>{chips}</p>"
        "<table cellpadding='2'><tr><th align='left'>word</th><th>attention</th>"
        "<th>model</th><th>you open it</th><th>share</th><th></th><th></th></tr>"
        f"{rows}</table>"
    )


def _feed_section(e: ArticleExplanation) -> str:
    rows: list[tuple[str, float]] = []
    if e.feed is not None:
        rows.append((e.feed.label, e.feed.share))
    rows += [(f"the model's reading of “{w.token}”", w.total) for w in e.words if w.source]
    top = max((abs(v) for _, v in rows), default=0.0)
    body = "".join(
        f"<tr><td>{html.escape(label)}</td><td align='right'>{signed(value)}</td>"
        f"<td>{_bar(value, top)}</td></tr>"
        for label, value in rows
    )
    said = {s.kind for s in e.said}
    links = [
        _link(path, text)
        for path, text in (
            ("feed-less", "fewer from this feed"),
            ("feed-more", "more from this feed"),
        )
        if LINKS[path] not in said
    ]
    table = f"<table cellpadding='2'>{body}</table>" if rows else ""
    return f"<h4>This feed</h4>{table}<p>{' · '.join(links)}</p>"


def _past_section(e: ArticleExplanation) -> str:
    if not e.history:
        return ""
    sign = 1.0 if sum(h.share for h in e.history) >= 0 else -1.0
    shown = sorted(e.history, key=lambda h: -sign * h.share)[:PAST_ROWS]
    top = max(abs(h.share) for h in e.history)
    rows = "".join(
        f"<tr><td>{html.escape(h.title)}</td>"
        f"<td>{html.escape(', '.join(e.shared_words(h)))}</td>"
        f"<td align='right'>{h.attention:.2f}</td>"
        f"<td align='right'>{signed(h.share)}</td><td>{_bar(h.share, top)}</td></tr>"
        for h in shown
    )
    top_n = len(e.top_past())
    return (
        "<h4>Past reads that carried the model's part</h4>"
        f"<p>{top_n} of your {len(e.history)} past reads carry {e.concentration():.0f} % of "
        "this part (the title's words' model share, split over what you read).</p>"
        "<table cellpadding='2'><tr><th align='left'>you opened</th><th>shared words</th>"
        "<th>attention</th><th>share</th><th></th></tr>"
        f"{rows}</table>"
    )


def explanation_html(e: ArticleExplanation) -> str:
    """The panel's HTML: the summary in words, the score's parts by size, then the sections
    behind them in the same order (the feed, the title's words and the past reads); a feed
    with no part of its own yet still gets its links, last."""
    parts = [f"<p>{html.escape(line)}</p>" for line in e.summary().splitlines()]
    parts.append(_parts_table(e))
    groups = e.groups()
    for group in groups:
        if group.kind == "words":
            parts.append(_words_section(e))
            parts.append(_past_section(e))
        elif group.kind == "feed":
            parts.append(_feed_section(e))
    if all(group.kind != "feed" for group in groups):
        parts.append(_feed_section(e))
    parts.append(f"<p style='color:gray'>{ATTENTION_VS_SHARE} Model version {e.model_version}.</p>")
    return "".join(parts)


class ExplanationPanel(QFrame):
    """Shows one :class:`ArticleExplanation`; ``closed()`` when the reader dismisses it."""

    closed = Signal()
    feedback_asked = Signal(str, str)
    """The reader clicked one of the panel's feedback links: its kind and its word (or "")."""

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
        self._body.anchorClicked.connect(self._on_body_anchor_clicked)
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

    @Slot(QUrl)
    def _on_body_anchor_clicked(self, url: QUrl) -> None:
        asked = feedback_of(url, self.explanation)
        if asked is not None:
            self.feedback_asked.emit(*asked)

    def _on_close_clicked(self) -> None:
        self.hide()
        self.closed.emit()


__all__ = ["ExplanationPanel", "explanation_html", "feedback_of"]
