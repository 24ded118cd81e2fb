"""Real headlines grouped into about twenty feeds and served day by day from 127.0.0.1.

The headlines are real (../shared/data/headlines, read by bench/simulate.py); which feed
carries each one, and on which simulated day it is published, is drawn here. Most feeds are
topical (one source's category: "BBC Tech"); a few are general, an outlet's wire that mixes
every category of its source, as a newspaper's front page does. Each headline belongs to one
feed only. A feed publishes ``per_day`` items a day, spread over the day; the server answers
with the items of the current day and the day before, newest first, as a real feed's
window of recent items does. Day 0 is the backlog a new subscriber finds on the first day:
``BACKLOG`` days' worth of items, served with day 1.

Day ``d`` (1-based) is dated ``anchor + (d - 1) days``: the anchor is chosen so that the last
day served ends an hour before the benchmark started, so every date is in the past and the
app's freshness sees the days in their order.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

from bench.simulate import TOPIC_OF, Headline

BACKLOG = 2
"""Days of items each feed already carries when the reader subscribes (day 0)."""


@dataclass(frozen=True)
class FeedSpec:
    """One feed: its title, the (source, category) pairs it carries, and its daily volume."""

    title: str
    members: tuple[tuple[str, str], ...]
    per_day: int

    @property
    def general(self) -> bool:
        return len({TOPIC_OF[m] for m in self.members}) > 1

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


def _topical(title: str, source: str, category: str, per_day: int = 7) -> FeedSpec:
    return FeedSpec(title, ((source, category),), per_day)


FEEDS: tuple[FeedSpec, ...] = (
    _topical("AG World", "ag", "World"),
    _topical("AG Sports", "ag", "Sports"),
    _topical("AG Business", "ag", "Business"),
    _topical("AG Sci-Tech", "ag", "Sci/Tech"),
    _topical("BBC Business", "bbc", "business"),
    _topical("BBC Entertainment", "bbc", "entertainment"),
    _topical("BBC Politics", "bbc", "politics"),
    _topical("BBC Sport", "bbc", "sport"),
    _topical("BBC Tech", "bbc", "tech"),
    _topical("Fwd Technology", "fwd", "technology"),
    _topical("Fwd Science", "fwd", "science"),
    _topical("Fwd Television", "fwd", "television"),
    _topical("Reuters Energy", "reuters", "crude"),
    _topical("Reuters Deals", "reuters", "acq"),
    FeedSpec(
        "AG Wire", (("ag", "World"), ("ag", "Sports"), ("ag", "Business"), ("ag", "Sci/Tech")), 18
    ),
    FeedSpec(
        "BBC News",
        tuple(("bbc", c) for c in ("business", "entertainment", "politics", "sport", "tech")),
        14,
    ),
    FeedSpec(
        "Fwd Front Page",
        tuple(
            ("fwd", c)
            for c in ("worldnews", "news", "politics", "ukraine", "sports", "science", "florida")
        ),
        22,
    ),
    FeedSpec(
        "Fwd Odd News", (("fwd", "nottheonion"), ("fwd", "UpliftingNews"), ("fwd", "television")), 8
    ),
    FeedSpec(
        "Reuters Wire",
        tuple(
            ("reuters", c)
            for c in ("earn", "acq", "money-fx", "interest", "crude", "grain", "ship", "trade")
        ),
        20,
    ),
    FeedSpec("Reuters Markets", (("reuters", "money-fx"), ("reuters", "interest")), 6),
)
"""Fourteen topical feeds and six general ones (see the module docstring)."""


@dataclass(frozen=True)
class Story:
    """One headline as a feed item: which feed, which day, when."""

    sid: str
    feed: str
    day: int
    published: datetime
    headline: Headline

    @property
    def title(self) -> str:
        return self.headline.title

    @property
    def topic(self) -> str:
        return self.headline.topic

    @property
    def words(self) -> frozenset[str]:
        return self.headline.words


class Newsroom:
    """Every story of every feed for the backlog (day 0) and days 1..``days``, drawn once
    from ``headlines``."""

    def __init__(
        self,
        headlines: Sequence[Headline],
        days: int,
        seed: int,
        *,
        feeds: Sequence[FeedSpec] = FEEDS,
        now: datetime | None = None,
    ) -> None:
        rng = random.Random(f"newsroom:{seed}")
        self.feeds = tuple(feeds)
        self.days = days
        end = (now or datetime.now(UTC)) - timedelta(hours=1)
        self.anchor = end - timedelta(days=days)
        carriers: dict[tuple[str, str], list[FeedSpec]] = {}
        for spec in self.feeds:
            for member in spec.members:
                carriers.setdefault(member, []).append(spec)
        pools: dict[str, list[Headline]] = {spec.title: [] for spec in self.feeds}
        for h in headlines:
            choices = carriers.get(h.feed)
            if choices:
                pools[choices[h.hid % len(choices)].title].append(h)
        self.stories: list[Story] = []
        for spec in self.feeds:
            pool = pools[spec.title]
            rng.shuffle(pool)
            taken = 0
            for day in range(0, days + 1):
                span = BACKLOG if day == 0 else 1
                batch = pool[taken : taken + span * spec.per_day]
                taken += len(batch)
                start = -BACKLOG if day == 0 else day - 1
                for i, h in enumerate(batch):
                    offset = span * (i + rng.random()) / max(1, len(batch))
                    published = self.anchor + timedelta(days=start + offset)
                    sid = f"{spec.slug}-{h.hid}"
                    self.stories.append(Story(sid, spec.title, day, published, h))
        self.by_sid = {s.sid: s for s in self.stories}

    def of_day(self, day: int) -> list[Story]:
        """The stories published on ``day``."""
        return [s for s in self.stories if s.day == day]

    def story_of(self, url: str | None) -> Story | None:
        """The story an article's link points to."""
        return self.by_sid.get((url or "").rstrip("/").rsplit("/", 1)[-1])

    def rss(self, spec: FeedSpec, day: int) -> bytes:
        """The feed's document on ``day``: that day's items and the day before's (the backlog
        on day 1), newest first."""
        items = sorted(
            (s for s in self.stories if s.feed == spec.title and day - 1 <= s.day <= day),
            key=lambda s: s.published,
            reverse=True,
        )
        parts = [
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
            f"<title>{escape(spec.title)}</title><link>https://news.example/{spec.slug}/</link>",
        ]
        for s in items:
            link = f"https://news.example/{spec.slug}/{s.sid}"
            parts.append(
                f"<item><guid isPermaLink='false'>{s.sid}</guid><title>{escape(s.title)}</title>"
                f"<link>{link}</link><pubDate>{format_datetime(s.published)}</pubDate>"
                f"<description>{escape(f'<p>{s.title}.</p>')}</description></item>"
            )
        parts.append("</channel></rss>")
        return "".join(parts).encode()


class FeedServer:
    """Serves ``/feed/<slug>.xml`` for every feed of a :class:`Newsroom` on 127.0.0.1, as of
    the day set in :attr:`day`. Twenty small feeds are light enough for a thread."""

    def __init__(self, newsroom: Newsroom) -> None:
        self.newsroom = newsroom
        self.day = 1
        specs = {spec.slug: spec for spec in newsroom.feeds}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                slug = self.path.split("?", 1)[0].rsplit("/", 1)[-1].removesuffix(".xml")
                spec = specs.get(slug)
                body = server.newsroom.rss(spec, server.day) if spec is not None else b""
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, spec: FeedSpec) -> str:
        return f"http://127.0.0.1:{self.port}/feed/{spec.slug}.xml"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
