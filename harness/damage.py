"""Every kind of damage an article-vector cache can suffer, each as a function that writes such
a cache at a path: what a power cut or a bad disk leaves (truncated, bad CRC, empty, garbage)
and what a file from elsewhere could hold (mis-shaped or ragged arrays, NaN and Inf vectors,
pickled objects). The tests check each is discarded with one log line; bench/reliability.py
checks "For you" and "Why this?" still work on a profile with each.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.services.cache import VectorCache

__all__ = ["DAMAGE", "good_cache"]


def good_cache(path: Path, n: int = 40, dim: int = 8) -> None:
    """Write a sound cache of ``n`` random vectors of ``dim`` numbers at ``path``."""
    cache = VectorCache(path)
    rng = np.random.default_rng(0)
    cache.add(list(range(1, n + 1)), rng.normal(size=(n, dim)).astype(np.float32))


def _truncated(path: Path) -> None:
    good_cache(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _bad_crc(path: Path) -> None:
    good_cache(path)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("vectors.npy")
    data = bytearray(path.read_bytes())
    # the member is stored uncompressed: flip a byte of its array data, past its header
    at = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
    data[at] ^= 0x55
    path.write_bytes(bytes(data))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _garbage(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04" + os.urandom(300))


def _misshapen(path: Path) -> None:
    np.savez(path, ids=np.arange(6).reshape(2, 3), vectors=np.zeros((2, 4), np.float16))


def _ragged(path: Path) -> None:
    np.savez(
        path,
        ids=np.arange(3),
        vectors=np.zeros((3, 4), np.float16),
        lexical=np.zeros(5, np.float32),
    )


def _nan_vectors(path: Path) -> None:
    vectors = np.ones((3, 4), np.float16)
    vectors[1, 2] = np.nan
    np.savez(path, ids=np.arange(3), vectors=vectors, lexical=np.zeros(3, np.float32))


def _inf_vectors(path: Path) -> None:
    vectors = np.ones((3, 4), np.float16)
    vectors[0, 0] = np.inf
    np.savez(path, ids=np.arange(3), vectors=vectors, lexical=np.zeros(3, np.float32))


def _pickled(path: Path) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, ids=np.array([object()], dtype=object), vectors=np.zeros((1, 4)))
    path.write_bytes(buffer.getvalue())


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": _truncated,
    "bad CRC": _bad_crc,
    "empty": _empty,
    "garbage": _garbage,
    "mis-shaped ids": _misshapen,
    "ragged biases": _ragged,
    "NaN vectors": _nan_vectors,
    "Inf vectors": _inf_vectors,
    "pickled objects": _pickled,
}
