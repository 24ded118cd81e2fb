"""Folders of subscriptions: what one holds, renaming it, deleting it with its feeds, and
moving feeds between folders.

A folder is the name stored on its feeds; a nested folder's name is its path ("News/Tech", as
OPML import writes it), so a folder holds its own feeds and those of every folder inside it,
and renaming or deleting it carries them along.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from app.storage import feeds
from app.storage.database import Database
from app.storage.error import HeedfulError
from app.storage.record import FeedRecord

log = logging.getLogger(__name__)

SEPARATOR = "/"


class FolderError(HeedfulError, ValueError):
    """A folder name that cannot be used; the message is for the reader."""


@dataclass(frozen=True)
class FolderContents:
    """The feeds a folder holds (its inner folders' included) and their article count."""

    name: str
    feed_ids: tuple[int, ...]
    articles: int


def holds(folder: str, feed_folder: str | None) -> bool:
    """Whether a feed filed under ``feed_folder`` is in ``folder`` or a folder inside it."""
    if feed_folder is None:
        return False
    return feed_folder == folder or feed_folder.startswith(folder + SEPARATOR)


def contents_of(name: str, records: Sequence[FeedRecord]) -> FolderContents:
    """What ``name`` holds among ``records``."""
    inside = [f for f in records if holds(name, f.folder)]
    return FolderContents(name, tuple(f.id for f in inside), sum(f.total for f in inside))


def contents(db: Database, name: str) -> FolderContents:
    """What the folder ``name`` holds now."""
    with db.read() as s:
        return contents_of(name, feeds.list_feeds(s))


def clean_name(name: str) -> str:
    """``name`` without blanks around it and its parts; raises FolderError when nothing is
    left of it or of one of its parts."""
    parts = [part.strip() for part in name.split(SEPARATOR)]
    if not all(parts):
        raise FolderError("A folder needs a name (and no empty part between slashes).")
    return SEPARATOR.join(parts)


@dataclass(frozen=True)
class Renamed:
    """A folder's old and new name and how many feeds moved."""

    old: str
    new: str
    feeds: int


def rename(db: Database, old: str, new: str) -> Renamed:
    """File every feed of ``old`` (and of the folders inside it) under ``new``. Renaming onto
    an existing folder merges the two."""
    new = clean_name(new)
    moved = 0
    with db.write() as s:
        for feed in feeds.list_feeds(s):
            if feed.folder is not None and holds(old, feed.folder):
                feeds.update_feed(s, feed.id, folder=new + feed.folder[len(old) :])
                moved += 1
    log.info("folder renamed, %d feeds moved", moved)
    return Renamed(old, new, moved)


def delete(db: Database, name: str) -> FolderContents:
    """Unsubscribe from every feed of the folder, each as deleting that one feed does
    (:func:`app.storage.feeds.delete_feed`); returns what was deleted."""
    with db.write() as s:
        found = contents_of(name, feeds.list_feeds(s))
        for feed_id in found.feed_ids:
            feeds.delete_feed(s, feed_id)
    log.info("folder deleted with %d feeds", len(found.feed_ids))
    return found


def move(db: Database, feed_ids: Sequence[int], folder: str | None) -> list[FeedRecord]:
    """File the feeds under ``folder`` (None: no folder); returns them as they are now.
    Raises NotFoundError when one of them is gone."""
    target = None if folder is None else clean_name(folder)
    with db.write() as s:
        moved = [feeds.update_feed(s, feed_id, folder=target) for feed_id in feed_ids]
    log.info("%d feeds moved", len(moved))
    return moved
