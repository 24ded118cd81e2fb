"""Plain, immutable records: the only things that leave the storage layer.

Every datetime in a record is timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

DEFAULT_UPDATE_INTERVAL = 1800
"""Seconds between two fetches of a healthy feed, unless the feed says otherwise."""

MetricValue = float | str | int | None


@dataclass(frozen=True, slots=True)
class FeedRecord:
    """A subscribed feed with its fetch state and article counts.

    ``title`` falls back to the URL while the feed has no title yet.
    """

    id: int
    url: str
    title: str
    site_url: str | None
    folder: str | None
    etag: str | None
    last_modified: str | None
    last_fetch: datetime | None
    next_fetch: datetime | None
    error_count: int
    last_error: str | None
    update_interval: int
    enabled: bool
    unread: int
    total: int


@dataclass(frozen=True, slots=True)
class IncomingArticle:
    """One normalised feed entry on its way into the database.

    ``dedup_key`` identifies the entry within its feed (a hash of the GUID, else
    the link, else title and date). A naive ``published`` is taken as UTC.
    """

    dedup_key: str
    url: str | None
    title: str
    summary_html: str
    summary_text: str
    author: str | None
    published: datetime | None


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """A stored article as the reader sees it."""

    id: int
    feed_id: int
    feed_title: str
    url: str | None
    title: str
    summary_html: str
    summary_text: str
    author: str | None
    published: datetime | None
    fetched: datetime
    read: bool
    starred: bool


@dataclass(frozen=True, slots=True)
class Candidate:
    """What ranking needs of an article, and no more: id, feed, title and its time
    (published, else fetched; aware UTC)."""

    id: int
    feed_id: int
    title: str
    time: datetime


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What one batch of incoming articles changed: counts and the ids of new rows."""

    new: int
    updated: int
    new_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ClickRecord:
    """One opened article; ``dwell`` is seconds spent reading, when known.

    ``session`` is the key of the screen it was opened from (or, in profiles from before
    screens, of the window session); ``position`` is its row there and ``visible`` the
    articles on screen at that moment, top row first (empty when unknown).
    """

    id: int
    article_id: int
    time: datetime
    session: str
    dwell: float | None
    position: int | None = None
    visible: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ScreenRecord:
    """One visit of one view: ``view`` is its kind (``foryou``, ``latest``, ``feed``,
    ``folder``, ``starred``, ``search``, ``headless``), ``ordering`` ``ranked`` or ``latest``;
    ``multi_feed`` is false where every row comes from one feed."""

    key: str
    view: str
    filter: str
    ordering: str
    multi_feed: bool
    started: datetime


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """An explicit judgement the reader gave; ``undone`` is when it was taken back."""

    id: int
    kind: str
    article_id: int | None
    feed_id: int | None
    word: str | None
    time: datetime
    undone: datetime | None


@dataclass(frozen=True, slots=True)
class ImpressionRecord:
    """One article shown to the reader in a session; ``position`` is its row, when known."""

    article_id: int
    time: datetime
    session: str
    position: int | None


@dataclass(frozen=True, slots=True)
class ModelVersionRecord:
    """One trained model checkpoint and what it was trained on."""

    id: int
    path: str
    sha256: str
    created: datetime
    clicks_used: int
    metrics: dict[str, MetricValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts over the whole profile."""

    feeds: int
    feeds_failed: int
    articles: int
    unread: int
    starred: int
    impressions: int
    clicks: int
    model_version: int | None
