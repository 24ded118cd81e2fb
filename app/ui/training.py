"""The Model page: training rounds over time (loss and held-out AUC, drawn with QPainter), the
table of every round with the figure the guard judged it on and its decision (published,
kept or rejected), the line "For you" shows when no trained model earns its keep, and
buttons to train now or cancel."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.services.guard import PUBLISHED, REJECTED, Round
from app.storage.record import ModelVersionRecord

LOSS_COLOR = QColor(59, 130, 196)
AUC_COLOR = QColor(124, 92, 214)
BASELINE_COLOR = QColor(150, 150, 150)
MARGIN = 44
DOT = 3.0
"""Radius of a point; the plot keeps this much (and a pixel) inside its frame on every side."""


def metric(version: ModelVersionRecord, key: str) -> float | None:
    """A numeric metric of ``version``, or None when absent or not a finite number."""
    value = version.metrics.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def model_auc(version: ModelVersionRecord) -> float | None:
    """The round's held-out AUC of what the ranking uses: the click score with its feed and
    word biases when recorded, else (rounds from before) the model's score alone."""
    click = metric(version, "holdout_click_auc")
    return click if click is not None else metric(version, "holdout_auc")


@dataclass(frozen=True)
class RoundRow:
    """One training round as the page shows it: from the round log, or a model version from
    before the log (published, judged by no guard)."""

    version: int | None
    when: datetime
    clicks: int
    loss: float | None
    figure: float | None
    """The held-out AUC the decision used (None: none, or too few clicks to mean anything)."""
    baseline: float | None
    current: float | None
    clickbias: float | None
    decision: str
    """"published", "kept" or "rejected"."""
    reason: str
    too_few: bool = False
    held_out: int = 0
    latest: float | None = None
    """Latest's (newest first) figure on the same held-out clicks, when measured."""


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _when(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def round_rows(
    versions: Sequence[ModelVersionRecord], rounds: Sequence[Round] = ()
) -> list[RoundRow]:
    """Every round, oldest first: the logged ones, and each version no logged round wrote."""
    written = {r.version for r in rounds if r.published}
    rows = [
        RoundRow(
            v.id,
            v.created,
            v.clicks_used,
            metric(v, "loss"),
            model_auc(v),
            metric(v, "baseline_auc"),
            None,
            None,
            PUBLISHED,
            "published",
        )
        for v in versions
        if v.id not in written
    ]
    rows += [
        RoundRow(
            r.version if r.published else None,
            _when(r.time),
            r.clicks,
            _finite(r.loss),
            None if r.too_few else _finite(r.figure),
            _finite(r.baseline),
            _finite(r.current),
            _finite(r.clickbias),
            r.decision,
            r.reason,
            r.too_few,
            r.held_out,
            _finite(r.latest),
        )
        for r in rounds
    ]
    return sorted(rows, key=lambda row: row.when)


class TrainingChart(QWidget):
    """Loss (left axis) and held-out AUC (right axis, 0.5 = chance) over model versions."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[RoundRow] = []
        self.setMinimumSize(420, 220)

    def set_versions(
        self, versions: Sequence[ModelVersionRecord], rounds: Sequence[Round] = ()
    ) -> None:
        self.set_rows(round_rows(versions, rounds))

    def set_rows(self, rows: Sequence[RoundRow]) -> None:
        self.rows = list(rows)
        self.update()

    def plot_rect(self) -> QRectF:
        """Where points may fall: the frame, less a point's radius and a pixel on each side."""
        frame = self.frame_rect()
        inset = DOT + 1.0
        return frame.adjusted(inset, inset, -inset, -inset)

    def frame_rect(self) -> QRectF:
        """The axes' frame."""
        return QRectF(self.rect()).adjusted(MARGIN, 16, -MARGIN, -MARGIN + 8)

    def points(self) -> dict[str, list[QPointF]]:
        """The centre of every point drawn, per series ("loss", "auc", "baseline")."""
        plot = self.plot_rect()
        n = len(self.rows)
        losses = [r.loss for r in self.rows]
        known = [x for x in losses if x is not None]
        low, high = (min(known), max(known)) if known else (0.0, 1.0)
        if high - low < 1e-6:
            low, high = low - 0.5, high + 0.5

        def x_at(i: int) -> float:
            return plot.left() + plot.width() * (i + 0.5) / max(1, n)

        def y_loss(v: float) -> float:
            return plot.bottom() - (v - low) / (high - low) * plot.height()

        out: dict[str, list[QPointF]] = {"loss": [], "auc": [], "baseline": []}
        for i, row in enumerate(self.rows):
            if row.loss is not None:
                out["loss"].append(QPointF(x_at(i), y_loss(row.loss)))
            if row.figure is not None:
                out["auc"].append(QPointF(x_at(i), self.y_auc(row.figure)))
            if row.baseline is not None:
                out["baseline"].append(QPointF(x_at(i), self.y_auc(row.baseline)))
        return out

    def y_auc(self, value: float) -> float:
        """The height of an AUC on the right axis, 0 at the bottom and 1 at the top."""
        plot = self.plot_rect()
        return plot.bottom() - min(1.0, max(0.0, value)) * plot.height()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            self._draw(painter)
        finally:
            painter.end()

    def _draw(self, painter: QPainter) -> None:
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        faint = QColor(text)
        faint.setAlphaF(0.25)
        frame = self.frame_rect()
        plot = self.plot_rect()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        painter.setPen(QPen(faint, 1))
        painter.drawRect(frame)
        if not self.rows:
            painter.setPen(text)
            painter.drawText(frame, int(Qt.AlignmentFlag.AlignCenter), "No training rounds yet.")
            return
        points = self.points()
        losses = [r.loss for r in self.rows]
        known = [x for x in losses if x is not None]
        low, high = (min(known), max(known)) if known else (0.0, 1.0)
        if high - low < 1e-6:
            low, high = low - 0.5, high + 0.5
        n = len(self.rows)
        xs = [plot.left() + plot.width() * (i + 0.5) / n for i in range(n)]
        chance = QPen(faint, 1, Qt.PenStyle.DashLine)  # chance line for AUC
        painter.setPen(chance)
        painter.drawLine(
            QPointF(frame.left(), self.y_auc(0.5)), QPointF(frame.right(), self.y_auc(0.5))
        )
        self._series(painter, xs, losses, points["loss"], LOSS_COLOR)
        self._series(painter, xs, [r.figure for r in self.rows], points["auc"], AUC_COLOR)
        baselines = [r.baseline for r in self.rows]
        if points["baseline"]:
            self._series(painter, xs, baselines, points["baseline"], BASELINE_COLOR)
        painter.setPen(QPen(AUC_COLOR, 1.5))  # rejected rounds: a cross over their point
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for x, row in zip(xs, self.rows, strict=True):
            if row.decision == REJECTED and row.figure is not None:
                y = self.y_auc(row.figure)
                painter.drawLine(QPointF(x - DOT, y - DOT), QPointF(x + DOT, y + DOT))
                painter.drawLine(QPointF(x - DOT, y + DOT), QPointF(x + DOT, y - DOT))
        small = painter.font()
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.85))
        painter.setFont(small)
        painter.setPen(LOSS_COLOR)
        painter.drawText(QPointF(4, plot.top() + 10), f"{high:.2f}")
        painter.drawText(QPointF(4, plot.bottom()), f"{low:.2f}")
        painter.setPen(AUC_COLOR)
        painter.drawText(QPointF(frame.right() + 4, self.y_auc(1.0) + 10), "1.0")
        painter.drawText(QPointF(frame.right() + 4, self.y_auc(0.5) + 4), "0.5")
        painter.drawText(QPointF(frame.right() + 4, self.y_auc(0.0)), "0")
        painter.setPen(text)
        step = max(1, n // 10)
        for i in range(0, n, step):
            row = self.rows[i]
            label = "×" if row.decision == REJECTED else "="  # rejected, kept
            if row.decision == PUBLISHED:
                label = "·" if row.version is None else str(row.version)
            painter.drawText(QPointF(xs[i] - 6, frame.bottom() + 14), label)
        legend_y = self.height() - 6
        painter.setPen(LOSS_COLOR)
        painter.drawText(QPointF(frame.left(), legend_y), "— training loss")
        painter.setPen(AUC_COLOR)
        painter.drawText(
            QPointF(frame.left() + 120, legend_y), "— held-out AUC (0.5 = chance, × rejected)"
        )
        if points["baseline"]:
            painter.setPen(BASELINE_COLOR)
            painter.drawText(QPointF(frame.left() + 380, legend_y), "— baseline AUC")

    @staticmethod
    def _series(
        painter: QPainter,
        xs: Sequence[float],
        values: Sequence[float | None],
        points: Sequence[QPointF],
        color: QColor,
    ) -> None:
        """A line through ``points`` (those of the values that are not None, in order), broken
        where a value is None, and a dot on each."""
        path = QPainterPath()
        started = False
        at = iter(points)
        for _x, v in zip(xs, values, strict=True):
            if v is None:
                started = False
                continue
            point = next(at)
            if started:
                path.lineTo(point)
            else:
                path.moveTo(point)
                started = True
        painter.setPen(QPen(color, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        painter.setBrush(color)
        for point in points:
            painter.drawEllipse(point, DOT, DOT)


COLUMNS = (
    "version",
    "trained",
    "clicks",
    "loss",
    "round",
    "baseline",
    "in use",
    "ClickBias",
    "Latest",
    "decision",
)
"""The table's columns; from "round" to "Latest" each is an AUC on the round's newest
held-out clicks (:data:`AUC_CAPTION`), "round" the figure the guard judged the round on."""

AUC_CAPTION = (
    "AUC on each round's newest held-out clicks (0.5 = chance): the round's model, the TF-IDF "
    "baseline, the model in use, ClickBias (your feeds and words alone) and Latest."
)


def _cell(value: object) -> QTableWidgetItem:
    if isinstance(value, float):
        text = f"{value:.3f}"
    elif value is None:
        text = "–"
    else:
        text = str(value)
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    return item


class ModelDialog(QDialog):
    """The Model page. ``train_requested`` / ``cancel_requested`` go to the window."""

    train_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model")
        self.chart = TrainingChart()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        header = self.table.horizontalHeader()  # figures as wide as their headings, the
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # decision the rest
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.notice = QLabel()
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.hide()
        self.train_button = QPushButton("Train now")
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.setEnabled(False)
        self.train_button.clicked.connect(self.train_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                "Heedful trains a small NRMS model on this machine from the articles you open "
                "and the ones you skip. Nothing leaves the machine."
            )
        )
        layout.addWidget(self.notice)
        layout.addWidget(self.chart, 2)
        caption = QLabel(AUC_CAPTION)
        caption.setWordWrap(True)
        layout.addWidget(caption)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.resize(720, 560)

    def set_versions(
        self,
        versions: Sequence[ModelVersionRecord],
        rounds: Sequence[Round] = (),
        notice: str | None = None,
    ) -> None:
        """Show every training round (newest first in the table), with the figure the guard
        used and its decision, and ``notice``: what "For you" ranks with when no trained model
        earns its keep (None: the model in use)."""
        rows = round_rows(versions, rounds)
        self.chart.set_rows(rows)
        self.notice.setText(notice or "")
        self.notice.setVisible(bool(notice))
        self.table.setRowCount(len(rows))
        for line, r in enumerate(reversed(rows)):
            figure: object = r.figure
            if r.too_few:  # the whole of it in the tooltip
                figure = f"too few ({r.held_out})"
            cells = (
                r.version,
                r.when.astimezone().strftime("%d %b %H:%M"),
                r.clicks,
                r.loss,
                figure,
                r.baseline,
                r.current,
                r.clickbias,
                r.latest,
                r.reason,
            )
            for column, value in enumerate(cells):
                item = _cell(value)
                if column == len(cells) - 1:
                    item.setToolTip(r.reason)
                elif column == 4 and r.too_few:
                    item.setToolTip(f"too few held-out clicks to judge ({r.held_out})")
                self.table.setItem(line, column, item)
        self.table.resizeRowsToContents()  # a decision's reason wraps onto more lines

    def set_training(self, running: bool, text: str, fraction: float | None = None) -> None:
        """Reflect the trainer's state."""
        self.status.setText(text)
        self.train_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)
        if fraction is not None:
            self.progress.setValue(round(100 * fraction))
