"""The reader's explicit feedback, listed with a way to take each judgement back."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.services import feedback
from app.storage.database import Database
from app.ui.worker import JobRunner

log = logging.getLogger(__name__)

INTRO = (
    "What you told For you with “More like this”, “Less like this”, “Fewer from this feed”, "
    "“More from this feed” and “Don't rank on this word” (the last three also from “Why "
    "this?”). Each takes effect at the next training round; undoing one does too."
)


class FeedbackDialog(QDialog):
    """Lists every judgement, newest first; "Undo" takes the selected one back."""

    def __init__(self, db: Database, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("feedback")
        self.setWindowTitle("Your feedback")
        self.resize(640, 360)
        self._db = db
        self._runner = runner
        self.rows: list[feedback.Judgement] = []
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("feedback-table")
        self.table.setHorizontalHeaderLabels(["When", "You said", ""])
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.itemSelectionChanged.connect(self._on_table_item_selection_changed)
        self.empty = QLabel("You have not given any feedback yet.")
        self.undo_button = QPushButton("Undo")
        self.undo_button.setObjectName("undo-feedback")
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self._on_undo_button_clicked)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.undo_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table)
        layout.addWidget(self.empty)
        layout.addLayout(buttons)

    def reload(self) -> None:
        """Load the judgements in the background."""
        self._runner.submit(
            "loading your feedback", feedback.judgements, self._db, done=self.set_rows
        )

    @Slot(object)
    def set_rows(self, rows: Sequence[feedback.Judgement]) -> None:
        """Show ``rows`` (newest first)."""
        self.rows = list(rows)
        self.table.setRowCount(len(self.rows))
        for i, row in enumerate(self.rows):
            when = QTableWidgetItem(row.time.astimezone().strftime("%d %b %H:%M"))
            said = QTableWidgetItem(row.text[0].upper() + row.text[1:] if row.text else "")
            state = QTableWidgetItem("undone" if row.undone is not None else "in force")
            if row.undone is not None:
                said.setForeground(self.palette().placeholderText())
            state.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            for column, item in enumerate((when, said, state)):
                self.table.setItem(i, column, item)
        self.empty.setVisible(not self.rows)
        self.table.setVisible(bool(self.rows))
        self._on_table_item_selection_changed()

    def _selected(self) -> feedback.Judgement | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.rows):
            return None
        return self.rows[rows[0].row()]

    @Slot()
    def _on_table_item_selection_changed(self) -> None:
        chosen = self._selected()
        self.undo_button.setEnabled(chosen is not None and chosen.undone is None)

    @Slot()
    def _on_undo_button_clicked(self) -> None:
        chosen = self._selected()
        if chosen is None or chosen.undone is not None:
            return
        self.undo_button.setEnabled(False)
        self._runner.submit(
            "taking feedback back",
            feedback.undo,
            self._db,
            chosen.id,
            done=self._on_undone,
        )

    @Slot(object)
    def _on_undone(self, undone: bool) -> None:
        log.info("feedback undone: %s", undone)
        self.reload()
