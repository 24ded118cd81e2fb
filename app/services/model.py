"""The reader's model beneath the ranker: where its checkpoints and vector caches live, the
version in use, encoding titles into news vectors, and the error ranking and training report.

Shared by :mod:`app.services.ranking` and the training round (:mod:`app.services.tuning`).
Nothing here imports torch at import time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from app.services import heap
from app.services.cache import VectorCache
from app.services.profile import Profile
from app.services.training import source_of
from app.storage import articles, events
from app.storage.database import Database
from app.storage.error import HeedfulError
from app.storage.record import ModelVersionRecord

if TYPE_CHECKING:
    from nrms_core import Recommender

MIN_CLICKS = 5
"""Distinct articles the reader must have opened before "For you" uses the model (opening one
article many times counts once). Five is enough for a first round to learn a feed or a
keyword: the round's click biases start from the exposure prior, which a few opens against
everything shown already point, and the guard keeps a round that ranks worse than it should
from being used. At 10, readers who open few articles waited a day or more with the newest
first: on the session benchmark (seeds 1 and 2) a keyword reader with 6-8 opens got Latest's
0.41-0.46 AUC where the TF-IDF regression on the same opens had 0.85-0.96; at 5, For you's mean
AUC over the eight rows went 0.887 -> 0.897 and 0.893 -> 0.918, none published below chance."""
ENCODE_CHUNK = 16384
"""Titles encoded at a time, so that a large encode never holds all its float32 output."""


class RankingError(HeedfulError):
    """Ranking, training or explaining cannot be done now; the message is for the reader."""


@dataclass
class Loaded:
    """The model version in use: its record, the model, and its cache of article vectors."""

    version: ModelVersionRecord
    model: Recommender
    cache: VectorCache


def opened_articles(db: Database) -> int:
    """How many distinct articles the reader has opened: what :data:`MIN_CLICKS` counts."""
    with db.read() as s:
        return events.clicked_articles(s)


def model_ready(db: Database, *, ranked: bool = True) -> bool:
    """Whether the model would be used: a trained version exists and, for a ranked view,
    the reader has opened enough distinct articles. Cheap; never imports torch."""
    with db.read() as s:
        if not events.list_model_versions(s):
            return False
        return not ranked or events.clicked_articles(s) >= MIN_CLICKS


def checkpoint_path(profile: Profile, version: ModelVersionRecord) -> Path:
    """Checkpoints are recorded by file name, relative to the profile's model folder."""
    path = Path(version.path)
    return path if path.is_absolute() else profile.paths.models / path


def cache_path(profile: Profile, version: int) -> Path:
    """The file of the article vectors made by this model version."""
    return profile.paths.cache / f"vectors-{version}.npz"


def article_texts(db: Database, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """(title, source) of each known article; the source is its feed, as the model sees it."""
    with db.read() as s:
        titles = articles.article_titles(s, ids)
        feeds_of = articles.article_feeds(s, ids)
    return {a: (t, source_of(feeds_of[a])) for a, t in titles.items()}


def encode(
    model: Recommender, texts: Sequence[tuple[str, str]]
) -> tuple[npt.NDArray[np.float16], npt.NDArray[np.float32]]:
    """News vectors [N, D] of (title, source) pairs, as stored in the cache (float16), and the
    titles' lexical click biases [N].

    The titles are encoded :data:`ENCODE_CHUNK` at a time, each chunk written straight into
    the float16 output (no list of parts joined at the end: that join held the output
    twice), its lexical biases read while its titles' tokens are still memoised, and the
    tokeniser's memo emptied after it: a fresh model's first For you at 100,000 articles
    otherwise memoised 65,536 titles it never tokenises again (their vectors are cached)."""
    count = len(texts)
    vectors = np.zeros((count, model.config.news_dim), np.float16)  # [N, D]
    lexical = np.zeros(count, np.float32)  # [N]
    for i in range(0, count, ENCODE_CHUNK):
        chunk = texts[i : i + ENCODE_CHUNK]
        titles = [t for t, _ in chunk]
        with np.errstate(over="ignore", invalid="ignore"):  # overflow: inf, stored as 0
            vectors[i : i + len(chunk)] = model.encode(titles, [src for _, src in chunk])
        lexical[i : i + len(chunk)] = model.lexical(titles)
        if count > ENCODE_CHUNK:
            forget_tokens()
            heap.trim()
    return vectors, lexical


def forget_tokens() -> None:
    """Empty the tokeniser's memo of recent titles (tens of megabytes after a large encode;
    encoded titles are not tokenised again, their vectors are cached)."""
    from nrms_core import forget_titles

    forget_titles()


def source_token(source: str) -> str | None:
    """The vocabulary token the model makes of a source name."""
    from nrms_core import source_token as token

    return token(source)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
