"""Key/value preferences stored in the profile."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from app.storage.schema import Setting


def get_setting(s: Session, key: str, default: str | None = None) -> str | None:
    """The stored value of ``key``, or ``default`` when it was never set."""
    value = s.scalar(select(Setting.value).where(Setting.key == key))
    return default if value is None else value


def set_setting(s: Session, key: str, value: str) -> None:
    """Store ``value`` under ``key``, replacing any earlier value."""
    statement = insert(Setting).values(key=key, value=value)
    s.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


def delete_setting(s: Session, key: str) -> None:
    """Forget ``key``; nothing happens when it was never set."""
    s.execute(delete(Setting).where(Setting.key == key))
