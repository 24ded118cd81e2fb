"""UTCDateTime's one-step SQLite bind writes the text SQLAlchemy's own two steps wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from app.storage.schema import UTCDateTime

VALUES = [
    datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    datetime(2024, 5, 1, 12, 0, 0, 7),
    datetime(1, 1, 1, 0, 0, tzinfo=UTC),
    datetime(999, 12, 31, 23, 59, 59, 999999),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2024, 3, 31, 1, 30, 15, 123456, tzinfo=timezone(timedelta(hours=5, minutes=45))),
    datetime(2023, 12, 31, 22, 0, tzinfo=timezone(timedelta(hours=-7))),
]


def _slow(value: datetime | None) -> object:
    """The bind before: process_bind_param, then SQLite's DATETIME format."""
    dialect = sqlite.dialect()
    generic = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert generic is not None
    return generic(UTCDateTime().process_bind_param(value, dialect))


@pytest.mark.parametrize("value", [*VALUES, None])
def test_fast_bind_writes_the_same_text(value: datetime | None) -> None:
    process = UTCDateTime().bind_processor(sqlite.dialect())
    assert process is not None
    assert process(value) == _slow(value)


def test_fast_bind_refuses_what_is_not_a_datetime() -> None:
    process = UTCDateTime().bind_processor(sqlite.dialect())
    assert process is not None
    with pytest.raises(TypeError):
        process("2024-05-01 12:00:00")
