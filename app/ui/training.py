"""The Model page: training rounds over time (loss and held-out AUC, drawn with QPainter), the
table of model versions, and buttons to train now or cancel."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

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

from app.storage.record import ModelVersionRecord

LOSS_COLOR = QColor(59, 130, 196)
AUC_COLOR = QColor(124, 92, 214)
BASELINE_COLOR = QColor(150, 150, 150)
MARGIN = 44


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


class TrainingChart(QWidget):
    """Loss (left axis) and held-out AUC (right axis, 0.5 = chance) over model versions."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.versions: list[ModelVersionRecord] = []
        self.setMinimumSize(420, 220)

    def set_versions(self, versions: Sequence[ModelVersionRecord]) -> None:
        self.versions = list(versions)
        self.update()

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
        plot = QRectF(self.rect()).adjusted(MARGIN, 16, -MARGIN, -MARGIN + 8)
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        painter.setPen(QPen(faint, 1))
        painter.drawRect(plot)
        if not self.versions:
            painter.setPen(text)
            painter.drawText(plot, int(Qt.AlignmentFlag.AlignCenter), "No training rounds yet.")
            return
        losses = [metric(v, "loss") for v in self.versions]
        aucs = [model_auc(v) for v in self.versions]
        baselines = [metric(v, "baseline_auc") for v in self.versions]
        known = [x for x in losses if x is not None]
        low, high = (min(known), max(known)) if known else (0.0, 1.0)
        if high - low < 1e-6:
            low, high = low - 0.5, high + 0.5
        n = len(self.versions)

        def x_at(i: int) -> float:
            return plot.left() + (plot.width() * (i + 0.5) / n)

        def y_loss(v: float) -> float:
            return plot.bottom() - (v - low) / (high - low) * plot.height()

        def y_auc(v: float) -> float:
            return plot.bottom() - (min(1.0, max(0.4, v)) - 0.4) / 0.6 * plot.height()

        # chance line for AUC
        chance = QPen(faint, 1, Qt.PenStyle.DashLine)
        painter.setPen(chance)
        painter.drawLine(QPointF(plot.left(), y_auc(0.5)), QPointF(plot.right(), y_auc(0.5)))
        self._series(painter, [x_at(i) for i in range(n)], losses, y_loss, LOSS_COLOR)
        self._series(painter, [x_at(i) for i in range(n)], aucs, y_auc, AUC_COLOR)
        if any(b is not None for b in baselines):
            self._series(painter, [x_at(i) for i in range(n)], baselines, y_auc, BASELINE_COLOR)
        painter.setPen(text)
        small = painter.font()
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.85))
        painter.setFont(small)
        painter.setPen(LOSS_COLOR)
        painter.drawText(QPointF(4, plot.top() + 10), f"{high:.2f}")
        painter.drawText(QPointF(4, plot.bottom()), f"{low:.2f}")
        painter.setPen(AUC_COLOR)
        painter.drawText(QPointF(plot.right() + 4, plot.top() + 10), "1.0")
        painter.drawText(QPointF(plot.right() + 4, y_auc(0.5) + 4), "0.5")
        painter.setPen(text)
        step = max(1, n // 10)
        for i in range(0, n, step):
            painter.drawText(QPointF(x_at(i) - 6, plot.bottom() + 14), str(self.versions[i].id))
        legend_y = self.height() - 6
        painter.setPen(LOSS_COLOR)
        painter.drawText(QPointF(plot.left(), legend_y), "— training loss")
        painter.setPen(AUC_COLOR)
        painter.drawText(QPointF(plot.left() + 120, legend_y), "— held-out AUC (0.5 = chance)")
        if any(b is not None for b in baselines):
            painter.setPen(BASELINE_COLOR)
            painter.drawText(QPointF(plot.left() + 330, legend_y), "— baseline AUC")

    @staticmethod
    def _series(
        painter: QPainter,
        xs: Sequence[float],
        values: Sequence[float | None],
        y_of: Callable[[float], float],
        color: QColor,
    ) -> None:
        path = QPainterPath()
        started = False
        points: list[QPointF] = []
        for x, v in zip(xs, values, strict=True):
            if v is None:
                started = False
                continue
            point = QPointF(x, y_of(v))
            points.append(point)
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
            painter.drawEllipse(point, 3, 3)


COLUMNS = (
    "version",
    "trained",
    "clicks",
    "loss",
    "held-out AUC",
    "baseline AUC",
    "nDCG@10",
    "device",
    "seconds",
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
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
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
        layout.addWidget(self.chart, 2)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.resize(720, 560)

    def set_versions(self, versions: Sequence[ModelVersionRecord]) -> None:
        """Show every training round."""
        self.chart.set_versions(versions)
        self.table.setRowCount(len(versions))
        for row, v in enumerate(reversed(list(versions))):
            cells = (
                v.id,
                v.created.astimezone().strftime("%Y-%m-%d %H:%M"),
                v.clicks_used,
                metric(v, "loss"),
                model_auc(v),
                metric(v, "baseline_auc"),
                metric(v, "holdout_ndcg10"),
                v.metrics.get("device"),
                metric(v, "seconds"),
            )
            for column, value in enumerate(cells):
                self.table.setItem(row, column, _cell(value))

    def set_training(self, running: bool, text: str, fraction: float | None = None) -> None:
        """Reflect the trainer's state."""
        self.status.setText(text)
        self.train_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)
        if fraction is not None:
            self.progress.setValue(round(100 * fraction))
