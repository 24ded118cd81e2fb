"""The messages to the model's helpers: each request crosses the pipe and is answered by its own
handler with its own reply type; anything else is refused, in one log line, before it is built."""

from __future__ import annotations

import logging
import os
import pickle
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing import Pipe
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

import pytest

from app.services import host, message
from app.services.explanation import ArticleExplanation
from app.services.highlight import TitleShares
from app.services.message import (
    Cancel,
    Explain,
    Failed,
    Preload,
    Progress,
    RankRiver,
    Refused,
    Request,
    Scores,
    ShownAbove,
    Stop,
    Train,
    WordShares,
)
from app.services.ranking import RankingError
from app.services.remote import Helper
from app.services.river import River, RiverFilter
from app.services.training import TrainProgress, TrainReport
from harness.sample import seed_profile

REPORT = TrainReport(1, 21, 84, 1, 0.5, 0.6, 0.7, "cpu", 1.0, False, False)
EXPLANATION = ArticleExplanation(7, "a title", 1.5, (), (), None, None, 1)
RIVER = River((), "ranked", None, 21, 0)

SAMPLES: list[Request[Any]] = [
    Preload(),
    RankRiver(ranked=True, limit=5, offset=10, view=RiverFilter(feed_id=3, search="rocket")),
    ShownAbove(7),
    Explain(7),
    WordShares((7, 8)),
    Scores((7,)),
    Train(epochs=2, device="cpu"),
]


class FakeRanker:
    """Answers each call with a canned value and remembers it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def preload(self) -> None:
        self.calls.append(("preload", None))

    def river(self, **kwargs: Any) -> River:
        self.calls.append(("river", kwargs))
        return RIVER

    def shown_above(self, article_id: int, *, ranked: bool) -> list[int]:
        self.calls.append(("shown_above", (article_id, ranked)))
        return [3, 4]

    def explain(self, article_id: int) -> ArticleExplanation:
        self.calls.append(("explain", article_id))
        return EXPLANATION

    def word_shares(self, article_ids: Sequence[int]) -> dict[int, TitleShares]:
        self.calls.append(("word_shares", article_ids))
        return {7: TitleShares((("rocket", 0.5),), feed=1.25)}

    def scores(self, article_ids: Sequence[int]) -> dict[int, float]:
        self.calls.append(("scores", article_ids))
        return {7: 1.5}

    def train(
        self,
        *,
        epochs: int | None,
        device: str | None,
        progress: Callable[[TrainProgress], None],
        should_stop: Callable[[], bool],
    ) -> TrainReport:
        self.calls.append(("train", (epochs, device)))
        progress(TrainProgress("learning from your clicks", 0.5, 0.3))
        assert not should_stop()
        return REPORT


def crossed(value: object) -> object:
    """``value`` as the other end of a pipe gets it."""
    return pickle.loads(bytes(ForkingPickler.dumps(value)))


@pytest.mark.parametrize("request_", SAMPLES, ids=lambda r: type(r).__name__)
def test_each_request_crosses_and_gets_its_own_reply(request_: Request[Any]) -> None:
    assert message.read(bytes(ForkingPickler.dumps(request_))) == request_
    ranker, sent = FakeRanker(), []
    session = host.Session(ranker, send=sent.append)  # type: ignore[arg-type]
    reply = host.answer(session, request_)
    assert type(reply) is request_.reply
    assert crossed(reply) == reply
    assert len(ranker.calls) == 1  # one handler, one call
    if isinstance(request_, Train):
        assert ranker.calls == [("train", (2, "cpu"))]
        assert sent == [Progress(TrainProgress("learning from your clicks", 0.5, 0.3))]
    if isinstance(request_, RankRiver):
        assert ranker.calls[0][1] == {
            "ranked": True,
            "limit": 5,
            "offset": 10,
            "view": RiverFilter(feed_id=3, search="rocket"),
        }


def test_every_request_type_has_a_handler() -> None:
    assert set(host.HANDLERS) == set(message.REQUESTS) == {type(r) for r in SAMPLES}


@dataclass(frozen=True)
class Smuggled:
    path: str


@dataclass(frozen=True)
class Forged(Request[message.Ranked]):
    """A request of a type the host does not know."""

    reply = message.Ranked


class Bomb:
    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return (os.system, ("echo built",))


@pytest.mark.parametrize(
    "value",
    [Bomb(), Smuggled("/etc"), message.Ready(), {"method": "river"}, 42],
    ids=["code", "foreign class", "a reply", "a dict", "an int"],
)
def test_anything_but_a_message_is_refused_before_it_is_built(value: object) -> None:
    with pytest.raises(Refused, match="no message"):
        message.read(pickle.dumps(value))
    with pytest.raises(Refused, match="unreadable"):
        message.read(b"\x80\x04not a pickle")


def test_an_unknown_request_is_refused_in_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    ranker = FakeRanker()
    with caplog.at_level(logging.WARNING, logger="app.services.host"):
        reply = host.answer(host.Session(ranker), Stop())  # type: ignore[arg-type]
    assert isinstance(reply, Failed) and isinstance(reply.error, host.RemoteError)
    assert "unknown request Stop" in str(reply.error)
    assert ranker.calls == []
    assert len(caplog.records) == 1 and "refused" in caplog.records[0].getMessage()


def test_a_failure_is_the_reply() -> None:
    class Refusing(FakeRanker):
        def explain(self, article_id: int) -> ArticleExplanation:
            raise RankingError("there is no trained model yet, so nothing to explain")

    reply = host.answer(host.Session(Refusing()), Explain(7))  # type: ignore[arg-type]
    assert isinstance(reply, Failed) and isinstance(reply.error, RankingError)
    assert isinstance(crossed(reply), Failed)


def test_a_round_reads_cancel_without_waiting(caplog: pytest.LogCaptureFixture) -> None:
    ours, theirs = Pipe()
    cancelled = host._watch(theirs)
    assert not cancelled()
    ours.send_bytes(pickle.dumps(Smuggled("x")))  # refused and dropped, in one log line
    with caplog.at_level(logging.WARNING, logger="app.services.host"):
        assert not cancelled()
    assert len(caplog.records) == 1
    ours.send(Cancel())
    assert cancelled() and cancelled()
    ours.close()
    theirs.close()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_the_host_refuses_a_foreign_request_and_goes_on(tmp_path: Path) -> None:
    root = tmp_path / "profile"
    seed_profile(root, feed_count=1, per_feed=3, clicks=0)
    helper = Helper(str(root), None)
    try:
        with pytest.raises(host.RemoteError, match="refused"):
            helper.ask(Forged())
        assert len(helper.ask(RankRiver(ranked=False, limit=2)).river.items) == 2
    finally:
        helper.close()
