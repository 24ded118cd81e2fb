"""Articles: batch upsert with dedup, the river's queries, flags, search and retention."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    column,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    table,
    text,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from app.storage import churn, story
from app.storage.database import NotFoundError
from app.storage.record import ArticleRecord, Candidate, IncomingArticle, Stats, UpsertResult
from app.storage.schema import (
    SORT_TIME,
    Article,
    Click,
    Feed,
    Feedback,
    Impression,
    ModelVersion,
    Tombstone,
    UTCDateTime,
    to_utc,
)
from app.storage.setting import get_setting

logger = logging.getLogger(__name__)

CHUNK = 500
"""Most ids or keys bound in one ``IN (...)`` list."""

_T = TypeVar("_T")

_ARTICLES = cast(Table, Article.__table__)
_FTS = table("article_fts", column("rowid", Integer), column("article_fts", Text))
_FEED_TITLE = func.coalesce(func.nullif(Feed.title, ""), Feed.url)
_FIELDS = ("url", "title", "summary_html", "summary_text", "author", "published")


def _chunks(values: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _id_list(ids: Sequence[int]) -> list[int] | Select[Any]:
    """Ids for an ``IN``: bound one by one when few, else as one JSON array (no bind limit)."""
    unique = list(dict.fromkeys(int(i) for i in ids))
    if len(unique) <= CHUNK:
        return unique
    values = func.json_each(json.dumps(unique)).table_valued("value")
    return select(values.c.value)


def _incoming_values(item: IncomingArticle, now: datetime) -> dict[str, Any]:
    """Column values of an incoming entry; a date in the future is clamped to ``now``."""
    published = None if item.published is None else min(to_utc(item.published), now)
    return {
        "url": item.url,
        "title": item.title,
        "summary_html": item.summary_html,
        "summary_text": item.summary_text,
        "author": item.author,
        "published": published,
    }


def upsert_articles(
    s: Session, feed_id: int, items: Sequence[IncomingArticle], now: datetime
) -> UpsertResult:
    """Insert new entries of a feed and update changed ones in place.

    Entries are matched on (feed, dedup key); a key given twice counts once and its
    last version wins. An entry with a new key but the title and link of a stored article
    whose own key this fetch lacks is that article under a new GUID (:mod:`churn`): an
    update that takes the new key, not a new article. An update changes the content only,
    never the read or starred flags. Keys of purged articles (tombstones) are skipped. A
    publication date in the future is clamped to ``now``, so that it cannot pin an article
    to the top of the river. A feed deleted meanwhile gets nothing. After inserting, the
    feed's unread articles are capped (:func:`cap_unread`). One query per chunk of keys,
    not one per entry.
    """
    if not items:
        return UpsertResult(0, 0, ())
    if s.scalar(select(Feed.id).where(Feed.id == feed_id)) is None:
        logger.info("feed %d was deleted before its articles were stored", feed_id)
        return UpsertResult(0, 0, ())
    now = to_utc(now)
    latest: dict[str, IncomingArticle] = {}
    for item in items:
        latest[item.dedup_key] = item
    keys = list(latest)
    existing: dict[str, dict[str, Any]] = {}
    buried: set[str] = set()
    columns = [Article.id, Article.dedup_key, *(getattr(Article, name) for name in _FIELDS)]
    for chunk in _chunks(keys):
        rows = s.execute(
            select(*columns).where(Article.feed_id == feed_id, Article.dedup_key.in_(chunk))
        )
        for row in rows.mappings():
            existing[row["dedup_key"]] = dict(row)
        buried.update(
            s.scalars(
                select(Tombstone.dedup_key).where(
                    Tombstone.feed_id == feed_id, Tombstone.dedup_key.in_(chunk)
                )
            )
        )
    churned = _churned(s, feed_id, latest, existing, buried, columns)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    rekeys: list[dict[str, Any]] = []
    for key, item in latest.items():
        values = _incoming_values(item, now)
        old = existing.get(key)
        if old is None and key in churned:
            old = churned[key]
            rekeys.append({"_id": old["id"], "new_key": key})
        if old is not None:
            if values["published"] == now and old["published"] is not None:
                values["published"] = old["published"]  # still in the future: keep the clamp
            if any(old[name] != values[name] for name in _FIELDS):
                fresh = {f"new_{name}": value for name, value in values.items()}
                updates.append({"_id": old["id"], "new_updated": now, **fresh})
        elif key not in buried:
            inserts.append(
                {"feed_id": feed_id, "dedup_key": key, "fetched": now, "read": False,
                 "starred": False, **values}
            )  # fmt: skip
    new_ids: tuple[int, ...] = ()
    if inserts:
        s.execute(insert(_ARTICLES), inserts)
        ids_by_key: dict[str, int] = {}
        inserted = [row["dedup_key"] for row in inserts]
        for chunk in _chunks(inserted):
            query = select(Article.dedup_key, Article.id).where(
                Article.feed_id == feed_id, Article.dedup_key.in_(chunk)
            )
            ids_by_key.update({row[0]: row[1] for row in s.execute(query)})
        new_ids = tuple(ids_by_key[key] for key in inserted)
    if rekeys:
        statement_k = (
            update(_ARTICLES)
            .where(_ARTICLES.c.id == bindparam("_id"))
            .values(dedup_key=bindparam("new_key"))
        )
        s.execute(statement_k, rekeys)
    if updates:
        statement_u = (
            update(_ARTICLES)
            .where(_ARTICLES.c.id == bindparam("_id"))
            .values({name: bindparam(f"new_{name}") for name in (*_FIELDS, "updated")})
        )
        s.execute(statement_u, updates)
    if new_ids:
        purged = set(cap_unread(s, feed_id, unread_cap(s), now))
        new_ids = tuple(i for i in new_ids if i not in purged)
    if inserts or updates:
        logger.debug(
            "feed %d: %d new, %d updated (%d under a new GUID)",
            feed_id, len(new_ids), len(updates), len(rekeys),
        )  # fmt: skip
    return UpsertResult(new=len(new_ids), updated=len(updates), new_ids=new_ids)


def _churned(
    s: Session,
    feed_id: int,
    latest: dict[str, IncomingArticle],
    existing: dict[str, dict[str, Any]],
    buried: set[str],
    columns: Sequence[Any],
) -> dict[str, dict[str, Any]]:
    """The stored article that each new key is under a new GUID (see :mod:`churn`). Keys whose
    title and link belong to a purged article are added to ``buried``."""
    pairs = {
        key: (item.title, item.url)
        for key, item in latest.items()
        if item.url and key not in existing and key not in buried
    }
    if not pairs:
        return {}
    dead = churn.buried_content(
        s, feed_id, [c for c in (churn.content_key(*p) for p in pairs.values()) if c]
    )
    stored = churn.stored_by_content(s, feed_id, pairs.values(), columns)
    claimed = {row["id"] for row in existing.values()}
    found: dict[str, dict[str, Any]] = {}
    for key, (title, url) in pairs.items():
        if churn.content_key(title, url) in dead:
            buried.add(key)
            continue
        row = stored.get((title, url))
        if row is not None and row["id"] not in claimed:
            claimed.add(row["id"])
            found[key] = row
    return found


UNREAD_CAP_SETTING = "feed_unread_cap"
DEFAULT_UNREAD_CAP = 2000
"""Most unread articles a feed keeps (setting ``feed_unread_cap``; 0 or less: no cap). The
default is the parser's entry cap per fetch, so that no single fetch is cut short."""


def unread_cap(s: Session) -> int | None:
    """The per-feed cap on unread articles, None when the reader turned it off."""
    raw = get_setting(s, UNREAD_CAP_SETTING)
    try:
        cap = DEFAULT_UNREAD_CAP if raw is None else int(raw)
    except ValueError:
        logger.warning("ignoring the unreadable %s setting %r", UNREAD_CAP_SETTING, raw)
        cap = DEFAULT_UNREAD_CAP
    return cap if cap > 0 else None


def cap_unread(s: Session, feed_id: int, cap: int | None, now: datetime) -> list[int]:
    """Purge the feed's oldest unread articles beyond the newest ``cap``; returns their ids.

    Never purged: starred articles and those the reader's signal needs (clicked, given
    feedback, on a clicked screen). Each purged one is tombstoned under its dedup key and its
    title and link, so neither the feed nor GUID churn brings it back.
    """
    if cap is None:
        return []
    unread = and_(Article.feed_id == feed_id, Article.read.is_(False))
    count = s.scalar(select(func.count()).select_from(Article).where(unread)) or 0
    if count <= cap:
        return []
    newest = (
        select(Article.id).where(unread).order_by(SORT_TIME.desc(), Article.id.desc()).limit(cap)
    )
    doomed_rows = s.execute(
        select(Article.id, Article.dedup_key, Article.title, Article.url).where(
            unread,
            Article.starred.is_(False),
            Article.id.not_in(newest),
            ~_kept_for_training(),
        )
    ).all()
    if not doomed_rows:
        return []
    stones: list[dict[str, Any]] = []
    for _, key, title, url in doomed_rows:
        stones.append({"feed_id": feed_id, "dedup_key": key, "purged": now})
        content = churn.content_key(title, url)
        if content is not None:
            stones.append({"feed_id": feed_id, "dedup_key": content, "purged": now})
    s.execute(insert(Tombstone).prefix_with("OR IGNORE"), stones)
    ids = [row[0] for row in doomed_rows]
    for chunk in _chunks(ids):
        s.execute(delete(Article).where(Article.id.in_(chunk)))
    s.execute(
        update(_ARTICLES).where(_ARTICLES.c.story_id.in_(_id_list(ids))).values(story_id=None)
    )
    logger.info("feed %d: purged %d unread articles beyond the cap of %d", feed_id, len(ids), cap)
    return ids


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


def _feed_scope(feed_id: int | None, folder: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if feed_id is not None:
        conditions.append(Article.feed_id == feed_id)
    if folder is not None:
        conditions.append(Article.feed_id.in_(select(Feed.id).where(Feed.folder == folder)))
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
    query = query.where(*_feed_scope(feed_id, folder))
    if feed_id is None and ids is None and not starred_only:
        query = query.where(story.not_a_copy())
    if unread_only:
        query = query.where(Article.read.is_(False))
    if starred_only:
        query = query.where(Article.starred.is_(True))
    if ids is not None:
        if not ids:
            return None
        query = query.where(Article.id.in_(_id_list(ids)))
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
        .where(Article.read.is_(False), *_feed_scope(feed_id, folder))
        .order_by(SORT_TIME.desc(), Article.id.desc())
    )
    return list(s.scalars(query))


def article_titles(s: Session, ids: Sequence[int] | None = None) -> dict[int, str]:
    """Titles by article id: of ``ids`` (unknown ids left out), or of every article."""
    if ids is None:
        return {row[0]: row[1] for row in s.execute(select(Article.id, Article.title))}
    titles: dict[int, str] = {}
    for chunk in _chunks(list(dict.fromkeys(ids))):
        query = select(Article.id, Article.title).where(Article.id.in_(chunk))
        titles.update({row[0]: row[1] for row in s.execute(query)})
    return titles


def article_feeds(s: Session, ids: Sequence[int] | None = None) -> dict[int, int]:
    """Feed id by article id: of ``ids`` (unknown ids left out), or of every article."""
    if ids is None:
        return {row[0]: row[1] for row in s.execute(select(Article.id, Article.feed_id))}
    found: dict[int, int] = {}
    for chunk in _chunks(list(dict.fromkeys(ids))):
        query = select(Article.id, Article.feed_id).where(Article.id.in_(chunk))
        found.update({row[0]: row[1] for row in s.execute(query)})
    return found


def set_read(s: Session, ids: Sequence[int], read: bool, *, now: datetime | None = None) -> int:
    """Set the read flag of these articles; returns how many actually changed.

    Marking read stamps ``read_at`` (``now``, else the clock), which retention counts from;
    marking unread clears it. The other copies of a folded story change with them.
    """
    read_at = (to_utc(now) if now is not None else datetime.now(UTC)) if read else None
    changed = 0
    for chunk in _chunks(sorted(story.members(s, ids))):  # copies of a story go together
        statement = (
            update(_ARTICLES)
            .where(_ARTICLES.c.id.in_(chunk), _ARTICLES.c.read.is_not(read))
            .values(read=read, read_at=read_at)
        )
        result: Any = s.execute(statement)
        changed += result.rowcount
    return changed


def set_starred(s: Session, article_id: int, starred: bool) -> None:
    """Star or unstar an article; raises NotFoundError for an unknown id."""
    statement = update(_ARTICLES).where(_ARTICLES.c.id == article_id).values(starred=starred)
    result: Any = s.execute(statement)
    if result.rowcount == 0:
        raise NotFoundError(f"There is no article {article_id}.")


def mark_all_read(
    s: Session,
    *,
    feed_id: int | None = None,
    folder: str | None = None,
    upto: datetime | None = None,
) -> int:
    """Mark unread articles read (of a feed, a folder, or all); returns how many.

    With ``upto``, only articles fetched at or before it, so that what arrived after
    the reader looked at the list stays unread. ``read_at`` is stamped with ``upto``, else
    the clock.
    """
    conditions = [Article.read.is_(False), *_feed_scope(feed_id, folder)]
    if upto is not None:
        conditions.append(Article.fetched <= to_utc(upto))
    read_at = to_utc(upto) if upto is not None else datetime.now(UTC)
    result: Any = s.execute(update(_ARTICLES).where(*conditions).values(read=True, read_at=read_at))
    return int(result.rowcount) + story.read_together(s, read_at)


_VISIBLE_IDS = text(
    "SELECT CAST(value AS INTEGER) AS value FROM clicks, json_each(clicks.visible) "
    "WHERE json_valid(clicks.visible) AND json_type(clicks.visible) = 'array'"
).columns(column("value", Integer))
"""Every article id that was on screen beside a click (``clicks.visible``)."""


def _kept_for_training() -> ColumnElement[bool]:
    """True for an article that the reader's signal needs: clicked, given feedback, shown
    on a screen (impression session) that holds a click, or on screen beside a click.

    A click trains against the rows passed over on its own screen; purging those rows would
    cascade their impressions away and leave the kept clicks without negatives.
    """
    clicked = exists().where(Click.article_id == Article.id)
    judged = exists().where(Feedback.article_id == Article.id)
    on_clicked_screen = exists().where(
        Impression.article_id == Article.id,
        Impression.session.in_(select(Click.session)),
    )
    return or_(clicked, judged, on_clicked_screen, Article.id.in_(_VISIBLE_IDS))


def purge_old(
    s: Session, now: datetime, older_than_days: int, *, unread_days: int | None = None
) -> int:
    """Delete read articles last read more than ``older_than_days`` ago; returns how many.

    Age counts from ``read_at``, never from publication: an old article read a minute ago
    stays for the whole window. Read articles without ``read_at`` (profiles from before
    schema v3) are stamped ``now`` first, so their window starts at the first purge after
    the upgrade. Unread articles are purged only when ``unread_days`` is given, counting
    from when they were fetched. Never purged: starred articles, clicked ones, ones given
    feedback, and the articles on the screens of kept clicks (their impressions are the
    clicks' negatives). Each purged (feed, dedup key) is kept as a tombstone so the feed
    cannot bring it back unread; copies folded into a purged story become their own story.
    """
    if older_than_days < 0:
        raise ValueError(f"older_than_days must be >= 0, got {older_than_days}")
    if unread_days is not None and unread_days < 0:
        raise ValueError(f"unread_days must be >= 0, got {unread_days}")
    now = to_utc(now)
    stamped: Any = s.execute(
        update(_ARTICLES)
        .where(_ARTICLES.c.read.is_(True), _ARTICLES.c.read_at.is_(None))
        .values(read_at=now)
    )
    if stamped.rowcount:
        logger.info(
            "%d read articles had no read time; their retention starts now", stamped.rowcount
        )
    cutoff = now - timedelta(days=older_than_days)
    expired = and_(Article.read.is_(True), Article.read_at < cutoff)
    if unread_days is not None:
        unread_cutoff = now - timedelta(days=unread_days)
        expired = or_(expired, and_(Article.read.is_(False), Article.fetched < unread_cutoff))
    doomed = and_(expired, Article.starred.is_(False), ~_kept_for_training())
    bury = (
        insert(Tombstone)
        .prefix_with("OR IGNORE")
        .from_select(
            ["feed_id", "dedup_key", "purged"],
            select(Article.feed_id, Article.dedup_key, literal(now, UTCDateTime)).where(doomed),
        )
    )
    s.execute(bury)
    s.execute(churn.bury_content(doomed, now))  # nor under a new GUID
    result: Any = s.execute(delete(Article).where(doomed))
    purged = int(result.rowcount)
    if purged:
        s.execute(
            update(_ARTICLES)
            .where(
                _ARTICLES.c.story_id.is_not(None),
                _ARTICLES.c.story_id.not_in(select(_ARTICLES.c.id)),
            )
            .values(story_id=None)
        )
        logger.info("purged %d articles read more than %d days ago", purged, older_than_days)
    return purged


def stats(s: Session) -> Stats:
    """Counts over the whole profile, in one query."""
    count = func.count()
    row = s.execute(
        select(
            select(count).select_from(Feed).scalar_subquery(),
            select(count).select_from(Feed).where(Feed.error_count > 0).scalar_subquery(),
            select(count).select_from(Article).scalar_subquery(),
            select(count).select_from(Article).where(Article.read.is_(False)).scalar_subquery(),
            select(count).select_from(Article).where(Article.starred.is_(True)).scalar_subquery(),
            select(count).select_from(Impression).scalar_subquery(),
            select(count).select_from(Click).scalar_subquery(),
            select(func.max(ModelVersion.id)).scalar_subquery(),
        )
    ).one()
    return Stats(
        feeds=int(row[0]),
        feeds_failed=int(row[1]),
        articles=int(row[2]),
        unread=int(row[3]),
        starred=int(row[4]),
        impressions=int(row[5]),
        clicks=int(row[6]),
        model_version=None if row[7] is None else int(row[7]),
    )
