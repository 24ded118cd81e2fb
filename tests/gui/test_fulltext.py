"""The reader with full text and attachments: stored text shown offline, images still blocked,
"Fetch full article" (F) and its failure in words, attachments listed with type and size."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import update

from app.services import fulltext
from app.services.profile import Profile
from app.storage import content, enclosure
from app.storage.database import Database
from app.storage.schema import Article
from app.ui.reader import without_title
from app.ui.river import Role
from app.ui.window import QUIET, MainWindow
from tests.gui.conftest import fill

FULL = (
    "<p>The whole story, fetched from the page.</p>"
    '<p><img src="https://img.example/wall.jpg" alt="wall"></p>'
)


@pytest.fixture
def win(profile: Profile, qtbot: QtBot) -> Iterator[MainWindow]:
    fill(profile, 5)
    w = MainWindow(profile, options=QUIET)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.river.rowCount() == 5, timeout=5000)
    yield w
    w.close()


def _open_first(win: MainWindow, qtbot: QtBot) -> int:
    win.river_view.setFocus()
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)
    assert win.reader.article is not None
    return win.reader.article.id


def test_stored_full_text_and_attachments_show_offline(win: MainWindow, qtbot: QtBot) -> None:
    article_id = _first_id(win)
    with win.db.write() as s:
        content.set_full_html(s, article_id, FULL)
        enclosure.store(
            s,
            article_id,
            [enclosure.EnclosureRecord("https://cdn.example/ep1.mp3", "audio/mpeg", 12_345_678)],
        )
    assert _open_first(win, qtbot) == article_id
    qtbot.waitUntil(lambda: win.reader.full_html == FULL, timeout=5000)
    text = win.reader.toPlainText()
    assert "The whole story" in text and "full text" in text
    assert "ep1.mp3" in text and "audio/mpeg" in text and "12.3 MB" in text
    assert win.reader.pending_images() == ["https://img.example/wall.jpg"]
    assert "https://img.example/wall.jpg" in win.reader.refused  # blocked, not fetched
    assert win.act_images.isEnabled()


def _first_id(win: MainWindow) -> int:
    value = win.river.index(0).data(Role.ARTICLE_ID)
    assert isinstance(value, int)
    return value


def test_fetch_full_article_with_f(
    win: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_fetch(db: Database, article_id: int) -> fulltext.FullText:
        with db.write() as s:
            content.set_full_html(s, article_id, FULL)
        return fulltext.FullText(article_id, FULL, "The whole story")

    monkeypatch.setattr(fulltext, "fetch", fake_fetch)
    article_id = _open_first(win, qtbot)
    assert win.fulltext.act_fetch.isEnabled()
    qtbot.keyClick(win.river_view, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: win.reader.full_html == FULL, timeout=5000)
    assert "offline" in win.statusBar().currentMessage()
    assert fulltext.stored(win.db, article_id) is not None


def test_a_failed_fetch_is_told_in_words(
    win: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(db: Database, article_id: int) -> fulltext.FullText:
        raise fulltext.FullTextError("the server answered 404 Not Found")

    monkeypatch.setattr(fulltext, "fetch", failing)
    _open_first(win, qtbot)
    win.fulltext.act_fetch.trigger()
    qtbot.waitUntil(lambda: "404" in win.statusBar().currentMessage(), timeout=5000)
    assert win.reader.full_html is None


def test_a_folded_story_is_one_row_that_names_the_other_feed(win: MainWindow, qtbot: QtBot) -> None:
    canonical, copy = _first_id(win), win.river.index(1).data(Role.ARTICLE_ID)
    with win.db.write() as s:
        s.execute(update(Article).where(Article.id == copy).values(story_id=canonical))
    with qtbot.waitSignal(win.river.loaded, timeout=5000):
        win.river.reload()
    shown = [win.river.index(r).data(Role.ARTICLE_ID) for r in range(win.river.rowCount())]
    assert canonical in shown and copy not in shown
    assert _open_first(win, qtbot) == canonical
    qtbot.waitUntil(lambda: win.reader.also_in == ("Feed 1",), timeout=5000)
    assert "also in Feed 1" in win.reader.toPlainText()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<h1>The Title</h1><p>x</p>", "<p>x</p>"),
        ("\n<table><tr><td>\n<h2> the  title </h2><p>x</p>", "\n<table><tr><td>\n<p>x</p>"),
        ("<h1>Another headline</h1><p>x</p>", "<h1>Another headline</h1><p>x</p>"),
        ("<p>lead</p><h1>The Title</h1>", "<p>lead</p><h1>The Title</h1>"),
    ],
)
def test_the_page_headline_is_not_shown_twice(body: str, expected: str) -> None:
    assert without_title(body, "The Title") == expected
