"""How a river row is drawn: the title (bold while unread) with the few words that carry a real
part of its score tinted (:func:`app.services.highlight.highlight`: green lifts, red pulls
down, stronger for a larger share), and a line of feed, age, score and star below it; a folded
story's line names the other feeds that carry it ("also in BBC, Reuters"), which the model
brings with the row's page."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from app.services.highlight import DEFAULT, HighlightRule, TitleShares, weights
from app.services.number import signed
from app.storage.record import ArticleRecord
from app.ui.river import Role

PADDING = 6
GAP = 2
LAYOUTS_KEPT = 1024
"""Rows whose elided title and tinted spans the delegate keeps for the next paint."""
POSITIVE = QColor(46, 160, 67)
NEGATIVE = QColor(214, 39, 40)
NO_SHARES = TitleShares()
_WORD = re.compile(r"\w[\w'’.-]*\w|\w", re.UNICODE)
_PIECE = re.compile(r"\w[\w.-]*\w|\w", re.UNICODE)
"""A word's parts between apostrophes, which the tokenizer splits ("England's": "england")."""

Index = QModelIndex | QPersistentModelIndex


def age(when: datetime | None, now: datetime | None = None) -> str:
    """A short relative age: "now", "5 min", "3 h", "2 d", or a date for older ones."""
    if when is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = (now - when).total_seconds()
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    if seconds < 14 * 86400:
        return f"{int(seconds // 86400)} d"
    return when.astimezone().strftime("%d %b %Y")


def tints(
    title: str, shares: TitleShares, rule: HighlightRule = DEFAULT
) -> list[tuple[int, int, float]]:
    """(start, end, weight in [-1, 1]) of each title word the highlight rule tints.

    The rule picks among the (token, share) pairs, weighed against the title's and the
    feed's shares; picked tokens are matched to the title's words in order,
    case-insensitively, and weighed by their share over the largest |share|.
    """
    if not shares.words:
        return []
    tint = weights(shares.values, rule, shares.feed)
    queue: dict[str, list[float]] = {}
    for (token, _), weight in zip(shares.words, tint, strict=True):
        queue.setdefault(token.lower(), []).append(weight)
    spans: list[tuple[int, int, float]] = []
    for match in _WORD.finditer(title):
        pieces = [match]
        if match.group().lower() not in queue:  # "England's" is the tokens "england", "'s"
            pieces = list(_PIECE.finditer(title, match.start(), match.end()))
        for piece in pieces:
            values = queue.get(piece.group().lower())
            if not values:
                continue
            weight = values.pop(0)
            if weight:
                spans.append((piece.start(), piece.end(), weight))
    return spans


def meta_line(
    article: ArticleRecord,
    score: object,
    also_in: Sequence[str] = (),
    muted: bool = False,
    now: datetime | None = None,
) -> str:
    """The line under a row's title: feed, the other feeds of a folded story ("also in BBC,
    Reuters"), age, score, starred and muted; from the row's data, never the database."""
    parts = [article.feed_title]
    if also_in:
        parts.append("also in " + ", ".join(also_in))
    parts.append(age(article.published or article.fetched, now))
    if isinstance(score, float):
        parts.append(f"score {signed(score, 2)}")
    if article.starred:
        parts.append("★ starred")
    if muted:
        parts.append("muted")
    return "  ·  ".join(p for p in parts if p)


class RiverDelegate(QStyledItemDelegate):
    """Paints river rows; pure drawing, the model answers every data question. ``rule`` says
    which title words are tinted (the reader's settings)."""

    def __init__(self, parent: QObject | None = None, rule: HighlightRule = DEFAULT) -> None:
        super().__init__(parent)
        self.rule = rule
        self._font_cache: dict[str, tuple[QFont, QFont, QFont]] = {}
        self._layouts: dict[tuple[object, ...], tuple[str, tuple[tuple[int, int, float], ...]]] = {}

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont, QFont]:
        """(title, bold title, meta) fonts for the view's font, made once per font."""
        key = option.font.key()
        fonts = self._font_cache.get(key)
        if fonts is None:
            title = QFont(option.font)
            bold = QFont(option.font)
            bold.setBold(True)
            meta = QFont(option.font)
            meta.setPointSizeF(max(6.0, meta.pointSizeF() * 0.85))
            fonts = self._font_cache[key] = (title, bold, meta)
        return fonts

    def _title_layout(
        self, article: ArticleRecord, font: QFont, width: int, shares: TitleShares
    ) -> tuple[str, tuple[tuple[int, int, float], ...]]:
        """The title elided to ``width`` and its tinted spans as (x offset, width, weight), kept
        for the next paint of the same row: a repaint (a scroll, a re-rank that moved only the
        numbers) then draws without eliding, matching words or measuring again."""
        key = (article.id, article.title, font.key(), width, shares, self.rule)
        laid = self._layouts.get(key)
        if laid is not None:
            return laid
        metrics = QFontMetrics(font)
        title = metrics.elidedText(article.title, Qt.TextElideMode.ElideRight, width)
        spans = tuple(
            (
                metrics.horizontalAdvance(title[:start]),
                metrics.horizontalAdvance(title[start:end]),
                weight,
            )
            for start, end, weight in tints(title, shares, self.rule)
        )
        if len(self._layouts) >= LAYOUTS_KEPT:
            self._layouts.clear()  # a page or two of rows: cheaper to start again than to age
        laid = self._layouts[key] = (title, spans)
        return laid

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802
        _, bold, meta = self._fonts(option)
        height = QFontMetrics(bold).height() + QFontMetrics(meta).height() + 2 * PADDING + GAP
        return QSize(200, height)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        article = index.data(Role.ARTICLE)
        if not isinstance(article, ArticleRecord):
            super().paint(painter, option, index)
            return
        painter.save()
        try:
            self._paint_row(painter, option, index, article)
        finally:
            painter.restore()

    def _paint_row(
        self, painter: QPainter, option: QStyleOptionViewItem, index: Index, article: ArticleRecord
    ) -> None:
        rect: QRect = option.rect
        palette: QPalette = option.palette
        state = option.state
        widget: QWidget | None = option.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawPrimitive(
                QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget
            )
        selected = bool(state & QStyle.StateFlag.State_Selected)
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        text_color = palette.color(text_role)
        dim = QColor(text_color)
        dim.setAlphaF(0.65)
        if index.data(Role.MUTED):
            painter.setOpacity(0.45)
        plain, bold, meta_font = self._fonts(option)
        title_font = plain if article.read else bold
        title_metrics = QFontMetrics(title_font)
        left = rect.left() + PADDING + 8
        width = rect.width() - 2 * PADDING - 8
        top = rect.top() + PADDING
        if not article.read:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(
                palette.color(QPalette.ColorRole.Highlight) if not selected else text_color
            )
            dot = 6
            painter.drawEllipse(
                rect.left() + PADDING - 2, top + (title_metrics.height() - dot) // 2, dot, dot
            )
        shares = index.data(Role.SHARES) or NO_SHARES
        title, spans = self._title_layout(article, title_font, width, shares)
        painter.setFont(title_font)
        for x, w, weight in spans:
            color = QColor(POSITIVE if weight > 0 else NEGATIVE)
            color.setAlpha(int(50 + 130 * abs(weight)))
            painter.fillRect(QRect(left + x - 1, top, w + 2, title_metrics.height()), color)
        painter.setPen(text_color)
        painter.drawText(
            QRect(left, top, width, title_metrics.height()),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            title,
        )
        meta_metrics = QFontMetrics(meta_font)
        meta = meta_metrics.elidedText(
            meta_line(
                article,
                index.data(Role.SCORE),
                index.data(Role.ALSO_IN) or (),
                bool(index.data(Role.MUTED)),
            ),
            Qt.TextElideMode.ElideRight,
            width,
        )
        painter.setFont(meta_font)
        painter.setPen(dim)
        painter.drawText(
            QRect(left, top + title_metrics.height() + GAP, width, meta_metrics.height()),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            meta,
        )
