"""What the reader is shown and what they open: impressions and clicks, the model's only signal."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from app.storage import articles, events
from app.storage.database import Database

log = logging.getLogger(__name__)


class ActivityError(Exception):
    """A click or impression could not be recorded; the message is for the reader."""


def new_session() -> str:
    """A fresh reading-session id."""
    return uuid.uuid4().hex


def record_impressions(db: Database, shown: Sequence[tuple[int, int | None]], session: str) -> int:
    """Log rows the reader saw, as (article id, position); each article once per session."""
    if not shown:
        return 0
    with db.write() as s:
        return events.record_impressions(s, shown, session, datetime.now(UTC))


def record_click(
    db: Database,
    article_id: int,
    session: str,
    *,
    dwell: float | None = None,
    shown_above: Sequence[int] = (),
) -> int:
    """Log that the reader opened an article, and mark it read.

    ``shown_above`` are the articles the river listed above it in this session; they are logged
    as impressions (if not already) so that training has the skipped articles as negatives.
    Returns the click id.
    """
    now = datetime.now(UTC)
    with db.write() as s:
        if articles.get_article(s, article_id) is None:
            raise ActivityError(f"there is no article {article_id}")
        shown = [(a, i) for i, a in enumerate(shown_above)]
        shown.append((article_id, len(shown)))
        events.record_impressions(s, shown, session, now)
        click_id = events.record_click(s, article_id, session, now, dwell)
        articles.set_read(s, [article_id], True)
    log.info(
        "click on article %d in session %s (%d shown above)", article_id, session, len(shown_above)
    )
    return click_id
