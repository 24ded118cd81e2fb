"""The reader's model behind a process boundary: :class:`RemoteRanker` has the interface of
:class:`~app.services.ranking.Ranker`, answers what needs no model itself, and sends the rest
to a model host process (ranking, explanations, word shares) or to a process per training
round. The window's process therefore never imports torch, whose import and long calls hold
the GIL and would stall the event loop.

Calls block their caller (a worker thread, never the GUI thread) until the answer comes. A
helper that dies or stops answering is reported as a :class:`RankingError` and started anew at
the next call; none of them outlives the window's process.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event
from typing import Any

from app.services import host
from app.services.explanation import ArticleExplanation
from app.services.profile import Profile
from app.services.ranking import Ranker, RankingError, River, model_ready
from app.services.river import UNREAD, PageKey, RiverFilter
from app.services.training import TrainProgress, TrainReport
from app.storage.record import ModelVersionRecord

log = logging.getLogger(__name__)

SPAWN = multiprocessing.get_context("spawn")
POLL_S = 0.1
"""How often a waiting call checks that its helper is alive and that nobody cancelled."""
REQUEST_TIMEOUT_S = 900.0
"""The longest a model host may take over one request (ranking encodes every new article)."""
STOP_GRACE_S = 5.0
"""How long a helper gets to end by itself before it is terminated."""
CANCEL_GRACE_S = 60.0
"""How long a cancelled training round gets to stop at a batch boundary before it is killed."""


class ModelHost:
    """One model host process and its pipe; started at the first call, restarted after a
    crash. Thread-safe: calls from several threads are answered one at a time."""

    def __init__(
        self, root: str, device: str | None, *, timeout_s: float = REQUEST_TIMEOUT_S
    ) -> None:
        self._root = root
        self._device = device
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._process: SpawnProcess | None = None
        self._conn: Connection | None = None
        self._next_id = 0
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The running host's process id, None when none runs."""
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def call(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        """``Ranker.<method>(*args, **kwargs)`` in the host; raises what it raised there."""
        with self._lock:
            if self._closed:
                raise RankingError("the model is shut down")
            process, conn = self._started()
            self._next_id += 1
            request = host.Request(self._next_id, method, args, kwargs)
            try:
                conn.send(request)
                reply = self._wait(process, conn, request.id)
            except (EOFError, OSError) as exc:
                self._discard()
                raise RankingError(
                    f"the model process stopped unexpectedly ({_exit(process)}); "
                    "it restarts at the next request"
                ) from exc
        if reply.error is not None:
            raise reply.error
        return reply.value

    def _started(self) -> tuple[SpawnProcess, Connection]:
        if self._process is not None and self._conn is not None:
            if self._process.is_alive():
                return self._process, self._conn
            log.warning("the model process had stopped (%s); restarting it", _exit(self._process))
            self._discard()
        ours, theirs = SPAWN.Pipe()
        process = SPAWN.Process(
            target=host.serve,
            args=(self._root, self._device, theirs, os.getpid()),
            name="heedful-model",
            daemon=True,
        )
        process.start()
        theirs.close()
        log.info("started the model process %d", process.pid)
        self._process, self._conn = process, ours
        return process, ours

    def _wait(self, process: SpawnProcess, conn: Connection, request_id: int) -> host.Reply:
        deadline = time.monotonic() + self._timeout_s
        while True:
            if conn.poll(POLL_S):
                reply = conn.recv()
                if isinstance(reply, host.Reply) and reply.id == request_id:
                    return reply
                continue  # the late answer to an abandoned request
            if self._closed:
                raise RankingError("the model was shut down")
            if not process.is_alive():
                self._discard()
                raise RankingError(
                    f"the model process stopped unexpectedly ({_exit(process)}); "
                    "it restarts at the next request"
                )
            if time.monotonic() > deadline:
                self._discard()
                raise RankingError(
                    f"the model did not answer within {self._timeout_s:.0f} s; "
                    "it restarts at the next request"
                )

    def _discard(self) -> None:
        """Forget the current process, ending it if it still runs."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            stop(process, grace_s=0.0)

    def close(self) -> None:
        """Ask the host to stop and wait for it (terminating it if it does not); later calls
        raise RankingError. A call in flight ends at once with RankingError."""
        self._closed = True
        if not self._lock.acquire(timeout=STOP_GRACE_S):
            process = self._process
            if process is not None:
                stop(process, grace_s=0.0)
            return
        try:
            process, conn = self._process, self._conn
            self._process = self._conn = None
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.send(None)
                conn.close()
            if process is not None:
                stop(process, grace_s=STOP_GRACE_S)
                log.info("the model process ended (%s)", _exit(process))
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
    """A :class:`Ranker` whose model lives in helper processes (see the module docstring)."""

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
        self.host = ModelHost(str(profile.paths.root), device, timeout_s=timeout_s)
        self._train_lock = threading.Lock()
        self._training: SpawnProcess | None = None
        self._closed = False

    # -- what the host answers -------------------------------------------------------------

    def preload(self) -> None:
        """Start the model process and load torch and the current model there."""
        self.host.call("preload")

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
        query: dict[str, Any] = {
            "ranked": ranked,
            "limit": limit,
            "offset": offset,
            "view": view,
            "after": after,
        }
        if ranked and after is None and model_ready(self._profile.db):
            river: River = self.host.call("river", **query)
            return river
        return self._local.river(**query)

    def shown_above(self, article_id: int, *, ranked: bool) -> list[int]:
        """See :meth:`Ranker.shown_above`."""
        if ranked and model_ready(self._profile.db):
            above: list[int] = self.host.call("shown_above", article_id, ranked=True)
            return above
        return self._local.shown_above(article_id, ranked=ranked)

    def explain(self, article_id: int) -> ArticleExplanation:
        """See :meth:`Ranker.explain`."""
        if not model_ready(self._profile.db, ranked=False):
            return self._local.explain(article_id)  # says that there is no model yet
        explanation: ArticleExplanation = self.host.call("explain", article_id)
        return explanation

    def word_shares(self, article_ids: Sequence[int]) -> dict[int, tuple[tuple[str, float], ...]]:
        """See :meth:`Ranker.word_shares`."""
        if not model_ready(self._profile.db, ranked=False):
            return {}
        shares: dict[int, tuple[tuple[str, float], ...]] = self.host.call(
            "word_shares", list(article_ids)
        )
        return shares

    def scores(self, article_ids: Sequence[int]) -> dict[int, float]:
        """See :meth:`Ranker.scores`."""
        if not article_ids or not model_ready(self._profile.db):
            return {}
        scores: dict[int, float] = self.host.call("scores", list(article_ids))
        return scores

    def model_versions(self) -> list[ModelVersionRecord]:
        """Every training round so far, oldest first."""
        return self._local.model_versions()

    # -- training --------------------------------------------------------------------------

    def train(
        self,
        *,
        epochs: int | None = None,
        device: str | None = None,
        progress: Callable[[TrainProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> TrainReport:
        """One training round (see :meth:`Ranker.train`) in a process of its own, which
        reports progress, stops at a batch boundary when ``should_stop()``, and is ended if it
        does not. The model host picks up the new model at its next request."""
        with self._train_lock:
            if self._closed:
                raise RankingError("the model is shut down")
            if self._training is not None:
                raise RankingError("a training round is already running")
            stop_event = SPAWN.Event()
            ours, theirs = SPAWN.Pipe(duplex=False)
            process = SPAWN.Process(
                target=host.train_round,
                args=(
                    str(self._profile.paths.root),
                    device or self._device,
                    epochs,
                    theirs,
                    stop_event,
                    os.getpid(),
                ),
                name="heedful-training",
                daemon=True,
            )
            process.start()
            theirs.close()
            self._training = process
        log.info("started training process %d", process.pid)
        try:
            reply = self._follow(process, ours, stop_event, progress, should_stop)
        finally:
            ours.close()
            stop(process, grace_s=STOP_GRACE_S)
            with self._train_lock:
                self._training = None
        if reply.error is not None:
            raise reply.error
        report: TrainReport = reply.value
        return report

    def _follow(
        self,
        process: SpawnProcess,
        conn: Connection,
        stop_event: Event,
        progress: Callable[[TrainProgress], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> host.Reply:
        """Relay a training process's progress until its reply comes."""
        stopping_since: float | None = None
        while True:
            if stopping_since is None and (self._closed or (should_stop and should_stop())):
                stop_event.set()
                stopping_since = time.monotonic()
            try:
                ready = conn.poll(POLL_S)
                message = conn.recv() if ready else None
            except (EOFError, OSError):
                ready, message = False, None
                process.join(POLL_S)
            if isinstance(message, host.Reply):
                return message
            if isinstance(message, TrainProgress):
                if progress is not None:
                    progress(message)
                continue
            if not ready and not process.is_alive():
                raise RankingError(
                    f"the training process stopped unexpectedly ({_exit(process)}); "
                    "the previous model stays in use"
                )
            if stopping_since is not None and time.monotonic() - stopping_since > CANCEL_GRACE_S:
                stop(process, grace_s=0.0)
                raise RankingError("training did not stop in time and was ended")

    # -- life cycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the helper processes: a training round is cancelled, the host asked to exit."""
        self._closed = True
        self.host.close()
        with self._train_lock:
            training = self._training
        if training is not None:
            training.join(CANCEL_GRACE_S)  # the round sees ``_closed`` and stops at a batch
            if training.is_alive():
                stop(training, grace_s=0.0)
