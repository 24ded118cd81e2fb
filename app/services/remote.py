"""The reader's model behind a process boundary: :class:`RemoteRanker` has the interface of
:class:`~app.services.ranking.Ranker`, answers what needs no model itself, and sends the rest as
the messages of :mod:`app.services.message` to a :class:`Helper` process: the long-lived model
host (ranking, explanations, word shares), or a helper per training round. The window's process
therefore never imports torch, whose import and long calls hold the GIL and would stall the
event loop.

Every request takes one path, :meth:`Helper.ask`, which blocks its caller (a worker thread,
never the GUI thread) until the typed reply comes. A helper that dies or stops answering is
reported there as a :class:`RankingError` and started anew at the next request; none of them
outlives the window's process.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from typing import TypeVar, cast

from app.services import host
from app.services.explanation import ArticleExplanation
from app.services.highlight import TitleShares
from app.services.message import (
    Cancel,
    Explain,
    Failed,
    Preload,
    Progress,
    RankRiver,
    Reply,
    Request,
    Scores,
    ShownAbove,
    Stop,
    Train,
    WordShares,
)
from app.services.profile import Profile
from app.services.ranking import Ranker, RankingError, River, model_ready
from app.services.river import UNREAD, PageKey, RiverFilter
from app.services.training import TrainProgress, TrainReport
from app.storage.record import ModelVersionRecord

log = logging.getLogger(__name__)

SPAWN = multiprocessing.get_context("spawn")
POLL_S = 0.1
"""How often a waiting request checks that its helper is alive and that nobody cancelled."""
REQUEST_TIMEOUT_S = 900.0
"""The longest a model host may take over one request (ranking encodes every new article)."""
STOP_GRACE_S = 5.0
"""How long a helper gets to end by itself before it is terminated."""
CANCEL_GRACE_S = 60.0
"""How long a cancelled training round gets to stop at a batch boundary before it is killed."""

R = TypeVar("R", bound=Reply)


@dataclass(frozen=True)
class Role:
    """What a helper is for: ``name`` in its process's name and in what the reader is told,
    and what follows when it dies under a request."""

    name: str
    aftermath: str


MODEL = Role("model", "it restarts at the next request")
TRAINING = Role("training", "the previous model stays in use")


class Helper:
    """One helper process and its pipe; started at the first request, restarted after a
    crash. Thread-safe: requests from several threads are answered one at a time."""

    def __init__(
        self,
        root: str,
        device: str | None,
        *,
        role: Role = MODEL,
        timeout_s: float | None = REQUEST_TIMEOUT_S,
    ) -> None:
        """``timeout_s``: the longest one request may take (None: no limit)."""
        self._root = root
        self._device = device
        self._role = role
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._process: SpawnProcess | None = None
        self._conn: Connection | None = None
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The running helper's process id, None when none runs."""
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def ask(
        self,
        request: Request[R],
        *,
        progress: Callable[[TrainProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> R:
        """Send ``request`` and return its reply; raises what the helper raised. ``progress``
        gets a training round's progress; when ``should_stop()`` (or the helper is closed) the
        round is cancelled, and ended if it does not stop within CANCEL_GRACE_S."""
        with self._lock:
            if self._closed:
                raise RankingError("the model is shut down")
            process, conn = self._started()
            try:
                conn.send(request)
                reply = self._wait(process, conn, progress, should_stop)
            except (EOFError, OSError) as exc:
                raise self._died(process) from exc
        if isinstance(reply, Failed):
            raise reply.error
        if not isinstance(reply, request.reply):
            raise host.RemoteError(f"{type(request).__name__} got {type(reply).__name__}")
        return cast(R, reply)

    def _started(self) -> tuple[SpawnProcess, Connection]:
        if self._process is not None and self._conn is not None:
            if self._process.is_alive():
                return self._process, self._conn
            log.warning(
                "the %s process had stopped (%s); restarting it",
                self._role.name,
                _exit(self._process),
            )
            self._discard()
        ours, theirs = SPAWN.Pipe()
        process = SPAWN.Process(
            target=host.serve,
            args=(self._root, self._device, theirs, os.getpid(), self._role.name),
            name=f"heedful-{self._role.name}",
            daemon=True,
        )
        process.start()
        theirs.close()
        log.info("started the %s process %d", self._role.name, process.pid)
        self._process, self._conn = process, ours
        return process, ours

    def _wait(
        self,
        process: SpawnProcess,
        conn: Connection,
        progress: Callable[[TrainProgress], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> Reply:
        """The reply, relaying progress on the way; the one place a dead helper is noticed."""
        deadline = None if self._timeout_s is None else time.monotonic() + self._timeout_s
        cancelled: float | None = None
        while True:
            if should_stop is None and self._closed:
                raise RankingError("the model was shut down")
            if should_stop is not None and cancelled is None and (self._closed or should_stop()):
                conn.send(Cancel())
                cancelled = time.monotonic()
            if conn.poll(POLL_S):
                reply = conn.recv()
                if isinstance(reply, Progress):
                    if progress is not None:
                        progress(reply.progress)
                    continue
                if isinstance(reply, Reply):
                    return reply
                raise host.RemoteError(f"the {self._role.name} process sent {reply!r}")
            if not process.is_alive():
                raise self._died(process)
            if deadline is not None and time.monotonic() > deadline:
                self._discard()
                raise RankingError(
                    f"the {self._role.name} did not answer within {self._timeout_s:.0f} s; "
                    f"{self._role.aftermath}"
                )
            if cancelled is not None and time.monotonic() - cancelled > CANCEL_GRACE_S:
                self._discard()
                raise RankingError(f"{self._role.name} did not stop in time and was ended")

    def _died(self, process: SpawnProcess) -> RankingError:
        """Forget a helper that stopped under a request, and say so."""
        process.join(POLL_S)
        self._discard()
        return RankingError(
            f"the {self._role.name} process stopped unexpectedly ({_exit(process)}); "
            f"{self._role.aftermath}"
        )

    def _discard(self) -> None:
        """Forget the current process, ending it if it still runs."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            stop(process, grace_s=0.0)

    def close(self, grace_s: float = STOP_GRACE_S) -> None:
        """Ask the helper to stop and wait for it (terminating it if it does not); later
        requests raise RankingError. A request in flight ends at once with RankingError, a
        training round is cancelled and gets ``grace_s`` to stop."""
        self._closed = True
        if not self._lock.acquire(timeout=grace_s):
            process = self._process
            if process is not None:
                stop(process, grace_s=0.0)
            return
        try:
            process, conn = self._process, self._conn
            self._process = self._conn = None
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.send(Stop())
                conn.close()
            if process is not None:
                stop(process, grace_s=STOP_GRACE_S)
                log.info("the %s process ended (%s)", self._role.name, _exit(process))
        finally:
            self._lock.release()


def stop(process: SpawnProcess, *, grace_s: float) -> None:
    """Wait up to ``grace_s`` for ``process`` to end, then terminate it, then kill it."""
    process.join(grace_s)
    if process.is_alive():
        process.terminate()
        process.join(STOP_GRACE_S)
    if process.is_alive():
        process.kill()
        process.join(STOP_GRACE_S)


def _exit(process: SpawnProcess) -> str:
    code = process.exitcode
    if code is None:
        return "no answer"
    return f"signal {-code}" if code < 0 else f"exit status {code}"


class RemoteRanker:
    """A :class:`Ranker` whose model lives in helper processes (see the module docstring).
    Its methods answer locally what needs no model and otherwise build one message."""

    def __init__(
        self,
        profile: Profile,
        *,
        device: str | None = None,
        timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> None:
        self._profile = profile
        self._device = device
        self._local = Ranker(profile, device=device, load_models=False)
        self.host = Helper(str(profile.paths.root), device, timeout_s=timeout_s)
        self._train_lock = threading.Lock()
        self._training: Helper | None = None
        self._closed = False

    def preload(self) -> None:
        """Start the model process and load torch and the current model there."""
        self.host.ask(Preload())

    def river(
        self,
        *,
        ranked: bool,
        limit: int = 100,
        offset: int = 0,
        view: RiverFilter = UNREAD,
        after: PageKey | None = None,
    ) -> River:
        """See :meth:`Ranker.river`; only a view the model orders goes to the model process
        (a later page is cut from the snapshot its first page returned, without the model)."""
        if ranked and after is None and model_ready(self._profile.db):
            return self.host.ask(RankRiver(ranked, limit, offset, view)).river
        return self._local.river(ranked=ranked, limit=limit, offset=offset, view=view, after=after)

    def shown_above(self, article_id: int, *, ranked: bool) -> list[int]:
        """See :meth:`Ranker.shown_above`."""
        if ranked and model_ready(self._profile.db):
            return self.host.ask(ShownAbove(article_id)).ids
        return self._local.shown_above(article_id, ranked=ranked)

    def explain(self, article_id: int) -> ArticleExplanation:
        """See :meth:`Ranker.explain`."""
        if not model_ready(self._profile.db, ranked=False):
            return self._local.explain(article_id)  # says that there is no model yet
        return self.host.ask(Explain(article_id)).explanation

    def word_shares(self, article_ids: Sequence[int]) -> dict[int, TitleShares]:
        """See :meth:`Ranker.word_shares`."""
        if not model_ready(self._profile.db, ranked=False):
            return {}
        return self.host.ask(WordShares(tuple(article_ids))).shares

    def scores(self, article_ids: Sequence[int]) -> dict[int, float]:
        """See :meth:`Ranker.scores`."""
        if not article_ids or not model_ready(self._profile.db):
            return {}
        return self.host.ask(Scores(tuple(article_ids))).scores

    def model_versions(self) -> list[ModelVersionRecord]:
        """Every training round so far, oldest first."""
        return self._local.model_versions()

    def train(
        self,
        *,
        epochs: int | None = None,
        device: str | None = None,
        progress: Callable[[TrainProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> TrainReport:
        """One training round (see :meth:`Ranker.train`) in a helper of its own, which reports
        progress, stops at a batch boundary when ``should_stop()``, is ended if it does not,
        and ends with the round (handing its memory back). The model host picks up the new
        model at its next request."""
        device = device or self._device
        with self._train_lock:
            if self._closed:
                raise RankingError("the model is shut down")
            if self._training is not None:
                raise RankingError("a training round is already running")
            helper = Helper(str(self._profile.paths.root), device, role=TRAINING, timeout_s=None)
            self._training = helper
        try:
            stopping = should_stop or (lambda: False)
            return helper.ask(Train(epochs, device), progress=progress, should_stop=stopping).report
        finally:
            helper.close()
            with self._train_lock:
                self._training = None

    def close(self) -> None:
        """Stop the helper processes: a training round is cancelled, the host asked to exit."""
        self._closed = True
        self.host.close()
        with self._train_lock:
            training = self._training
        if training is not None:
            training.close(CANCEL_GRACE_S)
