"""A large pool of new articles in the window: For you shows its newest slice ranked, says in the
status line that it is still ranking older articles, and lays each later slice in below the rows
on screen, which never move; at the end every row's number and the order below them are those of
one ranking of the whole pool.

Chunks of 4 titles stand in for 16,384, so 78 unread articles take ten slices; a gate holds each
slice until the test has looked at the window.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.services import model as model_service
from app.services import ranking
from app.services.model import cache_path
from app.services.profile import Profile
from app.services.ranking import Ranker
from app.services.river import River
from app.storage import articles
from app.ui.river import Role
from app.ui.window import QUIET, MainWindow
from tests.gui.conftest import fill
from tests.modelled import open_all, untrained_version

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WAIT_MS = 10_000


class GatedRanker(Ranker):
    """A progressive ranker whose For you rankings after the first wait for the gate."""

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile, progressive=True)
        self.gate = threading.Semaphore(0)
        self.firsts = 0

    def river(self, **kwargs: Any) -> River:
        if kwargs.get("ranked") and kwargs.get("after") is None:
            if self.firsts:
                assert self.gate.acquire(timeout=WAIT_MS / 1000)
            self.firsts += 1
        return super().river(**kwargs)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ranking, "_now", lambda: NOW)
    monkeypatch.setattr(model_service, "ENCODE_CHUNK", 4)


@pytest.fixture
def gated(profile: Profile) -> GatedRanker:
    """90 articles, 12 opened, and a model version with no vectors yet."""
    ids = fill(profile, 90)
    open_all(profile, ids[::7][:12])
    untrained_version(profile, 12, NOW)
    return GatedRanker(profile)


@pytest.fixture
def win(profile: Profile, gated: GatedRanker, qtbot: QtBot) -> Iterator[MainWindow]:
    w = MainWindow(profile, options=QUIET, ranker=gated)
    qtbot.addWidget(w)
    w.resize(900, 400)  # a dozen rows on screen
    w.show()
    yield w
    for _ in range(100):  # let the slices still to come end
        gated.gate.release()
    qtbot.waitUntil(lambda: not w.reranking.running, timeout=6 * WAIT_MS)
    w.close()


def shown(w: MainWindow) -> list[int]:
    return [w.river.index(r).data(Role.ARTICLE_ID) for r in range(w.river.rowCount())]


def scores(w: MainWindow) -> list[float]:
    return [w.river.index(r).data(Role.SCORE) for r in range(w.river.rowCount())]


def test_older_articles_join_below_the_rows_on_screen(
    win: MainWindow, gated: GatedRanker, profile: Profile, qtbot: QtBot
) -> None:
    with profile.db.read() as s:
        unread = len(articles.unread_ids(s))
    qtbot.waitUntil(
        lambda: win.river.mode == "ranked" and win.river.rowCount() > 0, timeout=WAIT_MS
    )
    assert win.river.rowCount() == 4  # the newest chunk, ranked
    assert win.reranking.unranked == unread - 4
    status = win.reranking.ranking_older  # the status line's permanent word
    assert not status.isHidden() and "still ranking older articles" in status.text()
    on_screen = shown(win)  # every row is on screen: none of them may move
    steps = 0
    while win.reranking.unranked:
        before = win.reranking.unranked
        assert not status.isHidden() and f"({before:,} to go)" in status.text()
        with qtbot.waitSignal(win.reranking.reranked, timeout=WAIT_MS):
            gated.gate.release()
        steps += 1
        assert shown(win)[: len(on_screen)] == on_screen
        last = win.reranking.anchor(visible=True)
        on_screen = shown(win)[: last + 1]
        assert win.reranking.unranked < before
    assert steps == (unread - 4 + 7) // 8
    assert status.isHidden()
    assert win.statusBar().currentMessage() == "For you has ranked every unread article."

    # every row shows the number one ranking of the whole pool gives it, and the rows below
    # the ones that stayed come in its order
    cache_path(profile, 1).unlink()
    fresh = Ranker(profile)
    whole = fresh.river(ranked=True, limit=1000)
    assert whole.unranked == 0
    final = {i.article.id: i.score for i in whole.items}
    ids = shown(win)
    assert sorted(ids) == sorted(final)
    assert scores(win) == [final[a] for a in ids]  # bit for bit: the same vectors
    kept = set(on_screen)
    below = [i.article.id for i in whole.items if i.article.id not in kept]
    assert ids[len(on_screen) :] == below[: len(ids) - len(on_screen)]
