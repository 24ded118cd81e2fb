"""When the cycle collector walks the whole heap (app.services.collector): the window defers
its full passes, a helper freezes what it keeps, and garbage in cycles is still found."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from app.services import collector


class Node:
    """An object that can sit in a reference cycle and be watched with a weak reference."""

    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> tuple[Node, weakref.ref[Node]]:
    """Two nodes that refer to each other; refcounting alone never frees them."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a, weakref.ref(a)


@pytest.fixture(autouse=True)
def restored() -> Iterator[None]:
    """Every test leaves the process's collector as it found it."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_defer_stops_automatic_full_passes_and_resume_brings_them_back() -> None:
    before = gc.get_threshold()
    returned = collector.defer()
    assert returned == before
    young, middle, full = gc.get_threshold()
    assert (young, middle) == before[:2]  # young passes as they were
    assert full == collector.FULL_PASS_EVERY
    collector.resume(returned)
    assert gc.get_threshold() == before


def test_a_sweep_frees_garbage_in_cycles_and_says_nothing_is_pending_after() -> None:
    node, ref = cycle()
    del node
    assert ref() is not None  # refcounting alone cannot free a cycle
    ms = collector.sweep()
    assert ref() is None
    assert ms >= 0.0
    assert not collector.pending()


def test_settle_freezes_survivors_and_the_next_settle_frees_their_cycles() -> None:
    node, ref = cycle()
    collector.settle()
    assert gc.get_freeze_count() > 0
    del node  # dies after it was frozen
    gc.collect()
    assert ref() is not None, "a pass walks only what is not frozen"
    collector.settle()  # thaws first
    assert ref() is None


def test_frozen_objects_are_still_freed_by_refcounting() -> None:
    kept = Node()
    ref = weakref.ref(kept)
    collector.settle()
    del kept  # no cycle: freed as its last reference goes, frozen or not
    assert ref() is None
