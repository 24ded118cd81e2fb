"""Refresh: fetch → parse → store for every due feed, one failing feed never stopping the batch."""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from app.feeds.entry import ParsedFeed, ParseError
from app.feeds.fetcher import Fetcher, FetchError, FetchLimits
from app.feeds.parser import parse_feed
from app.feeds.wire import parse_flat, unflatten
from app.services import credential, lifeline, preference
from app.storage import articles, feeds
from app.storage.database import Database, StorageError, savepoint, storage_error
from app.storage.enclosure import EnclosureRecord
from app.storage.record import FeedRecord

log = logging.getLogger(__name__)

PROCESS_PARSE_MIN_FEEDS = 24
"""Below this many feeds, starting parser processes costs more than it saves."""

BATCH_FEEDS = 500
"""Most feeds whose outcomes are written in one transaction."""

BATCH_SECONDS = 0.5
"""How long a batch waits for more outcomes after its first: each commit syncs the log to disk
(about 5-20 ms here), so a commit per feed or two cost seconds at thousands of feeds."""

BATCH_ARTICLES = 5_000
"""A batch closes once its feeds carry this many entries, so that the write lock is held for a
short while (a click waits for it) and the reader sees articles arrive as the refresh goes."""


@dataclass(frozen=True)
class FeedFailure:
    """One feed that could not be refreshed, and why (in words for the reader)."""

    feed_id: int
    url: str
    message: str


@dataclass(frozen=True)
class RefreshProgress:
    """Reported after each feed finishes: ``done`` of ``total``, and how that feed's fetch went
    (what the activity log lists for each refresh of a feed).

    ``at`` is when it was stored; ``http_status`` the server's answer (None when none came:
    no connection, a refused address, a cancelled refresh); ``seconds`` the time from the
    request to the parsed feed; ``new`` and ``updated`` the articles it stored; ``error`` the
    failure in words, in full.
    """

    done: int
    total: int
    feed_id: int
    ok: bool
    at: datetime | None = None
    http_status: int | None = None
    seconds: float = 0.0
    new: int = 0
    updated: int = 0
    error: str | None = None
    not_modified: bool = False

    @property
    def status(self) -> str:
        """ "ok", "not modified" or "failed"."""
        if not self.ok:
            return "failed"
        return "not modified" if self.not_modified else "ok"


@dataclass(frozen=True)
class RefreshSummary:
    """What a refresh did."""

    feeds: int
    ok: int
    not_modified: int
    failed: int
    new: int
    updated: int
    failures: tuple[FeedFailure, ...]
    seconds: float


@dataclass(frozen=True)
class Outcome:
    """The network-and-parse result for one feed, ready to be stored."""

    feed: FeedRecord
    not_modified: bool = False
    parsed: ParsedFeed | None = None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    retry_after: float | None = None
    http_status: int | None = None
    """The server's HTTP status, when it answered."""
    seconds: float = 0.0
    """From the request to the parsed feed."""


class Parsers:
    """Parses feed bodies, in worker processes when there are several, so that a large refresh
    uses every core (feedparser is pure Python and holds the GIL).

    ``processes`` 0 parses in the calling thread. The pool starts at the first parse and is
    rebuilt if a worker dies; the feed being parsed then fails alone.
    """

    def __init__(self, processes: int) -> None:
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def parse(self, body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
        """Parse one body (see :func:`app.feeds.parser.parse_feed`)."""
        if self._processes < 2:
            return parse_feed(body, headers, url)
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self._processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=lifeline.background,
                    initargs=(os.getpid(),),
                )
            pool = self._pool
        try:
            return unflatten(pool.submit(parse_flat, body, dict(headers), url).result())
        except BrokenProcessPool as exc:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            log.error("a feed parser process died on %s", url)
            raise ParseError("the feed could not be read (its parser crashed)") from exc

    def close(self) -> None:
        """Stop the worker processes."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Parsers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Refresher:
    """Refreshes feeds concurrently: network and parsing on a bounded pool, writes in one thread."""

    def __init__(
        self,
        db: Database,
        *,
        limits: FetchLimits | None = None,
        max_workers: int = 16,
        parse_processes: int | None = None,
    ) -> None:
        self._db = db
        self._limits = limits or preference.fetch_limits(db)
        self._max_workers = max_workers
        self._parse_processes = (
            min(4, os.cpu_count() or 1) if parse_processes is None else parse_processes
        )

    def refresh(
        self,
        feed_ids: Sequence[int] | None = None,
        *,
        due_only: bool = False,
        now: datetime | None = None,
        progress: Callable[[RefreshProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> RefreshSummary:
        """Refresh the given feeds (every enabled feed when None; only due ones with ``due_only``).

        Every feed ends as ok, not modified or failed; a failure is recorded on the feed (error
        count, message, back-off) and the batch goes on.
        """
        started = datetime.now(UTC)
        now = now or started
        with self._db.read() as s:
            if feed_ids is not None:
                chosen = [f for f in (feeds.get_feed(s, i) for i in feed_ids) if f is not None]
            elif due_only:  # no article counts: a refresh reads none (see feeds.list_feeds)
                chosen = feeds.due_feeds(s, now, counts=False)
            else:
                chosen = [f for f in feeds.list_feeds(s, counts=False) if f.enabled]
        total = len(chosen)
        ok = not_modified = failed = new = updated = 0
        failures: list[FeedFailure] = []
        if total:
            processes = self._parse_processes if total >= PROCESS_PARSE_MIN_FEEDS else 0
            with (
                Parsers(processes) as parsers,
                Fetcher(self._limits) as fetcher,
                ThreadPoolExecutor(
                    max_workers=min(self._max_workers, total), thread_name_prefix="refresh"
                ) as pool,
            ):
                ready: queue.SimpleQueue[Future[Outcome]] = queue.SimpleQueue()
                for feed in chosen:
                    future = pool.submit(
                        fetch_and_parse,
                        fetcher,
                        parsers,
                        feed,
                        cancel,
                        url=credential.reveal(self._db, feed.url),  # its password put back
                    )
                    future.add_done_callback(ready.put)
                done = 0
                while done < total:
                    batch = [future.result() for future in _next_batch(ready, total - done)]
                    stored_at = datetime.now(UTC)
                    for outcome, stored in zip(
                        batch, store_outcomes(self._db, batch, stored_at), strict=True
                    ):
                        done += 1
                        error = outcome.error or stored.error
                        if error is not None:
                            failed += 1
                            failures.append(FeedFailure(outcome.feed.id, outcome.feed.url, error))
                        elif outcome.not_modified:
                            not_modified += 1
                        else:
                            ok += 1
                        new += stored.new
                        updated += stored.updated
                        if progress is not None:
                            progress(
                                RefreshProgress(
                                    done,
                                    total,
                                    outcome.feed.id,
                                    error is None,
                                    at=stored_at,
                                    http_status=outcome.http_status,
                                    seconds=outcome.seconds,
                                    new=stored.new,
                                    updated=stored.updated,
                                    error=error,
                                    not_modified=outcome.not_modified and error is None,
                                )
                            )
        seconds = (datetime.now(UTC) - started).total_seconds()
        log.info(
            "refreshed %d feeds in %.1f s: %d ok, %d not modified, %d failed, %d new, %d updated",
            total,
            seconds,
            ok,
            not_modified,
            failed,
            new,
            updated,
        )
        return RefreshSummary(
            total, ok, not_modified, failed, new, updated, tuple(failures), seconds
        )


def fetch_and_parse(
    fetcher: Fetcher,
    parsers: Parsers,
    feed: FeedRecord,
    cancel: threading.Event | None,
    *,
    url: str | None = None,
) -> Outcome:
    """Network and parsing for one feed; every known failure becomes an outcome, never a raise.
    ``url`` is the address to fetch when it is not the stored one (with its password). The
    outcome carries the server's HTTP status and the seconds it took."""
    if cancel is not None and cancel.is_set():
        return Outcome(feed, error="refresh cancelled")
    started = time.monotonic()
    outcome = _fetch_and_parse(fetcher, parsers, feed, url or feed.url)
    return replace(outcome, seconds=time.monotonic() - started)


def _fetch_and_parse(fetcher: Fetcher, parsers: Parsers, feed: FeedRecord, url: str) -> Outcome:
    try:
        fetched = fetcher.fetch(url, etag=feed.etag, last_modified=feed.last_modified)
    except FetchError as exc:
        return Outcome(feed, error=exc.message, retry_after=exc.retry_after, http_status=exc.status)
    if fetched.not_modified or fetched.body is None:
        return Outcome(
            feed,
            not_modified=True,
            etag=fetched.etag or feed.etag,
            last_modified=fetched.last_modified or feed.last_modified,
            http_status=fetched.status,
        )
    try:
        parsed = parsers.parse(fetched.body, fetched.headers, fetched.url)
    except ParseError as exc:
        return Outcome(feed, error=str(exc), http_status=fetched.status)
    except Exception as exc:  # a parser bug must not stop the batch; it is logged with a traceback
        log.exception("unexpected error parsing %s", feed.url)
        return Outcome(
            feed,
            error=f"could not read the feed ({type(exc).__name__})",
            http_status=fetched.status,
        )
    return Outcome(
        feed,
        parsed=parsed,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        http_status=fetched.status,
    )


def _attachments(parsed: ParsedFeed) -> dict[str, list[EnclosureRecord]]:
    """The entries' enclosures by dedup key, as storage keeps them (never downloaded)."""
    return {
        e.dedup_key: [EnclosureRecord(a.url, a.type, a.length) for a in e.enclosures]
        for e in parsed.entries
        if e.enclosures
    }


@dataclass(frozen=True)
class Stored:
    """What storing one outcome did: the articles it added and changed, or why it failed."""

    new: int = 0
    updated: int = 0
    error: str | None = None


def _next_batch(ready: queue.SimpleQueue[Future[Outcome]], left: int) -> list[Future[Outcome]]:
    """The next outcomes to store together: wait for one, then take those that finish within
    :data:`BATCH_SECONDS` of it, up to :data:`BATCH_FEEDS` feeds and :data:`BATCH_ARTICLES`
    entries (or the last feed of the refresh)."""
    batch = [ready.get()]
    entries = _entries(batch[0])
    closes = time.monotonic() + BATCH_SECONDS
    while len(batch) < min(left, BATCH_FEEDS) and entries < BATCH_ARTICLES:
        try:
            future = ready.get(timeout=max(0.0, closes - time.monotonic()))
        except queue.Empty:
            break
        batch.append(future)
        entries += _entries(future)
    return batch


def _entries(future: Future[Outcome]) -> int:
    """How many entries a finished fetch carries (0 for a failure or a 304)."""
    if future.exception() is not None:
        return 0
    parsed = future.result().parsed
    return 0 if parsed is None else len(parsed.entries)


def store_outcomes(db: Database, outcomes: Sequence[Outcome], now: datetime) -> list[Stored]:
    """Write many feeds' outcomes in one transaction; returns what each did, in order.

    Each feed's articles are written in a savepoint of its own, so that a feed whose articles
    cannot be stored (a bug, bad data) is rolled back alone, recorded as a failed fetch, and the
    others' articles are kept. The validators, titles and fetch times of the feeds that
    succeeded (304s included) then go in two statements for all of them
    (:func:`feeds.record_fetch_successes`), in the same transaction as their articles: a feed
    never keeps new validators without its articles. The unread cap is read once for the batch
    (when a feed in it was read), not once for each feed, as is what storing articles reads
    first (:func:`articles.look_up`). A failure of the database itself
    (locked, disk full, damaged) raises, as :func:`store_outcome` does, and the batch is written
    by none.
    """
    results: list[Stored] = [Stored() for _ in outcomes]
    read = any(o.error is None and o.parsed is not None for o in outcomes)
    try:
        with db.write() as s:
            kept = feeds.load(s, [o.feed.id for o in outcomes if o.error is not None])
            cap = articles.unread_cap(s) if read else articles.FROM_SETTING
            firsts = articles.first_fetches(s, [o.feed.id for o in outcomes if o.parsed])
            known = articles.look_up(  # of a repeated feed, for its first outcome: reversed
                s,
                {
                    o.feed.id: incoming(o.parsed)
                    for o in reversed(outcomes)
                    if o.error is None and o.parsed is not None and firsts.get(o.feed.id) is False
                },
            )
            fetched: dict[int, feeds.Fetched] = {}
            for index, outcome in enumerate(outcomes):
                if outcome.error is None and outcome.not_modified:
                    fetched[outcome.feed.id] = _fetched(outcome)
                    continue
                try:
                    with savepoint(s):
                        first = firsts.pop(outcome.feed.id, None)  # a repeat asks again
                        looked = known.pop(outcome.feed.id, None)  # the repeat reads again
                        new, updated = _store_articles(s, outcome, now, cap, first, looked)
                    results[index] = Stored(new, updated)
                    if outcome.error is None:
                        fetched[outcome.feed.id] = _fetched(outcome)
                except Exception as exc:
                    if storage_error(exc, db.path) is not None:
                        raise
                    log.exception("could not store the refresh of feed %d", outcome.feed.id)
                    error = f"its articles could not be stored ({type(exc).__name__})"
                    with s.begin_nested():
                        feeds.record_fetch_failure(s, outcome.feed.id, now, error)
                    results[index] = Stored(error=error)
            feeds.record_fetch_successes(s, fetched, now)  # with the articles, or neither
            del kept  # held till here: the session's identity map keeps loaded feeds weakly
    except StorageError as exc:  # a known failure (disk full, locked): said once, no traceback
        log.warning("could not store the refresh of %d feeds: %s", len(outcomes), exc)
        raise
    return results


def store_outcome(db: Database, outcome: Outcome, now: datetime) -> tuple[int, int]:
    """Write one feed's outcome in a transaction of its own; returns (new, updated) article
    counts. Any failure raises."""
    feed = outcome.feed
    try:
        with db.write() as s:
            return _store_one(s, outcome, now)
    except StorageError as exc:  # a known failure (disk full, locked): said once, no traceback
        log.warning("could not store the refresh of feed %d (%s): %s", feed.id, feed.url, exc)
        raise


def _fetched(outcome: Outcome) -> feeds.Fetched:
    """What a successful fetch stores on its feed: the validators, and the feed's own title
    and site link when it was read (a 304 reads none)."""
    parsed = outcome.parsed
    return feeds.Fetched(
        outcome.etag,
        outcome.last_modified,
        None if parsed is None else parsed.title or None,
        None if parsed is None else parsed.site_url,
    )


def _store_one(s: Session, outcome: Outcome, now: datetime) -> tuple[int, int]:
    """One feed's writes in the session's transaction; returns (new, updated) article counts."""
    counts = _store_articles(s, outcome, now)
    if outcome.error is None:
        feeds.record_fetch_successes(s, {outcome.feed.id: _fetched(outcome)}, now)
    return counts


def _store_articles(
    s: Session,
    outcome: Outcome,
    now: datetime,
    cap: int | articles.FromSetting | None = articles.FROM_SETTING,
    first: bool | None = None,
    known: articles.Known | None = None,
) -> tuple[int, int]:
    """A feed's articles and attachments, or its failure; returns (new, updated) article
    counts. A success's validators and title are the caller's to store. ``cap`` is the unread
    cap, ``first`` whether this is the feed's first fetch and ``known`` what storing its
    articles reads first, when the caller has read them for many feeds
    (:func:`articles.upsert_articles`)."""
    feed = outcome.feed
    if outcome.error is not None:
        feeds.record_fetch_failure(s, feed.id, now, outcome.error, retry_after=outcome.retry_after)
        return 0, 0
    if outcome.parsed is None:
        return 0, 0
    attachments = _attachments(outcome.parsed)
    entries = incoming(outcome.parsed)
    result = articles.upsert_articles(
        s, feed.id, entries, now, cap=cap, attachments=attachments, first=first, known=known
    )
    return result.new, result.updated


def incoming(parsed: ParsedFeed) -> Sequence[articles.Incoming]:
    """A parsed feed's entries as the storage layer takes them (their attachments apart): the
    entries themselves, whose fields are an :class:`~app.storage.record.IncomingArticle`'s,
    rather than a copy of each made in the process that writes."""
    return parsed.entries
