"""The desktop notification for new articles in For you's top 5: off by default, silent
without a trained model, at most one per refresh, saying how many and the best title."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.services import preference
from app.services.profile import Profile
from app.services.ranking import Ranker
from app.services.refresh import RefreshSummary
from app.services.river import River
from app.ui.notification import TOP, TopNew, message
from app.ui.preference import SettingsDialog
from app.ui.window import QUIET, MainWindow
from tests.gui.conftest import fill


class TopRanker(Ranker):
    """Ranks For you by date, but says it ranks by a model when ``trained``."""

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile, load_models=False)
        self.trained = True
        self.top_calls = 0
        """Questions for For you's top 5 (the river's own pages ask for more)."""

    def river(self, *, ranked: bool, **kwargs: Any) -> River:
        page = super().river(ranked=False, **kwargs)
        if not ranked:
            return page
        self.top_calls += kwargs.get("limit") == TOP
        return River(page.items, "ranked" if self.trained else "latest", None, 9, 0)


SUMMARY = RefreshSummary(
    feeds=3, ok=3, not_modified=0, failed=0, new=30, updated=0, failures=(), seconds=0.1
)


@pytest.fixture
def win(profile: Profile, qtbot: QtBot) -> Iterator[tuple[MainWindow, TopRanker]]:
    ranker = TopRanker(profile)
    w = MainWindow(profile, options=QUIET, ranker=ranker)
    qtbot.addWidget(w)
    w.show()
    yield w, ranker
    w.close()


@pytest.fixture
def shown(win: tuple[MainWindow, TopRanker], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    messages: list[str] = []
    monkeypatch.setattr(
        win[0].tray.icon, "showMessage", lambda title, text, *a: messages.append(f"{title}|{text}")
    )
    return messages


def refreshed(w: MainWindow, profile: Profile, *, before: bool = True) -> None:
    """A refresh that stored 30 articles ends (``before``: it began before they came)."""
    started = datetime.now(UTC) - timedelta(seconds=5)
    fill(profile, 30)
    w.scheduler.refresh_started = started if before else datetime.now(UTC)
    w.scheduler.refreshed.emit(SUMMARY)


def turn_on(w: MainWindow) -> None:
    w.prefs = preference.Preferences(notify_top=True)


def test_it_is_off_by_default(
    win: tuple[MainWindow, TopRanker], profile: Profile, shown: list[str], qtbot: QtBot
) -> None:
    w, ranker = win
    assert not preference.load(profile.db).notify_top
    refreshed(w, profile)
    qtbot.wait(300)
    assert shown == [] and ranker.top_calls == 0


def test_one_notice_tells_how_many_and_the_best_title(
    win: tuple[MainWindow, TopRanker], profile: Profile, shown: list[str], qtbot: QtBot
) -> None:
    w, _ranker = win
    turn_on(w)
    refreshed(w, profile)
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    qtbot.wait(300)
    assert len(shown) == 1
    title, text = shown[0].split("|")
    assert title == "5 new articles are in your top 5"
    assert text.startswith("NASA rocket launch reaches orbit")  # the newest, first by date
    assert not w.notifier.asking


def test_nothing_is_told_without_a_trained_model(
    win: tuple[MainWindow, TopRanker], profile: Profile, shown: list[str], qtbot: QtBot
) -> None:
    w, ranker = win
    ranker.trained = False
    turn_on(w)
    refreshed(w, profile)
    qtbot.waitUntil(lambda: ranker.top_calls == 1 and not w.notifier.asking, timeout=5000)
    assert shown == []


def test_articles_from_before_the_refresh_are_not_news(
    win: tuple[MainWindow, TopRanker], profile: Profile, shown: list[str], qtbot: QtBot
) -> None:
    w, ranker = win
    turn_on(w)
    refreshed(w, profile, before=False)
    qtbot.waitUntil(lambda: ranker.top_calls == 1 and not w.notifier.asking, timeout=5000)
    assert shown == []


def test_the_message_counts_in_words() -> None:
    assert message(TopNew(("Only one",))) == ("A new article is in your top 5", "Only one")
    assert message(TopNew(("Best", "Next"))) == ("2 new articles are in your top 5", "Best")


def test_the_setting_is_in_the_dialog_and_kept(profile: Profile, qtbot: QtBot) -> None:
    dialog = SettingsDialog(preference.Preferences(notify_top=True))
    qtbot.addWidget(dialog)
    assert dialog.notify.isChecked()
    assert dialog.preferences().notify_top
    preference.save(profile.db, dialog.preferences())
    assert preference.load(profile.db).notify_top
