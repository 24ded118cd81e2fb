"""Pattern 1 of the session benchmark, end to end through the real window (offscreen).

A new reader subscribes to eight local feeds, scrolls Latest once from top to bottom, then
reads about nine articles in each of three feeds it favours, one feed view at a time, and
opens three articles elsewhere by mistake. After one training round, started through the
window's own training path, every favoured feed must have an unread article in For you's top
30. The feeds it favours are timed as in the report that found the problem: one among the
newest, two at the bottom of Latest, so that the end of the scroll is made of them.

The hand that drives the window is the benchmark's (bench/hand.py): sidebar clicks, page
scrolls, row clicks read in the pane, with the window's dwell times shortened.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import shiboken6
from pytestqt.qtbot import QtBot

import app.ui  # noqa: F401  (counters the PySide6 None defect before any Qt call)
from app.services.profile import Profile
from app.storage import events, feeds
from app.ui.window import QUIET, MainWindow
from bench.hand import Hand, caught_browser, quick_time
from harness.server import LocalServer, Reply

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PER_FEED = 36
READS = 9
"""Articles read in each favoured feed's view."""
TOP = 30

FAVOURED_FEEDS: dict[str, tuple[list[str], list[str]]] = {
    "Mac Weekly": (
        ["Apple", "The new iPhone", "The MacBook Pro", "Apple Watch", "iPad Pro", "macOS"],
        [
            "gets a faster chip and better battery life",
            "review: the best laptop for most people",
            "update fixes a bug in the camera app",
            "leak shows a thinner design for next year",
            "adds new health features in software update",
            "prices drop ahead of the holiday season",
        ],
    ),
    "Fireball Notes": (
        ["Apple's App Store", "iOS", "Safari", "Apple's developer tools", "Swift", "iCloud"],
        [
            "rules change again for subscription apps",
            "privacy settings explained for iPhone users",
            "gets a redesign that developers will notice",
            "beta brings widgets to the lock screen",
            "keyboard shortcuts every Mac user should know",
            "sync problems are finally fixed",
        ],
    ),
    "Startup Crunch": (
        [
            "A software startup",
            "An app maker",
            "A chip designer",
            "A cloud company",
            "A smartphone maker",
            "A developer platform",
        ],
        [
            "raises funding to build iPhone apps",
            "launches a laptop for programmers",
            "is acquired by a big technology firm",
            "ships an update to its mobile app",
            "hires engineers from Apple and Google",
            "opens its software to developers",
        ],
    ),
}


TOPICS: dict[str, tuple[list[str], list[str]]] = {
    "World": (
        [
            "The prime minister",
            "Parliament",
            "The president",
            "Rebels",
            "Diplomats",
            "The election commission",
            "The foreign minister",
            "Protesters",
        ],
        [
            "call for talks after border clashes",
            "reject the new budget plan",
            "visit refugees near the frontier",
            "agree to a ceasefire in the north",
            "warn of sanctions over the dispute",
            "delay the vote until spring",
        ],
    ),
    "Sports": (
        [
            "The striker",
            "The league leaders",
            "The tennis champion",
            "The coach",
            "The goalkeeper",
            "The sprinter",
            "The rugby captain",
            "The cyclist",
        ],
        [
            "wins the cup final after extra time",
            "is injured before the derby",
            "breaks the world record in the final",
            "signs a new contract with the club",
            "is dropped after a run of defeats",
            "reaches the semi finals in straight sets",
        ],
    ),
    "Markets": (
        [
            "Oil prices",
            "The central bank",
            "Shares in banks",
            "Gold",
            "The currency",
            "Bond yields",
            "Wheat futures",
            "Copper",
        ],
        [
            "rise as inflation stays high",
            "fall after the interest rate decision",
            "climb on strong earnings reports",
            "slide to the lowest level this year",
            "hold steady ahead of jobs data",
            "jump as investors seek safety",
        ],
    ),
    "Science": (
        [
            "Astronomers",
            "Biologists",
            "Climate scientists",
            "Physicists",
            "Geologists",
            "Doctors",
            "Chemists",
            "Ocean researchers",
        ],
        [
            "discover a new species in the rainforest",
            "find water on a distant moon",
            "warn that glaciers are melting faster",
            "measure the mass of a rare particle",
            "map the fault line under the city",
            "test a vaccine against malaria",
        ],
    ),
    "Culture": (
        [
            "The novelist",
            "The film festival",
            "The museum",
            "The orchestra",
            "The chef",
            "The painter",
            "The theatre",
            "The poet",
        ],
        [
            "wins the top prize for a debut",
            "opens with a crowd of thousands",
            "returns a stolen statue",
            "plays a forgotten symphony",
            "opens a restaurant by the river",
            "shows early sketches for the first time",
        ],
    ),
}
EDITIONS = ("Desk", "Wire", "Daily")
"""Each topic is carried by three feeds, each with its own third of the headlines (different
enough that the window does not fold them into one story)."""


def _titles() -> dict[str, list[str]]:
    """Every feed's headlines, newest first, all distinct."""
    out: dict[str, list[str]] = {}
    for title, (subjects, predicates) in FAVOURED_FEEDS.items():
        out[title] = [f"{subjects[i % 6]} {predicates[(i // 6 + i) % 6]}" for i in range(PER_FEED)]
    for topic, (subjects, predicates) in TOPICS.items():
        share = len(predicates) // len(EDITIONS)
        for n, edition in enumerate(EDITIONS):  # no predicate in two feeds: nothing folds
            mine = predicates[n * share : (n + 1) * share]
            out[f"{topic} {edition}"] = [f"{s} {p}" for p in mine for s in subjects]
    return out


FEEDS = _titles()

FAVOURED = ("Mac Weekly", "Fireball Notes", "Startup Crunch")
AT_THE_BOTTOM = ("Fireball Notes", "Startup Crunch")
"""Favoured feeds whose articles are the oldest, the end of a scroll through Latest."""
SPAN_MIN = 24 * 60
"""The other feeds' articles span the last day; the bottom feeds' come before it."""
MISCLICKS = ("World Desk", "Markets Wire", "Culture Daily")
"""Where the reader opens one article by mistake, after each favoured feed."""


def rss(title: str, start: datetime, index: int) -> bytes:
    """The feed's document: its headlines, newest first; the bottom feeds' are the oldest."""
    slug = title.lower().replace(" ", "-")
    items = []
    titles = FEEDS[title]
    for i, text in enumerate(titles):
        if title in AT_THE_BOTTOM:  # older than everything else, interleaved with each other
            minutes = SPAN_MIN + 10 * (2 * i + index % 2)
        else:  # spread over the newest SPAN_MIN minutes, interleaved with the other feeds
            minutes = round(SPAN_MIN * (i + index / len(FEEDS)) / len(titles))
        when = format_datetime(start - timedelta(minutes=minutes))
        items.append(
            f"<item><title>{escape(text)}</title><link>https://news.example/{slug}/{i}</link>"
            f"<guid>{slug}-{i}</guid><pubDate>{when}</pubDate>"
            f"<description>{escape(f'<p>{text}.</p>')}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://news.example/{slug}</link>"
        f"{''.join(items)}</channel></rss>"
    ).encode()


def test_a_full_scroll_of_latest_then_feed_views_keeps_every_favoured_feed_on_top(
    http_server: LocalServer, tmp_path: Path, qtbot: QtBot
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=30)
    profile = Profile(tmp_path / "profile")
    with profile.db.write() as s:
        for n, title in enumerate(FEEDS):
            path = f"/{n}.xml"
            http_server.route(
                path, Reply(body=rss(title, start, n), content_type="application/rss+xml")
            )
            feeds.add_feed(s, http_server.url(path))
    with quick_time(), caught_browser():
        win = MainWindow(profile, options=QUIET)
        hand = Hand(win, timeout_s=300)
        try:
            hand.show()
            win.act_refresh.trigger()
            assert hand.until(lambda: not win.scheduler.refreshing, 60)
            hand.idle()

            hand.go("Latest")
            rows = hand.scroll_to_bottom()  # the whole of Latest, page by page
            assert rows >= 0.95 * sum(len(t) for t in FEEDS.values()), rows
            tail = [a.feed_title for a in hand.rows()[-2 * PER_FEED :]]
            assert set(tail) == set(AT_THE_BOTTOM)  # the data is what the test says it is

            for n, (feed, elsewhere) in enumerate(zip(FAVOURED, MISCLICKS, strict=True)):
                hand.go(feed)
                for row in [r for r in range(20) if r % 3 != 2][: READS + (n == 0)]:
                    hand.read(row)  # two of every three rows, the third passed over
                hand.go(elsewhere)
                hand.read(2)  # a misclick: read long enough to count
            hand.go("For you")  # leaving the pane ends the last read
            hand.idle()
            assert len(hand.opened) == 3 * READS + 1 + 3

            def clicks() -> int:
                with profile.db.read() as s:
                    return len(events.click_history(s))

            assert hand.until(lambda: clicks() == len(hand.opened), 30), clicks()

            report = hand.train(epochs=2, timeout_s=800)
            assert not isinstance(report, str), report
            assert not report.cancelled

            hand.go("Latest")
            hand.go("For you")
            assert win.river.mode == "ranked", win.river.notice
            hand.scroll_to_bottom()  # every page, for the ranks in the message
            ranked = [a for a in hand.rows() if not a.read]
            best = {
                f: next((n + 1 for n, a in enumerate(ranked) if a.feed_title == f), None)
                for f in FAVOURED
            }
            print(f"best unread rank of each favoured feed in For you: {best}")
            top = {a.feed_title for a in ranked[:TOP]}
            assert all(f in top for f in FAVOURED), (best, sorted(top))
        finally:
            win.close()
            shiboken6.delete(win)
            profile.close()
