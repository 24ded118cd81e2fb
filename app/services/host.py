"""The helper processes that own the reader's model, so that the window's process never loads
torch: a long-lived model host that ranks and explains, and one process per training round.

Both run :func:`serve`, are started with the "spawn" method by :mod:`app.services.remote`, open
the profile without its lock (the window holds it), end themselves when the window's process
dies, and talk to it over a pipe in the messages of :mod:`app.services.message`: each request
is answered by the handler its type maps to in :data:`HANDLERS`, and anything else is refused.
"""

from __future__ import annotations

import logging
import os
import pickle
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from app.services import collector, heap, lifeline, message
from app.services.failure import reader_message
from app.services.message import Failed, Refused, Reply, read
from app.services.profile import Profile
from app.services.ranking import Ranker, RankingError

log = logging.getLogger(__name__)


class RemoteError(Exception):
    """An unexpected error (a bug) in a helper process; the message is its traceback."""


@dataclass(frozen=True)
class Session:
    """What a handler works with: the helper's ranker, the profile's database file (named in a
    reply about a SQLite failure), where a training round's progress goes, and whether the
    window asked it to stop."""

    ranker: Ranker
    database: Path | None = None
    send: Callable[[Reply], None] = lambda reply: None
    cancelled: Callable[[], bool] = lambda: False


def _preload(session: Session, request: message.Preload) -> message.Ready:
    session.ranker.preload()
    return message.Ready()


def _river(session: Session, request: message.RankRiver) -> message.Ranked:
    return message.Ranked(
        session.ranker.river(
            ranked=request.ranked, limit=request.limit, offset=request.offset, view=request.view
        )
    )


def _shown_above(session: Session, request: message.ShownAbove) -> message.Above:
    return message.Above(session.ranker.shown_above(request.article_id, ranked=True))


def _explain(session: Session, request: message.Explain) -> message.Explained:
    return message.Explained(session.ranker.explain(request.article_id))


def _word_shares(session: Session, request: message.WordShares) -> message.Shares:
    return message.Shares(session.ranker.word_shares(request.article_ids))


def _scores(session: Session, request: message.Scores) -> message.Scored:
    return message.Scored(session.ranker.scores(request.article_ids))


def _train(session: Session, request: message.Train) -> message.Trained:
    report = session.ranker.train(
        epochs=request.epochs,
        device=request.device,
        progress=lambda p: session.send(message.Progress(p)),
        should_stop=session.cancelled,
    )
    return message.Trained(report)


HANDLERS: dict[type[Any], Callable[[Session, Any], Reply]] = {
    message.Preload: _preload,
    message.RankRiver: _river,
    message.ShownAbove: _shown_above,
    message.Explain: _explain,
    message.WordShares: _word_shares,
    message.Scores: _scores,
    message.Train: _train,
}
"""The handler of each request a helper answers."""


def answer(session: Session, request: object) -> Reply:
    """Run one request; every failure becomes part of the reply."""
    handler = HANDLERS.get(type(request))
    if handler is None:
        log.warning("refused a request: %s is no request", type(request).__name__)
        return Failed(RemoteError(f"unknown request {type(request).__name__}"))
    try:
        return handler(session, request)
    except Exception as exc:
        return Failed(passable(exc, session.database))


def serve(root: str, device: str | None, conn: Connection, parent: int, role: str) -> None:
    """A helper's main loop: answer requests until told to ``Stop``, until the pipe closes, or
    until the parent process dies. ``role`` is "model" (the long-lived host) or "training"
    (one round, on all cores but one)."""
    _begin(role, parent)
    sleep_when_idle()
    if role == "training":
        spare_a_core()
    profile = Profile(Path(root), locked=False)
    # The model host ranks a large new pool a slice at a time (the window asks for the rest)
    ranker = Ranker(profile, device=device, progressive=role == "model")
    session = Session(ranker, profile.paths.database, conn.send, _watch(conn))
    # what a helper keeps for its life (so far, the imported modules) is frozen out of its
    # collection passes; the model host does it again for each model it loads
    collector.settle()
    settled: int | None = None
    try:
        while True:
            try:
                request = _receive(conn)
            except (EOFError, OSError):
                log.info("the window's end of the pipe closed")
                break
            if isinstance(request, message.Stop):
                break
            if isinstance(request, message.Cancel):
                continue  # the round it meant has ended
            if isinstance(request, Refused):
                reply: Reply = Failed(RemoteError(f"the {role} process refused it: {request}"))
            else:
                reply = answer(session, request)
            try:
                conn.send(reply)
            except (BrokenPipeError, EOFError, OSError):
                break
            if role == "model" and ranker.loaded_version != settled:  # it keeps a new model
                collector.settle()
                settled = ranker.loaded_version
            elif ranks(request):  # ranking every candidate leaves much garbage behind
                collector.sweep()  # short: what the model host keeps is frozen
                heap.trim()
    finally:
        profile.close()
    log.info("%s process stopped", role)


def _receive(conn: Connection) -> message.Incoming | Refused:
    """The next message, or why it was refused (told in one log line)."""
    try:
        return read(conn.recv_bytes())
    except Refused as exc:
        log.warning("refused a message: %s", exc)
        return exc


def _watch(conn: Connection) -> Callable[[], bool]:
    """``cancelled()`` for a training round: whether ``Cancel`` (or ``Stop``, or the end of the
    pipe) has come; polled at each batch, it never waits."""
    seen = False

    def cancelled() -> bool:
        nonlocal seen
        try:
            while not seen and conn.poll():
                seen = isinstance(_receive(conn), (message.Cancel, message.Stop))
        except (EOFError, OSError):
            seen = True
        return seen

    return cancelled


def ranks(request: object) -> bool:
    """Whether ``request`` ranks every candidate (a later page of a view reuses the order)."""
    if isinstance(request, message.RankRiver):
        return request.ranked and not request.offset
    return isinstance(request, message.ShownAbove)


def spare_a_core() -> None:
    """Unless the reader chose a thread count, train on all cores but one, so that the window
    always finds a free core (torch reads OMP_NUM_THREADS when it is first imported)."""
    cores = os.cpu_count() or 1
    if "OMP_NUM_THREADS" not in os.environ and cores > 1:
        os.environ["OMP_NUM_THREADS"] = str(cores - 1)


def sleep_when_idle() -> None:
    """Unless the reader chose a wait policy, torch's threads sleep while they wait for work
    instead of spinning (OMP_WAIT_POLICY=PASSIVE; read when torch is first imported). On a
    busy machine a spinning thread takes the core that the thread it waits for needs: with two
    CPU-bound processes beside it on two cores, a training round took 27-84 s spinning against
    4-10 s passive, 3.0-3.3 s without them (bench/busy.py)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


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
