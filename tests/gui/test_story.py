"""One story once, in the window: the river row of a folded story says which other feeds carry
it, from data that comes with the row's page, and the reader can unfold it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListView
from pytestqt.qtbot import QtBot

from app.services import story
from app.services.profile import Profile
from app.services.ranking import Ranker
from app.storage import articles
from app.storage import story as stories
from app.storage.record import ArticleRecord
from app.ui.delegate import RiverDelegate, meta_line
from app.ui.outline import LATEST
from app.ui.river import RiverModel, RiverQuery, Role
from app.ui.window import QUIET, MainWindow
from app.ui.worker import JobRunner
from tests.gui.conftest import fill


def fold_one(profile: Profile) -> tuple[ArticleRecord, ArticleRecord]:
    """Fold the newest article of the second feed into the newest of the first; returns
    (canonical, copy)."""
    fill(profile, 6)
    with profile.db.write() as s:
        shown = articles.list_articles(s, unread_only=True)
        canonical = shown[0]
        copy = next(a for a in shown if a.feed_id != canonical.feed_id)
        stories.set_stories(s, [(copy.id, canonical.id)])
    return canonical, copy


def test_the_meta_line_names_the_other_feeds() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    record = ArticleRecord(
        id=1,
        feed_id=1,
        feed_title="BBC",
        url=None,
        title="Landslide",
        summary_html="",
        summary_text="",
        author=None,
        published=now - timedelta(hours=2),
        fetched=now,
        read=False,
        starred=False,
    )
    line = meta_line(record, None, ("Reuters", "AP"), now=now)
    assert line == "BBC  ·  also in Reuters, AP  ·  2 h"
    assert "also in" not in meta_line(record, 0.5, (), now=now)


@pytest.fixture
def runner() -> Iterator[JobRunner]:
    jobs = JobRunner()
    yield jobs
    assert jobs.shutdown(5000)


def test_a_folded_row_brings_its_other_feeds_and_painting_asks_nothing(
    profile: Profile, runner: JobRunner, qtbot: QtBot
) -> None:
    canonical, copy = fold_one(profile)
    asked: list[Sequence[int]] = []

    def counted(ids: Sequence[int]) -> Mapping[int, Sequence[str]]:
        asked.append(ids)
        return story.also_in(profile.db, ids)

    model = RiverModel(Ranker(profile), runner, stories=counted)
    with qtbot.waitSignal(model.loaded, timeout=5000):
        model.set_query(RiverQuery())
    assert len(asked) == 1  # one query for the page
    row = model.row_of(canonical.id)
    assert row is not None and model.row_of(copy.id) is None  # folded: one row
    index = model.index(row)
    assert index.data(Role.ALSO_IN) == (copy.feed_title,)
    assert f"also in {copy.feed_title}" in index.data(
        Qt.ItemDataRole.ToolTipRole
    )  # the tooltip says it too
    others = [model.index(r) for r in range(model.rowCount()) if r != row]
    assert all(i.data(Role.ALSO_IN) == () for i in others)
    view = QListView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.setItemDelegate(RiverDelegate(view))
    view.resize(500, 400)
    for _ in range(3):
        view.grab()  # paints every row
    assert len(asked) == 1, "painting a row must not ask the database"
    record = index.data(Role.ARTICLE)
    assert isinstance(record, ArticleRecord)
    assert f"also in {copy.feed_title}" in meta_line(record, None, index.data(Role.ALSO_IN))


def test_without_stories_the_river_shows_no_also_in(
    profile: Profile, runner: JobRunner, qtbot: QtBot
) -> None:
    canonical, _ = fold_one(profile)
    model = RiverModel(Ranker(profile), runner)
    with qtbot.waitSignal(model.loaded, timeout=5000):
        model.set_query(RiverQuery())
    row = model.row_of(canonical.id)
    assert row is not None and model.index(row).data(Role.ALSO_IN) == ()


@pytest.fixture
def folded(profile: Profile, qtbot: QtBot) -> Iterator[tuple[MainWindow, int, int]]:
    canonical, copy = fold_one(profile)
    w = MainWindow(profile, options=QUIET)
    qtbot.addWidget(w)
    w.show()
    w.show_place(LATEST)
    qtbot.waitUntil(lambda: w.river.row_of(canonical.id) is not None, timeout=5000)
    yield w, canonical.id, copy.id
    w.close()


def test_the_windows_river_names_the_other_feeds(
    folded: tuple[MainWindow, int, int], qtbot: QtBot
) -> None:
    w, canonical, _ = folded
    row = w.river.row_of(canonical)
    assert row is not None
    assert w.river.index(row).data(Role.ALSO_IN) == ("Feed 1",)


def test_unfold_with_u_shows_the_copies_apart_and_folds_back(
    folded: tuple[MainWindow, int, int], qtbot: QtBot
) -> None:
    w, canonical, copy = folded
    assert not w.stories.act_unfold.isEnabled()  # nothing open yet
    with qtbot.waitSignal(w.river.loaded, timeout=5000):
        w.act_show_read.trigger()  # opening the story marks both copies read
    row = w.river.row_of(canonical)
    assert row is not None
    w.river_view.setFocus()
    w.river_view.setCurrentIndex(w.river.index(row))
    qtbot.waitUntil(lambda: w.reader.article is not None, timeout=5000)
    assert w.reader.article is not None and w.reader.article.id == canonical
    qtbot.waitUntil(lambda: w.reader.also_in == ("Feed 1",), timeout=5000)
    assert w.stories.act_unfold.isEnabled()
    assert w.stories.act_unfold in w.river_menu.actions()
    with qtbot.waitSignal(w.river.loaded, timeout=5000):
        qtbot.keyClick(w.river_view, Qt.Key.Key_U)
    qtbot.waitUntil(lambda: w.river.row_of(copy) is not None, timeout=5000)
    assert "Unfolded: 2 articles" in w.statusBar().currentMessage()
    assert w.reader.also_in == ()
    new_row = w.river.row_of(canonical)
    assert new_row is not None and w.river.index(new_row).data(Role.ALSO_IN) == ()
    with w.db.read() as s:  # both copies kept
        assert all(articles.get_article(s, i) is not None for i in (canonical, copy))
    assert w.stories.act_refold.isEnabled()
    with qtbot.waitSignal(w.river.loaded, timeout=5000):
        w.stories.act_refold.trigger()
    qtbot.waitUntil(lambda: w.river.row_of(copy) is None, timeout=5000)
    assert w.river.row_of(canonical) is not None
    assert not w.stories.act_refold.isEnabled()
    assert "folded again" in w.statusBar().currentMessage()


def test_unfolding_an_article_that_is_not_folded_says_so(
    folded: tuple[MainWindow, int, int], qtbot: QtBot
) -> None:
    w, canonical, _ = folded
    other = next(
        w.river.index(r)
        for r in range(w.river.rowCount())
        if w.river.index(r).data(Role.ARTICLE_ID) != canonical
    )
    w.river_view.setCurrentIndex(other)
    qtbot.waitUntil(lambda: w.reader.article is not None, timeout=5000)
    w.stories.act_unfold.trigger()
    qtbot.waitUntil(lambda: "not folded" in w.statusBar().currentMessage(), timeout=5000)
    assert w.stories.last is None
