"""When Python's cycle collector walks the whole heap: never in the middle of the reader's work.

Python frees an object as soon as its last reference goes; the cycle collector finds the
rest (objects that only refer to each other) by walking container objects. A young pass
walks only what was made lately, but a full pass walks every container the process holds,
with the GIL held throughout. Measured with ``gc.callbacks`` in the processes of
``bench/gui.py`` on a quiet machine (docs/benchmarks/stalls.md):

- in the window, 118,000-150,000 containers (imported modules, Qt's wrappers, the river's
  rows): each full pass took 54-100 ms, and those passes were the longest stalls of its event
  loop (60-99 ms) while a refresh of 500 feeds and a training round ran;
- in the model host, 235,000 (torch's modules, the model, the vector cache's index): about
  100 ms each, 13 of them in 3.5 s of re-ranking For you after opens.

So the window defers full passes (:func:`defer`) to moments the reader is not using it
(:class:`app.ui.sweeper.Sweeper` calls :func:`sweep`), and a helper freezes what it keeps
for its whole life (:func:`settle`): its own passes then walk only what it made since.
"""

from __future__ import annotations

import gc
import logging
import time

__all__ = ["FULL_PASS_EVERY", "defer", "pending", "resume", "settle", "sweep"]

log = logging.getLogger(__name__)

FULL_PASS_EVERY = 1_000_000
"""Young passes of the middle generation between automatic full passes once :func:`defer`
has run: at the default 700 allocations x 10, that many never come in practice."""


def defer() -> tuple[int, int, int]:
    """Leave the young passes as they are and stop automatic full passes; whoever calls this
    runs :func:`sweep` instead (the garbage in cycles that reach the oldest generation waits
    for it), and hands what this returns (the thresholds before) to :func:`resume` when done."""
    before = gc.get_threshold()
    gc.set_threshold(before[0], before[1], FULL_PASS_EVERY)
    return before


def resume(thresholds: tuple[int, int, int]) -> None:
    """Automatic full passes as before :func:`defer`."""
    gc.set_threshold(*thresholds)


def pending() -> bool:
    """Whether anything reached the oldest generation since the last full pass (if nothing
    did, a full pass would find nothing new)."""
    return gc.get_count()[2] > 0


def sweep() -> float:
    """A full pass now; the milliseconds it took."""
    started = time.perf_counter()
    found = gc.collect()
    ms = (time.perf_counter() - started) * 1000.0
    log.debug("full collection: %d objects in cycles freed in %.0f ms", found, ms)
    return ms


def settle() -> float:
    """Thaw, run a full pass, then freeze every object that survives it; the milliseconds of
    the pass. For a helper after it loaded what it keeps (a model, its vectors, GloVe): later
    passes, automatic or not, walk only the objects made since. A frozen object that dies is
    still freed when its last reference goes; one in a cycle (an old model version's, say)
    waits for the next settle, which thaws everything first."""
    gc.unfreeze()
    ms = sweep()
    gc.freeze()
    log.debug("%d objects frozen", gc.get_freeze_count())
    return ms
