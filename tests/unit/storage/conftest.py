"""Fixtures of the storage tests: a fresh file database per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.storage.database import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A freshly migrated profile database in a temporary folder."""
    database = Database(tmp_path / "profile" / "heedful.sqlite")
    yield database
    database.close()
