"""The plain functions the window runs on its job pool (no Qt here: they return plain data)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.services import activity, fulltext, guard, heap, preference, reading, story, subscription
from app.services.ranking import ArticleExplanation, Ranking
from app.services.refresh import Refresher, RefreshProgress, RefreshSummary
from app.storage.database import Database
from app.storage.record import FeedRecord, ModelVersionRecord, Stats
from app.ui.outline import Layout, layout_of


@dataclass(frozen=True)
class Overview:
    """What the sidebar needs: every feed with counts, and the profile's totals."""

    feeds: dict[int, FeedRecord]
    """Every feed by id (made here, off the GUI thread: the sidebar keeps it as it is)."""
    stats: Stats
    layout: Layout
    """The sidebar's rows for them, laid out here, off the GUI thread."""


def overview(db: Database) -> Overview:
    """Feeds and totals for the sidebar, and its rows."""
    feeds, stats = reading.subscriptions(db), reading.stats(db)
    return Overview(
        {f.id: f for f in feeds},
        stats,
        layout_of(feeds, total_unread=stats.unread, starred=stats.starred),
    )


def refresh(
    db: Database,
    feed_ids: Sequence[int] | None,
    due_only: bool,
    cancel: threading.Event,
    *,
    report: Callable[[RefreshProgress], None],
) -> RefreshSummary:
    """Refresh feeds, reporting after each one; fold copies of one story from several feeds and
    fetch the full text the feeds ask for; then hand the freed parse memory back."""
    summary = Refresher(db).refresh(feed_ids, due_only=due_only, progress=report, cancel=cancel)
    if not cancel.is_set():
        story.fold_recent(db)  # also what a new subscription stored before this refresh
        fulltext.fetch_missing(db)
    heap.trim()
    return summary


@dataclass(frozen=True)
class Marked:
    """Articles whose read or starred flag changed."""

    ids: tuple[int, ...]
    read: bool | None = None
    starred: bool | None = None


def set_read(db: Database, ids: Sequence[int], read: bool) -> Marked:
    reading.set_read(db, ids, read)
    return Marked(tuple(ids), read=read)


def set_starred(db: Database, article_id: int, starred: bool) -> Marked:
    reading.set_starred(db, article_id, starred)
    return Marked((article_id,), starred=starred)


@dataclass(frozen=True)
class Clicked:
    """A recorded click."""

    article_id: int
    click_id: int
    dwell: float | None


def click(
    db: Database,
    article_id: int,
    session: str,
    dwell: float | None,
    shown_above: Sequence[int],
    position: int | None = None,
    visible: Sequence[tuple[int, int]] = (),
) -> Clicked:
    """Record that the reader opened an article from screen ``session`` at row ``position``
    (this also marks it read)."""
    click_id = activity.record_click(
        db,
        article_id,
        session,
        dwell=dwell,
        shown_above=shown_above,
        position=position,
        visible=visible,
    )
    return Clicked(article_id, click_id, dwell)


def add_feed(db: Database, url: str, folder: str | None) -> FeedRecord:
    """Subscribe to a feed or a page that links to one."""
    return subscription.add_feed(db, url, folder=folder)


def mark_all_read(db: Database, feed_id: int | None, folder: str | None) -> int:
    return reading.mark_all_read(db, feed_id=feed_id, folder=folder)


@dataclass(frozen=True)
class Startup:
    """What start-up found: whether this is the first run, and how many feeds were imported."""

    first_run: bool
    imported: int
    problems: tuple[str, ...]


def startup(db: Database, default_feeds: Path | None) -> Startup:
    """On a profile's first run, subscribe to the default feeds; purge old read articles."""
    first = preference.is_first_run(db)
    imported = 0
    problems: tuple[str, ...] = ()
    if first:
        if default_feeds is not None and default_feeds.is_file():
            report = subscription.import_opml(db, default_feeds)
            imported, problems = report.added, report.problems
        preference.mark_welcomed(db)
    else:
        reading.purge(db)
    return Startup(first, imported, problems)


def training_due(db: Database, min_new_clicks: int) -> bool:
    """Whether a round should start: enough distinct articles opened for "For you", and no
    round yet or ``min_new_clicks`` new clicks since the last one (:func:`guard.round_due`)."""
    return guard.round_due(db, min_new_clicks)


@dataclass(frozen=True)
class ModelPage:
    """What the Model page shows: every model version, the log of every round (rejected ones
    included) and the line "For you" shows when no trained model earns its keep."""

    versions: tuple[ModelVersionRecord, ...]
    rounds: tuple[guard.Round, ...]
    notice: str | None


def model_page(ranker: Ranking, db: Database) -> ModelPage:
    return ModelPage(tuple(ranker.model_versions()), tuple(guard.rounds(db)), guard.notice(db))


def explain(ranker: Ranking, article_id: int) -> ArticleExplanation:
    return ranker.explain(article_id)


def preload(ranker: Ranking) -> None:
    ranker.preload()
