"""Stories: copies of one story from several feeds, folded into one canonical article.

``articles.story_id`` is None for an article that is its own story (the canonical one
included), the canonical article's id for a folded copy, and the article's own id for one
the reader separated, which is never folded again. Nothing here deletes an article.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from app.storage.schema import SORT_TIME, Article, Feed, to_utc

_ARTICLES = cast(Table, Article.__table__)
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class StoryRow:
    """What story detection reads of one article."""

    id: int
    feed_id: int
    title: str
    summary: str
    time: datetime
    story_id: int | None
    read: bool


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def not_a_copy() -> ColumnElement[bool]:
    """True for an article shown as its own row: not folded into another one."""
    return or_(Article.story_id.is_(None), Article.story_id == Article.id)


def read_together(s: Session, read_at: datetime) -> int:
    """After a bulk mark-read stamped ``read_at``, mark the other copies of the stories it
    touched read as well (canonical articles first, then their copies); returns how many."""
    stamp = to_utc(read_at)
    just_read = and_(Article.read.is_(True), Article.read_at == stamp)
    roots = select(Article.story_id).where(
        just_read, Article.story_id.is_not(None), Article.story_id != Article.id
    )
    canonicals: Any = s.execute(
        update(_ARTICLES)
        .where(_ARTICLES.c.read.is_(False), _ARTICLES.c.id.in_(roots))
        .values(read=True, read_at=stamp)
    )
    stamped = select(Article.id).where(just_read)
    copies: Any = s.execute(
        update(_ARTICLES)
        .where(
            _ARTICLES.c.read.is_(False),
            _ARTICLES.c.story_id.in_(stamped),
            _ARTICLES.c.story_id != _ARTICLES.c.id,
        )
        .values(read=True, read_at=stamp)
    )
    return int(canonicals.rowcount) + int(copies.rowcount)


def rows_since(s: Session, since: datetime) -> list[StoryRow]:
    """Every article whose river time (published, else fetched) is at or after ``since``."""
    query = select(
        Article.id,
        Article.feed_id,
        Article.title,
        Article.summary_text,
        SORT_TIME,
        Article.story_id,
        Article.read,
    ).where(to_utc(since) <= SORT_TIME)
    return [
        StoryRow(r[0], r[1], r[2] or "", r[3] or "", to_utc(r[4]), r[5], bool(r[6]))
        for r in s.execute(query)
    ]


def count_since(s: Session, since: datetime) -> int:
    """How many articles :func:`rows_since` would read."""
    return int(
        s.scalar(select(func.count()).select_from(Article).where(to_utc(since) <= SORT_TIME)) or 0
    )


def set_stories(s: Session, assignments: Sequence[tuple[int, int | None]]) -> int:
    """Set ``story_id`` of each (article id, story id); returns how many rows changed."""
    if not assignments:
        return 0
    statement = (
        update(_ARTICLES)
        .where(_ARTICLES.c.id == bindparam("_id"))
        .values(story_id=bindparam("_story"))
    )
    result: Any = s.execute(statement, [{"_id": a, "_story": b} for a, b in assignments])
    return int(result.rowcount)


def members(s: Session, ids: Sequence[int]) -> set[int]:
    """``ids`` and every article folded into the same stories as them."""
    found = {int(i) for i in ids}
    roots = set(found)
    for chunk in _chunks(list(found)):
        query = select(Article.story_id).where(
            Article.id.in_(chunk), Article.story_id.is_not(None), Article.story_id != Article.id
        )
        roots.update(int(r) for r in s.scalars(query) if r is not None)
    found |= roots
    for chunk in _chunks(list(roots)):
        copies = select(Article.id).where(
            Article.story_id.in_(chunk), Article.story_id != Article.id
        )
        found.update(int(r) for r in s.scalars(copies))
    return found


def also_in(s: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    """For each canonical id in ``ids``, the titles of the other feeds whose copies were folded
    into it, sorted; ids without copies are left out."""
    found: dict[int, set[str]] = {}
    title = func.coalesce(func.nullif(Feed.title, ""), Feed.url)
    canonical = Article.__table__.alias("canonical")
    for chunk in _chunks(list(dict.fromkeys(int(i) for i in ids))):
        query = (
            select(Article.story_id, title)
            .join(Feed, Feed.id == Article.feed_id)
            .join(canonical, canonical.c.id == Article.story_id)
            .where(
                Article.story_id.in_(chunk),
                Article.story_id != Article.id,
                Article.feed_id != canonical.c.feed_id,
            )
        )
        for story_id, feed_title in s.execute(query):
            found.setdefault(int(story_id), set()).add(str(feed_title))
    return {k: sorted(v) for k, v in found.items()}


def story_ids(s: Session, ids: Sequence[int]) -> dict[int, int | None]:
    """``story_id`` of each existing article of ``ids``."""
    found: dict[int, int | None] = {}
    for chunk in _chunks(list(dict.fromkeys(int(i) for i in ids))):
        query = select(Article.id, Article.story_id).where(Article.id.in_(chunk))
        found.update({int(a): (None if b is None else int(b)) for a, b in s.execute(query)})
    return found


def separate(s: Session, article_id: int) -> list[int]:
    """Unfold the story ``article_id`` belongs to: every member becomes its own story and is
    never folded again. Returns the members' ids."""
    group = sorted(members(s, [article_id]))
    set_stories(s, [(i, i) for i in group])
    return group
