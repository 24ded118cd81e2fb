"""The settings dialog: refresh and training schedule, device, threads, retention, images, and
how many title words the river tints."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.services.highlight import MIN_SCORE_PERCENT
from app.services.preference import DEVICES, LIMITS, Preferences, problems
from app.ui.network import ProxyBox

SCROLL_READ_TIP = (
    "A row you have seen in the list is marked read once it scrolls above the list's top "
    "edge (rows jumped over with the scroll bar are not). For learning this is not a click "
    "and adds no skips: “For you” learns from the articles you open and from the rows it "
    "logged as shown, as it does with this off; but a row marked read leaves the unread "
    "views and is no longer ranked in “For you”."
)
DEVICE_LABELS = {"auto": "Automatic (CUDA when available)", "cpu": "CPU", "cuda": "CUDA (GPU)"}


def _spin(name: str, value: int, suffix: str, special: str | None = None) -> QSpinBox:
    low, high = LIMITS[name]
    box = QSpinBox()
    box.setObjectName(name)
    box.setRange(low, high)
    box.setSuffix(suffix)
    if special is not None:
        box.setSpecialValueText(special)
    box.setValue(value)
    return box


class SettingsDialog(QDialog):
    """Edits :class:`Preferences`; :meth:`preferences` returns the result."""

    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.refresh = _spin("refresh_minutes", prefs.refresh_minutes, " min")
        self.train = _spin("train_minutes", prefs.train_minutes, " min")
        self.min_clicks = _spin("train_min_clicks", prefs.train_min_clicks, " new clicks")
        self.device = QComboBox()
        for key in DEVICES:
            self.device.addItem(DEVICE_LABELS[key], key)
        self.device.setCurrentIndex(DEVICES.index(prefs.device))
        self.threads = _spin("cpu_threads", prefs.cpu_threads, " threads", "Automatic")
        self.retention = _spin("retention_days", prefs.retention_days, " days")
        self.images = QCheckBox("Load remote images in articles without asking")
        self.images.setChecked(prefs.remote_images)
        self.scroll_read = QCheckBox("Mark articles as read when I scroll past them")
        self.scroll_read.setObjectName("mark_read_on_scroll")
        self.scroll_read.setChecked(prefs.mark_read_on_scroll)
        self.scroll_read.setToolTip(SCROLL_READ_TIP)
        self.notify = QCheckBox("Notify me when new articles reach the top 5 of “For you”")
        self.notify.setChecked(prefs.notify_top)
        self.network = ProxyBox(prefs.proxy)
        self.highlight_words = _spin("highlight_words", prefs.highlight_words, " words", "None")
        self.highlight_percent = _spin("highlight_percent", prefs.highlight_percent, " %")

        feeds = QGroupBox("Feeds")
        feeds_form = QFormLayout(feeds)
        feeds_form.addRow("Refresh every:", self.refresh)
        feeds_form.addRow("Keep read articles for:", self.retention)
        feeds_form.addRow("", QLabel("Starred and opened articles are always kept."))
        feeds_form.addRow("", self.images)
        feeds_form.addRow("", self.scroll_read)

        model = QGroupBox("Learning")
        model_form = QFormLayout(model)
        model_form.addRow("Train after:", self.min_clicks)
        model_form.addRow("…or every:", self.train)
        model_form.addRow(
            "",
            QLabel(
                "Whichever comes first (the timer only when there is something new). The first "
                "round starts as soon as “For you” has enough opened articles; a round waits "
                "while you type a search."
            ),
        )
        model_form.addRow("", self.notify)
        model_form.addRow("", QLabel("Notices start once a trained model ranks “For you”."))
        model_form.addRow("Device:", self.device)
        model_form.addRow("CPU threads:", self.threads)
        model_form.addRow("", QLabel("CPU threads take effect at the next start."))
        model_form.addRow("", QLabel("Training runs on this machine; nothing leaves it."))

        highlights = QGroupBox("Highlights in For you")
        highlights_form = QFormLayout(highlights)
        highlights_form.addRow("Tint at most:", self.highlight_words)
        highlights_form.addRow("…each carrying at least:", self.highlight_percent)
        highlights_form.addRow("", QLabel("of the title's share of the score."))
        highlights_form.addRow(
            "",
            QLabel(f"A word also needs {MIN_SCORE_PERCENT} % of the title's and feed's shares."),
        )

        self.problem = QLabel()
        self.problem.setStyleSheet("color: #d62728")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(feeds)
        layout.addWidget(model)
        layout.addWidget(highlights)
        layout.addWidget(self.network)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)

    def preferences(self) -> Preferences:
        """The values as edited."""
        return Preferences(
            refresh_minutes=self.refresh.value(),
            train_minutes=self.train.value(),
            train_min_clicks=self.min_clicks.value(),
            device=str(self.device.currentData()),
            cpu_threads=self.threads.value(),
            retention_days=self.retention.value(),
            remote_images=self.images.isChecked(),
            proxy=self.network.value(),
            highlight_words=self.highlight_words.value(),
            highlight_percent=self.highlight_percent.value(),
            notify_top=self.notify.isChecked(),
            mark_read_on_scroll=self.scroll_read.isChecked(),
        )

    def _on_buttons_accepted(self) -> None:
        found = problems(self.preferences())
        if found:
            self.problem.setText("; ".join(found))
            return
        self.accept()
