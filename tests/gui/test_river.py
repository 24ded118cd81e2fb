"""The river model: lazy pages, data roles, in-place updates."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.qtbot import QtBot

from app.services.profile import Profile
from app.services.ranking import Ranker
from app.services.river import RiverFilter
from app.storage.record import ArticleRecord
from app.ui.river import PAGE_SIZE, RiverModel, RiverQuery, Role
from app.ui.worker import JobRunner
from tests.gui.conftest import fill


@pytest.fixture
def river(profile: Profile, qtbot: QtBot) -> Iterator[RiverModel]:
    runner = JobRunner()
    model = RiverModel(Ranker(profile), runner)
    yield model
    assert runner.shutdown(5000)


def load(qtbot: QtBot, model: RiverModel, query: RiverQuery | None = None) -> None:
    with qtbot.waitSignal(model.loaded, timeout=5000):
        model.set_query(query or RiverQuery())


def more(qtbot: QtBot, model: RiverModel) -> None:
    with qtbot.waitSignal(model.loaded, timeout=5000):
        model.fetchMore(QModelIndex())


def test_pages_load_lazily(profile: Profile, river: RiverModel, qtbot: QtBot) -> None:
    fill(profile, 450)
    load(qtbot, river)
    assert river.rowCount() == PAGE_SIZE
    assert river.canFetchMore(QModelIndex())
    more(qtbot, river)
    assert river.rowCount() == 2 * PAGE_SIZE
    more(qtbot, river)
    assert river.rowCount() == 450
    assert not river.canFetchMore(QModelIndex())
    ids = [river.index(r).data(Role.ARTICLE_ID) for r in range(river.rowCount())]
    assert len(set(ids)) == 450


def test_no_second_request_while_loading(profile: Profile, river: RiverModel, qtbot: QtBot) -> None:
    fill(profile, 10)
    river.set_query(RiverQuery())
    assert river.loading
    assert not river.canFetchMore(QModelIndex())
    qtbot.waitUntil(lambda: not river.loading, timeout=5000)
    assert river.rowCount() == 10
    assert not river.canFetchMore(QModelIndex())


def test_data_roles(profile: Profile, river: RiverModel, qtbot: QtBot) -> None:
    fill(profile, 5)
    load(qtbot, river)
    first = river.index(0)
    article = first.data(Role.ARTICLE)
    assert isinstance(article, ArticleRecord)
    assert first.data(Qt.ItemDataRole.DisplayRole) == article.title
    assert first.data(Role.ARTICLE_ID) == article.id
    assert first.data(Role.READ) is False
    assert first.data(Role.STARRED) is False
    assert first.data(Role.SCORE) is None
    assert first.data(Role.MUTED) is False
    assert first.data(Role.SHARES) is None
    assert article.title in first.data(Qt.ItemDataRole.ToolTipRole)
    assert river.index(99).data(Role.ARTICLE) is None
    assert river.mode == "latest"
    # newest first
    dates = [river.article_at(r).published for r in range(5)]  # type: ignore[union-attr]
    assert dates == sorted(dates, reverse=True)


def test_for_you_before_enough_clicks_says_so(
    profile: Profile, river: RiverModel, qtbot: QtBot
) -> None:
    fill(profile, 5)
    load(qtbot, river, RiverQuery(ranked=True))
    assert river.rowCount() == 5
    assert river.mode == "latest"
    assert "more clicks" in river.notice


def test_update_article_repaints_row(profile: Profile, river: RiverModel, qtbot: QtBot) -> None:
    fill(profile, 3)
    load(qtbot, river)
    article_id = river.index(1).data(Role.ARTICLE_ID)
    with qtbot.waitSignal(river.dataChanged) as blocker:
        river.update_article(article_id, read=True, starred=True)
    assert blocker.args[0].row() == 1
    assert river.index(1).data(Role.READ) is True
    assert river.index(1).data(Role.STARRED) is True
    assert river.row_of(article_id) == 1
    assert river.ids_above(2) == [river.index(r).data(Role.ARTICLE_ID) for r in range(2)]
    river.mark_all_shown_read()
    assert all(river.index(r).data(Role.READ) for r in range(3))


def test_filters_and_search(profile: Profile, river: RiverModel, qtbot: QtBot) -> None:
    fill(profile, 30, feeds_n=3)
    load(qtbot, river, RiverQuery(view=RiverFilter(search="rocket")))
    found = [river.index(r).data(Qt.ItemDataRole.DisplayRole) for r in range(river.rowCount())]
    assert found
    assert all("rocket" in t.lower() for t in found)
    load(qtbot, river, RiverQuery(view=RiverFilter(folder="News")))
    feeds = {river.article_at(r).feed_title for r in range(river.rowCount())}  # type: ignore[union-attr]
    assert feeds == {"Feed 0", "Feed 2"}


def test_stale_pages_are_dropped(profile: Profile, river: RiverModel, qtbot: QtBot) -> None:
    fill(profile, 20)
    river.set_query(RiverQuery(view=RiverFilter(search="rocket")))
    load(qtbot, river, RiverQuery())
    qtbot.wait(200)
    assert river.rowCount() == 20
