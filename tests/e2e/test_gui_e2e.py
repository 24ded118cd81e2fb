"""The real main window against a local feed server: refresh, read one topic, train, and see
"For you" move that topic up and "Why this?" name what was read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from pytestqt.qtbot import QtBot

import app.ui  # noqa: F401  (counters the PySide6 None defect before any Qt call)
from app.services.profile import Profile
from app.services.ranking import MIN_CLICKS
from app.storage import events, feeds
from app.ui import crash
from app.ui.outline import FOR_YOU, LATEST, Place
from app.ui.river import Role
from app.ui.window import QUIET, MainWindow
from harness.server import LocalServer, Reply
from tests.gui.conftest import TOPICS

pytestmark = pytest.mark.slow

PER_FEED = 36


def rss(topic: str, start: datetime) -> bytes:
    """An RSS feed of PER_FEED items on one topic, newest first."""
    items = []
    bases = TOPICS[topic]
    for i in range(PER_FEED):
        title = f"{bases[i % len(bases)]} ({topic} {i})"
        when = format_datetime(start - timedelta(minutes=3 * i + len(topic)))
        items.append(
            f"<item><title>{escape(title)}</title>"
            f"<link>https://example.org/{topic}/{i}</link>"
            f"<guid>{topic}-{i}</guid><pubDate>{when}</pubDate>"
            f"<description>{escape(f'<p>{title}. More inside.</p>')}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{topic.title()} Daily</title><link>https://example.org/{topic}</link>"
        f"{''.join(items)}</channel></rss>"
    ).encode()


class Browser(QObject):
    """Catches the URLs the window asks the system to open."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


@pytest.fixture
def browser() -> Iterator[Browser]:
    catcher = Browser()
    QDesktopServices.setUrlHandler("https", catcher, "open")
    yield catcher
    QDesktopServices.unsetUrlHandler("https")


def test_reading_one_topic_moves_it_up(
    http_server: LocalServer, tmp_path: Path, qtbot: QtBot, browser: Browser
) -> None:
    crash.shown.clear()
    start = datetime.now(UTC)
    profile = Profile(tmp_path / "profile")
    with profile.db.write() as s:
        for topic in TOPICS:
            path = f"/{topic}.xml"
            http_server.route(
                path, Reply(body=rss(topic, start), content_type="application/rss+xml")
            )
            feeds.add_feed(s, http_server.url(path))
    win = MainWindow(profile, options=QUIET)
    qtbot.addWidget(win)
    win.show()
    try:
        win.show_place(LATEST)
        with qtbot.waitSignal(win.river.loaded, timeout=30000):
            assert win.refresh()
        qtbot.waitUntil(lambda: not win.scheduler.refreshing, timeout=30000)
        qtbot.waitUntil(lambda: win.river.rowCount() == 3 * PER_FEED, timeout=10000)
        assert win.scheduler.refresh_progress == (3, 3)
        titles = {"Space Daily", "Football Daily", "Markets Daily"}
        qtbot.waitUntil(
            lambda: {f.title for f in win.sidebar.feeds.values()} == titles, timeout=5000
        )

        # open space stories in the browser, one after another, from the top of Latest
        opened: list[int] = []
        row = 0
        while len(opened) < MIN_CLICKS + 4:
            article = win.river.article_at(row)
            assert article is not None
            if "(space " in article.title:
                win.river_view.setCurrentIndex(win.river.index(row))
                win.act_open.trigger()
                opened.append(article.id)
            row += 1
        assert len(browser.urls) == len(opened)

        def clicks() -> int:
            with profile.db.read() as s:
                return len(events.click_history(s))

        qtbot.waitUntil(lambda: clicks() == len(opened), timeout=10000)

        with qtbot.waitSignal(win.scheduler.trainer.finished, timeout=240000) as trained:
            assert win.train(epochs=2)
        report = trained.args[0]
        assert not report.cancelled and report.version == 1

        with qtbot.waitSignal(win.river.loaded, timeout=60000):
            win.show_place(FOR_YOU)
        assert win.river.mode == "ranked"
        top = [win.river.article_at(r) for r in range(10)]
        space = sum(1 for a in top if a is not None and "(space " in a.title)
        assert space >= 8, [a.title for a in top if a is not None]

        win.river_view.setCurrentIndex(win.river.index(0))
        win.act_why.trigger()
        qtbot.waitUntil(lambda: win.explanation.explanation is not None, timeout=60000)
        explanation = win.explanation.explanation
        assert explanation is not None
        assert {h.article_id for h in explanation.history} <= set(opened)
        text = win.explanation.text()
        named = [h.title for h in explanation.history if h.title in text]
        assert named, text
        assert win.river.index(0).data(Role.SHARES)  # titles are highlighted
    finally:
        win.close()
        profile.close()
    assert not crash.shown, crash.shown[0]


def test_a_failing_feed_is_marked_and_logged(
    http_server: LocalServer, tmp_path: Path, qtbot: QtBot
) -> None:
    crash.shown.clear()
    http_server.route(
        "/good.xml", Reply(body=rss("football", datetime.now(UTC)), content_type="text/xml")
    )
    http_server.route("/gone.xml", Reply(status=404, body=b"not here", content_type="text/html"))
    profile = Profile(tmp_path / "profile")
    with profile.db.write() as s:
        good = feeds.add_feed(s, http_server.url("/good.xml"))
        gone = feeds.add_feed(s, http_server.url("/gone.xml"), title="Gone")
    win = MainWindow(profile, options=QUIET)
    qtbot.addWidget(win)
    win.show()
    try:
        assert win.refresh()
        assert not win.refresh()  # one at a time
        qtbot.waitUntil(lambda: not win.scheduler.refreshing, timeout=30000)
        assert win.scheduler.refresh_progress == (2, 2)
        qtbot.waitUntil(lambda: win.sidebar.feeds.get(gone.id) is not None, timeout=5000)
        qtbot.waitUntil(lambda: win.sidebar.feeds[gone.id].error_count == 1, timeout=5000)
        row = win.sidebar.index_of(Place("feed", gone.id))
        assert "404" in row.data(Qt.ItemDataRole.ToolTipRole)
        qtbot.waitUntil(lambda: win.sidebar.feeds[good.id].unread == PER_FEED, timeout=5000)
        lines = [text for _, fid, text in win.activity if fid == gone.id]
        assert any("404" in line for line in lines)
        assert "1 failed" in win.statusBar().currentMessage()
        qtbot.waitUntil(lambda: win.river.rowCount() == PER_FEED, timeout=5000)
    finally:
        win.close()
        profile.close()
    assert not crash.shown, crash.shown[0]


def png_bytes() -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QColor, QImage

    image = QImage(8, 6, QImage.Format.Format_RGB32)
    image.fill(QColor("green"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]
    return bytes(data.data())


def test_remote_images_load_only_when_asked(
    http_server: LocalServer, tmp_path: Path, qtbot: QtBot
) -> None:
    crash.shown.clear()
    picture = http_server.url("/pic.png")
    description = escape(f'<p>Look <img src="{picture}"></p>')
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Pictures</title>'
        "<item><title>A picture story</title><link>https://example.org/p</link>"
        f"<guid>p1</guid><description>{description}"
        "</description></item></channel></rss>"
    ).encode()
    http_server.route("/pics.xml", Reply(body=body, content_type="application/rss+xml"))
    http_server.route("/pic.png", Reply(body=png_bytes(), content_type="image/png"))
    profile = Profile(tmp_path / "profile")
    with profile.db.write() as s:
        feeds.add_feed(s, http_server.url("/pics.xml"))
    win = MainWindow(profile, options=QUIET)
    qtbot.addWidget(win)
    win.show()
    try:
        win.refresh()
        qtbot.waitUntil(lambda: win.river.rowCount() == 1, timeout=30000)
        win.river_view.setCurrentIndex(win.river.index(0))
        qtbot.waitUntil(lambda: bool(win.reader.refused), timeout=5000)
        assert win.reader.pending_images() == [picture]
        assert win.act_images.isEnabled()
        assert http_server.count("/pic.png") == 0  # nothing fetched before asking
        win.act_images.trigger()
        qtbot.waitUntil(lambda: not win.reader.pending_images(), timeout=10000)
        assert http_server.count("/pic.png") == 1
        assert not win.act_images.isEnabled()
    finally:
        win.close()
        profile.close()
    assert not crash.shown, crash.shown[0]
