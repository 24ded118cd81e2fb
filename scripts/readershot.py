"""Screenshot of the reader with a fetched full text, a folded story and an attachment.

Run: ``QT_QPA_PLATFORM=offscreen python scripts/readershot.py [--out docs/screenshots]``
(or under xvfb-run with ``xcb``). The profile is temporary: two feeds carry the same story
(folded into one row, "also in" the other), one of the BBC articles of ../shared/data is
wrapped in a news page and its main content extracted as "Fetch full article" does, and an
episode file is attached. Writes ``fulltext.png``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402

from app.feeds.extractor import extract  # noqa: E402
from app.services import story  # noqa: E402
from app.services.profile import Profile  # noqa: E402
from app.storage import articles, content, enclosure, feeds  # noqa: E402
from app.storage.record import IncomingArticle  # noqa: E402
from app.ui.river import Role  # noqa: E402
from app.ui.window import QUIET, MainWindow  # noqa: E402
from harness.pagegen import bbc_pages  # noqa: E402


def wait(done: Callable[[], bool], seconds: float = 10.0) -> None:
    """Run the event loop until ``done()`` or ``seconds`` have passed."""
    end = time.monotonic() + seconds
    while not done() and time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    _app = QApplication.instance() or QApplication(sys.argv)
    pages = bbc_pages(ROOT.parent / "shared" / "data", 30)
    page = pages[7]
    found = extract(page.html.encode(), "https://news.example" + page.path)
    now = datetime.now(UTC)
    audio = enclosure.EnclosureRecord("https://0.example/story.mp3", "audio/mpeg", 9_800_000)
    with tempfile.TemporaryDirectory() as folder, Profile(Path(folder)) as profile:
        ids: dict[str, int] = {}
        with profile.db.write() as s:
            for n, (name, title) in enumerate(
                [("BBC News", page.title), ("Reuters", page.title + " - report")]
            ):
                feed = feeds.add_feed(s, f"https://{n}.example/rss", title=name)
                lead = page.paragraphs[0]
                items = [
                    IncomingArticle(
                        "story", f"https://{n}.example/story", title, f"<p>{lead}</p>", lead,
                        "Staff", now,
                    )
                ]  # fmt: skip
                for i, other in enumerate(p.title for p in pages[n * 8 : n * 8 + 6]):
                    when = now - timedelta(hours=i + 1)
                    url = f"https://{n}.example/o{i}"
                    items.append(
                        IncomingArticle(f"o{i}", url, other, f"<p>{other}.</p>", other, None, when)
                    )
                ids[name] = articles.upsert_articles(s, feed.id, items, now).new_ids[0]
            content.set_full_html(s, ids["BBC News"], found.html)
            enclosure.store(s, ids["BBC News"], [audio])
        story.fold_recent(profile.db)
        win = MainWindow(profile, options=QUIET)
        win.resize(1400, 860)
        win.show()
        wait(lambda: win.river.rowCount() > 0)
        shown = [win.river.index(r).data(Role.ARTICLE_ID) for r in range(win.river.rowCount())]
        row = shown.index(ids["BBC News"]) if ids["BBC News"] in shown else 0
        win.river_view.setCurrentIndex(win.river.index(row))
        wait(lambda: bool(win.reader.full_html and win.reader.also_in and win.reader.enclosures))
        wait(lambda: False, seconds=1.0)  # let the panes settle
        args.out.mkdir(parents=True, exist_ok=True)
        target = args.out / "fulltext.png"
        win.grab().save(str(target))
        reader = win.reader
        print(
            f"wrote {target} (full text: {bool(reader.full_html)}, also in: {reader.also_in}, "
            f"attachments: {len(reader.enclosures)})"
        )
        win.close()


if __name__ == "__main__":
    main()
