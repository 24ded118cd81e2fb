"""Subscriptions: adding feeds (with discovery from a site's page), OPML import and export."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.feeds.discovery import discover_feeds
from app.feeds.entry import ParsedFeed, ParseError
from app.feeds.fetcher import Fetcher, FetchError, FetchLimits, FetchResult, check_url
from app.feeds.opml import OpmlError, OpmlFeed, read_opml, write_opml
from app.feeds.opml import save as save_opml
from app.feeds.parser import parse_feed
from app.services import credential, preference
from app.services.credential import redact
from app.services.refresh import Outcome, store_outcome
from app.storage import feeds
from app.storage.database import Database
from app.storage.error import HeedfulError
from app.storage.feeds import DuplicateFeedError
from app.storage.record import FeedRecord

log = logging.getLogger(__name__)

MAX_OPML_BYTES = 5 * 1024 * 1024
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?!\d)")


class SubscriptionError(HeedfulError):
    """A feed could not be added, imported or exported; the message is for the reader."""


@dataclass(frozen=True)
class ImportReport:
    """What an OPML import did."""

    added: int
    skipped: int
    problems: tuple[str, ...]


def normalise_url(url: str) -> str:
    """Trim and check a feed address typed by the reader; a bare host gets ``https://``."""
    url = url.strip()
    if not url:
        raise SubscriptionError("the feed address is empty")
    if "://" not in url:
        if _SCHEME.match(url):  # javascript:, mailto:, data: ... but not host:port
            shown = redact(url)[:200]
            raise SubscriptionError(f"not a web address: {shown!r} (only http and https feeds)")
        url = "https://" + url
    try:
        return check_url(url)
    except FetchError as exc:
        shown = redact(url)[:200]
        raise SubscriptionError(f"not a web address: {shown!r} ({exc.message})") from exc


def add_feed(
    db: Database,
    url: str,
    *,
    folder: str | None = None,
    title: str | None = None,
    limits: FetchLimits | None = None,
) -> FeedRecord:
    """Subscribe to ``url``: a feed, or a web page that links to one.

    The address is fetched once; a page is searched for ``<link rel="alternate">`` feeds and the
    first one that parses is used. The first batch of articles is stored straight away. A
    password in the address is kept apart (:mod:`app.services.credential`), never stored in
    the address nor shown in a message.
    """
    url = normalise_url(url)
    with db.read() as s:
        if feeds.feed_by_url(s, credential.split(url)[0]) is not None:
            raise SubscriptionError(f"already subscribed to {redact(url)}")
    with Fetcher(limits or preference.fetch_limits(db)) as fetcher:
        fetched, parsed = _fetch_feed_or_page(fetcher, url)
    address = credential.carry(url, fetched.url)
    with db.write() as s:
        try:
            feed = feeds.add_feed(
                s,
                credential.split(address)[0],
                title=title or parsed.title or None,
                folder=folder,
                site_url=parsed.site_url,
            )
        except DuplicateFeedError as exc:
            raise SubscriptionError(f"already subscribed to {redact(fetched.url)}") from exc
    credential.stash(db, address)
    outcome = Outcome(feed, parsed=parsed, etag=fetched.etag, last_modified=fetched.last_modified)
    store_outcome(db, outcome, datetime.now(UTC))
    with db.read() as s:
        stored = feeds.get_feed(s, feed.id)
    assert stored is not None
    log.info("subscribed to %s (%d entries)", redact(stored.url), len(parsed.entries))
    return stored


def _fetch_feed_or_page(fetcher: Fetcher, url: str) -> tuple[FetchResult, ParsedFeed]:
    fetched = _fetch(fetcher, url)
    assert fetched.body is not None
    try:
        return fetched, parse_feed(fetched.body, fetched.headers, fetched.url)
    except ParseError as first_error:
        candidates = discover_feeds(fetched.body, fetched.url)
        if not candidates:
            raise SubscriptionError(f"{redact(url)}: {first_error}") from first_error
    for candidate in candidates[:5]:
        try:
            found = _fetch(fetcher, candidate)
            assert found.body is not None
            return found, parse_feed(found.body, found.headers, found.url)
        except (SubscriptionError, ParseError) as exc:
            log.info("discovered feed %s did not work: %s", redact(candidate), exc)
    raise SubscriptionError(f"{redact(url)} links to feeds, but none of them could be read")


def _fetch(fetcher: Fetcher, url: str) -> FetchResult:
    try:
        fetched = fetcher.fetch(url)
    except FetchError as exc:
        raise SubscriptionError(f"{redact(url)}: {exc.message}") from exc
    if fetched.body is None:
        raise SubscriptionError(f"{redact(url)}: the server sent no content")
    return fetched


def import_opml(db: Database, path: Path) -> ImportReport:
    """Subscribe to every feed listed in an OPML file; folders kept, duplicates skipped.

    Nothing is fetched here: the next refresh loads the new feeds. Passwords in the
    addresses are kept apart, as in :func:`add_feed`.
    """
    data = _read_limited(path)
    try:
        result = read_opml(data)
    except OpmlError as exc:
        raise SubscriptionError(f"{path}: {exc}") from exc
    problems = [_redact_line(p) for p in result.problems]
    added = skipped = 0
    secrets: list[str] = []
    with db.write() as s:
        for item in result.feeds:
            bare, password = credential.split(item.url)
            if feeds.feed_by_url(s, bare) is not None:
                skipped += 1
                problems.append(f"already subscribed: {redact(item.url)}")
                continue
            title = None if item.title == item.url else item.title
            feeds.add_feed(s, bare, title=title, folder=item.folder, site_url=item.site_url)
            if password is not None:
                secrets.append(item.url)
            added += 1
    for url in secrets:
        credential.stash(db, url)
    log.info("imported %d feeds from %s (%d skipped)", added, path, skipped)
    return ImportReport(added, skipped, tuple(problems))


def export_opml(db: Database, path: Path, *, with_passwords: bool = False) -> int:
    """Write every subscription to an OPML file; returns how many were written.

    Addresses are written without their passwords unless ``with_passwords`` asks for them.
    A regular file or a new path is replaced atomically, a symbolic link's target likewise,
    a device or pipe written through; see :func:`app.feeds.opml.save`.
    """
    with db.read() as s:
        listed = feeds.list_feeds(s)
    items = [
        OpmlFeed(
            url=credential.reveal(db, f.url) if with_passwords else f.url,
            title=f.title or None,
            folder=f.folder,
            site_url=f.site_url,
        )
        for f in listed
    ]
    data = write_opml(items)
    try:
        save_opml(path, data)  # atomic over a file; written through a device or pipe
    except OpmlError as exc:
        raise SubscriptionError(f"cannot write {path}: {exc.message}") from exc
    return len(items)


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]*:[^/@\s]*@")


def _redact_line(text: str) -> str:
    """A problem line with the password of any address in it hidden."""
    return _USERINFO.sub(r"\1***@", text)


def _read_limited(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_OPML_BYTES + 1)
    except OSError as exc:
        raise SubscriptionError(f"cannot read {path}: {exc.strerror}") from exc
    if len(data) > MAX_OPML_BYTES:
        raise SubscriptionError(f"{path} is larger than {MAX_OPML_BYTES // (1024 * 1024)} MiB")
    return data
