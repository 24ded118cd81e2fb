"""A labelled sample of article pairs for story detection, built at run time from real feeds.

The feeds of ``../shared/data/feeds/gesab001-headlines/HEAD`` were captured on one day; some
publishers appear in several of them (RNZ's front page and its Covid-19 feed, Adventist
Review and ANN, GMA's 24 Oras and its channel, YouTube channels of one broadcaster). Pairs
are taken across different feeds and labelled by rules anyone can check from the two links,
never from the text the detector reads:

- ``same-link`` (same story): both links are the same page once the scheme, ``www.``, a
  trailing slash and tracking queries are removed (a YouTube link keeps its ``v``);
- ``same-site-other-page`` (different stories): both links are on the same site but are
  different pages. One publisher does not publish one story twice under two addresses on
  one day, so these are the hard negatives: same style, same recurring words ("Covid-19:
  What happened on Sunday" against "... on Saturday").

Pairs whose links are on different sites have no rule and are left out, and so are pairs
published more than the detector's window apart (it never compares them). The sample keeps
every ``same-link`` pair and fills up to ``size`` with the ``same-site-other-page`` pairs
whose text is most alike (sharing a shingle), then with unalike ones in file order.
:func:`write_sample` writes it as a TSV file with the rule beside each label, so a reader can
check every line by hand.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from app.feeds.parser import parse_feed
from app.services.story import WINDOW, jaccard, shingles, without_boilerplate
from app.storage.story import StoryRow

SAME = "same-link"
DIFFERENT = "same-site-other-page"


@dataclass(frozen=True)
class Pair:
    """Two rows, the label (True: same story), the rule that gave it, and text similarity."""

    a: StoryRow
    b: StoryRow
    same: bool
    rule: str
    similarity: float
    link_a: str
    link_b: str


def page_key(url: str) -> tuple[str, str]:
    """(site, page) of a link, without scheme, ``www.``, trailing slash or tracking query."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").removeprefix("www.")
    path = parts.path.rstrip("/")
    if host.endswith("youtube.com") and path == "/watch":
        path += "?v=" + ",".join(parse_qs(parts.query).get("v", []))
    return host, path


def load_rows(data: Path) -> tuple[list[StoryRow], dict[int, str]]:
    """Every entry of the captured feeds as a row (ids in file order), and each row's link."""
    rows: list[StoryRow] = []
    links: dict[int, str] = {}
    folder = data / "feeds" / "gesab001-headlines" / "HEAD"
    for feed_id, path in enumerate(sorted(folder.glob("*.xml")), start=1):
        try:
            parsed = parse_feed(path.read_bytes(), {}, f"https://feeds.example/{path.name}")
        except Exception:  # a capture that is not a feed (two are HTML pages): not a source
            continue
        for entry in parsed.entries:
            if not entry.url or entry.published is None:
                continue
            row_id = len(rows) + 1
            rows.append(
                StoryRow(
                    row_id, feed_id, entry.title, entry.summary_text, entry.published, None, False
                )
            )
            links[row_id] = entry.url
    return rows, links


def labelled_pairs(rows: list[StoryRow], links: dict[int, str], size: int = 200) -> list[Pair]:
    """The sample: every same-link pair, then the most alike same-site pairs, ``size`` in all."""
    by_site: dict[str, list[StoryRow]] = defaultdict(list)
    for row in rows:
        by_site[page_key(links[row.id])[0]].append(row)
    cleaned = without_boilerplate(rows, [shingles(row.title, row.summary) for row in rows])
    sets = {row.id: shingle_set for row, shingle_set in zip(rows, cleaned, strict=True)}
    positives: list[Pair] = []
    negatives: list[Pair] = []
    for members in by_site.values():
        by_page: dict[tuple[str, str], list[StoryRow]] = defaultdict(list)
        by_shingle: dict[int, list[int]] = defaultdict(list)
        for index, row in enumerate(members):
            by_page[page_key(links[row.id])].append(row)
            for h in sets[row.id]:
                by_shingle[h].append(index)
        candidates: set[tuple[int, int]] = set()  # pairs sharing a shingle: the alike ones
        for indexes in by_shingle.values():
            candidates.update((i, j) for x, i in enumerate(indexes) for j in indexes[x + 1 :])
        for same_page in by_page.values():
            index_of = {r.id: i for i, r in enumerate(members)}
            ids = sorted(index_of[r.id] for r in same_page)
            candidates.update((i, j) for x, i in enumerate(ids) for j in ids[x + 1 :])
        for i, j in sorted(candidates):
            a, b = members[i], members[j]
            if a.feed_id == b.feed_id or abs(a.time - b.time) > WINDOW:
                continue
            same = page_key(links[a.id]) == page_key(links[b.id])
            similarity = jaccard(sets[a.id], sets[b.id])
            pair = Pair(
                a, b, same, SAME if same else DIFFERENT, similarity, links[a.id], links[b.id]
            )
            (positives if same else negatives).append(pair)
    negatives.sort(key=lambda p: (-p.similarity, p.a.id, p.b.id))
    taken = {(p.a.id, p.b.id) for p in negatives}
    for members in by_site.values():  # unalike pairs, only if the alike ones are too few
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if len(negatives) >= size - len(positives):
                    break
                if (a.id, b.id) in taken or a.feed_id == b.feed_id:
                    continue
                if abs(a.time - b.time) > WINDOW or page_key(links[a.id]) == page_key(links[b.id]):
                    continue
                similarity = jaccard(sets[a.id], sets[b.id])
                negatives.append(Pair(a, b, False, DIFFERENT, similarity, links[a.id], links[b.id]))
    return positives + negatives[: max(0, size - len(positives))]


def write_sample(pairs: list[Pair], path: Path) -> None:
    """The sample as TSV: label, rule, both links and titles, the text similarity."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, delimiter="\t")
        out.writerow(["same_story", "rule", "link_a", "link_b", "title_a", "title_b", "jaccard"])
        for p in pairs:
            out.writerow(
                [
                    int(p.same),
                    p.rule,
                    p.link_a,
                    p.link_b,
                    p.a.title,
                    p.b.title,
                    f"{p.similarity:.3f}",
                ]
            )
