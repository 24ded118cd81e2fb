"""The messages between the window's process and the model's helper processes.

A request names the reply it expects (``Request[Ranked]`` is answered by :class:`Ranked`, or by
:class:`Failed`); a training round also sends :class:`Progress` before its reply, and stops at a
batch boundary when it reads :class:`Cancel`. :class:`Stop` ends a helper. These frozen
dataclasses are the only things the window sends: a helper reads each message with
:func:`read`, which unpickles nothing but the classes in :data:`ACCEPTED`, so a pickle that
would build anything else is refused before it runs.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from app.services.explanation import ArticleExplanation
from app.services.highlight import TitleShares
from app.services.river import UNREAD, River, RiverFilter
from app.services.training import TrainProgress, TrainReport

# -- replies -----------------------------------------------------------------------------------


class Reply:
    """What a helper sends back."""


@dataclass(frozen=True)
class Ready(Reply):
    """The model host has loaded torch and the current model."""


@dataclass(frozen=True)
class Ranked(Reply):
    river: River


@dataclass(frozen=True)
class Above(Reply):
    ids: list[int]


@dataclass(frozen=True)
class Explained(Reply):
    explanation: ArticleExplanation


@dataclass(frozen=True)
class Shares(Reply):
    shares: dict[int, TitleShares]


@dataclass(frozen=True)
class Scored(Reply):
    scores: dict[int, float]


@dataclass(frozen=True)
class Progress(Reply):
    """How far a training round has come; more messages follow."""

    progress: TrainProgress


@dataclass(frozen=True)
class Trained(Reply):
    """The end of a training round: published, kept, rejected or cancelled."""

    report: TrainReport


@dataclass(frozen=True)
class Failed(Reply):
    """The request failed: the caller raises ``error`` (the reader's failure as it is, a bug as
    :class:`app.services.host.RemoteError` with its traceback)."""

    error: Exception


# -- requests ----------------------------------------------------------------------------------

R = TypeVar("R", bound=Reply, covariant=True)


class Request(Generic[R]):
    """A question for a helper; ``reply`` is the type of its answer."""

    reply: ClassVar[type[Reply]]


@dataclass(frozen=True)
class Preload(Request[Ready]):
    """Load torch and the current model now (at start-up, in the background)."""

    reply = Ready


@dataclass(frozen=True)
class RankRiver(Request[Ranked]):
    """The first page of a view ordered by the model (later pages need no model)."""

    reply = Ranked
    ranked: bool
    limit: int = 100
    offset: int = 0
    view: RiverFilter = UNREAD


@dataclass(frozen=True)
class ShownAbove(Request[Above]):
    """The unread articles "For you" lists above ``article_id`` (for headless clicks)."""

    reply = Above
    article_id: int


@dataclass(frozen=True)
class Explain(Request[Explained]):
    reply = Explained
    article_id: int


@dataclass(frozen=True)
class WordShares(Request[Shares]):
    """Each title's word shares, for the river's highlights."""

    reply = Shares
    article_ids: tuple[int, ...]


@dataclass(frozen=True)
class Scores(Request[Scored]):
    """Each article's ranked score, as "For you" orders by it."""

    reply = Scored
    article_ids: tuple[int, ...]


@dataclass(frozen=True)
class Train(Request[Trained]):
    """One training round; answered by :class:`Progress` messages, then :class:`Trained`."""

    reply = Trained
    epochs: int | None = None
    device: str | None = None


# -- control -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cancel:
    """Stop the training round under way at its next batch; the previous model stays in use."""


@dataclass(frozen=True)
class Stop:
    """End the helper."""


Incoming = Request[Reply] | Cancel | Stop
"""What a helper accepts."""

REQUESTS: tuple[type[Request[Any]], ...] = (
    Preload,
    RankRiver,
    ShownAbove,
    Explain,
    WordShares,
    Scores,
    Train,
)

ACCEPTED: Mapping[tuple[str, str], type] = {
    (t.__module__, t.__qualname__): t for t in (*REQUESTS, Cancel, Stop, RiverFilter)
}
"""The classes a helper unpickles: the messages it accepts and what they carry."""


class Refused(pickle.UnpicklingError):
    """A message a helper does not accept."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> type:
        accepted = ACCEPTED.get((module, name))
        if accepted is None:
            raise Refused(f"{module}.{name} is no message")
        return accepted


def read(data: bytes) -> Incoming:
    """The message pickled in ``data``; raises :class:`Refused` for anything else."""
    try:
        message = _Unpickler(io.BytesIO(data)).load()
    except Refused:
        raise
    except Exception as exc:  # a truncated or foreign pickle
        raise Refused(f"unreadable message ({exc})") from exc
    if not isinstance(message, (Request, Cancel, Stop)):
        raise Refused(f"{type(message).__name__} is no message")
    return message
