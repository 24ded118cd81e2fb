"""Simulated readers: a known interest (feeds, topics or keywords) and four ways of browsing.

The interest is the ground truth: :meth:`Interest.likes` says whether the reader wants a
story, and the benchmark's labels are exactly that. While browsing, the reader opens a story
it likes with probability ``OPEN_P`` when it notices one, glances at a few others without
reading them (previews), and opens ``misclicks`` stories it does not like each day, by mistake.

Patterns (one per reader):

1. ``latest``: scroll Latest top to bottom, then open articles feed view by feed view, in the
   feeds where the scroll showed the most it liked;
2. ``foryou``: read only For you, top down (it shows Latest until the model is on);
3. ``bursts``: visit one feed view at a time and read a burst near its top;
4. ``search``: type a word, open what the results offer.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.hand import Hand
from bench.newsroom import Newsroom, Story

KINDS = ("feeds", "topics", "keywords")
PATTERNS = ("latest", "foryou", "bursts", "search")
OPEN_P = 0.8
FAVOURED_SHARE = 0.5
"""A feed is favoured when at least this share of its stories is liked."""


@dataclass(frozen=True)
class Interest:
    """What one reader wants: stories of some feeds, of some topics, or with some words."""

    kind: str
    feeds: frozenset[str] = frozenset()
    topics: frozenset[str] = frozenset()
    keywords: frozenset[str] = frozenset()

    def likes(self, story: Story) -> bool:
        if self.kind == "feeds":
            return story.feed in self.feeds
        if self.kind == "topics":
            return story.topic in self.topics
        return bool(self.keywords & story.words)

    def describe(self) -> str:
        chosen = {"feeds": self.feeds, "topics": self.topics, "keywords": self.keywords}
        return f"{self.kind}: {', '.join(sorted(chosen[self.kind]))}"


def draw_interest(kind: str, newsroom: Newsroom, rng: random.Random) -> Interest:
    """A reader's interest of ``kind``: three topical feeds; two topics that several feeds
    carry; or three names (capitalised words) that a few stories a day mention."""
    if kind == "feeds":
        topical = sorted(spec.title for spec in newsroom.feeds if not spec.general)
        return Interest(kind, feeds=frozenset(rng.sample(topical, 3)))
    if kind == "topics":
        carriers = Counter(topic for topic, feed in {(s.topic, s.feed) for s in newsroom.stories})
        spread = sorted(t for t, n in carriers.items() if n >= 3)
        return Interest(kind, topics=frozenset(rng.sample(spread, 2)))
    counts: Counter[str] = Counter()
    capitalised: Counter[str] = Counter()
    for s in newsroom.stories:
        counts.update(w for w in s.words if len(w) >= 4)
        capitalised.update(
            w.lower() for w in set(s.title.split()[1:]) if w.isalpha() and w[0].isupper()
        )
    low, high = 2 * newsroom.days, 6 * newsroom.days
    pool = sorted(w for w, c in counts.items() if low <= c <= high and capitalised[w] >= 0.7 * c)
    return Interest(kind, keywords=frozenset(rng.sample(pool, 3)))


def favoured_feeds(interest: Interest, newsroom: Newsroom) -> list[str]:
    """The feeds most of whose stories the reader likes (the ones the rank check follows)."""
    liked: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for s in newsroom.stories:
        total[s.feed] += 1
        liked[s.feed] += interest.likes(s)
    return sorted(f for f in total if liked[f] >= FAVOURED_SHARE * total[f])


def search_words(interest: Interest, newsroom: Newsroom, count: int = 6) -> list[str]:
    """Words the reader would search for: their keywords, else the words most typical of the
    stories they like (frequent among them, rare elsewhere)."""
    if interest.kind == "keywords":
        return sorted(interest.keywords)
    liked: Counter[str] = Counter()
    other: Counter[str] = Counter()
    for s in newsroom.stories:
        (liked if interest.likes(s) else other).update(w for w in s.words if len(w) >= 4)
    lift = {w: n * math.log((n + 1) / (other[w] + 1)) for w, n in liked.items() if n >= 4}
    return sorted(lift, key=lambda w: (-lift[w], w))[:count]


@dataclass
class Day:
    """What a reader brings to one day of browsing."""

    newsroom: Newsroom
    interest: Interest
    rng: random.Random
    budget: int
    misclicks: int

    def story(self, hand: Hand, row: int) -> Story | None:
        article = hand.article(row)
        return self.newsroom.story_of(article.url) if article is not None else None

    def wants(self, hand: Hand, row: int) -> bool:
        story = self.story(hand, row)
        return story is not None and self.interest.likes(story)

    def read_down(self, hand: Hand, limit: int, max_rows: int = 10_000, slip_p: float = 0.0) -> int:
        """Walk the current view top down, scrolling as it goes, reading what it likes (and,
        with probability ``slip_p`` a row, something it does not, by mistake), until ``limit``
        opens or ``max_rows`` rows; returns the opens it meant."""
        opened = 0
        row = 0
        while opened < limit and self.budget > 0 and row < max_rows:
            if row >= hand.w.river.rowCount() and not hand.scroll():
                break
            if row >= hand.w.river.rowCount():
                continue
            hand.show_row(row)
            article = hand.article(row)
            if article is not None and not article.read:
                if self.wants(hand, row):
                    if self.rng.random() < OPEN_P:
                        hand.read(row)
                        opened += 1
                        self.budget -= 1
                elif self.misclicks > 0 and self.rng.random() < slip_p:
                    hand.read(row)
                    self.misclicks -= 1
                elif self.rng.random() < 0.03:
                    hand.preview(row)
            row += 1
        return opened

    def misclick(self, hand: Hand, rows: int = 12) -> bool:
        """Open, by mistake, a story near the top of the current view that it does not like."""
        choices = [
            r
            for r in range(min(rows, hand.w.river.rowCount()))
            if not self.wants(hand, r) and hand.article(r) is not None
        ]
        if not choices or self.misclicks <= 0:
            return False
        hand.read(self.rng.choice(choices))
        self.misclicks -= 1
        return True


def browse_latest(hand: Hand, day: Day) -> None:
    """Pattern 1: the whole of Latest once, then feed view by feed view."""
    hand.go("Latest")
    hand.scroll_to_bottom()
    noticed: Counter[str] = Counter()
    for row in range(hand.w.river.rowCount()):
        story = day.story(hand, row)
        if story is not None and day.interest.likes(story):
            noticed[story.feed] += 1
    favourites = [f for f, n in noticed.most_common(4) if n >= 2]
    others = [f for f in hand.labels() if f not in favourites]
    day.rng.shuffle(others)
    for i, feed in enumerate(favourites):
        hand.go(feed)
        day.read_down(hand, limit=max(1, day.budget // max(1, len(favourites) - i)))
        if others and day.misclicks > 0:
            hand.go(others.pop())
            day.misclick(hand)
    while others and day.misclicks > 0:
        hand.go(others.pop())
        day.misclick(hand)


def browse_foryou(hand: Hand, day: Day) -> None:
    """Pattern 2: only For you, top down, with the day's misclicks along the way."""
    hand.go("For you")
    day.read_down(hand, limit=day.budget, max_rows=160, slip_p=0.04)
    hand.to_top()
    while day.misclick(hand):
        pass


def browse_bursts(hand: Hand, day: Day, favourites: Sequence[str]) -> None:
    """Pattern 3: one feed view at a time, a burst of reads near its top; liked feeds more
    often than others."""
    feeds = hand.labels()
    weights = [4.0 if f in favourites else 1.0 for f in feeds]
    visits = 0
    while day.budget > 0 and visits < 14:
        feed = day.rng.choices(feeds, weights)[0]
        hand.go(feed)
        day.read_down(hand, limit=day.rng.randint(3, 7), max_rows=25)
        if visits % 4 == 3:
            day.misclick(hand)
        visits += 1
    while day.misclicks > 0:
        hand.go(day.rng.choice(feeds))
        if not day.misclick(hand):
            break


def browse_search(hand: Hand, day: Day, words: Sequence[str]) -> None:
    """Pattern 4: a few searches, each followed by reads among the results."""
    hand.go("Latest")
    chosen = list(words)
    day.rng.shuffle(chosen)
    for i, word in enumerate(chosen):
        hand.search(word)
        day.read_down(hand, limit=day.budget, max_rows=40)
        if i % 2 == 1:
            day.misclick(hand)
        hand.clear_search()
        if day.budget <= 0:
            break
    while day.misclicks > 0 and day.misclick(hand):
        pass


def browser_for(
    pattern: str, interest: Interest, newsroom: Newsroom
) -> Callable[[Hand, Day], None]:
    """The browsing function of ``pattern`` for a reader with ``interest``."""
    if pattern == "latest":
        return browse_latest
    if pattern == "foryou":
        return browse_foryou
    if pattern == "bursts":
        favourites = favoured_feeds(interest, newsroom)
        if not favourites:  # a keyword reader's favourites: where its words come up most
            counts = Counter(s.feed for s in newsroom.stories if interest.likes(s))
            favourites = [f for f, _ in counts.most_common(3)]
        return lambda hand, day: browse_bursts(hand, day, favourites)
    if pattern == "search":
        words = search_words(interest, newsroom)
        return lambda hand, day: browse_search(hand, day, words)
    raise ValueError(f"unknown pattern {pattern!r}")
