"""Batches of ids and keys for ``IN (...)`` lists, kept under SQLite's bind limit."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func, select

CHUNK = 500
"""Most ids or keys bound in one ``IN (...)`` list."""

_T = TypeVar("_T")


def chunks(values: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """``values`` in slices of at most :data:`CHUNK`."""
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def id_list(ids: Sequence[int]) -> list[int] | Select[Any]:
    """Ids for an ``IN``: bound one by one when few, else as one JSON array (no bind limit)."""
    unique = list(dict.fromkeys(int(i) for i in ids))
    if len(unique) <= CHUNK:
        return unique
    values = func.json_each(json.dumps(unique)).table_valued("value")
    return select(values.c.value)
