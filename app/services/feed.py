"""Editing subscriptions from the window: a feed's properties, deleting it, refreshing it now."""

from __future__ import annotations

import logging
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
