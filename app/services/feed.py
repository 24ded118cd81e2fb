"""Editing subscriptions from the window: a feed's properties, deleting it, refreshing it now."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from app.services import credential
from app.storage import feeds
from app.storage.database import Database
from app.storage.record import FeedRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedEdit:
    """The reader-editable properties of a feed.

    ``title`` None leaves the title as it is; an empty title goes back to the feed's own.
    """

    title: str | None
    folder: str | None
    url: str
    update_interval: int
    enabled: bool


def get(db: Database, feed_id: int) -> FeedRecord | None:
    """One feed with its counts and fetch state, or None."""
    with db.read() as s:
        return feeds.get_feed(s, feed_id)


def folders(db: Database) -> list[str]:
    """Every folder name in use, sorted."""
    with db.read() as s:
        return feeds.folders(s)


def update(db: Database, feed_id: int, edit: FeedEdit) -> FeedRecord:
    """Apply ``edit``; raises StorageError (NotFoundError, DuplicateFeedError) or ValueError.
    A password typed into the address is kept apart (:mod:`app.services.credential`)."""
    url = credential.stash(db, edit.url)
    with db.write() as s:
        if edit.title is not None:
            feeds.update_feed(s, feed_id, title=edit.title)
        record = feeds.update_feed(
            s,
            feed_id,
            folder=edit.folder or None,
            url=url,
            update_interval=edit.update_interval,
            enabled=edit.enabled,
        )
    log.info("feed %d edited", feed_id)
    return record


def delete(db: Database, feed_id: int) -> None:
    """Unsubscribe: the feed goes with its articles, impressions and clicks."""
    with db.write() as s:
        feeds.delete_feed(s, feed_id)
    log.info("feed %d deleted", feed_id)


def is_failing(feed: FeedRecord) -> bool:
    """Whether the feed's last refresh failed (the sidebar marks it in red)."""
    return feed.error_count > 0 and feed.last_error is not None


def failing(records: Sequence[FeedRecord]) -> list[FeedRecord]:
    """The feeds whose last refresh failed."""
    return [f for f in records if is_failing(f)]


def delete_many(db: Database, feed_ids: Sequence[int]) -> int:
    """Unsubscribe from several feeds in one transaction, each as :func:`delete` does; feeds
    already gone are passed over. Returns how many were deleted."""
    deleted = 0
    with db.write() as s:
        for feed_id in feed_ids:
            if feeds.get_feed(s, feed_id) is not None:
                feeds.delete_feed(s, feed_id)
                deleted += 1
    log.info("%d feeds deleted", deleted)
    return deleted
