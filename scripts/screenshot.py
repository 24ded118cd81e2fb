"""Drive the real main window through its main states and capture the screen after each.

Run by scripts/screenshots.sh under a virtual X server. The profile is filled with real
headlines (AG News, from ../shared/data/headlines, when present) through the storage API,
filed in nested folders (World and Business inside News, Technology inside Science), a
simulated reader opens Sci/Tech stories, and one training round runs, so that "For you",
the highlights and "Why this?" show real output. Three more feeds are served by a local HTTP
server (one well, one answering 503, one gone with 410) and refreshed for real, so that the
activity panel shows real fetches and errors. Screens are captured with ImageMagick's
``import -window root``.
"""

from __future__ import annotations

import argparse
import csv
import html
import logging
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QObject, Qt, QTimer, Slot  # noqa: E402
from PySide6.QtWidgets import QApplication, QSplitter  # noqa: E402

import app.ui  # noqa: E402, F401
from app.services import activity, preference  # noqa: E402
from app.services.profile import Profile  # noqa: E402
from app.services.ranking import Ranker  # noqa: E402
from app.storage import articles, feeds  # noqa: E402
from app.storage.record import IncomingArticle  # noqa: E402
from app.ui import theme  # noqa: E402
from app.ui.outline import FOR_YOU, Place  # noqa: E402
from app.ui.preference import SettingsDialog  # noqa: E402
from app.ui.window import QUIET, MainWindow  # noqa: E402
from harness.server import LocalServer, Reply  # noqa: E402

log = logging.getLogger("screenshot")

AG_NEWS = ROOT.parent / "shared" / "data" / "headlines" / "ag_news" / "test.csv"
FEEDS: dict[int, list[tuple[str, str | None]]] = {
    1: [("Reuters World", "News/World"), ("BBC News World", "News/World")],
    2: [("ESPN Top Headlines", "Sport"), ("The Guardian Sport", "Sport")],
    3: [("Financial Wire", "News/Business"), ("NPR Business", "News")],
    4: [
        ("Ars Technica", "Science/Technology"),
        ("Nature News", "Science"),
        ("Hacker News", None),
    ],
}
PER_CLASS = 150


def stories() -> dict[int, list[tuple[str, str]]]:
    """(title, description) by AG News class; synthetic ones when the data is absent."""
    by_class: dict[int, list[tuple[str, str]]] = {c: [] for c in FEEDS}
    if AG_NEWS.is_file():
        with AG_NEWS.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                if len(row) >= 3 and int(row[0]) in by_class:
                    title = html.unescape(row[1]).strip()
                    text = html.unescape(row[2].replace("\\", " ")).strip()
                    by_class[int(row[0])].append((title, text))
    else:
        words = {1: "election", 2: "match", 3: "market", 4: "software"}
        for c, word in words.items():
            by_class[c] = [
                (f"A {word} story number {i}", f"More about the {word}.") for i in range(200)
            ]
    return by_class


def fill(profile: Profile) -> dict[int, int]:
    """Insert the stories; returns article id -> class."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    topic: dict[int, int] = {}
    data = stories()
    with profile.db.write() as s:
        for cls, names in FEEDS.items():
            pool = data[cls][: PER_CLASS * 2]
            for n, (name, folder) in enumerate(names):
                slug = name.lower().replace(" ", "-")
                feed = feeds.add_feed(
                    s,
                    f"https://{slug}.example.org/feed.xml",
                    title=name,
                    folder=folder,
                    site_url=f"https://{slug}.example.org/",
                )
                items = []
                for i, (title, text) in enumerate(pool[n :: len(names)][:PER_CLASS]):
                    items.append(
                        IncomingArticle(
                            dedup_key=f"{slug}-{i}",
                            url=f"https://{slug}.example.org/story/{i}",
                            title=title,
                            summary_html=f"<p>{html.escape(text)}</p>"
                            f"<p>{html.escape(text[: len(text) // 2])}…</p>",
                            summary_text=text,
                            author=rng.choice([None, "Staff writer", "A. Correspondent"]),
                            published=now - timedelta(minutes=rng.randint(1, 60 * 48)),
                        )
                    )
                for article_id in articles.upsert_articles(s, feed.id, items, now).new_ids:
                    topic[article_id] = cls
        failing = feeds.add_feed(s, "https://gone.example.org/rss", title="Old Blog")
        feeds.record_fetch_failure(s, failing.id, now, "the server answered 404 Not Found")
    return topic


def simulate_reader(profile: Profile, topic: dict[int, int], clicks: int) -> None:
    """A reader who opens Sci/Tech stories and skips the rest, a few sessions long."""
    with profile.db.read() as s:
        river = articles.list_articles(s, unread_only=True, limit=2000)
    rng = random.Random(3)
    session = activity.new_session()
    shown: list[int] = []
    opened = 0
    for a in river:
        if opened >= clicks:
            break
        if topic.get(a.id) == 4 and rng.random() < 0.7:
            activity.record_click(profile.db, a.id, session, dwell=25.0, shown_above=shown[-8:])
            opened += 1
            if opened % 12 == 0:
                session = activity.new_session()
        else:
            shown.append(a.id)


def rss(title: str, items: list[tuple[str, str]]) -> bytes:
    """A small RSS 2.0 document of (title, description) items, newest first."""
    now = datetime.now(UTC)
    entries = "".join(
        f"<item><title>{html.escape(t)}</title><description>{html.escape(d)}</description>"
        f"<link>https://local.example/{n}</link><guid>local-{n}</guid>"
        f"<pubDate>{(now - timedelta(minutes=7 * n)).strftime('%a, %d %b %Y %H:%M:%S +0000')}"
        "</pubDate></item>"
        for n, (t, d) in enumerate(items)
    )
    return (
        f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>{html.escape(title)}</title><link>https://local.example/</link>{entries}"
        "</channel></rss>"
    ).encode()


def serve_live_feeds(profile: Profile, server: LocalServer) -> list[int]:
    """Three feeds on the local server: one that answers, one busy (503), one gone (410)."""
    headlines = stories()[4][PER_CLASS * 2 : PER_CLASS * 2 + 8]
    server.route(
        "/wire.xml",
        Reply(body=rss("Local Wire", headlines), content_type="application/rss+xml"),
    )
    server.route("/busy.xml", Reply(status=503, headers={"Retry-After": "120"}))
    server.route("/gone.xml", Reply(status=410, body=b"Gone"))
    with profile.db.write() as s:
        return [
            feeds.add_feed(s, server.url(path), title=title, folder=folder).id
            for path, title, folder in (
                ("/wire.xml", "Local Wire", "Science/Technology"),
                ("/busy.xml", "Busy Radio", None),
                ("/gone.xml", "Gone Gazette", None),
            )
        ]


class Director(QObject):
    """Runs the steps one after another, each when its condition holds."""

    def __init__(self, steps: list[tuple[str, Callable[[], bool], Callable[[], None]]]) -> None:
        super().__init__()
        self.steps = steps
        self.timer = QTimer(self)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.waited = 0

    @Slot()
    def _on_timer_timeout(self) -> None:
        if not self.steps:
            self.timer.stop()
            QApplication.quit()
            return
        name, ready, act = self.steps[0]
        self.waited += 1
        if ready() or self.waited > 480:
            if self.waited > 480:
                log.warning("step %s timed out", name)
            self.steps.pop(0)
            self.waited = 0
            log.info("step: %s", name)
            act()


def capture(out: Path, name: str) -> None:
    """Save the whole virtual screen as ``out/<name>.png`` (ImageMagick's ``import``)."""
    QApplication.processEvents()
    command = shutil.which("import")
    if command is None:
        raise SystemExit("ImageMagick's import is not installed")
    subprocess.run([command, "-window", "root", str(out / f"{name}.png")], check=True)  # noqa: S603
    log.info("saved %s", out / f"{name}.png")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    qapp = QApplication(sys.argv[:1])
    theme.apply_theme()
    with Profile(args.data_dir) as profile:
        topic = fill(profile)
        preference.mark_welcomed(profile.db)
        ranker = Ranker(profile)
        for round_clicks in (30, 12, 12):
            simulate_reader(profile, topic, round_clicks)
            log.info("training…")
            log.info(ranker.train(epochs=args.epochs).summary())
        server = LocalServer()
        live = serve_live_feeds(profile, server)
        window = MainWindow(profile, options=QUIET, ranker=ranker)
        window.setGeometry(0, 0, 1440, 900)
        window.show()
        state: dict[str, object] = {}

        def river_ready() -> bool:
            return window.river.rowCount() > 0 and not window.river.loading

        def select_third() -> None:
            capture(args.out, "river")
            window.river_view.setCurrentIndex(window.river.index(2))

        def capture_why() -> None:
            window.right.setSizes([220, 660])  # room for the parts table below the sentences
            capture(args.out, "why")
            capture(args.out, "main")

        def open_model() -> None:
            window.explanation.hide()
            window.scheduler.show_model_page()

        def open_settings() -> None:
            if window.scheduler.model_dialog is not None:
                window.scheduler.model_dialog.close()
            dialog = SettingsDialog(window.prefs, window)
            dialog.open()
            state["settings"] = dialog

        def refresh_live() -> None:
            dialog = state.get("settings")
            if isinstance(dialog, SettingsDialog):
                dialog.close()
            window.show_place(Place("folder", "Science/Technology"))
            window.refresh(live)

        def refreshed() -> bool:
            known = window.sidebar.feeds
            return not window.scheduler.refreshing and all(
                i in known and known[i].last_fetch is not None for i in live
            )

        def open_activity() -> None:
            window.activity_dock.open()
            window.resizeDocks([window.activity_dock], [330], Qt.Orientation.Vertical)
            dock = window.activity_dock
            split = dock.findChild(QSplitter)
            if split is not None:
                # the feeds, the selected one's refreshes, the error in full, the events
                split.setSizes([110, 90, 50, 60])
            for row in range(dock.table.rowCount()):
                item = dock.table.item(row, 0)
                if item is not None and item.text() == "Busy Radio":
                    dock.table.selectRow(row)

        steps: list[tuple[str, Callable[[], bool], Callable[[], None]]] = [
            ("for you", lambda: bool(window.sidebar.feeds), lambda: window.show_place(FOR_YOU)),
            ("river", river_ready, select_third),
            ("reader", lambda: window.reader.article is not None, lambda: None),
            ("capture reader", lambda: True, lambda: capture(args.out, "reader")),
            ("why", lambda: True, window.desk.explain_current),
            (
                "capture why",
                lambda: window.explanation.explanation is not None,
                capture_why,
            ),
            ("model", lambda: True, open_model),
            (
                "capture model",
                lambda: (
                    window.scheduler.model_dialog is not None
                    and window.scheduler.model_dialog.table.rowCount() > 0
                ),
                lambda: capture(args.out, "model"),
            ),
            ("settings", lambda: True, open_settings),
            (
                "capture settings",
                lambda: "settings" in state,
                lambda: capture(args.out, "settings"),
            ),
            ("refresh the served feeds", lambda: True, refresh_live),
            ("activity", refreshed, open_activity),
            (
                "capture activity",
                lambda: bool(window.activity_dock.detail.toPlainText()),
                lambda: capture(args.out, "activity"),
            ),
        ]
        director = Director(steps)
        director.timer.start()
        qapp.exec()
        window.close()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
