"""The helper processes that own the reader's model, so that the window's process never loads
torch: a long-lived model host that ranks and explains, and one process per training round.

Both are started with the "spawn" method by :mod:`app.services.remote`, open the profile
without its lock (the window holds it), end themselves when the window's process dies, and
talk to it over a pipe. Only our own plain-data objects cross the pipe.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from app.services import heap, lifeline
from app.services.failure import reader_message
from app.services.profile import Profile
from app.services.ranking import Ranker, RankingError
from app.services.training import TrainProgress

log = logging.getLogger(__name__)

REQUESTS = frozenset({"preload", "river", "shown_above", "explain", "word_shares", "scores"})
"""The Ranker methods the host answers."""


class RemoteError(Exception):
    """An unexpected error (a bug) in a helper process; the message is its traceback."""


@dataclass(frozen=True)
class Request:
    """A call of ``Ranker.<method>(*args, **kwargs)`` in the host."""

    id: int
    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """The answer to request ``id``: its value, or the exception to raise in the caller."""

    id: int
    value: Any = None
    error: Exception | None = None


def serve(root: str, device: str | None, conn: Connection, parent: int) -> None:
    """The model host's main loop: answer requests until told to stop (``None``), until the
    pipe closes, or until the parent process dies."""
    _begin("model host", parent)
    profile = Profile(Path(root), locked=False)
    ranker = Ranker(profile, device=device)
    try:
        while True:
            try:
                request = conn.recv()
            except (EOFError, OSError):
                log.info("the window's end of the pipe closed")
                break
            if not isinstance(request, Request):
                break
            reply = answer(ranker, request, profile.paths.database)
            try:
                conn.send(reply)
            except (BrokenPipeError, EOFError, OSError):
                break
            if ranks(request):  # ranking every candidate leaves much garbage behind
                gc.collect()
                heap.trim()
    finally:
        profile.close()
    log.info("model host stopped")


def ranks(request: Request) -> bool:
    """Whether ``request`` ranks every candidate (a later page of a view reuses the order)."""
    if request.method == "river":
        return bool(request.kwargs.get("ranked")) and not request.kwargs.get("offset")
    return request.method == "shown_above"


def answer(ranker: Ranker, request: Request, database: Path | None = None) -> Reply:
    """Run one request; every failure becomes part of the reply (``database``, the profile's
    database file, is named in a reply about a SQLite failure)."""
    if request.method not in REQUESTS:
        return Reply(request.id, error=RemoteError(f"unknown request {request.method!r}"))
    try:
        value = getattr(ranker, request.method)(*request.args, **request.kwargs)
    except Exception as exc:
        return Reply(request.id, error=passable(exc, database))
    return Reply(request.id, value)


def train_round(
    root: str,
    device: str | None,
    epochs: int | None,
    conn: Connection,
    stop: Event,
    parent: int,
) -> None:
    """One training round in its own process: progress messages, then one :class:`Reply`.

    The process ends with the round, which hands all of its memory back to the system.
    """
    _begin("training", parent)
    spare_a_core()
    profile = Profile(Path(root), locked=False)

    def progress(p: TrainProgress) -> None:
        conn.send(p)

    try:
        try:
            report = Ranker(profile, device=device).train(
                epochs=epochs, device=device, progress=progress, should_stop=stop.is_set
            )
        except Exception as exc:
            reply = Reply(0, error=passable(exc, profile.paths.database))
        else:
            reply = Reply(0, report)
        conn.send(reply)
    except (BrokenPipeError, EOFError, OSError):
        log.info("the window went away during training")
    finally:
        profile.close()
        conn.close()


def spare_a_core() -> None:
    """Unless the reader chose a thread count, train on all cores but one, so that the window
    always finds a free core (torch reads OMP_NUM_THREADS when it is first imported)."""
    cores = os.cpu_count() or 1
    if "OMP_NUM_THREADS" not in os.environ and cores > 1:
        os.environ["OMP_NUM_THREADS"] = str(cores - 1)


def passable(exc: Exception, database: Path | None = None) -> Exception:
    """What the window gets for ``exc``: the reader's failure itself when it survives pickling
    (else a RankingError with its line), a bug as a RemoteError that carries its traceback.
    The window tells the two apart as it does for its own failures."""
    message = reader_message(exc, database)
    if message is not None:
        try:
            pickle.dumps(exc)
            type(exc)(*exc.args)  # what unpickling it in the window will do
        except Exception:
            return RankingError(message)
        return exc
    details = "".join(traceback.format_exception(exc))
    log.error("unexpected error in a model process:\n%s", details)
    return RemoteError(details)


def _begin(role: str, parent: int) -> None:
    """Common start of a helper process: log to stderr, die with the parent, stay out of the
    window's way on the CPU."""
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s %(levelname)s %(name)s [{role} {os.getpid()}]: %(message)s",
    )
    lifeline.background(parent)
