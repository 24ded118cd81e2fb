"""Simulated readers over real headlines, written as MIND-format folders.

The headlines are real (../shared/data/headlines: AG News test split, BBC News,
fwd/news and Reuters-21578); the clicks are simulated. No real click log is used.

A feed is a (source, category) pair; each category maps to one of a few common
topics. A simulated reader has latent interests: weights on two or three topics
and a few keywords (words from their feeds' headlines) that attract them
whatever the topic. The reader subscribes to their topics' feeds plus a few
others, and opens the app in sessions of 15-25 headlines: the newest unseen items
of the subscribed feeds, newest first. Each headline is clicked independently with

    p = sigmoid(bias + topic weight + keyword bonus - position cost + noise)

so clicks are noisy and position-biased. The oracle ranks by the noise-free
interest (topic weight + keyword bonus) and reaches an AUC of about 0.8.
"""

from __future__ import annotations

import csv
import gzip
import html
import json
import math
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from nrms_core.baseline import stopwords
from nrms_core.mind.reader import Behavior, NewsItem, write_behaviors, write_news
from nrms_core.tokenizer import tokenize

TOPIC_OF = {
    ("ag", "World"): "world",
    ("ag", "Sports"): "sports",
    ("ag", "Business"): "business",
    ("ag", "Sci/Tech"): "tech",
    ("bbc", "business"): "business",
    ("bbc", "entertainment"): "entertainment",
    ("bbc", "politics"): "politics",
    ("bbc", "sport"): "sports",
    ("bbc", "tech"): "tech",
    ("fwd", "worldnews"): "world",
    ("fwd", "politics"): "politics",
    ("fwd", "news"): "us",
    ("fwd", "technology"): "tech",
    ("fwd", "television"): "entertainment",
    ("fwd", "nottheonion"): "offbeat",
    ("fwd", "ukraine"): "world",
    ("fwd", "science"): "science",
    ("fwd", "UpliftingNews"): "offbeat",
    ("fwd", "sports"): "sports",
    ("fwd", "florida"): "us",
    ("reuters", "earn"): "earnings",
    ("reuters", "acq"): "deals",
    ("reuters", "money-fx"): "markets",
    ("reuters", "interest"): "markets",
    ("reuters", "crude"): "energy",
    ("reuters", "grain"): "commodities",
    ("reuters", "ship"): "commodities",
    ("reuters", "trade"): "economy",
}
AG_CLASSES = {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"}

BIAS = -4.4
KEYWORD_BONUS = 3.5
POSITION_COST = 0.03
NOISE = 0.5
MIN_ITEMS = 12000


@dataclass(frozen=True)
class Headline:
    """One real headline and where it came from."""

    hid: int
    source: str
    category: str
    title: str
    words: frozenset[str]

    @property
    def feed(self) -> tuple[str, str]:
        return (self.source, self.category)

    @property
    def topic(self) -> str:
        return TOPIC_OF[self.feed]


@dataclass(frozen=True)
class Reader:
    """Latent interests of one simulated reader."""

    rid: int
    topics: dict[str, float]
    keywords: tuple[str, ...]
    feeds: tuple[tuple[str, str], ...]

    def interest(self, h: Headline) -> float:
        """The oracle's score: topic weight plus the keyword bonus."""
        bonus = KEYWORD_BONUS if any(k in h.words for k in self.keywords) else 0.0
        return self.topics.get(h.topic, 0.0) + bonus


@dataclass(frozen=True)
class Session:
    """Headlines shown newest first, with simulated click labels."""

    time: datetime
    shown: tuple[int, ...]
    labels: tuple[int, ...]


def _first_sentence(text: str, max_words: int = 16) -> str:
    sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    words = sentence.split()
    return " ".join(words[:max_words])


def _reuters(folder: Path) -> list[tuple[str, str, str]]:
    out = []
    for path in sorted(folder.glob("reut2-*.sgm.gz")):
        with gzip.open(path, "rt", encoding="latin-1") as handle:
            text = handle.read()
        for block in re.findall(r"<REUTERS.*?</REUTERS>", text, re.S):
            title = re.search(r"<TITLE>(.*?)</TITLE>", block, re.S)
            topics = re.search(r"<TOPICS>(.*?)</TOPICS>", block, re.S)
            labels = re.findall(r"<D>(.*?)</D>", topics.group(1)) if topics else []
            if title and labels:
                clean = html.unescape(" ".join(title.group(1).split())).capitalize()
                out.append(("reuters", labels[0], clean))
    return out


def load_headlines(root: Path) -> list[Headline]:
    """All headlines of the feeds in TOPIC_OF, deduplicated by title."""
    rows: list[tuple[str, str, str]] = []
    with (root / "ag_news" / "test.csv").open(encoding="utf-8") as f:
        for cls, title, _ in csv.reader(f):
            rows.append(("ag", AG_CLASSES.get(cls, ""), title))
    for name in ("train.csv", "val.csv", "test.csv"):
        with (root / "bbc_news" / name).open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                rows.append(("bbc", row["category"], _first_sentence(row["text"])))
    for item in json.loads((root / "fwd_news" / "headlines.json").read_text(encoding="utf-8")):
        rows.append(("fwd", item.get("category", ""), item.get("title", "")))
    rows += _reuters(root / "reuters21578")
    stop = stopwords()
    seen: set[str] = set()
    out: list[Headline] = []
    for source, category, title in rows:
        key = title.strip().lower()
        if (source, category) not in TOPIC_OF or not key or key in seen:
            continue
        seen.add(key)
        words = frozenset(t for t in tokenize(title) if t not in stop and t.isalpha())
        out.append(Headline(len(out), source, category, title.strip(), words))
    return out


def make_reader(rid: int, headlines: list[Headline], rng: random.Random) -> Reader:
    """Two or three weighted topics, their feeds plus a few others, three keywords."""
    topics_all = sorted(set(TOPIC_OF.values()))
    chosen = rng.sample(topics_all, rng.choice((2, 3)))
    weights = {t: rng.uniform(2.6, 3.8) for t in chosen}
    feeds_all = sorted(set(TOPIC_OF))
    liked = [f for f in feeds_all if TOPIC_OF[f] in weights]
    rng.shuffle(liked)
    liked = liked[:4]
    others = [f for f in feeds_all if f not in liked]
    rng.shuffle(others)
    feeds = liked + others[:5]
    size = Counter(h.feed for h in headlines)
    for extra in others[5:]:
        if sum(size[f] for f in feeds) >= MIN_ITEMS:
            break
        feeds.append(extra)
    counts: Counter[str] = Counter()
    capitalised: Counter[str] = Counter()
    for h in headlines:
        if h.feed in feeds:
            counts.update(w for w in h.words if len(w) >= 4)
            capitalised.update(
                w.lower() for w in set(h.title.split()[1:]) if w.isalpha() and w[0].isupper()
            )
    pool = sorted(w for w, c in counts.items() if 15 <= c <= 60 and capitalised[w] >= 0.7 * c)
    keywords = tuple(rng.sample(pool, 3))
    return Reader(rid, weights, keywords, tuple(feeds))


def simulate(
    reader: Reader, headlines: list[Headline], rng: random.Random, min_clicks: int, tail: int
) -> list[Session]:
    """Sessions until ``min_clicks`` clicks, then ``tail`` more sessions with a click."""
    items = [h for h in headlines if h.feed in reader.feeds]
    published = sorted(items, key=lambda h: rng.random())  # a shuffled river, oldest first
    sessions: list[Session] = []
    clicks = with_click_after = 0
    t = datetime(2026, 1, 5, 7, 0, 0)
    cursor = 0
    while cursor < len(published):
        size = rng.randint(15, 25)
        batch = published[cursor : cursor + size]
        cursor += size
        shown = list(reversed(batch))  # newest first
        labels = []
        for pos, h in enumerate(shown):
            logit = BIAS + reader.interest(h) - POSITION_COST * pos + rng.gauss(0.0, NOISE)
            labels.append(int(rng.random() < 1.0 / (1.0 + math.exp(-logit))))
        sessions.append(Session(t, tuple(h.hid for h in shown), tuple(labels)))
        t += timedelta(minutes=rng.randint(60, 600))
        if clicks >= min_clicks and any(labels):
            with_click_after += 1
            if with_click_after >= tail:
                break
        clicks += sum(labels)
    return sessions


def split_at(sessions: list[Session], clicks: int, dev_sessions: int) -> tuple[int, int]:
    """(end of train, end of dev): train holds the first ``clicks`` clicks' sessions."""
    total = 0
    end = len(sessions)
    for i, s in enumerate(sessions):
        total += sum(s.labels)
        if total >= clicks:
            end = i + 1
            break
    dev_end, kept = end, 0
    while dev_end < len(sessions) and kept < dev_sessions:
        kept += int(any(sessions[dev_end].labels))
        dev_end += 1
    return end, dev_end


def feed_label(h: Headline) -> str:
    """The feed a headline came from: its source and category, ``"source:category"``."""
    return f"{h.source}:{h.category}"


def source_label(h: Headline) -> str:
    """Only the source (``"bbc"``): one general feed per outlet, every topic mixed in."""
    return h.source


def write_reader(
    folder: Path,
    reader: Reader,
    sessions: list[Session],
    by_id: dict[int, Headline],
    clicks: int,
    dev_sessions: int,
    label: Callable[[Headline], str] | None = None,
) -> tuple[Path, Path]:
    """Write train/ and dev/ MIND folders for one reader and click budget.

    ``label`` names the feed a headline is filed under (the MIND category); by
    default its (source, category) feed, ``"source:category"``.
    """
    label_of = label or feed_label
    end, dev_end = split_at(sessions, clicks, dev_sessions)
    user = f"U{reader.rid}"
    history: list[int] = []
    rows: list[Behavior] = []
    for i, s in enumerate(sessions[:dev_end]):
        if i < end or any(s.labels):
            rows.append(
                Behavior(
                    str(i + 1),
                    user,
                    s.time,
                    tuple(f"N{h}" for h in history[-100:]),
                    tuple((f"N{h}", y) for h, y in zip(s.shown, s.labels, strict=True)),
                )
            )
        history += [h for h, y in zip(s.shown, s.labels, strict=True) if y]
    train_rows = [b for b in rows if int(b.impression_id) <= end]
    dev_rows = [b for b in rows if int(b.impression_id) > end]
    out = []
    for name, part in (("train", train_rows), ("dev", dev_rows)):
        target = folder / name
        target.mkdir(parents=True, exist_ok=True)
        used = sorted(
            {int(n[1:]) for b in part for n in (*b.history, *(c for c, _ in b.impressions))}
        )
        write_news(
            target / "news.tsv",
            (NewsItem(f"N{h}", label_of(by_id[h]), "", by_id[h].title) for h in used),
        )
        write_behaviors(target / "behaviors.tsv", part)
        out.append(target)
    return out[0], out[1]
