"""Synthetic feeds and seeded profiles for the reliability scenarios.

Titles are built from common English words (all in GloVe) so that training has real
vocabulary to learn from; everything is deterministic for a given seed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from app.services import activity
from app.services.profile import Profile
from app.storage import articles, feeds
from app.storage.record import IncomingArticle

WORDS: tuple[str, ...] = (
    "market", "stocks", "bank", "rates", "inflation", "economy", "trade", "oil", "prices",
    "growth", "jobs", "budget", "tax", "election", "vote", "minister", "president", "senate",
    "court", "law", "police", "crime", "trial", "judge", "football", "match", "team", "league",
    "goal", "cup", "player", "coach", "season", "final", "tennis", "science", "space", "moon",
    "planet", "climate", "energy", "solar", "water", "ocean", "forest", "storm", "health",
    "hospital", "doctor", "virus", "vaccine", "study", "drug", "cancer", "heart", "brain",
    "music", "film", "actor", "festival", "album", "show", "art", "museum", "book", "novel",
    "theatre", "computer", "software", "phone", "internet", "data", "security", "chip", "robot",
    "network", "startup",
)  # fmt: skip

BASE_TIME = datetime(2026, 11, 1, tzinfo=UTC)


def title(rng: random.Random, n: int = 6) -> str:
    """A headline of ``n`` common words."""
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize()


def rss(feed_no: int, first: int, count: int, *, extra: str = "") -> bytes:
    """An RSS 2.0 document for feed ``feed_no`` holding items ``first`` .. ``first+count-1``.

    Each item's guid, title and date depend only on (feed_no, item number), so the same item
    served twice is the same article.
    """
    items = []
    for n in range(first, first + count):
        rng = random.Random(feed_no * 1_000_003 + n)
        when = BASE_TIME + timedelta(minutes=n * 7 + feed_no)
        items.append(
            "<item>"
            f"<guid isPermaLink='false'>feed{feed_no}-item{n}</guid>"
            f"<title>{escape(title(rng))} {n}</title>"
            f"<link>https://example.org/{feed_no}/{n}</link>"
            f"<description>{escape(title(rng, 12))}</description>"
            f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Feed {feed_no}</title><link>https://example.org/{feed_no}/</link>"
        f"{extra}{''.join(items)}</channel></rss>"
    ).encode()


def seed_profile(
    root: Path,
    *,
    feed_count: int = 8,
    per_feed: int = 40,
    clicks: int = 24,
    seed: int = 0,
) -> list[int]:
    """Fill a profile with articles (through the storage API) and ``clicks`` clicks, each with
    the articles listed above it as impressions; returns the clicked article ids in order."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with Profile(root) as profile:
        ids: list[int] = []
        with profile.db.write() as s:
            for f in range(feed_count):
                feed = feeds.add_feed(s, f"https://feeds.example.org/{f}.xml", title=f"Feed {f}")
                items = [
                    IncomingArticle(
                        dedup_key=f"seed-{f}-{n}",
                        url=f"https://example.org/{f}/{n}",
                        title=title(rng),
                        summary_html="<p>summary</p>",
                        summary_text="summary",
                        author=None,
                        published=now - timedelta(minutes=n * 13 + f),
                    )
                    for n in range(per_feed)
                ]
                result = articles.upsert_articles(s, feed.id, items, now)
                ids.extend(result.new_ids)
        clicked: list[int] = []
        order = ids[:]
        rng.shuffle(order)
        for i in range(clicks):
            session = f"seed-session-{i // 4}"
            chosen = order[i]
            above = [a for a in order[clicks + i * 5 : clicks + i * 5 + 5]]
            activity.record_click(profile.db, chosen, session, dwell=30.0, shown_above=above)
            clicked.append(chosen)
    return clicked
