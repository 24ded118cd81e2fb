"""One story once: find copies of the same story across feeds and fold them.

Detection compares what an article says, never its address: the title and the start of the
summary are normalised (NFKC, case-folded, punctuation and common words dropped), cut into
word pairs (shingles), and two articles from **different feeds** within :data:`WINDOW` of each
other are the same story when the Jaccard similarity of their shingles reaches
:data:`THRESHOLD`. To avoid comparing every pair, MinHash signatures (:data:`PERMUTATIONS`
hashes) are bucketed by locality-sensitive hashing (:data:`BANDS` bands of :data:`ROWS`),
and only articles sharing a bucket are compared exactly.

Folding gives each copy ``story_id`` = the canonical article's id (an existing story keeps its
canonical; a new one takes its earliest article). Copies are kept, never deleted, and the
reader can separate a story again (:func:`separate`), after which it is never refolded.
"""

from __future__ import annotations

import itertools
import logging
import re
import unicodedata
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from app.storage import articles
from app.storage import story as stories
from app.storage.database import Database
from app.storage.story import StoryRow

logger = logging.getLogger(__name__)

THRESHOLD = 0.4
"""Least Jaccard similarity of two articles' shingles for them to be one story."""
WINDOW = timedelta(hours=48)
"""Most time between two copies of one story."""
SUMMARY_WORDS = 40
"""Words of the summary that count (the start: feeds cut summaries at different lengths)."""
MIN_SHINGLES = 3
"""Articles with fewer shingles (a bare "Live updates") are never folded."""
PERMUTATIONS = 60
BANDS = 20
ROWS = PERMUTATIONS // BANDS
MAX_BUCKET = 200
"""A bucket larger than this holds boilerplate shared by many articles; it is skipped."""

_PRIME = np.uint64(4_294_967_311)  # the first prime above 2**32
_rng = np.random.default_rng(20240501)
_A = _rng.integers(1, 2**32, size=PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, 2**32, size=PERMUTATIONS, dtype=np.uint64)
_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset(
    "a an and are as at be by for from has have he her his in is it its of on or our she that "  # noqa: SIM905
    "the their they this to was were will with you your after over new says said".split()
)


@dataclass(frozen=True)
class Fold:
    """The result of a detection pass: (copy id, canonical id) pairs, and how many pairs of
    articles were compared exactly."""

    copies: tuple[tuple[int, int], ...]
    compared: int


def words(text: str) -> list[str]:
    """Normalised words of ``text``: NFKC, case-folded, without punctuation or common words."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [w for w in _WORD.findall(folded) if w not in _STOP]


def shingles(title: str, summary: str) -> frozenset[int]:
    """Hashed word pairs of the title and the start of the summary."""
    tokens = words(title) + words(summary)[:SUMMARY_WORDS]
    if len(tokens) < 2:
        return frozenset(zlib.crc32(t.encode()) for t in tokens)
    return frozenset(zlib.crc32(f"{a} {b}".encode()) for a, b in itertools.pairwise(tokens))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """|a ∩ b| / |a ∪ b| (0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def signature(shingle_set: frozenset[int]) -> np.ndarray:
    """The MinHash signature of a non-empty shingle set: (PERMUTATIONS,) uint64."""
    x = np.fromiter(shingle_set, dtype=np.uint64, count=len(shingle_set))  # (n,)
    hashed = (_A[:, None] * x[None, :] + _B[:, None]) % _PRIME  # (PERMUTATIONS, n)
    result: np.ndarray = hashed.min(axis=1)
    return result


def similar_pairs(rows: Sequence[StoryRow]) -> tuple[list[tuple[int, int, float]], int]:
    """Pairs (i, j, similarity) of row indexes that are one story, and how many were compared.

    Only rows from different feeds, within :data:`WINDOW`, never separated by the reader.
    """
    sets = [shingles(r.title, r.summary) for r in rows]
    buckets: dict[tuple[int, bytes], list[int]] = defaultdict(list)
    for index, (row, shingle_set) in enumerate(zip(rows, sets, strict=True)):
        if len(shingle_set) < MIN_SHINGLES or row.story_id == row.id:
            continue
        sig = signature(shingle_set)
        for band in range(BANDS):
            buckets[(band, sig[band * ROWS : (band + 1) * ROWS].tobytes())].append(index)
    seen: set[tuple[int, int]] = set()
    found: list[tuple[int, int, float]] = []
    for members in buckets.values():
        if len(members) < 2 or len(members) > MAX_BUCKET:
            continue
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                key = (i, j) if i < j else (j, i)
                if key in seen:
                    continue
                seen.add(key)
                a, b = rows[i], rows[j]
                if a.feed_id == b.feed_id or abs(a.time - b.time) > WINDOW:
                    continue
                similarity = jaccard(sets[i], sets[j])
                if similarity >= THRESHOLD:
                    found.append((key[0], key[1], similarity))
    return found, len(seen)


def detect(rows: Sequence[StoryRow]) -> Fold:
    """Which rows are copies of which canonical article.

    Rows already folded stay with their canonical; a new group takes as canonical a row that
    is already canonical for others, else its earliest row (then lowest id).
    """
    pairs, compared = similar_pairs(rows)
    parent = list(range(len(rows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, _ in pairs:
        parent[root(i)] = root(j)
    index_of = {r.id: i for i, r in enumerate(rows)}
    for i, row in enumerate(rows):  # an earlier fold joins the group of its canonical
        if row.story_id is not None and row.story_id != row.id and row.story_id in index_of:
            parent[root(i)] = root(index_of[row.story_id])
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(rows)):
        groups[root(i)].append(i)
    copies: list[tuple[int, int]] = []
    for group in groups.values():
        if len(group) < 2:
            continue
        members = [rows[i] for i in group]
        folded_into = [m.story_id for m in members if m.story_id not in (None, m.id)]
        if folded_into:
            canonical = min(folded_into, key=lambda sid: (sid not in index_of, sid))
        else:
            canonical = min(members, key=lambda m: (m.time, m.id)).id
        copies.extend((m.id, canonical) for m in members if m.id != canonical)
    return Fold(tuple(copies), compared)


def fold_recent(db: Database, *, now: datetime | None = None) -> int:
    """Fold the stories of the last two windows; returns how many articles were newly folded.

    A copy of a story the reader has read is marked read with it.
    """
    now = now or datetime.now(UTC)
    with db.read() as s:
        rows = stories.rows_since(s, now - 2 * WINDOW)
    fold = detect(rows)
    current = {r.id: r.story_id for r in rows}
    changes = [
        (copy, canonical) for copy, canonical in fold.copies if current.get(copy) != canonical
    ]
    if not changes:
        return 0
    read = {r.id for r in rows if r.read}
    with db.write() as s:
        stories.set_stories(s, changes)
        catch_up = [copy for copy, canonical in changes if canonical in read and copy not in read]
        if catch_up:
            articles.set_read(s, catch_up, True, now=now)
    logger.info("folded %d articles into stories (%d pairs compared)", len(changes), fold.compared)
    return len(changes)


def also_in(db: Database, ids: Sequence[int]) -> dict[int, list[str]]:
    """For each canonical article of ``ids``, the other feeds that carry the same story."""
    with db.read() as s:
        return stories.also_in(s, ids)


def members(db: Database, ids: Sequence[int]) -> set[int]:
    """``ids`` with every copy of the same stories (to mark them read together)."""
    with db.read() as s:
        return stories.members(s, ids)


def separate(db: Database, article_id: int) -> list[int]:
    """Unfold a story for good: each copy shows as its own row again."""
    with db.write() as s:
        return stories.separate(s, article_id)
