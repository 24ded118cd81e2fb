"""Story detection benchmark: precision on labelled real feeds, then 100,000 articles.

Run: ``python bench/story.py [--articles 100000] [--sample FILE]``. Needs ``../shared/data``.

1. The 200 pairs of ``harness/storypairs.py`` (real feeds captured on one day, labelled by
   rules on their links): precision and recall of :func:`app.services.story.detect`, and the
   folds across sites (which no rule labels) listed for checking by hand. ``--sample`` writes
   the labelled pairs as TSV.
2. 100,000 articles over 500 feeds and 30 days: real headlines with descriptions (AG News,
   then the BBC articles' first sentences), every tenth story repeated in one to three other
   feeds within a day with its title reworded; once the real texts are used up, invented
   items of words drawn by their frequency in them. Prints detection time, pairs compared,
   peak memory, how many injected copies were found and how many folds were not injected.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.services import story  # noqa: E402
from app.storage.story import StoryRow  # noqa: E402
from harness.storypairs import labelled_pairs, load_rows, page_key, write_sample  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def sample(out: Path | None) -> None:
    rows, links = load_rows(DATA)
    pairs = labelled_pairs(rows, links, 200)
    if out is not None:
        write_sample(pairs, out)
    fold = story.detect(rows)
    group = {r.id: r.id for r in rows} | dict(fold.copies)
    hits = [group[p.a.id] == group[p.b.id] for p in pairs]
    tp = sum(1 for p, h in zip(pairs, hits, strict=True) if h and p.same)
    flagged, positives = sum(hits), sum(p.same for p in pairs)
    print(
        f"labelled sample: {len(pairs)} pairs ({positives} same story) from {len(rows)} entries "
        f"of gesab001-headlines/HEAD; threshold {story.THRESHOLD}"
    )
    print(f"  precision {tp}/{flagged} = {tp / max(1, flagged):.3f}")
    print(f"  recall    {tp}/{positives} = {tp / max(1, positives):.3f}")
    titles = {r.id: r.title for r in rows}
    cross = [(c, k) for c, k in fold.copies if page_key(links[c])[0] != page_key(links[k])[0]]
    print(f"  folds across sites (no rule; check by hand): {len(cross)}")
    for copy, canonical in cross:
        print(f"    {titles[copy][:60]!r}  ~  {titles[canonical][:60]!r}")


def _texts() -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    with (DATA / "headlines" / "ag_news" / "test.csv").open(encoding="utf-8") as handle:
        texts += [(row[1], row[2].replace("\\", " ")) for row in csv.reader(handle) if len(row) > 2]
    bbc = DATA / "headlines" / "bbc_news"
    for name in ("train.csv", "test.csv", "val.csv"):
        with (bbc / name).open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                head, _, rest = row["text"].partition(". ")
                texts.append((" ".join(head.split()[:9]), rest[:300]))
    return texts


def _invented(rng: random.Random, vocabulary: list[str], weights: list[int]) -> tuple[str, str]:
    """A unique item once the real texts are used up: words drawn by their real frequency."""
    drawn = rng.choices(vocabulary, weights, k=38)
    return " ".join(drawn[:8]).capitalize(), " ".join(drawn[8:]) + "."


def _reword(title: str, rng: random.Random) -> str:
    words = title.split()
    if len(words) > 4:
        del words[rng.randrange(len(words))]
    keep = rng.randint(min(3, len(words)), len(words)) if words else 0
    return " ".join(words[:keep]) + " - update"


def synthetic(count: int, feeds: int = 500, seed: int = 7) -> tuple[list[StoryRow], int]:
    """``count`` rows and how many of them are injected copies."""
    rng = random.Random(seed)
    texts = _texts()
    counts = Counter(w for title, summary in texts for w in f"{title} {summary}".lower().split())
    vocabulary, weights = list(counts), list(counts.values())
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows: list[StoryRow] = []
    copies = 0
    real = 0
    while len(rows) < count:
        if real < len(texts):
            title, summary = texts[real]
            real += 1
        else:
            title, summary = _invented(rng, vocabulary, weights)
        when = start + timedelta(minutes=rng.randrange(30 * 24 * 60))
        feed = rng.randrange(feeds)
        rows.append(StoryRow(len(rows) + 1, feed, title, summary, when, None, False))
        if len(rows) % 10 == 0:
            for _ in range(rng.randint(1, 3)):
                if len(rows) >= count:
                    break
                other = (feed + rng.randrange(1, feeds)) % feeds
                later = when + timedelta(minutes=rng.randrange(24 * 60))
                rows.append(
                    StoryRow(len(rows) + 1, other, _reword(title, rng), summary, later, -1, False)
                )
                copies += 1
    # the -1 story ids only mark injected copies for scoring; detection sees None
    return rows, copies


def big(count: int) -> None:
    rows, injected = synthetic(count)
    truth = {r.id for r in rows if r.story_id == -1}
    clean = [StoryRow(r.id, r.feed_id, r.title, r.summary, r.time, None, False) for r in rows]
    del rows
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    fold = story.detect(clean)
    seconds = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    folded = {copy for copy, _ in fold.copies}
    found = len(folded & truth)
    false = len(folded - truth)
    print(
        f"{len(clean):,} articles over 500 feeds and 30 days, {injected:,} injected copies: "
        f"detect {seconds:.1f} s, {fold.compared:,} pairs compared, "
        f"peak memory +{(rss_after - rss_before) / 1e3:.0f} MB (max RSS {rss_before / 1e3:.0f} -> "
        f"{rss_after / 1e3:.0f} MB)"
    )
    print(
        f"  injected copies folded: {found:,}/{len(truth):,} ({found / max(1, len(truth)):.3f}); "
        f"folds not injected: {false:,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--sample", type=Path, default=None, help="write the labelled pairs")
    args = parser.parse_args()
    sample(args.sample)
    big(args.articles)


if __name__ == "__main__":
    main()
