"""A click felt at once in the window: after an open or a "more like this", For you re-ranks the
rows below the one being read (as the model now orders them) while that row, the rows above it
and the scroll bar stay where they were.

How long it takes is a figure of ``bench/gui.py``, never asserted here: the waits below are
only generous bounds for a busy machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pytestqt.qtbot import QtBot

from app.services import activity, ranking
from app.services.profile import Profile
from app.services.ranking import Ranker
from app.ui.river import Role
from app.ui.window import QUIET, MainWindow
from tests.gui.conftest import fill
from tests.modelled import open_all, untrained_version

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WAIT_MS = 10_000


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Freshness is taken at one moment, so the window and a fresh ranker agree."""
    monkeypatch.setattr(ranking, "_now", lambda: NOW)


@pytest.fixture
def win(profile: Profile, qtbot: QtBot) -> Iterator[MainWindow]:
    """For you ranked by a small untrained model over 90 articles, 12 of them opened, every
    headline shown once before: no feed is barely shown, so no feed's best article waits
    under the top for a look, which would depend on the impressions the window logs while
    the test runs, and the window and a fresh ranker, asked moments apart, rank alike."""
    ids = fill(profile, 90)
    activity.record_impressions(profile.db, [(a, i) for i, a in enumerate(ids)], "before")
    open_all(profile, ids[::7][:12])
    untrained_version(profile, 12, NOW)
    w = MainWindow(profile, options=QUIET, ranker=Ranker(profile))
    qtbot.addWidget(w)
    w.resize(900, 400)  # the river shows a dozen rows: some are above the viewport
    w.show()
    qtbot.waitUntil(lambda: w.river.mode == "ranked" and w.river.rowCount() > 60, timeout=WAIT_MS)
    yield w
    w.close()


def shown(w: MainWindow) -> list[int]:
    return [w.river.index(r).data(Role.ARTICLE_ID) for r in range(w.river.rowCount())]


def fresh_order(profile: Profile) -> list[int]:
    """For you's order as a ranker that never saw the window ranks it now."""
    return [i.article.id for i in Ranker(profile).river(ranked=True, limit=1000).items]


def assert_ranked_as(profile: Profile, shown_ids: list[int], kept: set[int]) -> None:
    """``shown_ids`` are For you's order, less ``kept``, as a fresh ranker gives it now; two
    articles whose scores differ by float rounding only (the window's model process scores in
    other batches) may stand either way round."""
    fresh = Ranker(profile).river(ranked=True, limit=1000).items
    score = {i.article.id: i.score for i in fresh}
    expected = [i.article.id for i in fresh if i.article.id not in kept][: len(shown_ids)]
    assert len(shown_ids) == len(expected)
    for got, want in zip(shown_ids, expected, strict=True):
        assert got == want or score[got] == pytest.approx(score[want], abs=1e-5), (got, want)


def select(w: MainWindow, qtbot: QtBot, row: int) -> int:
    w.river_view.setCurrentIndex(w.river.index(row))
    w.river_view.scrollTo(w.river.index(row))
    article_id: int = w.river.index(row).data(Role.ARTICLE_ID)
    qtbot.waitUntil(lambda: w.desk.reading is not None, timeout=WAIT_MS)
    return article_id


def test_an_open_reranks_the_rows_below_the_one_being_read(
    win: MainWindow, profile: Profile, qtbot: QtBot
) -> None:
    row = 20
    reading = select(win, qtbot, row)
    bar = win.river_view.verticalScrollBar()
    scrolled = bar.value()
    assert scrolled > 0
    before = shown(win)
    before_scores = {a: win.river.index(r).data(Role.SCORE) for r, a in enumerate(before)}
    with qtbot.waitSignal(win.reranking.reranked, timeout=WAIT_MS) as changed:
        assert win.desk.record_click(reading, 20.0, win.desk.reading)
    assert changed.args is not None and changed.args[0] > 0
    after = shown(win)
    assert after[: row + 1] == before[: row + 1]  # the row being read and those above stay
    assert win.river_view.currentIndex().row() == row
    assert win.river.index(row).data(Role.ARTICLE_ID) == reading
    assert bar.value() == scrolled
    kept = set(after[: row + 1])
    assert_ranked_as(profile, after[row + 1 :], kept)  # as the model now orders them
    assert after[row + 1 :] != before[row + 1 :]
    assert "re-ranked" in win.statusBar().currentMessage()
    # the rows that stay show their new numbers: the one "Why this?" gives now
    staying = [0, row]  # the row being read has left the unread river, not the window
    ids = [win.river.index(r).data(Role.ARTICLE_ID) for r in staying]
    now = Ranker(profile).scores(ids)
    assert ids[1] == reading and ids[1] not in fresh_order(profile)
    for r, article in zip(staying, ids, strict=True):
        assert win.river.index(r).data(Role.SCORE) == pytest.approx(now[article], abs=1e-5)
    assert now[reading] != pytest.approx(before_scores[reading], abs=1e-6)
    # the highlights follow, by the new reader vector
    first = after[row + 1]
    expected = Ranker(profile).word_shares([first])[first]  # alone: equal to float rounding

    def highlighted() -> bool:
        shares = win.river.index(row + 1).data(Role.SHARES)
        return (
            shares is not None
            and [t for t, _ in shares.words] == [t for t, _ in expected.words]
            and shares.values == pytest.approx(expected.values, abs=1e-5)
            and shares.feed == pytest.approx(expected.feed, abs=1e-5)
        )

    qtbot.waitUntil(highlighted, timeout=WAIT_MS)


def test_more_like_this_reranks_below_too(win: MainWindow, profile: Profile, qtbot: QtBot) -> None:
    row = 5
    select(win, qtbot, row)
    before = shown(win)
    liked = win.river.article_at(40)
    assert liked is not None
    with qtbot.waitSignal(win.reranking.reranked, timeout=WAIT_MS) as changed:
        win.desk.give_feedback("more", article=liked)
    assert changed.args is not None and changed.args[0] > 0
    after = shown(win)
    assert after[: row + 1] == before[: row + 1]
    kept = set(after[: row + 1])
    assert_ranked_as(profile, after[row + 1 :], kept)
    assert "re-ranked" in win.statusBar().currentMessage()


def test_other_views_keep_their_order(win: MainWindow, qtbot: QtBot) -> None:
    from app.ui.outline import LATEST

    win.show_place(LATEST)
    qtbot.waitUntil(lambda: win.river.rowCount() > 60 and not win.river.loading, timeout=WAIT_MS)
    reading = select(win, qtbot, 3)
    before = shown(win)
    win.desk.record_click(reading, 20.0, win.desk.reading)
    qtbot.waitUntil(lambda: win.runner.pending() == 0, timeout=WAIT_MS)
    assert not win.reranking.running
    assert shown(win) == before


def test_a_new_order_for_an_older_load_of_the_view_is_dropped(win: MainWindow) -> None:
    from app.ui.river import load_page

    page = load_page(win.ranker, win.river.query, win.river.generation - 1, None, 50)
    before = shown(win)
    assert win.river.rerank_below(page, 3) == -1
    assert shown(win) == before
