"""SQLAlchemy models of the current schema.

The tables themselves are created by the frozen SQL in ``app.storage.migration``;
these models describe the result so that queries can be written against them, and a
test checks that the two agree. ORM rows never leave the storage layer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def to_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime; a naive value is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored as naive UTC text and read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Convert an aware (or naive, taken as UTC) datetime to naive UTC."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        return to_utc(value).replace(tzinfo=None)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, :meth:`process_bind_param` and SQLite's own text format in one step:
        ``isoformat`` writes the same text ("2024-05-01 12:00:00.000000") as SQLAlchemy's
        format string, at a third of the cost of the three calls it replaces; a refresh binds
        two dates for every article it stores."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: Any) -> str | None:
            moment = self.process_bind_param(value, dialect)  # the one rule for the value
            return None if moment is None else moment.isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Attach UTC to the stored naive datetime."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base of the storage models."""


class Feed(Base):
    """A subscribed feed; ``title_auto`` is true while the title came from the feed."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    title_auto: Mapped[bool] = mapped_column(Boolean, default=True)
    site_url: Mapped[str | None] = mapped_column(Text)
    folder: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_fetch: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_fetch: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    update_interval: Mapped[int] = mapped_column(Integer, default=1800)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    full_text: Mapped[bool] = mapped_column(Boolean, default=False)


class Article(Base):
    """One entry of a feed, unique per (feed, dedup key)."""

    __tablename__ = "articles"
    __table_args__ = (
        Index("ux_articles_feed_key", "feed_id", "dedup_key", unique=True),
        Index("ix_articles_starred", "starred"),
        Index("ix_articles_story", "story_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    dedup_key: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    summary_html: Mapped[str] = mapped_column(Text, default="")
    summary_text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(Text)
    published: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched: Mapped[datetime] = mapped_column(UTCDateTime)
    updated: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    starred: Mapped[bool] = mapped_column(Boolean, default=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    full_html: Mapped[str | None] = mapped_column(Text)
    story_id: Mapped[int | None] = mapped_column(Integer)
    """The article this one was folded into as the same story (None: its own story)."""


SORT_TIME = func.coalesce(Article.published, Article.fetched)
"""The river's time of an article: when it was published, else when it was fetched.

Queries must use exactly this expression for SQLite to use the indexes below.
"""

Index("ix_articles_time", SORT_TIME)
Index("ix_articles_read", Article.read, SORT_TIME)
Index("ix_articles_feed_read", Article.feed_id, Article.read, SORT_TIME)


class Tombstone(Base):
    """The (feed, dedup key) of a purged article, so the feed cannot bring it back."""

    __tablename__ = "tombstones"

    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
    )
    dedup_key: Mapped[str] = mapped_column(Text, primary_key=True)
    purged: Mapped[datetime] = mapped_column(UTCDateTime)


class Impression(Base):
    """An article shown to the reader, once per session."""

    __tablename__ = "impressions"
    __table_args__ = (
        Index("ux_impressions_session_article", "session", "article_id", unique=True),
        Index("ix_impressions_time", "time"),
        Index("ix_impressions_article_time", "article_id", "time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    session: Mapped[str] = mapped_column(Text)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    position: Mapped[int | None] = mapped_column(Integer)


class Click(Base):
    """An article the reader opened."""

    __tablename__ = "clicks"
    __table_args__ = (Index("ix_clicks_article", "article_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    session: Mapped[str] = mapped_column(Text)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    dwell: Mapped[float | None] = mapped_column(Float)
    position: Mapped[int | None] = mapped_column(Integer)
    visible: Mapped[str | None] = mapped_column(Text)
    """JSON array of the article ids on screen when the click happened, top row first."""


class Screen(Base):
    """One visit of one view: its rows' impressions and clicks carry its ``key``."""

    __tablename__ = "screens"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    view: Mapped[str] = mapped_column(Text)
    filter: Mapped[str] = mapped_column(Text, default="{}")
    ordering: Mapped[str] = mapped_column(Text, default="latest")
    multi_feed: Mapped[bool] = mapped_column(Boolean, default=True)
    started: Mapped[datetime] = mapped_column(UTCDateTime)


class Feedback(Base):
    """An explicit judgement by the reader; ``undone`` is set when taken back."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_time", "time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    word: Mapped[str | None] = mapped_column(Text)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    undone: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Enclosure(Base):
    """A file the feed attached to an article (podcast audio, video, image): never fetched
    unless the reader asks."""

    __tablename__ = "enclosures"
    __table_args__ = (Index("ux_enclosures_article_url", "article_id", "url", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(Text)
    length: Mapped[int | None] = mapped_column(Integer)


class ModelVersion(Base):
    """A trained checkpoint; ``metrics`` is a JSON object."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    clicks_used: Mapped[int] = mapped_column(Integer, default=0)
    metrics: Mapped[str] = mapped_column(Text, default="{}")


class Setting(Base):
    """A key/value preference."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text)
