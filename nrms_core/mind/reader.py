"""Reading and writing data in the MIND format (Wu et al., ACL 2020).

A MIND folder holds two tab-separated files without a header:

- ``news.tsv``: news_id, category, subcategory, title, abstract, url,
  title_entities, abstract_entities;
- ``behaviors.tsv``: impression_id, user_id, time ("11/15/2019 8:55:22 AM"),
  history ("N1 N2 ..."), impressions ("N3-1 N4-0 ...").

Reading is tolerant and streams line by line: missing trailing columns are
filled with empty strings, bad rows are skipped and reported (a count and the
first few line numbers), and news ids that ``news.tsv`` does not know are
dropped from histories and impressions and counted. Nothing here raises on bad
content; only a missing file raises ``FileNotFoundError``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

__all__ = [
    "Behavior",
    "MindData",
    "NewsItem",
    "iter_behaviors",
    "read_behaviors",
    "read_mind",
    "read_news",
    "write_behaviors",
    "write_news",
]

_LOG = logging.getLogger(__name__)

NEWS_FILE = "news.tsv"
BEHAVIORS_FILE = "behaviors.tsv"
TIME_FORMAT = "%m/%d/%Y %I:%M:%S %p"
_SHOWN_LINES = 5


@dataclass(frozen=True)
class NewsItem:
    """One row of ``news.tsv``; entity columns are kept as their raw JSON text."""

    news_id: str
    category: str = ""
    subcategory: str = ""
    title: str = ""
    abstract: str = ""
    url: str = ""
    title_entities: str = ""
    abstract_entities: str = ""


@dataclass(frozen=True)
class Behavior:
    """One row of ``behaviors.tsv``: the reader's prior clicks and one labelled impression."""

    impression_id: str
    user_id: str
    time: datetime | None
    history: tuple[str, ...]
    impressions: tuple[tuple[str, int], ...]

    @property
    def clicked(self) -> tuple[str, ...]:
        """News ids clicked in this impression, in shown order."""
        return tuple(nid for nid, label in self.impressions if label)

    @property
    def skipped(self) -> tuple[str, ...]:
        """News ids shown and not clicked, in shown order."""
        return tuple(nid for nid, label in self.impressions if not label)


@dataclass(frozen=True)
class MindData:
    """A whole MIND folder and the problems met while reading it."""

    news: dict[str, NewsItem]
    behaviors: list[Behavior]
    problems: tuple[str, ...] = field(default=())


class _Tally:
    """Counts bad rows per reason, remembering the first few line numbers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: dict[str, list[int]] = {}
        self.counts: dict[str, int] = {}
        self.rows: dict[str, int] = {}

    def add(self, reason: str, line: int, n: int = 1) -> None:
        """Count ``n`` occurrences of ``reason`` on one line."""
        self.counts[reason] = self.counts.get(reason, 0) + n
        self.rows[reason] = self.rows.get(reason, 0) + 1
        shown = self.lines.setdefault(reason, [])
        if len(shown) < _SHOWN_LINES:
            shown.append(line)

    def report(self) -> list[str]:
        """One line per reason: "file: COUNT x reason (lines A, B, ...)"."""
        out = []
        for reason, count in self.counts.items():
            lines = ", ".join(str(n) for n in self.lines[reason])
            more = ", ..." if self.rows[reason] > len(self.lines[reason]) else ""
            out.append(f"{self.name}: {count} x {reason} (lines {lines}{more})")
        return out


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, line without its newline), skipping blank lines."""
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if line.strip():
                yield number, line


def read_news(path: Path) -> tuple[dict[str, NewsItem], list[str]]:
    """Read ``news.tsv``; returns (news by id, problems). Duplicate ids keep the first row."""
    tally = _Tally(path.name)
    news: dict[str, NewsItem] = {}
    for number, line in _lines(path):
        cols = line.split("\t")
        cols += [""] * (8 - len(cols))
        news_id = cols[0].strip()
        if not news_id or any(ch.isspace() for ch in news_id):
            tally.add("bad news id", number)
            continue
        if news_id in news:
            tally.add("duplicate news id", number)
            continue
        news[news_id] = NewsItem(news_id, *(c.strip() for c in cols[1:8]))
    return news, tally.report()


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), TIME_FORMAT)  # MIND times are naive
    except ValueError:
        return None


def _parse_impressions(text: str) -> tuple[tuple[str, int], ...] | None:
    """Parse "N3-1 N4-0"; None when any token is malformed."""
    out: list[tuple[str, int]] = []
    for token in text.split():
        news_id, sep, label = token.rpartition("-")
        if not sep or not news_id or label not in ("0", "1"):
            return None
        out.append((news_id, int(label)))
    return tuple(out)


def iter_behaviors(
    path: Path, known: Mapping[str, object] | None, problems: list[str]
) -> Iterator[Behavior]:
    """Stream ``behaviors.tsv`` as Behavior rows.

    Unknown news ids (not in ``known``; no check when None) are dropped; a row
    whose impressions end up empty is skipped. Ids are interned, so that
    millions of rows (MIND-large) share one string per news id. Problems are appended to
    ``problems`` once the stream is exhausted.
    """
    tally = _Tally(path.name)
    bad_times = 0
    for number, line in _lines(path):
        cols = line.split("\t")
        cols += [""] * (5 - len(cols))
        impression_id, user_id = cols[0].strip(), cols[1].strip()
        if not impression_id or not user_id:
            tally.add("empty impression or user id", number)
            continue
        impressions = _parse_impressions(cols[4])
        if impressions is None:
            tally.add("bad impressions (expected NEWSID-0/1 tokens)", number)
            continue
        history = tuple(sys.intern(n) for n in cols[3].split())
        impressions = tuple((sys.intern(n), y) for n, y in impressions)
        if known is not None:
            kept_history = tuple(n for n in history if n in known)
            kept = tuple(pair for pair in impressions if pair[0] in known)
            dropped = len(history) - len(kept_history) + len(impressions) - len(kept)
            if dropped:
                tally.add("unknown news id dropped", number, dropped)
            history, impressions = kept_history, kept
        if not impressions:
            tally.add("no impressions", number)
            continue
        time = _parse_time(cols[2]) if cols[2].strip() else None
        if time is None and cols[2].strip():
            bad_times += 1
        yield Behavior(impression_id, user_id, time, history, impressions)
    if bad_times:
        problems.append(f"{path.name}: {bad_times} unreadable times kept as unknown")
    problems.extend(tally.report())


def read_behaviors(path: Path, known: Mapping[str, object] | None = None) -> MindData:
    """Read ``behaviors.tsv`` alone (news left empty)."""
    problems: list[str] = []
    behaviors = list(iter_behaviors(path, known, problems))
    return MindData({}, behaviors, tuple(problems))


def read_mind(folder: Path, extra_news: Mapping[str, NewsItem] | None = None) -> MindData:
    """Read a MIND folder; ``extra_news`` also counts as known (e.g. the train folder's news).

    Raises FileNotFoundError when the folder or one of its two files is missing.
    """
    if not folder.is_dir():
        raise FileNotFoundError(f"not a folder: {folder}")
    for name in (NEWS_FILE, BEHAVIORS_FILE):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"missing {name} in {folder}")
    news, problems = read_news(folder / NEWS_FILE)
    if extra_news:
        for news_id, item in extra_news.items():
            news.setdefault(news_id, item)
    behaviors = list(iter_behaviors(folder / BEHAVIORS_FILE, news, problems))
    for problem in problems:
        _LOG.warning("%s: %s", folder, problem)
    return MindData(news, behaviors, tuple(problems))


def _clean(text: str) -> str:
    """Make a field safe for one TSV cell."""
    return " ".join(text.replace("\t", " ").split())


def write_news(path: Path, items: Iterable[NewsItem]) -> int:
    """Write ``news.tsv`` rows; returns the number written."""
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for item in items:
            cols = [
                item.news_id,
                item.category,
                item.subcategory,
                item.title,
                item.abstract,
                item.url,
                item.title_entities,
                item.abstract_entities,
            ]
            handle.write("\t".join(_clean(c) for c in cols) + "\n")
            count += 1
    return count


def format_time(time: datetime | None) -> str:
    """MIND's time format ("11/15/2019 8:55:22 AM"), or "" for None."""
    if time is None:
        return ""
    hour = time.hour % 12 or 12
    suffix = "AM" if time.hour < 12 else "PM"
    return (
        f"{time.month}/{time.day}/{time.year} {hour}:{time.minute:02d}:{time.second:02d} {suffix}"
    )


def write_behaviors(path: Path, behaviors: Iterable[Behavior]) -> int:
    """Write ``behaviors.tsv`` rows; returns the number written."""
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for b in behaviors:
            shown = " ".join(f"{nid}-{int(bool(label))}" for nid, label in b.impressions)
            cols = [b.impression_id, b.user_id, format_time(b.time), " ".join(b.history), shown]
            handle.write("\t".join(_clean(c) for c in cols) + "\n")
            count += 1
    return count
