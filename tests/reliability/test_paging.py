"""Reading a view page by page while opening articles never skips or repeats an unread article
(issue 18, item 3): pages continue from a stable key, not a row offset over a shrinking query.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.services import activity
from app.services.profile import Profile
from app.services.ranking import Ranker
from app.services.river import RiverFilter
from app.storage import articles
from harness.sample import seed_profile

PAGE = 7


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("paging") / "profile"
    seed_profile(root, feed_count=3, per_feed=30, clicks=0)
    with Profile(root) as profile, profile.db.write() as s:
        ids = articles.unread_ids(s)
        for article_id in ids[::4]:
            articles.set_starred(s, article_id, True)
    return root


@pytest.fixture
def profile(root: Path, tmp_path: Path) -> Iterator[Profile]:
    copy = tmp_path / "profile"
    copy.mkdir()
    (copy / "heedful.db").write_bytes((root / "heedful.db").read_bytes())
    with Profile(copy) as opened:
        yield opened


def _views(profile: Profile) -> dict[str, RiverFilter]:
    with profile.db.read() as s:
        feed_id = articles.list_articles(s, limit=1)[0].feed_id
        word = articles.list_articles(s, limit=1)[0].title.split()[0]
    return {
        "latest": RiverFilter(),
        "feed": RiverFilter(feed_id=feed_id),
        "starred": RiverFilter(include_read=True, starred_only=True),
        "search": RiverFilter(search=word),
        "with read": RiverFilter(include_read=True),
    }


def _expected(profile: Profile, view: RiverFilter) -> list[int]:
    with profile.db.read() as s:
        return [a.id for a in articles.list_articles(s, limit=10_000, **view.query())]


def _read_through(
    profile: Profile, ranker: Ranker, view: RiverFilter, *, ranked: bool, click: bool = False
) -> list[int]:
    """Page through ``view`` as a reader would: open (mark read, or click) the first rows of
    every page before asking for the next; returns every id shown, in order."""
    shown: list[int] = []
    river = ranker.river(ranked=ranked, limit=PAGE, view=view)
    while True:
        page = [item.article.id for item in river.items]
        shown += page
        opened = page[:3]
        if click:
            for article_id in opened:
                activity.record_click(profile.db, article_id, "paging", dwell=5.0)
        with profile.db.write() as s:
            articles.set_read(s, opened, True)
            if view.starred_only and page:
                articles.set_starred(s, page[-1], False)  # unstarring shrinks Starred
        if river.next is None:
            return shown
        river = ranker.river(ranked=ranked, limit=PAGE, view=view, after=river.next)


@pytest.mark.parametrize("name", ["latest", "feed", "starred", "search", "with read"])
def test_time_ordered_views_skip_nothing(profile: Profile, name: str) -> None:
    view = _views(profile)[name]
    expected = _expected(profile, view)
    assert len(expected) > 2 * PAGE or name in {"feed", "starred", "search"}
    shown = _read_through(profile, Ranker(profile, load_models=False), view, ranked=False)
    assert len(shown) == len(set(shown)), "a row was shown twice"
    assert shown == expected, "an unread article was skipped or the order changed"


def test_folder_view_skips_nothing(profile: Profile) -> None:
    from app.storage import feeds

    with profile.db.write() as s:
        for feed in feeds.list_feeds(s)[:2]:
            feeds.update_feed(s, feed.id, folder="News")
    view = RiverFilter(folder="News")
    expected = _expected(profile, view)
    shown = _read_through(profile, Ranker(profile, load_models=False), view, ranked=False)
    assert shown == expected


def test_offset_paging_would_have_skipped(profile: Profile) -> None:
    """The failure mode itself: an offset over the shrinking unread query loses rows."""
    ranker = Ranker(profile, load_models=False)
    expected = _expected(profile, RiverFilter())
    first = [i.article.id for i in ranker.river(ranked=False, limit=PAGE).items]
    with profile.db.write() as s:
        articles.set_read(s, first[:3], True)
    second = [i.article.id for i in ranker.river(ranked=False, limit=PAGE, offset=PAGE).items]
    assert expected[PAGE : PAGE + 3][0] not in first + second  # offset skips three


def test_for_you_keeps_its_snapshot_while_the_reader_clicks(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from harness.training import install_model

    root = tmp_path / "ranked"
    seed_profile(root, feed_count=3, per_feed=20, clicks=21)
    install_model(root)
    with Profile(root) as profile:
        ranker = Ranker(profile)
        unread = set(_expected(profile, RiverFilter()))
        shown = _read_through(profile, ranker, RiverFilter(), ranked=True, click=True)
        assert ranker.river(ranked=True, limit=1).mode == "ranked"
    assert len(shown) == len(set(shown)), "a row was shown twice"
    assert set(shown) == unread, "an unread article was skipped"


def test_river_model_pages_by_key(profile: Profile, qtbot: object) -> None:
    """The window's model asks for each page after the last one, never by row count."""
    from PySide6.QtCore import QModelIndex

    from app.ui.river import RiverModel, RiverQuery, Role
    from app.ui.worker import JobRunner

    runner = JobRunner()
    model = RiverModel(Ranker(profile, load_models=False), runner, page_size=PAGE)
    expected = _expected(profile, RiverFilter())
    try:
        with qtbot.waitSignal(model.loaded, timeout=5000):  # type: ignore[attr-defined]
            model.set_query(RiverQuery())
        while True:
            first = model.rowCount() - min(PAGE, model.rowCount())
            opened = [model.index(r).data(Role.ARTICLE_ID) for r in range(first, first + 3)]
            with profile.db.write() as s:
                articles.set_read(s, opened, True)
            if not model.canFetchMore(QModelIndex()):
                break
            with qtbot.waitSignal(model.loaded, timeout=5000):  # type: ignore[attr-defined]
                model.fetchMore(QModelIndex())
        shown = [model.index(r).data(Role.ARTICLE_ID) for r in range(model.rowCount())]
    finally:
        assert runner.shutdown(5000)
    assert shown == expected
