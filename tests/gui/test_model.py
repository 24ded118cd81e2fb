"""The river's and the sidebar's item models pass Qt's model tester, filled with a real profile's
feeds and articles and again after each change the window makes to them.

Each test runs twice: with Qt's own QAbstractItemModelTester (a fault is a Qt warning, which
fails the test here) and with pytest-qt's Python tester (which asserts on every signal the
model sends), so a fault is named by both.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QModelIndex
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.services import reading
from app.services.profile import Profile
from app.services.ranking import Ranker
from app.services.river import RiverFilter
from app.storage import feeds
from app.ui import task
from app.ui.outline import FOR_YOU, Place
from app.ui.river import RiverModel, RiverQuery, Role
from app.ui.sidebar import SidebarModel
from app.ui.worker import JobRunner
from tests.gui.conftest import fill

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.parametrize("force_py", [False, True], ids=["qt", "py"]),
]


@pytest.fixture
def river(profile: Profile) -> Iterator[RiverModel]:
    runner = JobRunner()
    model = RiverModel(Ranker(profile), runner, page_size=20)
    yield model
    assert runner.shutdown(5000)


def _load(qtbot: QtBot, model: RiverModel, query: RiverQuery | None = None) -> None:
    with qtbot.waitSignal(model.loaded, timeout=5000):
        model.set_query(query or RiverQuery())


def _settle(qtbot: QtBot, model: RiverModel) -> None:
    """Let a page the tester asked for (fetchMore) arrive before the model is changed again."""
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)


def test_the_river_passes_filled_and_paged(
    profile: Profile,
    river: RiverModel,
    qtbot: QtBot,
    qtmodeltester: ModelTester,
    force_py: bool,
) -> None:
    fill(profile, 50)
    _load(qtbot, river)
    assert river.rowCount() == 20
    qtmodeltester.check(river, force_py=force_py)
    _settle(qtbot, river)
    while river.canFetchMore(QModelIndex()):
        with qtbot.waitSignal(river.loaded, timeout=5000):
            river.fetchMore(QModelIndex())
    assert river.rowCount() == 50
    _load(qtbot, river, RiverQuery(view=RiverFilter(include_read=True)))
    _settle(qtbot, river)
    assert river.rowCount() >= 20


def test_the_river_passes_rows_marked_read_and_starred(
    profile: Profile,
    river: RiverModel,
    qtbot: QtBot,
    qtmodeltester: ModelTester,
    force_py: bool,
) -> None:
    fill(profile, 30)
    _load(qtbot, river)
    qtmodeltester.check(river, force_py=force_py)
    _settle(qtbot, river)
    first = river.index(0).data(Role.ARTICLE_ID)
    river.update_article(first, read=True)
    river.update_article(first, starred=True)
    assert river.index(0).data(Role.READ) is True
    assert river.index(0).data(Role.STARRED) is True
    river.mark_all_shown_read()
    assert all(river.index(r).data(Role.READ) for r in range(river.rowCount()))
    river.reload()
    _settle(qtbot, river)


def test_an_empty_river_passes(
    river: RiverModel, qtbot: QtBot, qtmodeltester: ModelTester, force_py: bool
) -> None:
    qtmodeltester.check(river, force_py=force_py)
    _load(qtbot, river)
    _settle(qtbot, river)
    assert river.rowCount() == 0
    river.mark_all_shown_read()


def _show(model: SidebarModel, profile: Profile) -> None:
    """What the window does with the overview it loaded."""
    overview = task.overview(profile.db)
    model.show(overview.layout, overview.feeds)


def test_the_sidebar_passes_with_folders_and_feeds(
    profile: Profile, qtmodeltester: ModelTester, force_py: bool
) -> None:
    fill(profile, 24, feeds_n=5)
    with profile.db.write() as s:
        listed = feeds.list_feeds(s)
        feeds.record_fetch_failure(s, listed[0].id, datetime.now(UTC), "HTTP 404")
        feeds.update_feed(s, listed[1].id, enabled=False)
    model = SidebarModel()
    _show(model, profile)
    assert model.rowCount(model.index_of(Place("folder", "News"))) > 0
    assert model.index_of(FOR_YOU).isValid()
    qtmodeltester.check(model, force_py=force_py)
    reading.mark_all_read(profile.db)
    _show(model, profile)
    model.update([], total_unread=0, starred=0)
    _show(model, profile)
    assert model.place_at(model.index_of(FOR_YOU)) == FOR_YOU


def test_an_empty_sidebar_passes(qtmodeltester: ModelTester, force_py: bool) -> None:
    model = SidebarModel()
    qtmodeltester.check(model, force_py=force_py)
    model.update([], total_unread=3, starred=1)
    assert model.rowCount() == 3
