"""Refresh: fetch → parse → store for every due feed, one failing feed never stopping the batch."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from app.feeds.entry import ParsedFeed, ParseError
from app.feeds.fetcher import Fetcher, FetchError, FetchLimits
from app.feeds.parser import parse_feed
from app.services import credential, lifeline, preference
from app.storage import articles, enclosure, feeds
from app.storage.database import Database, StorageError
from app.storage.enclosure import EnclosureRecord
from app.storage.record import FeedRecord, IncomingArticle

log = logging.getLogger(__name__)

PROCESS_PARSE_MIN_FEEDS = 24
"""Below this many feeds, starting parser processes costs more than it saves."""


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
            return pool.submit(parse_feed, body, dict(headers), url).result()
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
            elif due_only:
                chosen = feeds.due_feeds(s, now)
            else:
                chosen = [f for f in feeds.list_feeds(s) if f.enabled]
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
                pending: list[Future[Outcome]] = [
                    pool.submit(
                        fetch_and_parse,
                        fetcher,
                        parsers,
                        feed,
                        cancel,
                        url=credential.reveal(self._db, feed.url),  # its password put back
                    )
                    for feed in chosen
                ]
                for done, future in enumerate(as_completed(pending), start=1):
                    outcome = future.result()
                    stored_at = datetime.now(UTC)
                    result = store_outcome(self._db, outcome, stored_at)
                    if outcome.error is not None:
                        failed += 1
                        failures.append(
                            FeedFailure(outcome.feed.id, outcome.feed.url, outcome.error)
                        )
                    elif outcome.not_modified:
                        not_modified += 1
                    else:
                        ok += 1
                    new += result[0]
                    updated += result[1]
                    if progress is not None:
                        progress(
                            RefreshProgress(
                                done,
                                total,
                                outcome.feed.id,
                                outcome.error is None,
                                at=stored_at,
                                http_status=outcome.http_status,
                                seconds=outcome.seconds,
                                new=result[0],
                                updated=result[1],
                                error=outcome.error,
                                not_modified=outcome.not_modified,
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


def store_outcome(db: Database, outcome: Outcome, now: datetime) -> tuple[int, int]:
    """Write one feed's outcome; returns (new, updated) article counts."""
    feed = outcome.feed
    try:
        with db.write() as s:
            if outcome.error is not None:
                feeds.record_fetch_failure(
                    s, feed.id, now, outcome.error, retry_after=outcome.retry_after
                )
                return 0, 0
            counts = (0, 0)
            title = site_url = None
            if outcome.parsed is not None:
                items = [
                    IncomingArticle(
                        dedup_key=e.dedup_key,
                        url=e.url,
                        title=e.title,
                        summary_html=e.summary_html,
                        summary_text=e.summary_text,
                        author=e.author,
                        published=e.published,
                    )
                    for e in outcome.parsed.entries
                ]
                result = articles.upsert_articles(s, feed.id, items, now)
                enclosure.store_by_key(s, feed.id, _attachments(outcome.parsed))
                counts = (result.new, result.updated)
                title = outcome.parsed.title or None
                site_url = outcome.parsed.site_url
            feeds.record_fetch_success(
                s,
                feed.id,
                now,
                etag=outcome.etag,
                last_modified=outcome.last_modified,
                title=title,
                site_url=site_url,
            )
            return counts
    except StorageError as exc:  # a known failure (disk full, locked): said once, no traceback
        log.warning("could not store the refresh of feed %d (%s): %s", feed.id, feed.url, exc)
        raise
