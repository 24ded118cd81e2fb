"""Storage benchmark: 100,000 articles across 500 feeds, then the river's queries.

Run: ``python bench/storage.py [--feeds 500] [--per-feed 200]``. Prints timings.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.storage.articles import (
    list_articles,
    mark_all_read,
    purge_old,
    stats,
    upsert_articles,
)
from app.storage.database import Database
from app.storage.feeds import add_feed, list_feeds
from app.storage.record import IncomingArticle

WORDS = [
    "market",
    "election",
    "storm",
    "league",
    "vaccine",
    "court",
    "climate",
    "budget",
    "strike",
    "merger",
    "senate",
    "rocket",
    "drought",
    "tariff",
    "museum",
    "festival",
    "bank",
    "reactor",
    "border",
    "ceasefire",
]


def _items(rng: random.Random, feed: int, count: int, start: datetime) -> list[IncomingArticle]:
    items = []
    for i in range(count):
        title = " ".join(rng.choice(WORDS) for _ in range(8))
        items.append(
            IncomingArticle(
                dedup_key=f"{feed}-{i}",
                url=f"https://example.org/{feed}/{i}",
                title=title.capitalize(),
                summary_html=f"<p>{title} {title}</p>",
                summary_text=f"{title} {title}",
                author=None,
                published=start - timedelta(minutes=rng.randrange(60 * 24 * 30)),
            )
        )
    return items


def _timed(label: str, repeat: int, fn: Callable[[], object]) -> None:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - began)
    print(f"{label:<44} {best * 1000:9.2f} ms (best of {repeat})")


def main() -> None:
    """Fill a temporary profile and print how long inserts and queries take."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--per-feed", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "bench.sqlite")
        with db.write() as s:
            feed_ids = [add_feed(s, f"https://example.org/{f}.xml").id for f in range(args.feeds)]
        batches = [_items(rng, f, args.per_feed, now) for f in feed_ids]
        began = time.perf_counter()
        for feed_id, items in zip(feed_ids, batches, strict=True):
            with db.write() as s:
                upsert_articles(s, feed_id, items, now)
        insert_s = time.perf_counter() - began
        total = args.feeds * args.per_feed
        print(f"feeds={args.feeds} articles={total}")
        print(f"{'upsert_articles, new (one transaction/feed)':<44} {insert_s:9.2f} s "
              f"({total / insert_s:,.0f} articles/s)")  # fmt: skip
        began = time.perf_counter()
        for feed_id, items in zip(feed_ids, batches, strict=True):
            with db.write() as s:
                upsert_articles(s, feed_id, items, now)
        print(f"{'upsert_articles, all unchanged':<44} {time.perf_counter() - began:9.2f} s")
        with db.write() as s:
            mark_all_read(s, feed_id=feed_ids[0])
        with db.read() as s:
            _timed("list_articles(limit=100, unread_only)", 20,
                   lambda: list_articles(s, limit=100, unread_only=True))  # fmt: skip
            _timed("list_articles(limit=100, offset=5000)", 5,
                   lambda: list_articles(s, limit=100, offset=5000))  # fmt: skip
            _timed("list_articles(search='storm budget')", 5,
                   lambda: list_articles(s, search="storm budget"))  # fmt: skip
            _timed("list_feeds() with counts", 5, lambda: list_feeds(s))
            _timed("stats()", 20, lambda: stats(s))
        with db.write() as s:
            began = time.perf_counter()
            marked = mark_all_read(s)
            print(f"{'mark_all_read() over everything':<44} {time.perf_counter() - began:9.2f} s "
                  f"({marked} articles)")  # fmt: skip
            began = time.perf_counter()
            purged = purge_old(s, now, 15)
            took = time.perf_counter() - began
            print(f"{'purge_old(15 days), with tombstones':<44} {took:9.2f} s ({purged} articles)")
        size = (Path(folder) / "bench.sqlite").stat().st_size
        print(f"database file: {size / 1e6:.1f} MB")
        db.close()


if __name__ == "__main__":
    main()
