"""The first run's welcome: the reader chooses the starter feeds, an OPML import, or nothing.

Nothing is subscribed, and no request leaves the machine, until the reader has chosen: the
starter feeds are listed (title and one line each) and only imported when the reader presses
that button. Closing the dialog is the same as "Start with no feeds".
"""

from __future__ import annotations

import html
import logging

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.services import bundle
from app.services.model import MIN_CLICKS
from app.ui import resource
from app.ui.admin import FeedAdmin

log = logging.getLogger(__name__)

INTRO = (
    "<h3>Welcome to Heedful</h3>"
    "<p>Heedful is a news reader that learns what you read. To begin, subscribe to the starter "
    "feeds below, import your own list (an OPML file from another reader), or start with no "
    "feeds and add them with <b>Feeds → Add feed</b>.</p>"
    "<p><b>For you</b> orders the river by a small model that trains on this computer from the "
    f"articles you open and the ones you skip. It needs {MIN_CLICKS} opened articles before it "
    "starts; until then it shows the newest first. It only reorders: nothing is hidden, and "
    "<b>Latest</b> is always there.</p>"
    "<p><b>Nothing leaves this machine</b> except the requests for the feeds themselves, and "
    "none is sent before you choose.</p>"
    "<p>Press <b>?</b> for keyboard shortcuts.</p>"
)


def starter_list(feeds: list[bundle.StarterFeed]) -> str:
    """The starter feeds as rich text: one line each, grouped by folder."""
    lines: list[str] = []
    folder = None
    for feed in feeds:
        if feed.folder != folder:
            folder = feed.folder
            lines.append(f"<b>{html.escape(folder or 'Feeds')}</b>")
        about = f" — {html.escape(feed.description)}" if feed.description else ""
        lines.append(f"&nbsp;&nbsp;{html.escape(feed.title)}{about}")
    return "<br>".join(lines)


class WelcomeDialog(QDialog):
    """Offers the three ways to start; the choice is in :attr:`choice` once it is made."""

    STARTER, IMPORT, NOTHING = "starter", "import", "nothing"

    def __init__(self, window: QWidget, admin: FeedAdmin) -> None:
        super().__init__(window)
        self.setObjectName("welcome")
        self.setWindowTitle("Welcome to Heedful")
        self._admin = admin
        self.choice: str | None = None
        self.feeds = bundle.starter_feeds()

        icon = QLabel()
        icon.setPixmap(resource.app_icon().pixmap(64, 64))
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        self.intro = intro
        top = QHBoxLayout()
        top.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(intro, 1)

        listing = QLabel(starter_list(self.feeds) or "(the starter list could not be read)")
        listing.setObjectName("starterFeeds")
        listing.setTextFormat(Qt.TextFormat.RichText)
        listing.setWordWrap(True)
        # a resizable scroll area centres a short label; the list reads from its top
        listing.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidget(listing)
        scroll.setWidgetResizable(True)
        scroll.setMinimumHeight(180)

        self.starter_button = QPushButton(f"Subscribe to these {len(self.feeds)} feeds")
        self.starter_button.setEnabled(bool(self.feeds))
        self.import_button = QPushButton("Import an OPML file…")
        self.nothing_button = QPushButton("Start with no feeds")
        self.starter_button.clicked.connect(self._on_starter_clicked)
        self.import_button.clicked.connect(self._on_import_clicked)
        self.nothing_button.clicked.connect(self._on_nothing_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.starter_button)
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)
        buttons.addWidget(self.nothing_button)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(QLabel("<b>Starter feeds</b> (one line each):"))
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        self.resize(620, 560)

    def text(self) -> str:
        """The welcome's words (what tests and screen readers read)."""
        return self.intro.text()

    def _choose(self, choice: str) -> None:
        self.choice = choice
        log.info("welcome: the reader chose %s", choice)
        self.accept()

    @Slot()
    def _on_starter_clicked(self) -> None:
        self._choose(self.STARTER)
        self._admin.import_opml(bundle.default_feeds())

    @Slot()
    def _on_import_clicked(self) -> None:
        self._choose(self.IMPORT)
        self._admin.ask_import()

    @Slot()
    def _on_nothing_clicked(self) -> None:
        self._choose(self.NOTHING)

    def reject(self) -> None:
        """Closing the welcome (Esc, the title bar) starts with no feeds."""
        if self.choice is None:
            self.choice = self.NOTHING
        super().reject()


def show_welcome(window: QWidget, admin: FeedAdmin) -> WelcomeDialog:
    """Open the welcome over ``window`` (window-modal, non-blocking) and return it; the
    reader's choice subscribes through ``admin``."""
    dialog = WelcomeDialog(window, admin)
    dialog.open()
    return dialog
