"""Handing memory back (app.services.heap): a long list emptied a slice at a time."""

from __future__ import annotations

import weakref

import pytest

from app.services import heap


class Item:
    """A small object that can be watched with a weak reference."""


@pytest.mark.parametrize(("count", "step"), [(0, 10), (1, 10), (2_500, 1_000), (7, 1)])
def test_release_empties_the_list_and_frees_what_only_it_held(count: int, step: int) -> None:
    items = [Item() for _ in range(count)]
    watched = [weakref.ref(x) for x in items]
    kept = items[0] if items else None  # held elsewhere too: survives
    heap.release(items, step=step)
    assert items == []
    assert [w() is None for w in watched] == [i > 0 for i in range(count)]
    del kept


def test_release_empties_a_set_too() -> None:
    items = {Item() for _ in range(2_500)}
    watched = [weakref.ref(x) for x in items]
    heap.release(items, step=1_000)
    assert items == set()
    assert all(w() is None for w in watched)
