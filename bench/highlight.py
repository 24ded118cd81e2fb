"""The river's highlights and feed spreading on a trained reader, through the app's services.

A simulated reader (no real click logs exist) with an interest in science and technology reads
real headlines (``../shared/data/headlines/fwd_news``, each feed one domain): screens of 20
unread rows, on each of which it opens the first row of its interest (one screen in ten, a
random row instead: a misclick), 40 opens in all. One training round runs on those clicks
(:meth:`app.services.ranking.Ranker.train`, CPU), then For you's top rows are read back through
the same services the window uses and printed:

- the highlights (:func:`app.services.highlight.highlight_stats`): the mean fraction of a row's
  title words tinted (goal <= 30 %) and the mean fraction of the title's |share| they cover
  (goal >= 60 %), for the default rule and for the rule before issue 14 (every word with at
  least a tenth of the title's largest |share|);
- feed spreading: the largest share of For you's top 30 any one feed fills, beside the
  reader's own largest share of opens from one feed;
- one score: the ranked score of the top rows as For you, Latest and "Why this?" give it.

    python bench/highlight.py [--rows 200] [--opens 40] [--seed 1]

Exits 0 with a note when ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.services import activity  # noqa: E402
from app.services.highlight import (  # noqa: E402
    DEFAULT,
    HighlightRule,
    TitleShares,
    highlight_stats,
)
from app.services.profile import Profile  # noqa: E402
from app.services.ranking import Ranker  # noqa: E402
from app.storage import articles, feeds  # noqa: E402
from app.storage.record import IncomingArticle  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "headlines" / "fwd_news" / "headlines.json"
INTERESTS = {"science", "technology"}
FEEDS = 12
PER_FEED = 60
SCREEN = 20


def _old_rule(shares: list[float]) -> list[bool]:
    """The tints before issue 14: every word with a tenth of the largest |share| or more."""
    top = max((abs(v) for v in shares), default=0.0)
    return [bool(top) and abs(v) >= 0.1 * top for v in shares]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _stats_old(rows: list[list[float]]) -> tuple[float, float]:
    tinted: list[float] = []
    covered: list[float] = []
    for shares in rows:
        if not shares:
            continue
        flags = _old_rule(shares)
        tinted.append(sum(flags) / len(shares))
        total = sum(abs(v) for v in shares)
        if total:
            covered.append(sum(abs(v) for v, f in zip(shares, flags, strict=True) if f) / total)
    return sum(tinted) / len(tinted), sum(covered) / len(covered)


def _fill(profile: Profile, rng: random.Random) -> dict[int, str]:
    """Headlines of the FEEDS largest domains into the profile; returns each id's category."""
    rows = json.loads(DATA.read_text())
    domains = [d for d, _ in Counter(r["domain"] for r in rows).most_common(FEEDS)]
    now = datetime.now(UTC)
    category: dict[int, str] = {}
    with profile.db.write() as s:
        for d in domains:
            mine = [r for r in rows if r["domain"] == d]
            mine = rng.sample(mine, min(PER_FEED, len(mine)))
            feed = feeds.add_feed(s, f"https://{d}/feed.xml", title=d)
            items = [
                IncomingArticle(
                    dedup_key=f"{d}-{n}",
                    url=f"https://{d}/a/{n}",
                    title=r["title"],
                    summary_html="<p></p>",
                    summary_text="",
                    author=None,
                    published=now - timedelta(minutes=rng.randrange(0, 60 * 72)),
                )
                for n, r in enumerate(mine)
            ]
            new = articles.upsert_articles(s, feed.id, items, now).new_ids
            for article_id, r in zip(new, mine, strict=True):
                category[article_id] = r["category"]
    return category


def _read(profile: Profile, category: dict[int, str], opens: int, rng: random.Random) -> None:
    """Screens of unread rows; the reader opens the first of its interest (or misclicks)."""
    done = 0
    while done < opens:
        with profile.db.read() as s:
            unread = articles.unread_ids(s)
        screen = rng.sample(unread, min(SCREEN, len(unread)))
        liked = [a for a in screen if category.get(a) in INTERESTS]
        misclick = rng.random() < 0.1 or not liked
        chosen = rng.choice(screen) if misclick else liked[0]
        row = screen.index(chosen)
        session = f"screen-{done}"
        activity.record_click(profile.db, chosen, session, dwell=40.0, shown_above=screen[:row])
        done += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--opens", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not DATA.is_file():
        print(f"note: {DATA} is absent; nothing measured")
        return 0
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp, Profile(Path(tmp) / "profile") as profile:
        category = _fill(profile, rng)
        _read(profile, category, args.opens, rng)
        ranker = Ranker(profile, device="cpu")
        started = time.monotonic()
        report = ranker.train()
        print(f"trained in {time.monotonic() - started:.0f} s: {report.summary()}")
        river = ranker.river(ranked=True, limit=args.rows)
        print(f"For you: {river.mode}, {len(river.items)} rows; notice: {river.notice}")
        ids = [i.article.id for i in river.items]
        shares = ranker.word_shares(ids)
        titled = [shares.get(a, TitleShares()) for a in ids]
        rows = [t.values for t in titled]
        stats = highlight_stats(titled, DEFAULT)
        old_tinted, old_covered = _stats_old(rows)
        print(
            f"highlights, rule {DEFAULT.max_words} words >= {DEFAULT.min_percent} % of the "
            f"title's |share| and >= {DEFAULT.min_score_percent} % of the title's and the feed's: "
            f"{100 * stats.tinted:.1f} % of title words tinted per row (goal <= 30 %), "
            f"covering {100 * stats.covered:.1f} % of the title's |share| (goal >= 60 %); "
            f"{100 * stats.rows_tinted:.0f} % of rows tint a word, covering "
            f"{_percent(stats.covered_tinted)} of theirs"
        )
        print(
            f"highlights, before (>= 10 % of the largest): {100 * old_tinted:.1f} % tinted, "
            f"covering {100 * old_covered:.1f} %"
        )
        best3 = highlight_stats(titled, HighlightRule(3, 0, 0)).covered
        words = sum(len(r) for r in rows) / max(1, len(rows))
        print(
            f"  (a title has {words:.1f} words; its 3 largest cover {100 * best3:.1f} % of its "
            f"|share|, the most any 3-word rule can)"
        )
        top = Counter(i.article.feed_title for i in river.items[:30])
        with profile.db.read() as s:
            opened = [a.feed_title for a in articles.list_articles(s, limit=10_000) if a.read]
        reader = Counter(opened)
        feed, count = top.most_common(1)[0]
        mine, mine_count = reader.most_common(1)[0]
        print(
            f"spreading: largest feed in For you's top 30: {feed} {count}/30 "
            f"({100 * count / 30:.0f} %); the reader's most opened feed: {mine} "
            f"{mine_count}/{len(opened)} ({100 * mine_count / max(1, len(opened)):.0f} %)"
        )
        first = river.items[0]
        latest = ranker.scores([first.article.id])[first.article.id]
        why = ranker.explain(first.article.id)
        print(
            f"one score, top row: For you {first.score:+.4f}, Latest {latest:+.4f}, "
            f"Why this? {why.ranked:+.4f}"
        )
        print(why.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
