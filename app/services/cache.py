"""Article vectors of one model version, kept in memory and in one ``.npz`` file per version.

Ranking is a dot product over these, so each article is encoded once per model version; the
file lets the next start skip the encoding. The file is our own, but it is still read without
pickle and checked for shape.

Vectors are stored as float16 (half the memory of float32; a score moves by about 1e-3 of its
size, far below the spread that orders the river) and scored in float32. Beside each vector
the cache keeps the article's lexical click bias (the fitted biases of its title's words, a
float32 per article), so that ranking never tokenises a title again.

The cache is disposable: a file that cannot be read for any reason (truncated by a power cut,
a bad CRC, empty, mis-shaped, holding NaN or Inf) is discarded with one log line and its
vectors are encoded again, so a damaged file can never block ranking, explaining or training.
It is written to a temporary file that is flushed to disk (fsync) before it is renamed over
the old one, and the folder is synced after the rename, so a power cut leaves either the old
file or the new one. Non-finite vectors and biases are never stored or scored: a vector that
overflows float16 (or that a broken model made NaN) is stored as zeros, a neutral score.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
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
STALE_TEMPORARY_S = 3600.0
"""Age after which a temporary cache file is taken for the leftover of a killed save."""
_VERSION_RE = re.compile(r"^vectors-(\d+)\.npz$")


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
            with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
                ids = np.asarray(data["ids"], dtype=np.int64)
                vectors = np.asarray(data["vectors"], dtype=STORED)
                lexical = (
                    np.asarray(data["lexical"], dtype=np.float32)
                    if "lexical" in data.files
                    else np.zeros(len(ids), np.float32)
                )
        except FileNotFoundError:
            return cache
        except Exception as exc:  # any unreadable file (BadZipFile, EOFError, zlib.error, a
            # bad CRC, a refused pickle, an absurd header) only costs re-encoding
            _discard(path, f"unreadable ({type(exc).__name__}: {str(exc)[:120]})")
            return cache
        problem = _problem(ids, vectors, lexical)
        if problem:
            _discard(path, problem)
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

    def has(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Whether each of ``ids`` [N] has a vector [N] (a pool's ranked rows, without a list
        of Python ints)."""
        return np.asarray(self._lookup(ids) >= 0, np.bool_)

    def add(
        self,
        ids: Sequence[int],
        vectors: npt.NDArray[np.floating[Any]],
        lexical: npt.NDArray[np.floating[Any]] | None = None,
        *,
        save: bool = True,
    ) -> None:
        """Append vectors [len(ids), D] and lexical biases [len(ids)] (None: 0) and, unless
        ``save`` is False, save the file atomically. An encode in slices (For you ranking a
        large new pool a part at a time) saves after its last slice only: each save writes the
        whole file, and vectors lost to a crash meanwhile are only encoded again."""
        with np.errstate(over="ignore", invalid="ignore"):
            stored = np.asarray(vectors, dtype=STORED)
        biases = (
            np.zeros(len(ids), np.float32)
            if lexical is None
            else np.asarray(lexical, np.float32).reshape(-1)
        )
        if len(biases) != len(ids) or len(stored) != len(ids):
            raise ValueError("one vector and one lexical bias per article expected")
        if stored.size and self._vectors.size and stored.shape[1:] != self._vectors.shape[1:]:
            raise ValueError("vectors of another width than the cached ones")
        stored, biases = _finite(stored, biases)
        self._ids = np.concatenate([self._ids, np.asarray(ids, np.int64)])
        self._vectors = stored if self._vectors.size == 0 else np.vstack([self._vectors, stored])
        self._lexical = np.concatenate([self._lexical, biases])
        self._sorter = np.argsort(self._ids, kind="stable")
        if save:
            self.save()

    def _lookup(self, ids: Sequence[int] | npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
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
        if not np.isfinite(u).all():
            log.warning("the reader vector is not finite; its scores count as 0")
            out.fill(0.0)
            return out
        for start in range(0, len(positions), SCORE_CHUNK):
            chunk = positions[start : start + SCORE_CHUNK]
            out[start : start + len(chunk)] = self._vectors[chunk].astype(np.float32) @ u
        return out

    def lexical(self, ids: Sequence[int]) -> FloatArray | None:
        """Lexical click biases [len(ids)] float32; None when any id is unknown."""
        positions = self._positions(ids)
        return None if positions is None else self._lexical[positions]

    def save(self) -> None:
        """Write the file durably: a temporary file in the same folder, flushed to disk, then
        renamed over the old one and the folder synced. A failure only costs re-encoding."""
        tmp: Path | None = None
        try:
            fd, name = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
            )
            tmp = Path(name)
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, ids=self._ids, vectors=self._vectors, lexical=self._lexical)
                handle.flush()
                os.fsync(handle.fileno())
            tmp.replace(self.path)
            tmp = None
            _sync_folder(self.path.parent)
        except OSError as exc:
            log.warning("could not save the article vector cache %s: %s", self.path, exc)
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)


def _problem(
    ids: npt.NDArray[np.int64], vectors: npt.NDArray[np.float16], lexical: FloatArray
) -> str | None:
    """Why arrays read from a file cannot be used, or None when they can."""
    if ids.ndim != 1 or vectors.ndim != 2 or len(ids) != len(vectors):
        return f"has the wrong shape (ids {ids.shape}, vectors {vectors.shape})"
    if lexical.shape != ids.shape:
        return f"has the wrong shape (ids {ids.shape}, lexical biases {lexical.shape})"
    if len(ids) and not vectors.shape[1]:
        return "holds vectors of width 0"
    if not np.isfinite(lexical).all():
        return "holds non-finite lexical biases"
    if not np.isfinite(vectors).all():
        return "holds non-finite vectors"
    return None


def _discard(path: Path, why: str) -> None:
    """Remove a damaged cache file (one log line); its vectors are encoded again."""
    log.warning("article vector cache %s %s; discarding it and re-encoding", path, why)
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # the next save replaces it anyway
        log.debug("could not remove %s: %s", path, exc)


def _finite(
    vectors: npt.NDArray[np.float16], biases: FloatArray
) -> tuple[npt.NDArray[np.float16], FloatArray]:
    """Rows with a non-finite element (NaN, or beyond float16's range) made 0, non-finite
    biases made 0, so that nothing non-finite is stored or scored."""
    bad_rows = ~np.isfinite(vectors).all(axis=1) if vectors.ndim == 2 else np.zeros(0, bool)
    bad_biases = ~np.isfinite(biases)
    if bad_rows.any() or bad_biases.any():
        log.warning(
            "%d article vectors and %d lexical biases were not finite; stored as 0",
            int(bad_rows.sum()),
            int(bad_biases.sum()),
        )
        vectors = vectors.copy()
        vectors[bad_rows] = 0
        biases = np.where(bad_biases, np.float32(0), biases).astype(np.float32)
    return vectors, biases


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def cache_version(path: Path) -> int | None:
    """The model version of a cache file named ``vectors-N.npz``, else None."""
    match = _VERSION_RE.match(path.name)
    return int(match.group(1)) if match else None


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest caches in ``folder``, newest by model version
    number (``vectors-10`` is newer than ``vectors-9``), and temporary files left over an hour
    ago by a save that was killed (a younger one may be another process's save in progress);
    returns what was deleted."""
    caches = sorted(
        (p for p in folder.glob("vectors-*.npz") if cache_version(p) is not None),
        key=lambda p: cache_version(p) or 0,
    )
    doomed = caches[: max(0, len(caches) - keep)]
    cutoff = time.time() - STALE_TEMPORARY_S
    for tmp in folder.glob(".vectors-*.tmp"):
        try:
            if tmp.stat().st_mtime < cutoff:
                doomed.append(tmp)
        except OSError:
            continue
    for old in doomed:
        try:
            old.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not delete the old vector cache %s: %s", old, exc)
    return doomed
