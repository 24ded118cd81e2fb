"""Dialogs for subscriptions: adding a feed, a feed's properties with its fetch log, and the
failed feeds to delete together."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.services.feed import FeedEdit
from app.services.subscription import SubscriptionError, normalise_url
from app.storage.record import FeedRecord


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else "never"


class AddFeedDialog(QDialog):
    """Asks for a feed or web-site address and an optional folder; OK only for a usable URL."""

    def __init__(self, folders: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a feed")
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("https://example.org/feed.xml or a site's address")
        self.folder_box = QComboBox()
        self.folder_box.setEditable(True)
        self.folder_box.addItem("")
        self.folder_box.addItems(list(folders))
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #d62728")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Address:", self.url_edit)
        form.addRow("Folder:", self.folder_box)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("A web page works too: Heedful looks for the feed it links to."))
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.url_edit.textChanged.connect(self._on_url_edit_text_changed)
        self._on_url_edit_text_changed("")
        self.resize(480, self.sizeHint().height())

    def _on_url_edit_text_changed(self, text: str) -> None:
        problem = ""
        if text.strip():
            try:
                normalise_url(text)
            except SubscriptionError as exc:
                problem = str(exc)
        self.problem.setText(problem)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(text.strip()) and not problem)

    def url(self) -> str:
        """The address as normalised for the subscription service."""
        return normalise_url(self.url_edit.text())

    def folder(self) -> str | None:
        """The chosen folder, or None."""
        return self.folder_box.currentText().strip() or None


class FeedPropertiesDialog(QDialog):
    """Edits a feed's title, folder, address, refresh interval and pause state, and shows its
    fetch state and the refresh log of this session."""

    def __init__(
        self,
        feed: FeedRecord,
        folders: Sequence[str],
        log_lines: Sequence[str] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.feed = feed
        self.setWindowTitle(f"Properties of {feed.title or feed.url}")
        self.title_edit = QLineEdit(feed.title)
        self.title_edit.setPlaceholderText("the feed's own title")
        self.url_edit = QLineEdit(feed.url)
        self.folder_box = QComboBox()
        self.folder_box.setEditable(True)
        self.folder_box.addItem("")
        self.folder_box.addItems(list(folders))
        self.folder_box.setCurrentText(feed.folder or "")
        self.interval = QSpinBox()
        self.interval.setRange(5, 7 * 24 * 60)
        self.interval.setSuffix(" min")
        self.interval.setValue(max(5, feed.update_interval // 60))
        self.enabled_box = QCheckBox("Refresh this feed")
        self.enabled_box.setChecked(feed.enabled)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #d62728")
        form = QFormLayout()
        form.addRow("Title:", self.title_edit)
        form.addRow("Address:", self.url_edit)
        form.addRow("Folder:", self.folder_box)
        form.addRow("Refresh every:", self.interval)
        form.addRow("", self.enabled_box)
        form.addRow("Articles:", QLabel(f"{feed.total} ({feed.unread} unread)"))
        form.addRow("Last fetched:", QLabel(_when(feed.last_fetch)))
        form.addRow("Next fetch:", QLabel(_when(feed.next_fetch)))
        error = f"{feed.last_error} ({feed.error_count}× in a row)" if feed.last_error else "none"
        error_label = QLabel(error)
        error_label.setWordWrap(True)
        form.addRow("Last error:", error_label)
        history = QPlainTextEdit(
            "\n".join(log_lines) or "No refresh of this feed yet in this session."
        )
        history.setReadOnly(True)
        history.setMaximumHeight(120)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Activity this session:"))
        layout.addWidget(history)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.url_edit.textChanged.connect(self._on_url_edit_text_changed)
        self.resize(520, self.sizeHint().height())

    def _on_url_edit_text_changed(self, text: str) -> None:
        problem = ""
        try:
            normalise_url(text)
        except SubscriptionError as exc:
            problem = str(exc)
        self.problem.setText(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)

    def edit(self) -> FeedEdit:
        """The edited properties."""
        title = self.title_edit.text().strip()
        return FeedEdit(
            title=None if title == self.feed.title else title,
            folder=self.folder_box.currentText().strip() or None,
            url=normalise_url(self.url_edit.text()),
            update_interval=self.interval.value() * 60,
            enabled=self.enabled_box.isChecked(),
        )


class FailedFeedsDialog(QDialog):
    """Lists the feeds whose last refresh failed, each with its error and ticked, so the reader
    can unsubscribe from the dead ones in one go (and untick those to keep)."""

    def __init__(self, feeds: Sequence[FeedRecord], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Delete failed feeds")
        self.list = QListWidget()
        for feed in feeds:
            item = QListWidgetItem(f"{feed.title or feed.url} — {feed.last_error}")
            item.setToolTip(f"{feed.url}\n{feed.total} articles")
            item.setData(Qt.ItemDataRole.UserRole, feed.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.list.addItem(item)
        self.summary = QLabel()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.delete_button = self.buttons.addButton(
            "Delete", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("These feeds failed at their last refresh:"))
        layout.addWidget(self.list)
        layout.addWidget(self.summary)
        layout.addWidget(self.buttons)
        self._totals = {feed.id: feed.total for feed in feeds}
        self.list.itemChanged.connect(self._on_list_item_changed)
        self._on_list_item_changed(None)
        self.resize(560, 360)

    def _on_list_item_changed(self, item: QListWidgetItem | None) -> None:
        chosen = self.chosen()
        articles = sum(self._totals[i] for i in chosen)
        feeds = f"{len(chosen)} feed" + ("" if len(chosen) == 1 else "s")
        self.summary.setText(f"Unsubscribe from {feeds} and delete their {articles} articles.")
        self.delete_button.setEnabled(bool(chosen))

    def chosen(self) -> list[int]:
        """The ids of the ticked feeds."""
        out: list[int] = []
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(int(item.data(Qt.ItemDataRole.UserRole)))
        return out
