"""Article vectors of one model version, kept in memory and in one ``.npz`` file per version.

Ranking is a dot product over these, so each article is encoded once per model version; the
file lets the next start skip the encoding. The file is our own, but it is still read without
pickle and checked for shape.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]


class VectorCache:
    """Vectors [N, D] by article id, appended to as new articles are encoded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ids: npt.NDArray[np.int64] = np.zeros(0, np.int64)
        self._vectors: FloatArray = np.zeros((0, 0), np.float32)
        self._index: dict[int, int] = {}

    @classmethod
    def load(cls, path: Path) -> VectorCache:
        """The cache saved at ``path``, or an empty one when it is missing or unreadable."""
        cache = cls(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                ids = np.asarray(data["ids"], dtype=np.int64)
                vectors = np.asarray(data["vectors"], dtype=np.float32)
        except (OSError, KeyError, ValueError) as exc:
            if path.exists():
                log.warning("article vector cache %s unreadable (%s); re-encoding", path, exc)
            return cache
        if vectors.ndim != 2 or len(ids) != len(vectors):
            log.warning("article vector cache %s has the wrong shape; re-encoding", path)
            return cache
        cache._ids, cache._vectors = ids, vectors
        cache._index = {int(a): i for i, a in enumerate(ids)}
        return cache

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._index

    def __len__(self) -> int:
        return len(self._ids)

    def missing(self, ids: Sequence[int]) -> list[int]:
        """The distinct ids among ``ids`` that have no vector yet, in order."""
        return [a for a in dict.fromkeys(ids) if a not in self._index]

    def add(self, ids: Sequence[int], vectors: FloatArray) -> None:
        """Append vectors [len(ids), D] and save the file atomically."""
        start = len(self._ids)
        self._ids = np.concatenate([self._ids, np.asarray(ids, np.int64)])
        self._vectors = (
            vectors if self._vectors.size == 0 else np.concatenate([self._vectors, vectors])
        )
        for offset, article_id in enumerate(ids):
            self._index[article_id] = start + offset
        self.save()

    def rows(self, ids: Sequence[int]) -> FloatArray | None:
        """Vectors [len(ids), D] in the order of ``ids``; None when any id is unknown."""
        if any(a not in self._index for a in ids):
            return None
        if not ids:
            dim = self._vectors.shape[1] if self._vectors.size else 0
            return np.zeros((0, dim), np.float32)
        return self._vectors[[self._index[a] for a in ids]]

    def save(self) -> None:
        """Write the file (temporary file, then rename); a failure only costs re-encoding."""
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        try:
            np.savez(tmp, ids=self._ids, vectors=self._vectors)
            tmp.replace(self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            log.warning("could not save the article vector cache: %s", exc)
