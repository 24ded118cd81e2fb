"""What the reader was shown and opened, and the model versions trained on it.

``get_setting`` and ``set_setting`` live in ``app.storage.setting`` and are importable
from here too.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from app.storage.database import NotFoundError
from app.storage.record import (
    ClickRecord,
    ImpressionRecord,
    MetricValue,
    ModelVersionRecord,
)
from app.storage.schema import Article, Click, Impression, ModelVersion, to_utc
from app.storage.setting import delete_setting, get_setting, set_setting

__all__ = [
    "add_model_version",
    "click_history",
    "clicks_since",
    "delete_setting",
    "get_setting",
    "impressions",
    "latest_model_version",
    "list_model_versions",
    "record_click",
    "record_impressions",
    "set_setting",
]

logger = logging.getLogger(__name__)

_CHUNK = 500


def _existing_articles(s: Session, ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        found.update(s.scalars(select(Article.id).where(Article.id.in_(chunk))))
    return found


def record_impressions(
    s: Session, items: Sequence[tuple[int, int | None]], session: str, now: datetime
) -> int:
    """Log articles shown in ``session`` as (article id, position); returns how many are new.

    An article counts once per session: repeats, and ids of articles that no longer
    exist, are ignored.
    """
    if not items:
        return 0
    present = _existing_articles(s, [article_id for article_id, _ in items])
    rows: dict[int, dict[str, Any]] = {}
    time = to_utc(now)
    for article_id, position in items:
        if article_id in present and article_id not in rows:
            rows[article_id] = {
                "article_id": article_id,
                "session": session,
                "time": time,
                "position": position,
            }
    if not rows:
        return 0
    before = s.scalar(
        select(func.count()).select_from(Impression).where(Impression.session == session)
    )
    s.execute(insert(Impression).on_conflict_do_nothing(), list(rows.values()))
    after = s.scalar(
        select(func.count()).select_from(Impression).where(Impression.session == session)
    )
    return int(after or 0) - int(before or 0)


def record_click(
    s: Session, article_id: int, session: str, now: datetime, dwell: float | None = None
) -> int:
    """Log that the reader opened an article; returns the click's id.

    A negative or non-finite ``dwell`` is stored as unknown. Raises NotFoundError for
    an unknown article.
    """
    if s.scalar(select(Article.id).where(Article.id == article_id)) is None:
        raise NotFoundError(f"There is no article {article_id}.")
    if dwell is not None and (not math.isfinite(dwell) or dwell < 0):
        dwell = None
    click = Click(article_id=article_id, session=session, time=to_utc(now), dwell=dwell)
    s.add(click)
    s.flush()
    return click.id


def click_history(s: Session) -> list[ClickRecord]:
    """Every click, oldest first."""
    query = select(Click).order_by(Click.time, Click.id)
    return [
        ClickRecord(id=c.id, article_id=c.article_id, time=c.time, session=c.session, dwell=c.dwell)
        for c in s.scalars(query)
    ]


def impressions(s: Session, *, since: datetime | None = None) -> list[ImpressionRecord]:
    """Impressions (at or after ``since`` when given), oldest first."""
    query = select(
        Impression.article_id, Impression.time, Impression.session, Impression.position
    ).order_by(Impression.time, Impression.id)
    if since is not None:
        query = query.where(Impression.time >= to_utc(since))
    return [
        ImpressionRecord(article_id=row[0], time=row[1], session=row[2], position=row[3])
        for row in s.execute(query)
    ]


def clicks_since(s: Session, since_click_id: int) -> int:
    """How many clicks have an id greater than ``since_click_id``."""
    query = select(func.count()).select_from(Click).where(Click.id > since_click_id)
    return int(s.scalar(query) or 0)


def _clean_metrics(metrics: Mapping[Any, Any]) -> dict[str, MetricValue]:
    clean: dict[str, MetricValue] = {}
    for key, value in metrics.items():
        if isinstance(value, bool):
            clean[str(key)] = int(value)
        elif value is None or isinstance(value, int | float | str):
            clean[str(key)] = value
        else:
            logger.warning("dropping metric %r of unsupported type %s", key, type(value).__name__)
    return clean


def _model_record(row: ModelVersion) -> ModelVersionRecord:
    try:
        metrics = json.loads(row.metrics)
    except ValueError:
        logger.warning("model version %d has unreadable metrics", row.id)
        metrics = {}
    return ModelVersionRecord(
        id=row.id,
        path=row.path,
        sha256=row.sha256,
        created=row.created,
        clicks_used=row.clicks_used,
        metrics=_clean_metrics(metrics) if isinstance(metrics, dict) else {},
    )


def add_model_version(
    s: Session,
    path: str,
    sha256: str,
    created: datetime,
    clicks_used: int,
    metrics: Mapping[str, MetricValue],
) -> ModelVersionRecord:
    """Record a new checkpoint; metrics of other types than number, string or None are dropped."""
    row = ModelVersion(
        path=str(path),
        sha256=sha256,
        created=to_utc(created),
        clicks_used=int(clicks_used),
        metrics=json.dumps(_clean_metrics(metrics)),
    )
    s.add(row)
    s.flush()
    return _model_record(row)


def latest_model_version(s: Session) -> ModelVersionRecord | None:
    """The newest model version, or None before the first training."""
    row = s.scalar(select(ModelVersion).order_by(ModelVersion.id.desc()).limit(1))
    return None if row is None else _model_record(row)


def list_model_versions(s: Session) -> list[ModelVersionRecord]:
    """Every model version, oldest first."""
    return [_model_record(row) for row in s.scalars(select(ModelVersion).order_by(ModelVersion.id))]
