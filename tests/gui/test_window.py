"""The main window on a temporary profile: panes, shortcuts, impressions and clicks."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from pytestqt.qtbot import QtBot

from app.services import reading
from app.services.profile import Profile
from app.storage import events
from app.storage.record import ScreenRecord
from app.ui import article as article_module
from app.ui.outline import FOR_YOU, LATEST, STARRED, Place
from app.ui.river import Role
from app.ui.window import QUIET, MainWindow
from harness.sample import seed_profile
from harness.training import install_model
from tests.gui.conftest import fill

ROOT = Path(__file__).resolve().parents[2]


class UrlCatcher(QObject):
    """Stands in for the system browser: records the URLs Qt was asked to open."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


@pytest.fixture
def browser() -> Iterator[UrlCatcher]:
    catcher = UrlCatcher()
    for scheme in ("http", "https"):
        QDesktopServices.setUrlHandler(scheme, catcher, "open")
    yield catcher
    for scheme in ("http", "https"):
        QDesktopServices.unsetUrlHandler(scheme)


def make_window(profile: Profile, qtbot: QtBot, count: int = 30) -> MainWindow:
    fill(profile, count)
    win = MainWindow(profile, options=QUIET)
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()  # reading counts only while the window is active
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    qtbot.waitUntil(lambda: win.river.rowCount() == min(count, 200), timeout=5000)
    qtbot.waitUntil(lambda: len(win.sidebar.feeds) == 3, timeout=5000)
    return win


@pytest.fixture
def win(profile: Profile, qtbot: QtBot) -> Iterator[MainWindow]:
    w = make_window(profile, qtbot)
    yield w
    w.close()


def current_row(w: MainWindow) -> int:
    return w.river_view.currentIndex().row()


def test_three_panes_show_articles(win: MainWindow) -> None:
    assert win.river.rowCount() == 30
    assert win.sidebar.rowCount() >= 4  # three smart views, then folders/feeds
    assert "more clicks" in win.notice.text()
    names = [win.sidebar.index(r, 0).data() for r in range(3)]
    assert names == ["For you", "Latest", "Starred"]
    assert win.sidebar.index(0, 1).data() == "30"


def test_torch_is_not_loaded_before_the_window_shows(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "import app.ui\n"
        "from app.services.profile import Profile\n"
        "from app.ui.window import MainWindow\n"
        "qapp = QApplication([])\n"
        f"p = Profile(__import__('pathlib').Path({str(tmp_path)!r}))\n"
        "w = MainWindow(p)\n"
        "w.show()\n"
        "qapp.processEvents()\n"
        "print('torch' in sys.modules)\n"
        "w.close(); p.close()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_the_window_ranks_for_you_without_importing_torch(tmp_path: Path) -> None:
    root = tmp_path / "profile"
    seed_profile(root, feed_count=3, per_feed=12, clicks=21)
    install_model(root)
    script = (
        "import sys, time, pathlib\n"
        "from PySide6.QtWidgets import QApplication\n"
        "import app.ui\n"
        "from app.services.profile import Profile\n"
        "from app.ui.window import QUIET, MainWindow\n"
        "if __name__ == '__main__':\n"
        "    qapp = QApplication([])\n"
        "    p = Profile(pathlib.Path(sys.argv[1]))\n"
        "    w = MainWindow(p, options=QUIET)\n"
        "    w.show()\n"
        "    deadline = time.monotonic() + 60\n"
        "    while time.monotonic() < deadline and (w.river.loading or not w.river.rowCount()):\n"
        "        qapp.processEvents()\n"
        "        time.sleep(0.01)\n"
        "    first = w.river.article_at(0)\n"
        "    explained = w.ranker.explain(first.id)\n"
        "    host = w.ranker.host.pid\n"
        "    w.close(); p.close()\n"
        "    print(w.river.mode, bool(explained.words), host, 'torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.returncode == 0, out.stderr
    mode, explained, host, torch = out.stdout.split()[-4:]
    assert (mode, explained, torch) == ("ranked", "True", "False"), out.stdout
    assert not Path(f"/proc/{host}").exists() or "Z" in Path(f"/proc/{host}/stat").read_text()


def test_j_and_k_move_the_selection(win: MainWindow, qtbot: QtBot) -> None:
    win.river_view.setFocus()
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)
    assert current_row(win) == 0
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)
    assert current_row(win) == 2
    qtbot.keyClick(win.river_view, Qt.Key.Key_K)
    assert current_row(win) == 1
    assert win.reader.article is not None
    assert win.reader.article.id == win.river.index(1).data(Role.ARTICLE_ID)
    assert win.reader.article.title in win.reader.toPlainText()


def test_opening_marks_read_and_m_toggles(win: MainWindow, qtbot: QtBot) -> None:
    win.river_view.setFocus()
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)
    article_id = win.river.index(0).data(Role.ARTICLE_ID)
    assert win.river.index(0).data(Role.READ) is True
    qtbot.waitUntil(lambda: reading.article(win.db, article_id).read, timeout=5000)  # type: ignore[union-attr]
    qtbot.keyClick(win.river_view, Qt.Key.Key_M)
    assert win.river.index(0).data(Role.READ) is False
    qtbot.waitUntil(lambda: not reading.article(win.db, article_id).read, timeout=5000)  # type: ignore[union-attr]


def test_s_stars_and_starred_view_lists_it(win: MainWindow, qtbot: QtBot) -> None:
    win.river_view.setFocus()
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)
    article_id = win.river.index(0).data(Role.ARTICLE_ID)
    qtbot.keyClick(win.river_view, Qt.Key.Key_S)
    assert win.river.index(0).data(Role.STARRED) is True
    qtbot.waitUntil(lambda: reading.article(win.db, article_id).starred, timeout=5000)  # type: ignore[union-attr]
    with qtbot.waitSignal(win.river.loaded, timeout=5000):
        win.show_place(STARRED)
    assert win.river.rowCount() == 1
    assert win.river.index(0).data(Role.ARTICLE_ID) == article_id


def test_shift_a_marks_the_feed_read(win: MainWindow, qtbot: QtBot) -> None:
    feed = next(f for f in win.sidebar.feeds.values() if f.title == "Feed 1")
    with qtbot.waitSignal(win.river.loaded, timeout=5000):
        win.show_place(Place("feed", feed.id))
    assert win.river.rowCount() == 10
    win.river_view.setFocus()
    qtbot.keyClick(win.river_view, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: reading.stats(win.db).unread == 20, timeout=5000)
    assert all(win.river.index(r).data(Role.READ) for r in range(10))
    qtbot.waitUntil(lambda: win.sidebar.feeds[feed.id].unread == 0, timeout=5000)


def test_slash_searches(win: MainWindow, qtbot: QtBot) -> None:
    win.river_view.setFocus()
    qtbot.keyClick(win.river_view, Qt.Key.Key_Slash)
    assert win.search.hasFocus()
    with qtbot.waitSignal(win.river.loaded, timeout=5000):
        qtbot.keyClicks(win.search, "telescope")
        qtbot.keyClick(win.search, Qt.Key.Key_Return)
    shown = [win.river.index(r).data() for r in range(win.river.rowCount())]
    assert shown
    assert all("telescope" in t.lower() for t in shown)
    # typing j in the search box types, it does not move the river
    qtbot.keyClick(win.search, Qt.Key.Key_J)
    assert win.search.text().endswith("j")
    qtbot.keyClick(win.search, Qt.Key.Key_Escape)
    assert win.search.text() == ""


def test_rows_visible_a_second_become_impressions(win: MainWindow, qtbot: QtBot) -> None:
    visible = win.impressions.visible_rows()
    assert len(visible) > 3
    qtbot.wait(1400)

    def logged() -> int:
        with win.db.read() as s:
            return len(events.impressions(s))

    qtbot.waitUntil(lambda: logged() >= len(visible), timeout=5000)
    count = logged()
    qtbot.wait(1300)
    assert logged() == count  # once per screen
    with win.db.read() as s:
        shown = events.impressions(s)
        screens = events.screens(s)
    assert {i.session for i in shown} == {win.impressions.session}
    assert screens[win.impressions.session].view == "foryou"
    assert sorted(i.position for i in shown) == list(range(count))  # type: ignore[type-var]


class DeskClock:
    """The reading timer's clock, moved by the test alone, so that a loaded machine's pauses
    between key presses never count as reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def read_for(self, qtbot: QtBot, seconds: float) -> None:
        """Let ``seconds`` pass and the timer tick on them."""
        self.now += seconds
        qtbot.wait(article_module.DWELL_TICK_MS * 2)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> DeskClock:
    fake = DeskClock()
    monkeypatch.setattr(article_module, "clock", fake)
    return fake


def test_reading_long_enough_records_a_click(
    win: MainWindow, qtbot: QtBot, clock: DeskClock
) -> None:
    win.river_view.setFocus()
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)  # rows 0 and 1 were passed at once
    clicked = win.river.index(2).data(Role.ARTICLE_ID)
    above = [win.river.index(r).data(Role.ARTICLE_ID) for r in range(2)]
    clock.read_for(qtbot, article_module.CLICK_DWELL_S + 1)
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)

    def history() -> list[int]:
        with win.db.read() as s:
            return [c.article_id for c in events.click_history(s)]

    qtbot.waitUntil(lambda: history() == [clicked], timeout=5000)  # rows 0, 1: never
    with win.db.read() as s:
        click = events.click_history(s)[0]
        shown = {i.article_id for i in events.impressions(s)}
    assert click.dwell is not None and click.dwell >= article_module.CLICK_DWELL_S
    assert click.session == win.impressions.session
    assert click.position == 2
    assert clicked in click.visible
    assert set(above) <= shown


def _clicks(win: MainWindow) -> list[int]:
    with win.db.read() as s:
        return [c.article_id for c in events.click_history(s)]


def test_inspecting_an_article_is_not_opening_it(
    win: MainWindow, qtbot: QtBot, clock: DeskClock
) -> None:
    long_read = article_module.CLICK_DWELL_S + 1
    win.river_view.setFocus()
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)
    qtbot.keyClick(win.river_view, Qt.Key.Key_W)  # Why this?
    clock.read_for(qtbot, long_read)
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)
    qtbot.keyClick(win.river_view, Qt.Key.Key_S)  # selected to star it
    clock.read_for(qtbot, long_read)
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)
    qtbot.keyClick(win.river_view, Qt.Key.Key_Minus)  # less like this
    clock.read_for(qtbot, long_read)
    qtbot.wait(300)
    assert _clicks(win) == []


def test_reading_counts_only_while_the_window_is_active(
    win: MainWindow, qtbot: QtBot, clock: DeskClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(win.desk, "_window_active", lambda: False)
    win.river_view.setFocus()
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)
    clock.read_for(qtbot, article_module.CLICK_DWELL_S + 1)
    qtbot.wait(300)
    assert _clicks(win) == []
    monkeypatch.setattr(win.desk, "_window_active", lambda: True)
    clock.read_for(qtbot, article_module.CLICK_DWELL_S + 1)
    qtbot.waitUntil(lambda: len(_clicks(win)) == 1, timeout=5000)
    assert "Counted as opened" in win.statusBar().currentMessage()


def test_each_visit_of_a_view_is_a_screen(win: MainWindow, qtbot: QtBot) -> None:
    first = win.impressions.session
    win.show_place(Place("feed", next(iter(win.sidebar.feeds))))
    qtbot.waitUntil(lambda: win.river.rowCount() > 0, timeout=5000)
    second = win.impressions.session
    win.show_place(FOR_YOU)
    qtbot.waitUntil(lambda: win.river.rowCount() > 0, timeout=5000)
    third = win.impressions.session
    assert len({first, second, third}) == 3

    def logged() -> dict[str, ScreenRecord]:
        with win.db.read() as s:
            return events.screens(s)

    qtbot.waitUntil(lambda: {first, second, third} <= set(logged()), timeout=5000)
    screens = logged()
    assert (screens[second].view, screens[second].multi_feed) == ("feed", False)
    assert (screens[third].view, screens[third].ordering) == ("foryou", "ranked")


def test_more_like_this_is_feedback_not_a_click(win: MainWindow, qtbot: QtBot) -> None:
    win.river_view.setFocus()
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)
    article = win.reader.article
    assert article is not None
    win.act_more.trigger()

    def given() -> list[tuple[str, int | None]]:
        with win.db.read() as s:
            return [(f.kind, f.article_id) for f in events.feedback(s)]

    qtbot.waitUntil(lambda: given() == [("more", article.id)], timeout=5000)
    qtbot.waitUntil(lambda: "Noted: more like" in win.statusBar().currentMessage(), timeout=5000)
    assert _clicks(win) == []


def test_open_in_browser_records_a_click(
    win: MainWindow, qtbot: QtBot, browser: UrlCatcher
) -> None:
    win.river_view.setFocus()
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)
    article = win.reader.article
    assert article is not None
    qtbot.keyClick(win.river_view, Qt.Key.Key_O)
    assert browser.urls == [QUrl(article.url)]

    def history() -> list[int]:
        with win.db.read() as s:
            return [c.article_id for c in events.click_history(s)]

    qtbot.waitUntil(lambda: history() == [article.id], timeout=5000)
    qtbot.keyClick(win.river_view, Qt.Key.Key_Return)  # Enter opens too, still one click
    assert len(browser.urls) == 2
    qtbot.wait(200)
    assert history() == [article.id]


def test_space_scrolls_then_moves_on(win: MainWindow, qtbot: QtBot) -> None:
    win.river_view.setFocus()
    qtbot.keyClick(win.river_view, Qt.Key.Key_Space)
    assert current_row(win) == 0
    qtbot.keyClick(win.river_view, Qt.Key.Key_Space)
    assert current_row(win) == 1


def test_views_switch_from_the_sidebar(win: MainWindow, qtbot: QtBot) -> None:
    index = win.sidebar.index_of(LATEST)
    with qtbot.waitSignal(win.river.loaded, timeout=5000):
        win.sidebar_view.setCurrentIndex(index)
    assert win.place == LATEST
    assert not win.river.query.ranked
    assert not win.notice.isVisible()


def test_layout_is_kept_between_sessions(profile: Profile, qtbot: QtBot) -> None:
    first = make_window(profile, qtbot, 3)
    first.resize(760, 560)
    first.splitter.setSizes([150, 250, 340])
    sizes = first.splitter.sizes()
    first.close()
    second = MainWindow(profile, options=QUIET)
    qtbot.addWidget(second)
    second.show()
    assert (second.width(), second.height()) == (760, 560)
    assert second.splitter.sizes() == sizes
    second.close()


def test_help_lists_every_shortcut(win: MainWindow) -> None:
    from app.ui.help import SHORTCUTS, HelpDialog

    dialog = HelpDialog(win)
    text = dialog.findChild(__import__("PySide6.QtWidgets").QtWidgets.QLabel).text()
    for key, _ in SHORTCUTS:
        assert key in text
    shortcuts = {a.shortcut().toString() for a in win.actions()}
    assert {"J", "K", "Space", "O", "M", "S", "R", "/", "Shift+A", "?"} <= shortcuts


def test_why_this_without_a_model_says_so(win: MainWindow, qtbot: QtBot) -> None:
    win.river_view.setFocus()
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)
    qtbot.keyClick(win.river_view, Qt.Key.Key_W)
    assert win.explanation.isVisible()
    qtbot.waitUntil(lambda: "no trained model" in win.explanation.text(), timeout=5000)
    assert win.explanation.explanation is None


def test_deleting_a_feed_removes_it(win: MainWindow, qtbot: QtBot) -> None:
    feed = next(f for f in win.sidebar.feeds.values() if f.title == "Feed 1")
    with qtbot.waitSignal(win.river.loaded, timeout=5000):
        win.show_place(Place("feed", feed.id))
    win.admin.delete_feed(feed.id)
    qtbot.waitUntil(lambda: feed.id not in win.sidebar.feeds, timeout=5000)
    assert win.place == LATEST
    qtbot.waitUntil(lambda: win.river.rowCount() == 20, timeout=5000)
    assert not win.sidebar.index_of(Place("feed", feed.id)).isValid()


def test_first_run_asks_before_subscribing_and_welcomes(
    profile: Profile, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QLabel

    from app.feeds.fetcher import Fetcher, FetchError
    from app.ui.window import WindowOptions

    requests: list[str] = []

    def no_network(self: Fetcher, url: str, **_: object) -> None:
        requests.append(url)
        raise FetchError("no network in tests")

    monkeypatch.setattr(Fetcher, "fetch", no_network)
    w = MainWindow(profile, options=WindowOptions(False, True, True, False))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.welcome is not None and w.welcome.isVisible(), timeout=5000)
    assert w.welcome is not None
    assert "Nothing leaves this machine" in w.welcome.text()
    listing = w.welcome.findChild(QLabel, "starterFeeds")
    assert listing is not None
    assert "BBC News" in listing.text() and "Quanta Magazine" in listing.text()
    qtbot.wait(400)
    assert not w.sidebar.feeds and requests == []  # nothing subscribed or fetched yet
    w.welcome.starter_button.click()
    qtbot.waitUntil(lambda: len(w.sidebar.feeds) >= 10, timeout=5000)
    urls = {f.url for f in w.sidebar.feeds.values()}
    assert "https://feeds.bbci.co.uk/news/rss.xml" in urls
    assert {f.folder for f in w.sidebar.feeds.values()} == {"News", "Technology", "Science"}
    w.close()
    again = MainWindow(profile, options=WindowOptions(False, False, True, False))
    qtbot.addWidget(again)
    again.show()
    qtbot.wait(600)
    assert again.welcome is None
    again.close()


def test_first_run_can_start_with_nothing(profile: Profile, qtbot: QtBot) -> None:
    from app.ui.window import WindowOptions

    w = MainWindow(profile, options=WindowOptions(False, False, True, False))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.welcome is not None and w.welcome.isVisible(), timeout=5000)
    assert w.welcome is not None
    w.welcome.nothing_button.click()
    assert w.welcome.choice == "nothing" and not w.welcome.isVisible()
    qtbot.wait(300)
    assert not w.sidebar.feeds
    w.close()


def test_a_locked_profile_is_refused_in_words(profile: Profile) -> None:
    out = subprocess.run(
        [sys.executable, "main.py", "--data-dir", str(profile.paths.root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.returncode == 1
    assert "already open" in out.stderr
    assert "Traceback" not in out.stderr


def test_muted_headlines_are_dimmed_not_hidden(win: MainWindow, qtbot: QtBot) -> None:
    from app.services import mute

    mute.save(win.db, [mute.Rule("rocket")])
    with qtbot.waitSignal(win.river.loaded, timeout=5000):
        win.river.reload()
    assert win.river.rowCount() == 30
    muted = [
        win.river.index(r).data()
        for r in range(win.river.rowCount())
        if win.river.index(r).data(Role.MUTED)
    ]
    assert muted
    assert all("rocket" in t.lower() for t in muted)
    assert "muted" in win.notice.text()


def test_settings_are_applied_and_kept(win: MainWindow, qtbot: QtBot) -> None:
    from app.services import preference

    prefs = preference.Preferences(refresh_minutes=45, train_minutes=20, retention_days=30)
    win.admin.apply_preferences(prefs)
    assert win.scheduler.refresh_timer.interval() == 45 * 60_000
    assert win.scheduler.train_timer.interval() == 20 * 60_000
    qtbot.waitUntil(lambda: preference.load(win.db) == prefs, timeout=5000)


def test_model_page_opens_without_rounds(win: MainWindow, qtbot: QtBot) -> None:
    win.act_model.trigger()
    dialog = win.scheduler.model_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.wait(200)
    assert dialog.table.rowCount() == 0
    assert dialog.train_button.isEnabled()


def test_read_articles_can_be_shown(win: MainWindow, qtbot: QtBot) -> None:
    win.desk.mark_all_read(confirm=False)
    qtbot.waitUntil(lambda: reading.stats(win.db).unread == 0, timeout=5000)
    with qtbot.waitSignal(win.river.loaded, timeout=5000):
        win.river.reload()
    assert win.river.rowCount() == 0
    with qtbot.waitSignal(win.river.loaded, timeout=5000):
        win.act_show_read.trigger()
    assert win.river.rowCount() == 30
    assert all(win.river.index(r).data(Role.READ) for r in range(30))
