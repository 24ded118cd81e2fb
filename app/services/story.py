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
reader can separate a story again (:func:`separate`, or :func:`unfold`, which says what it
changed so that :func:`refold` can put it back), after which it is never refolded.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import re
import unicodedata
import zlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from app.services import heap, lifeline
from app.storage import articles
from app.storage import story as stories
from app.storage.database import Database
from app.storage.error import HeedfulError
from app.storage.story import StoryRow

logger = logging.getLogger(__name__)

THRESHOLD = 0.35
"""Least Jaccard similarity of two articles' shingles for them to be one story."""
WINDOW = timedelta(hours=48)
"""Most time between two copies of one story."""
SUMMARY_WORDS = 40
"""Words of the summary that count (the start: feeds cut summaries at different lengths)."""
MIN_SHINGLES = 3
"""Articles with fewer shingles (a bare "Live updates") are never folded."""
PERMUTATIONS = 60
BANDS = 30
ROWS = PERMUTATIONS // BANDS
BOILERPLATE_SHARE = 0.3
BOILERPLATE_MIN_ROWS = 5
MAX_BUCKET = 200
"""A bucket larger than this holds boilerplate shared by many articles; it is skipped."""

_PRIME = np.uint64(4_294_967_311)  # the first prime above 2**32
_rng = np.random.default_rng(20240501)
_A = _rng.integers(1, 2**32, size=PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, 2**32, size=PERMUTATIONS, dtype=np.uint64)
_MASK = 0xFFFFFFFF
_MIX = 0x9E3779B1  # odd: spreads the first word's bits before the second's are mixed in
_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset(
    "a an and are as at be by for from has have he her his in is it its of on or our she that "  # noqa: SIM905
    "the their they this to was were will with you your after over new says said".split()
)


@dataclass(frozen=True)
class Fold:
    """The result of a detection pass: (copy id, canonical id) pairs, and how many pairs of
    texts were compared exactly (rows with the same shingles are one text)."""

    copies: tuple[tuple[int, int], ...]
    compared: int


def words(text: str) -> list[str]:
    """Normalised words of ``text``: NFKC, case-folded, without punctuation or common words."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [w for w in _WORD.findall(folded) if w not in _STOP]


def shingles(title: str, summary: str) -> np.ndarray:
    """Hashed word pairs of the title and the start of the summary: sorted, unique (n,) uint32.

    An array rather than a set keeps 100,000 articles' shingles in a few tens of megabytes.
    Hashed and sorted in Python, not numpy: this runs beside the window's event loop, and
    numpy lets go of the interpreter lock around each small sort, which lets this thread take
    it straight back; 20,000 articles kept the event loop from it for up to 42 ms at a time.
    In Python the lock changes hands every millisecond, and it is no slower (676 ms, 741 with
    numpy).
    """
    tokens = [
        zlib.crc32(w.encode()) for w in words(title) + words(summary)[:SUMMARY_WORDS]
    ]  # (t,) each < 2**32
    if len(tokens) < 2:
        return np.array(sorted(set(tokens)), dtype=np.uint32)
    # one hash per word pair: the first word's bits spread, the second's mixed in, 32 bits kept
    pairs = {((a * _MIX) ^ b) & _MASK for a, b in itertools.pairwise(tokens)}
    return np.array(sorted(pairs), dtype=np.uint32)


def without_boilerplate(rows: Sequence[StoryRow], sets: Sequence[np.ndarray]) -> list[np.ndarray]:
    """``sets`` without each feed's boilerplate: the shingles in at least
    :data:`BOILERPLATE_SHARE` of a feed's rows (a channel's blurb under every video, a title
    suffix such as "| 24 Oras Weekend", "The post ... appeared first on ..."). Feeds with
    fewer than :data:`BOILERPLATE_MIN_ROWS` rows keep everything. Counted and filtered in
    Python, as :func:`shingles` hashes: a numpy call a row let the event loop wait for the
    interpreter lock."""
    by_feed: dict[int, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_feed[row.feed_id].append(index)
    cleaned = list(sets)
    for indexes in by_feed.values():
        if len(indexes) < BOILERPLATE_MIN_ROWS:
            continue
        counts = Counter(x for i in indexes for x in sets[i].tolist())  # each set is unique
        floor = max(2, int(BOILERPLATE_SHARE * len(indexes)))
        common = {x for x, n in counts.items() if n >= floor}
        if common:
            for i in indexes:
                kept = [x for x in sets[i].tolist() if x not in common]  # still sorted
                cleaned[i] = np.array(kept, dtype=sets[i].dtype)
    return cleaned


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """|a ∩ b| / |a ∪ b| of two sorted unique shingle arrays (0 for two empty ones)."""
    common = len(set(a.tolist()).intersection(b.tolist()))
    union = int(a.size + b.size) - common
    return common / union if union else 0.0


def signatures(sets: Sequence[np.ndarray], chunk: int = 250) -> np.ndarray:
    """MinHash signatures of non-empty shingle sets: (len(sets), PERMUTATIONS) uint64.

    Computed ``chunk`` sets at a time, all their shingles at once, so that memory stays
    near chunk × shingles × PERMUTATIONS × 8 bytes whatever the number of sets. Small chunks,
    because this runs beside the window's event loop (after a refresh): with 2,000 sets a
    chunk one took 32 ms of numpy holding the interpreter lock, a stall of the window, and
    20,000 sets took 536 ms; with 250, 2 ms and 167 ms (the arrays stay in the CPU's cache).
    """
    out = np.empty((len(sets), PERMUTATIONS), dtype=np.uint64)
    for start in range(0, len(sets), chunk):
        part = sets[start : start + chunk]
        lengths = np.fromiter((s.size for s in part), dtype=np.int64, count=len(part))
        flat = np.concatenate(part).astype(np.uint64)  # (m,)
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))  # (len(part),)
        hashed = (_A[:, None] * flat[None, :] + _B[:, None]) % _PRIME  # (PERMUTATIONS, m)
        out[start : start + len(part)] = np.minimum.reduceat(hashed, offsets, axis=1).T
    return out


def _band_keys(sig: np.ndarray, band: int) -> np.ndarray:
    """One hash per row of its ROWS signature values in ``band``: (n,) uint64."""
    key = np.zeros(sig.shape[0], dtype=np.uint64)
    for column in range(band * ROWS, (band + 1) * ROWS):
        key = key * np.uint64(1_000_003) + sig[:, column]  # wraps around: a hash, not a sum
    return key


class _Groups:
    """Union-find over row indexes: which rows are one story so far."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def root(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(self, i: int, j: int) -> None:
        self.parent[self.root(i)] = self.root(j)


def _join_similar(rows: Sequence[StoryRow], groups: _Groups) -> int:
    """Join in ``groups`` the rows that are one story; returns how many pairs of texts were
    compared.

    Only rows from different feeds, within :data:`WINDOW`, never separated by the reader.
    Three things keep the comparisons few where a story is in many feeds (a wire story in 30
    of them, in one bucket of every band), with the same groups as comparing every pair:

    - texts are compared, not rows: rows with the same shingles are one story wherever their
      feeds and times allow, with no comparison, and two texts are compared at most once, the
      verdict kept for every band (two stories that share a bucket are told apart once, not
      for each of their rows' pairs in each band);
    - two texts with no pair of rows from different feeds within the window are not compared;
    - rows already in one group are not compared: the groups are what the pairs join, so a
      pair that would join nothing new changes nothing, and a bucket of one story (in every
      band after the first, and in a pass over copies folded before) costs one look.
    """
    sets = without_boilerplate(rows, [shingles(r.title, r.summary) for r in rows])
    eligible = [
        i for i, r in enumerate(rows) if len(sets[i]) >= MIN_SHINGLES and r.story_id != r.id
    ]
    if len(eligible) < 2:
        return 0
    sig = signatures([sets[i] for i in eligible])  # (len(eligible), PERMUTATIONS)
    index = np.asarray(eligible, dtype=np.int64)
    texts: dict[bytes, int] = {}
    text_of = {i: texts.setdefault(sets[i].tobytes(), len(texts)) for i in eligible}
    first_of = {t: i for i, t in reversed(text_of.items())}  # a row of each text
    # Every row of one text has its signature, so shares each bucket with every other: what
    # one bucket decides for two texts holds in every band.
    settled: set[int] = set()  # t·T + u (t <= u): texts whose rows are joined where they can be
    compared = 0

    def pairs(ours: Sequence[int], theirs: Sequence[int] | None) -> list[tuple[int, int]]:
        """The pairs of rows of two texts (``theirs`` None: of one text) from different
        feeds within the window: those that may be joined."""
        return [
            (i, j)
            for x, i in enumerate(ours)
            for j in (ours[x + 1 :] if theirs is None else theirs)
            if rows[i].feed_id != rows[j].feed_id and abs(rows[i].time - rows[j].time) <= WINDOW
        ]

    for band in range(BANDS):
        keys = _band_keys(sig, band)  # (len(eligible),)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        ends = np.r_[starts[1:], len(sorted_keys)]
        for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
            if not 2 <= hi - lo <= MAX_BUCKET:
                continue
            members = index[order[lo:hi]].tolist()
            first = groups.root(members[0])
            if all(groups.root(m) == first for m in members):
                continue  # one story already: nothing here can join anything new
            by_text: dict[int, list[int]] = defaultdict(list)
            for m in members:
                by_text[text_of[m]].append(m)
            classes = sorted(by_text.items())
            for x, (t, ours) in enumerate(classes):
                for u, theirs in classes[x:]:
                    key = t * len(texts) + u
                    if key in settled:
                        continue
                    settled.add(key)
                    found = pairs(ours, None if u == t else theirs)
                    if not found or all(groups.root(i) == groups.root(j) for i, j in found):
                        continue
                    if u != t:  # the same text is the same story; two texts are compared
                        compared += 1
                        if jaccard(sets[first_of[t]], sets[first_of[u]]) < THRESHOLD:
                            continue
                    for i, j in found:
                        groups.join(i, j)
    heap.release(sets)  # a slice at a time, not all at the return (see heap.release)
    return compared


def detect(rows: Sequence[StoryRow]) -> Fold:
    """Which rows are copies of which canonical article.

    Rows already folded stay with their canonical; a new group takes as canonical a row that
    is already canonical for others, else its earliest row (then lowest id).
    """
    groups = _Groups(len(rows))
    index_of = {r.id: i for i, r in enumerate(rows)}
    for i, row in enumerate(rows):  # an earlier fold joins the group of its canonical
        if row.story_id is not None and row.story_id != row.id and row.story_id in index_of:
            groups.join(i, index_of[row.story_id])
    compared = _join_similar(rows, groups)
    members_of: dict[int, list[int]] = defaultdict(list)
    for i in range(len(rows)):
        members_of[groups.root(i)].append(i)
    copies: list[tuple[int, int]] = []
    for group in members_of.values():
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


FOLD_PROCESS_MIN_ROWS = 20_000
"""From this many articles in the last two windows the story pass reads and compares them in
a helper process of its own (:func:`fold_recent`), and only the changes come back to be
written: at thousands of feeds the pass is most of a refresh, Python that held the
interpreter lock of the window's process for a minute (docs/benchmarks/stalls.md)."""

WRITE_SLICE = 10_000
"""Changes written (and turned from arrays into rows) this many at a time."""


@dataclass(frozen=True)
class Found:
    """What one story pass found: ``changes`` (k, 2) int64 rows of (copy, canonical) whose
    ``story_id`` is to change, ``catch_up`` (m,) int64 copies to mark read with their read
    canonical, and how many pairs were compared. Arrays, so that a helper process hands them
    back as a few buffers rather than a million objects."""

    changes: np.ndarray
    catch_up: np.ndarray
    compared: int


def fold_recent(db: Database, *, now: datetime | None = None) -> int:
    """Fold the stories of the last two windows; returns how many articles were newly folded.

    A copy of a story the reader has read is marked read with it. From
    :data:`FOLD_PROCESS_MIN_ROWS` articles the reading and comparing run in a helper process
    (the writing stays here, in the profile's own writer); a helper that dies folds nothing
    this time, and the next refresh tries again.
    """
    now = now or datetime.now(UTC)
    since = now - 2 * WINDOW
    with db.read() as s:
        count = stories.count_since(s, since)
    if count >= FOLD_PROCESS_MIN_ROWS:
        found = _found_elsewhere(db.path, since)
        if found is None:
            return 0
    else:
        found = find(db, since)
    return _write(db, found, now)


def find(db: Database, since: datetime) -> Found:
    """The story pass over the articles at or after ``since``, without writing anything."""
    with db.read() as s:
        rows = stories.rows_since(s, since)
    try:
        fold = detect(rows)
        current = {r.id: r.story_id for r in rows}
        changes = [
            (copy, canonical) for copy, canonical in fold.copies if current.get(copy) != canonical
        ]
        read = {r.id for r in rows if r.read}
        catch_up = [copy for copy, canonical in changes if canonical in read and copy not in read]
        return Found(
            np.asarray(changes, dtype=np.int64).reshape(-1, 2),
            np.asarray(catch_up, dtype=np.int64),
            fold.compared,
        )
    finally:
        heap.release(rows)  # a slice at a time (see heap.release)


def _find_at(path: str, since: datetime) -> Found:
    """:func:`find` in a helper process, on the profile's database file at ``path``."""
    db = Database(Path(path), check=False)
    try:
        return find(db, since)
    finally:
        db.close()


def _found_elsewhere(path: Path, since: datetime) -> Found | None:
    """:func:`find` run in a helper process (lower priority, ended with this one); None when
    the helper died (logged)."""
    pool = ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=lifeline.background,
        initargs=(os.getpid(),),
    )
    try:
        return pool.submit(_find_at, str(path), since).result()
    except BrokenProcessPool:
        logger.error("the story pass's helper process died; stories are folded next time")
        return None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _write(db: Database, found: Found, now: datetime) -> int:
    """Write what a story pass found; returns how many articles changed story."""
    if not len(found.changes):
        return 0
    with db.write() as s:
        for start in range(0, len(found.changes), WRITE_SLICE):
            part = found.changes[start : start + WRITE_SLICE].tolist()
            stories.set_stories(s, [(copy, canonical) for copy, canonical in part])
        if len(found.catch_up):
            articles.set_read(s, found.catch_up.tolist(), True, now=now)
    logger.info(
        "folded %d articles into stories (%d pairs compared)", len(found.changes), found.compared
    )
    return len(found.changes)


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


class StoryError(HeedfulError):
    """A story could not be unfolded (no such article, or it is not folded); the message is
    for the reader."""


@dataclass(frozen=True)
class Unfolded:
    """What :func:`unfold` did: the story's articles, each now its own row, and their
    ``story_id`` before, which :func:`refold` puts back."""

    article_id: int
    article_ids: tuple[int, ...]
    before: tuple[tuple[int, int | None], ...]


def unfold(db: Database, article_id: int) -> Unfolded:
    """Unfold the story ``article_id`` belongs to (as :func:`separate`), for good unless
    :func:`refold` undoes it; no article is deleted and none changes its read state.

    Raises StoryError for an unknown article or one not folded with another."""
    with db.write() as s:
        if articles.get_article(s, article_id) is None:
            raise StoryError(f"there is no article {article_id}")
        group = sorted(stories.members(s, [article_id]))
        if len(group) < 2:
            raise StoryError(f"article {article_id} is not folded with another")
        before = stories.story_ids(s, group)
        stories.set_stories(s, [(i, i) for i in group])
    logger.info("unfolded the story of article %d (%d articles)", article_id, len(group))
    return Unfolded(article_id, tuple(group), tuple(sorted(before.items())))


def refold(db: Database, unfolded: Unfolded) -> int:
    """Fold an unfolded story back as it was; returns how many articles changed."""
    with db.write() as s:
        return stories.set_stories(s, list(unfolded.before))
