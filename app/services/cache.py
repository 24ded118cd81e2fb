"""Article vectors of one model version, kept in memory and in one ``.npz`` file per version.

Ranking is a dot product over these, so each article is encoded once per model version; the
file lets the next start skip the encoding. The file is our own, but it is still read without
pickle and checked for shape.

Vectors are stored as float16 (half the memory of float32; a score moves by about 1e-3 of its
size, far below the spread that orders the river) and scored in float32. Beside each vector
the cache keeps the article's lexical click bias (the fitted biases of its title's words, a
float32 per article), so that ranking never tokenises a title again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
STORED = np.float16
"""The element type of stored vectors."""
SCORE_CHUNK = 8192
"""Rows converted to float32 at a time when scoring."""


class VectorCache:
    """Vectors [N, D] and lexical biases [N] by article id, appended to as new articles are
    encoded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ids: npt.NDArray[np.int64] = np.zeros(0, np.int64)
        self._vectors: npt.NDArray[np.float16] = np.zeros((0, 0), STORED)
        self._lexical: FloatArray = np.zeros(0, np.float32)
        self._sorter: npt.NDArray[np.intp] = np.zeros(0, np.intp)
        """Positions that sort ``_ids`` (an index without a dict of boxed ints)."""

    @classmethod
    def load(cls, path: Path) -> VectorCache:
        """The cache saved at ``path``, or an empty one when it is missing or unreadable.

        A file written before lexical biases were kept has none: its model version predates
        word biases, so they are all 0."""
        cache = cls(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                ids = np.asarray(data["ids"], dtype=np.int64)
                vectors = np.asarray(data["vectors"], dtype=STORED)
                lexical = (
                    np.asarray(data["lexical"], dtype=np.float32)
                    if "lexical" in data.files
                    else np.zeros(len(ids), np.float32)
                )
        except (OSError, KeyError, ValueError) as exc:
            if path.exists():
                log.warning("article vector cache %s unreadable (%s); re-encoding", path, exc)
            return cache
        if vectors.ndim != 2 or len(ids) != len(vectors) or lexical.shape != ids.shape:
            log.warning("article vector cache %s has the wrong shape; re-encoding", path)
            return cache
        if not np.isfinite(lexical).all():
            log.warning("article vector cache %s holds non-finite biases; re-encoding", path)
            return cache
        cache._ids, cache._vectors, cache._lexical = ids, vectors, lexical
        cache._sorter = np.argsort(ids, kind="stable")
        return cache

    def __contains__(self, article_id: object) -> bool:
        if not isinstance(article_id, int | np.integer):
            return False
        return bool(self._lookup([int(article_id)])[0] >= 0)

    def __len__(self) -> int:
        return len(self._ids)

    def missing(self, ids: Sequence[int]) -> list[int]:
        """The distinct ids among ``ids`` that have no vector yet, in order."""
        distinct = list(dict.fromkeys(ids))
        found = self._lookup(distinct)
        return [a for a, at in zip(distinct, found.tolist(), strict=True) if at < 0]

    def add(
        self,
        ids: Sequence[int],
        vectors: npt.NDArray[np.floating[Any]],
        lexical: npt.NDArray[np.floating[Any]] | None = None,
    ) -> None:
        """Append vectors [len(ids), D] and lexical biases [len(ids)] (None: 0) and save the
        file atomically."""
        stored = np.asarray(vectors, dtype=STORED)
        biases = (
            np.zeros(len(ids), np.float32)
            if lexical is None
            else np.asarray(lexical, np.float32).reshape(-1)
        )
        if len(biases) != len(ids) or len(stored) != len(ids):
            raise ValueError("one vector and one lexical bias per article expected")
        self._ids = np.concatenate([self._ids, np.asarray(ids, np.int64)])
        self._vectors = stored if self._vectors.size == 0 else np.vstack([self._vectors, stored])
        self._lexical = np.concatenate([self._lexical, biases])
        self._sorter = np.argsort(self._ids, kind="stable")
        self.save()

    def _lookup(self, ids: Sequence[int]) -> npt.NDArray[np.intp]:
        """Row of each id, -1 where it has none (the first row when an id was added twice)."""
        query = np.asarray(ids, np.int64).reshape(-1)
        if not len(self._ids) or not len(query):
            return np.full(len(query), -1, np.intp)
        at = np.searchsorted(self._ids, query, sorter=self._sorter)
        rows = self._sorter[np.minimum(at, len(self._ids) - 1)]
        return np.where(self._ids[rows] == query, rows, -1)

    def _positions(self, ids: Sequence[int]) -> npt.NDArray[np.intp] | None:
        rows = self._lookup(ids)
        return None if (rows < 0).any() else rows

    def rows(self, ids: Sequence[int]) -> FloatArray | None:
        """Vectors [len(ids), D] float32 in the order of ``ids``; None when any id is unknown."""
        positions = self._positions(ids)
        if positions is None:
            return None
        if not len(positions):
            dim = self._vectors.shape[1] if self._vectors.size else 0
            return np.zeros((0, dim), np.float32)
        return self._vectors[positions].astype(np.float32)

    def scores(self, ids: Sequence[int], user: FloatArray) -> FloatArray | None:
        """Dot products [len(ids)] of these articles' vectors with ``user`` [D], in float32,
        a chunk at a time (no float32 copy of the whole matrix); None when any id is unknown."""
        positions = self._positions(ids)
        if positions is None:
            return None
        out = np.empty(len(positions), np.float32)
        u = np.asarray(user, np.float32)
        for start in range(0, len(positions), SCORE_CHUNK):
            chunk = positions[start : start + SCORE_CHUNK]
            out[start : start + len(chunk)] = self._vectors[chunk].astype(np.float32) @ u
        return out

    def lexical(self, ids: Sequence[int]) -> FloatArray | None:
        """Lexical click biases [len(ids)] float32; None when any id is unknown."""
        positions = self._positions(ids)
        return None if positions is None else self._lexical[positions]

    def save(self) -> None:
        """Write the file (temporary file, then rename); a failure only costs re-encoding."""
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        try:
            np.savez(tmp, ids=self._ids, vectors=self._vectors, lexical=self._lexical)
            tmp.replace(self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            log.warning("could not save the article vector cache: %s", exc)
