"""Training that follows the reader (a round after N new clicks, the first at the threshold,
never two at once, never while typing a search) and the Model page's rounds and decisions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pytestqt.qtbot import QtBot

from app.services import activity, guard
from app.services.model import MIN_CLICKS
from app.services.profile import Profile
from app.services.ranking import Ranker
from app.services.training import TrainProgress, TrainReport
from app.storage import events
from app.storage.record import ModelVersionRecord
from app.ui.training import DOT, ModelDialog, RoundRow, TrainingChart
from app.ui.window import MainWindow, WindowOptions
from tests.gui.conftest import fill

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class CountingRanker(Ranker):
    """A ranker without a model whose rounds only log themselves (as a real round does), so
    the schedule can be watched; ``hold`` keeps a round running until it is set."""

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile, load_models=False)
        self.profile = profile
        self.rounds = 0
        self.running = 0
        self.most_at_once = 0
        self.hold = threading.Event()
        self.hold.set()

    def train(
        self,
        *,
        epochs: int | None = None,
        device: str | None = None,
        progress: Callable[[TrainProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> TrainReport:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        with self.profile.db.read() as s:  # what the round sees: the clicks before it started
            last = max((c.id for c in events.click_history(s)), default=0)
        try:
            while not self.hold.is_set() and not (should_stop and should_stop()):
                time.sleep(0.01)
            self.rounds += 1
            guard.record(
                self.profile.db,
                guard.Round(
                    self.rounds,
                    datetime.now(UTC).isoformat(),
                    last,
                    last,
                    guard.REJECTED,
                    "rejected: worse than the model in use (0.61 vs 0.74 ± 0.03)",
                    guard.MODEL,
                    figure=0.61,
                    current=0.74,
                    held_out=9,
                ),
            )
            return TrainReport(None, last, last, 1, 0.5, 0.6, 0.6, "cpu", 0.1, False, False)
        finally:
            self.running -= 1


@pytest.fixture
def scheduled(profile: Profile, qtbot: QtBot) -> Iterator[tuple[MainWindow, CountingRanker]]:
    fill(profile, 40)
    ranker = CountingRanker(profile)
    options = WindowOptions(preload=False, auto_refresh=False, first_run=False)
    win = MainWindow(profile, options=options, ranker=ranker)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.river.rowCount() > 0, timeout=5000)
    yield win, ranker
    ranker.hold.set()
    win.close()


def ids(profile: Profile) -> list[int]:
    from app.storage import articles

    with profile.db.read() as s:
        return sorted(articles.article_titles(s))


def opened(win: MainWindow, article_ids: list[int]) -> None:
    """Record opens as the article desk does, and tell the scheduler of each."""
    for a in article_ids:
        activity.record_click(win.db, a, "screen", dwell=10.0)
        win.desk.clicked_recorded.emit(a)


def settle(win: MainWindow, qtbot: QtBot) -> None:
    """Wait until no check or round is under way."""
    qtbot.waitUntil(
        lambda: not win.scheduler.checking and not win.scheduler.trainer.running, timeout=10000
    )


def test_the_first_round_starts_at_the_threshold_and_the_next_after_n_new_clicks(
    scheduled: tuple[MainWindow, CountingRanker], qtbot: QtBot
) -> None:
    win, ranker = scheduled
    every = ids(win.profile)
    opened(win, every[: MIN_CLICKS - 1])
    settle(win, qtbot)
    assert ranker.rounds == 0
    opened(win, every[MIN_CLICKS - 1 : MIN_CLICKS])
    qtbot.waitUntil(lambda: ranker.rounds == 1, timeout=10000)
    settle(win, qtbot)
    new = win.prefs.train_min_clicks
    for a in every[MIN_CLICKS : MIN_CLICKS + new - 1]:
        opened(win, [a])
        settle(win, qtbot)
    assert ranker.rounds == 1  # one click short of a round
    opened(win, [every[MIN_CLICKS + new - 1]])
    qtbot.waitUntil(lambda: ranker.rounds == 2, timeout=10000)
    settle(win, qtbot)
    assert ranker.rounds == 2 and ranker.most_at_once == 1

    win.scheduler.show_model_page()  # the rejected rounds are on the Model page
    dialog = win.scheduler.model_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=5000)
    assert cell(dialog, 0, 9).startswith("rejected: worse than the model in use")
    assert cell(dialog, 0, 4) == "0.610"
    assert cell(dialog, 0, 6) == "0.740"
    dialog.close()


def test_never_two_rounds_at_once_and_the_end_of_one_looks_again(
    scheduled: tuple[MainWindow, CountingRanker], qtbot: QtBot
) -> None:
    win, ranker = scheduled
    every = ids(win.profile)
    ranker.hold.clear()  # the first round runs until released
    opened(win, every[:MIN_CLICKS])
    qtbot.waitUntil(lambda: ranker.running == 1, timeout=10000)
    opened(win, every[MIN_CLICKS : MIN_CLICKS + 2 * win.prefs.train_min_clicks])
    win.scheduler.train_timer.timeout.emit()
    qtbot.wait(200)
    assert ranker.running == 1 and ranker.rounds == 0
    ranker.hold.set()
    qtbot.waitUntil(lambda: ranker.rounds == 2, timeout=10000)  # the clicks meanwhile
    settle(win, qtbot)
    assert ranker.most_at_once == 1 and ranker.rounds == 2


def test_a_due_round_waits_while_the_reader_types_in_search(
    scheduled: tuple[MainWindow, CountingRanker], qtbot: QtBot
) -> None:
    win, ranker = scheduled
    win.search.setFocus()
    qtbot.keyClicks(win.search, "rock")  # type: ignore[no-untyped-call]
    assert win.scheduler.typing_timer.isActive()
    opened(win, ids(win.profile)[:MIN_CLICKS])
    qtbot.waitUntil(lambda: win.scheduler.pending, timeout=10000)
    assert ranker.rounds == 0 and not win.scheduler.trainer.running
    win.scheduler.typing_timer.stop()  # as if the box had been left alone long enough
    win.scheduler.typing_timer.timeout.emit()
    qtbot.waitUntil(lambda: ranker.rounds == 1, timeout=10000)
    settle(win, qtbot)


def cell(dialog: ModelDialog, row: int, column: int) -> str:
    item = dialog.table.item(row, column)
    assert item is not None
    return item.text()


def version(n: int, auc: float | None, loss: float | None = 1.0) -> ModelVersionRecord:
    return ModelVersionRecord(
        id=n,
        path=f"model-{n}.pt",
        sha256="0" * 64,
        created=NOW + timedelta(minutes=n),
        clicks_used=20 + n,
        metrics={"loss": loss, "holdout_click_auc": auc},
    )


def logged(n: int, decision: str, reason: str, **more: object) -> guard.Round:
    when = (NOW + timedelta(hours=n)).isoformat()
    return guard.Round(n, when, 30 + n, 30 + n, decision, reason, guard.MODEL, **more)  # type: ignore[arg-type]


def test_the_model_page_shows_each_rounds_figure_and_decision(qtbot: QtBot) -> None:
    dialog = ModelDialog()
    qtbot.addWidget(dialog)
    rounds = [
        logged(1, guard.PUBLISHED, "published: better than the model in use (0.71 vs 0.60 ± 0.04)",
               version=2, published=True, figure=0.71, current=0.60, loss=0.8),
        logged(2, guard.REJECTED, "rejected: worse than the model in use (0.61 vs 0.74 ± 0.03)",
               version=2, figure=0.61, current=0.74, clickbias=0.58, baseline=0.66, loss=0.7,
               latest=0.52),
        logged(3, guard.KEPT, "kept: too few held-out clicks to judge (4 of 5 needed)",
               version=2, figure=1.0, held_out=4, too_few=True, loss=0.6),
    ]  # fmt: skip
    dialog.set_versions([version(1, 0.55), version(2, 0.71)], rounds, guard.NOTICES["clickbias"])
    assert dialog.table.rowCount() == 4  # version 1 (before the log) and three logged rounds
    texts = [[cell(dialog, r, c) for c in range(10)] for r in range(4)]
    assert texts[0][4] == "too few (4)"  # never a "perfect" 1.000
    assert texts[0][9].startswith("kept: too few held-out clicks")
    assert texts[1][0] == "–" and texts[1][4] == "0.610" and texts[1][6] == "0.740"
    assert texts[1][7] == "0.580" and texts[1][8] == "0.520"  # ClickBias, Latest beside it
    assert texts[1][9] == "rejected: worse than the model in use (0.61 vs 0.74 ± 0.03)"
    assert texts[2][0] == "2" and texts[2][8] == "–" and texts[2][9].startswith("published")
    assert texts[3][0] == "1" and texts[3][4] == "0.550" and texts[3][9] == "published"
    assert dialog.notice.text() == guard.NOTICES["clickbias"] and not dialog.notice.isHidden()
    dialog.set_versions([version(1, 0.55)])
    assert dialog.notice.isHidden()


def row(loss: float | None, figure: float | None, baseline: float | None = None) -> RoundRow:
    return RoundRow(1, NOW, 20, loss, figure, baseline, None, None, guard.PUBLISHED, "published")


@pytest.mark.parametrize(
    "rows",
    [
        [row(0.7, 1.0)],  # a single point
        [row(2.0, 0.0, 1.0), row(0.1, 1.0, 0.0), row(None, None)],  # AUC at both ends, gaps
        [row(0.5, 0.5), row(0.5, 0.5)],  # a flat loss
        [row(float(i), 0.083 * (i % 13)) for i in range(40)],
    ],
)
def test_the_chart_keeps_every_point_inside_its_axes(rows: list[RoundRow], qtbot: QtBot) -> None:
    chart = TrainingChart()
    qtbot.addWidget(chart)
    chart.resize(460, 240)
    chart.set_rows(rows)
    frame = chart.frame_rect().adjusted(DOT, DOT, -DOT, -DOT)  # a whole dot fits inside
    points = [p for series in chart.points().values() for p in series]
    assert points
    assert all(frame.contains(p) for p in points), [p for p in points if not frame.contains(p)]
    assert not chart.grab().toImage().isNull()
