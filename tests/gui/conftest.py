"""Fixtures for the GUI tests: a temporary profile with articles, a quiet main window, and a
check that no test leaves threads behind."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QThreadPool

import app.ui  # noqa: F401  (counters the PySide6 None defect before any Qt call)
from app.services.profile import Profile
from app.storage import articles, feeds
from app.storage.record import IncomingArticle

TOPICS = {
    "space": [
        "NASA rocket launch reaches orbit with new telescope",
        "Astronomers find water on a distant exoplanet",
        "Mars rover drills into ancient lake bed",
        "Space station crew tests new rocket engine",
    ],
    "football": [
        "Striker scores twice as league leaders win derby",
        "Manager sacked after cup defeat to rivals",
        "Goalkeeper saves penalty in dramatic final",
        "Transfer window closes with record football fee",
    ],
    "markets": [
        "Stocks fall as central bank raises interest rates",
        "Oil prices climb on supply worries",
        "Tech shares rally after strong earnings",
        "Bond yields rise as inflation persists",
    ],
}


def headlines(count: int) -> list[tuple[str, str]]:
    """``count`` (topic, title) pairs cycling through the topics, each title unique."""
    topics = list(TOPICS)
    out: list[tuple[str, str]] = []
    for i in range(count):
        topic = topics[i % len(topics)]
        base = TOPICS[topic][(i // len(topics)) % len(TOPICS[topic])]
        out.append((topic, f"{base} ({i})"))
    return out


def fill(profile: Profile, count: int, *, feeds_n: int = 3) -> list[int]:
    """Insert ``count`` articles across ``feeds_n`` feeds (newest first by index); returns ids."""
    now = datetime.now(UTC)
    with profile.db.write() as s:
        feed_ids = [
            feeds.add_feed(
                s,
                f"https://example.org/{n}.xml",
                title=f"Feed {n}",
                folder="News" if n % 2 == 0 else None,
            ).id
            for n in range(feeds_n)
        ]
        ids: list[int] = []
        batches: dict[int, list[IncomingArticle]] = {f: [] for f in feed_ids}
        for i, (_topic, title) in enumerate(headlines(count)):
            batches[feed_ids[i % feeds_n]].append(
                IncomingArticle(
                    dedup_key=f"k{i}",
                    url=f"https://example.org/a/{i}",
                    title=title,
                    summary_html=f"<p>Story {i}.</p>",
                    summary_text=f"Story {i}.",
                    author=None,
                    published=now - timedelta(minutes=i),
                )
            )
        for feed_id, items in batches.items():
            ids.extend(articles.upsert_articles(s, feed_id, items, now).new_ids)
    return ids


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Profile]:
    p = Profile(tmp_path / "profile")
    yield p
    p.close()


WATCHED = {"heedful-train", "heedful-jobs"}
"""Kernel names of the threads the app starts: its training QThread and pool threads."""


def os_threads() -> int:
    """How many of this process's threads (Qt's included) carry a name from WATCHED."""
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        return 0
    count = 0
    for task in tasks.iterdir():
        try:
            name = (task / "comm").read_text().strip()
        except OSError:
            continue
        count += name in WATCHED
    return count


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves Python threads, busy pool threads or live QThreads behind."""
    before = {t.ident for t in threading.enumerate()}
    native = os_threads()
    yield
    pool = QThreadPool.globalInstance()
    assert pool.waitForDone(5000)
    leaked = [
        t
        for t in threading.enumerate()
        if t.ident not in before and t.is_alive() and not isinstance(t, threading._DummyThread)
    ]
    assert not leaked, f"threads left running: {leaked}"
    deadline = time.monotonic() + 5
    while os_threads() > native and time.monotonic() < deadline:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
        time.sleep(0.02)
    assert os_threads() <= native, f"{os_threads() - native} app threads left running"


def titles(items: Sequence[object]) -> list[str]:
    return [getattr(i, "title", "") for i in items]


@pytest.fixture(autouse=True)
def no_crash_reports() -> Iterator[None]:
    """Fail a test during which the app showed a crash report (a bug, not a known failure)."""
    from app.ui import crash

    crash.shown.clear()
    yield
    reports, crash.shown[:] = list(crash.shown), []
    assert not reports, reports[0]
