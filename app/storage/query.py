"""The river's reads: articles by filter and page, full-text search, candidates for ranking."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    column,
    func,
    literal,
    select,
    table,
    tuple_,
)
from sqlalchemy.orm import Session

from app.storage import story
from app.storage.batch import chunks, id_list
from app.storage.feeds import in_folder
from app.storage.record import ArticleRecord, Candidate
from app.storage.schema import SORT_TIME, Article, Feed, UTCDateTime, to_utc

_FTS = table("article_fts", column("rowid", Integer), column("article_fts", Text))
_FEED_TITLE = func.coalesce(func.nullif(Feed.title, ""), Feed.url)


def _article_select() -> Select[*tuple[Any, ...]]:
    return select(
        Article.id,
        Article.feed_id,
        _FEED_TITLE,
        Article.url,
        Article.title,
        Article.summary_html,
        Article.summary_text,
        Article.author,
        Article.published,
        Article.fetched,
        Article.read,
        Article.starred,
    ).join(Feed, Feed.id == Article.feed_id)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _record(row: Any) -> ArticleRecord:
    return ArticleRecord(
        id=row[0],
        feed_id=row[1],
        feed_title=row[2],
        url=row[3],
        title=row[4],
        summary_html=row[5],
        summary_text=row[6],
        author=row[7],
        published=row[8],
        fetched=row[9],
        read=bool(row[10]),
        starred=bool(row[11]),
    )


def fts_query(search: str) -> str | None:
    """Turn what the reader typed into a safe FTS5 query, or None when nothing is searchable.

    Every whitespace-separated word becomes a quoted prefix phrase (``"word"*``) and
    the phrases are ANDed, so operators, quotes, parentheses, ``NEAR`` or column
    filters in the input are plain text and can never be a syntax error.
    """
    phrases = [
        '"' + word.replace('"', '""') + '"*'
        for word in search.replace("\x00", " ").split()
        if any(ch.isalnum() for ch in word)
    ]
    return " ".join(phrases) or None


def feed_scope(feed_id: int | None, folder: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if feed_id is not None:
        conditions.append(Article.feed_id == feed_id)
    if folder is not None:
        conditions.append(Article.feed_id.in_(select(Feed.id).where(in_folder(folder))))
    return conditions


def get_article(s: Session, article_id: int) -> ArticleRecord | None:
    """The article with this id, or None."""
    row = s.execute(_article_select().where(Article.id == article_id)).one_or_none()
    return None if row is None else _record(row)


def list_articles(
    s: Session,
    *,
    unread_only: bool = False,
    feed_id: int | None = None,
    folder: str | None = None,
    starred_only: bool = False,
    search: str | None = None,
    ids: Sequence[int] | None = None,
    limit: int = 100,
    offset: int = 0,
    newest_first: bool = True,
    after: tuple[datetime, int] | None = None,
) -> list[ArticleRecord]:
    """Articles matching every given filter, newest first by (published, else fetched), id.

    ``search`` is full-text over titles and summaries and accepts any string. ``after`` (a
    row's :func:`sort_time` and id) starts the page just past that row in this order: unlike an
    offset, it stays put while rows above it leave the filter (as when they are marked read).
    """
    query = _filtered(
        _article_select(),
        unread_only=unread_only,
        feed_id=feed_id,
        folder=folder,
        starred_only=starred_only,
        search=search,
        ids=ids,
    )
    if query is None:
        return []
    if after is not None:
        key = tuple_(SORT_TIME, Article.id)
        mark = tuple_(literal(to_utc(after[0]), UTCDateTime), literal(int(after[1]), Integer))
        query = query.where(key < mark if newest_first else key > mark)
    if newest_first:
        query = query.order_by(SORT_TIME.desc(), Article.id.desc())
    else:
        query = query.order_by(SORT_TIME.asc(), Article.id.asc())
    query = query.limit(max(0, limit)).offset(max(0, offset))
    return [_record(row) for row in s.execute(query)]


def list_candidates(
    s: Session,
    *,
    unread_only: bool = False,
    feed_id: int | None = None,
    folder: str | None = None,
    starred_only: bool = False,
    search: str | None = None,
) -> list[Candidate]:
    """Every article matching the filters (as in :func:`list_articles`), newest first, as the
    few columns ranking needs: cheap enough for 100,000 articles."""
    base: Select[*tuple[Any, ...]] = select(Article.id, Article.feed_id, Article.title, SORT_TIME)
    query = _filtered(
        base,
        unread_only=unread_only,
        feed_id=feed_id,
        folder=folder,
        starred_only=starred_only,
        search=search,
        ids=None,
    )
    if query is None:
        return []
    query = query.order_by(SORT_TIME.desc(), Article.id.desc())
    return [Candidate(row[0], row[1], row[2], _aware(row[3])) for row in s.execute(query)]


def candidate_ids(s: Session, *, unread_only: bool = False) -> list[int]:
    """The ids :func:`list_candidates` lists (unread ones only, or all), in its order: a cheap
    way to tell whether a pool ranked before is still the same, or only lost some rows."""
    query = _filtered(
        select(Article.id),
        unread_only=unread_only,
        feed_id=None,
        folder=None,
        starred_only=False,
        search=None,
        ids=None,
    )
    if query is None:
        return []
    return list(s.scalars(query.order_by(SORT_TIME.desc(), Article.id.desc())))


def sort_time(article: ArticleRecord) -> datetime:
    """The river's time of an article (:data:`SORT_TIME`): published, else fetched."""
    return article.published if article.published is not None else article.fetched


def _filtered(
    query: Select[*tuple[Any, ...]],
    *,
    unread_only: bool,
    feed_id: int | None,
    folder: str | None,
    starred_only: bool,
    search: str | None,
    ids: Sequence[int] | None,
) -> Select[*tuple[Any, ...]] | None:
    """``query`` narrowed by the filters; None when nothing can match.

    Outside one feed's view (and unless ids or stars are asked for), a story folded from
    several feeds shows once: its copies are left out.
    """
    query = query.where(*feed_scope(feed_id, folder))
    if feed_id is None and ids is None and not starred_only:
        query = query.where(story.not_a_copy())
    if unread_only:
        query = query.where(Article.read.is_(False))
    if starred_only:
        query = query.where(Article.starred.is_(True))
    if ids is not None:
        if not ids:
            return None
        query = query.where(Article.id.in_(id_list(ids)))
    if search is not None and search.strip():
        match = fts_query(search)
        if match is None:
            return None
        hits = select(_FTS.c.rowid).where(_FTS.c.article_fts.op("MATCH")(match))
        query = query.where(Article.id.in_(hits))
    return query


def unread_ids(s: Session, *, feed_id: int | None = None, folder: str | None = None) -> list[int]:
    """Ids of unread articles, newest first."""
    query = (
        select(Article.id)
        .where(Article.read.is_(False), *feed_scope(feed_id, folder))
        .order_by(SORT_TIME.desc(), Article.id.desc())
    )
    return list(s.scalars(query))


def article_titles(s: Session, ids: Sequence[int] | None = None) -> dict[int, str]:
    """Titles by article id: of ``ids`` (unknown ids left out), or of every article."""
    if ids is None:
        return {row[0]: row[1] for row in s.execute(select(Article.id, Article.title))}
    titles: dict[int, str] = {}
    for chunk in chunks(list(dict.fromkeys(ids))):
        query = select(Article.id, Article.title).where(Article.id.in_(chunk))
        titles.update({row[0]: row[1] for row in s.execute(query)})
    return titles


def article_times(s: Session, ids: Sequence[int]) -> dict[int, datetime]:
    """The river's time (:data:`SORT_TIME`: published, else fetched) by article id, of ``ids``
    (unknown ids left out): the order Latest shows them in, newest first."""
    times: dict[int, datetime] = {}
    for chunk in chunks(list(dict.fromkeys(ids))):
        query = select(Article.id, SORT_TIME).where(Article.id.in_(chunk))
        times.update({row[0]: _aware(row[1]) for row in s.execute(query)})
    return times


def article_feeds(s: Session, ids: Sequence[int] | None = None) -> dict[int, int]:
    """Feed id by article id: of ``ids`` (unknown ids left out), or of every article."""
    if ids is None:
        return {row[0]: row[1] for row in s.execute(select(Article.id, Article.feed_id))}
    found: dict[int, int] = {}
    for chunk in chunks(list(dict.fromkeys(ids))):
        query = select(Article.id, Article.feed_id).where(Article.id.in_(chunk))
        found.update({row[0]: row[1] for row in s.execute(query)})
    return found
