"""Self-describing checkpoint files: config, weights, vocabulary and metadata in one file.

Files are written atomically (temporary file in the same folder, flush, fsync,
rename) and read with ``torch.load(weights_only=True)``, so loading never
executes code. Anything that is not a well-formed checkpoint of this format is
refused with :class:`CheckpointError`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from nrms_core.config import NRMSConfig
from nrms_core.model import NRMS
from nrms_core.vocab import Vocabulary

__all__ = ["FORMAT", "VERSION", "Checkpoint", "CheckpointError", "load", "save", "write_atomic"]

logger = logging.getLogger(__name__)

FORMAT = "heedful-nrms"
VERSION = 1
_KEYS = frozenset({"format", "version", "config", "vocab", "state", "pretrained", "glove", "meta"})
_MAX_META_DEPTH = 8


class CheckpointError(Exception):
    """A file that cannot be used as a checkpoint; the message says why."""


@dataclass(frozen=True)
class Checkpoint:
    """A validated checkpoint.

    ``state`` is the model's state dict on CPU; ``pretrained`` is a [V] bool
    tensor marking embedding rows that came from GloVe; ``glove`` says whether
    new words should be looked up in GloVe.
    """

    config: NRMSConfig
    vocab: Vocabulary
    state: Mapping[str, torch.Tensor]
    pretrained: torch.Tensor
    glove: bool
    meta: Mapping[str, object]


def _plain(value: object, depth: int = 0) -> object:
    """Copy of ``value`` made only of None, bool, int, float, str, list and str-keyed dict."""
    if depth > _MAX_META_DEPTH:
        raise ValueError("metadata is nested too deeply")
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        out: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("metadata keys must be strings")
            out[key] = _plain(item, depth + 1)
        return out
    if isinstance(value, Sequence):
        return [_plain(item, depth + 1) for item in value]
    raise ValueError(f"metadata value of type {type(value).__name__} is not plain data")


def save(
    path: Path,
    *,
    config: NRMSConfig,
    vocab: Vocabulary,
    state: Mapping[str, torch.Tensor],
    pretrained: torch.Tensor,
    glove: bool,
    meta: Mapping[str, object] | None = None,
) -> str:
    """Write a checkpoint atomically; returns the sha256 (hex) of the file's bytes.

    Raises ValueError for metadata that is not plain data and OSError on I/O failure.
    """
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": config.to_dict(),
        "vocab": vocab.tokens(),
        "state": {k: v.detach().to("cpu").contiguous() for k, v in state.items()},
        "pretrained": pretrained.detach().to("cpu", torch.bool),
        "glove": bool(glove),
        "meta": _plain(dict(meta or {})),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    path = Path(path)
    write_atomic(path, data)
    digest = hashlib.sha256(data).hexdigest()
    logger.info("saved checkpoint %s (%d bytes, sha256 %s)", path, len(data), digest[:12])
    return digest


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new one, never
    a part: a temporary file beside it, synced, renamed over it, and the folder synced."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        pass
    else:
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)


def _read(path: Path, data: bytes | None) -> object:
    try:
        if data is not None:
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        with Path(path).open("rb") as fh:
            return torch.load(fh, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: no such file") from exc
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read: {exc}") from exc
    except Exception as exc:  # any unpickling/zip failure means a bad file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint ({first[:200]})") from exc


_NEUTRAL = ("score_scale", "source_bias", "word_bias")
"""Weights a checkpoint may lack (it predates them) and that then take their neutral value."""


def _check_state(path: Path, state: object, expected: Mapping[str, torch.Tensor]) -> None:
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise CheckpointError(f"{path}: weights are not a name -> tensor mapping")
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing:
        raise CheckpointError(f"{path}: missing weights: {', '.join(missing[:5])}")
    if extra:
        raise CheckpointError(f"{path}: unexpected weights: {', '.join(extra[:5])}")
    for name in sorted(expected, key=lambda k: k in _NEUTRAL):  # the weights' errors first
        ref, tensor = expected[name], state[name]
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"{path}: weight {name} is not a tensor")
        if tuple(tensor.shape) != tuple(ref.shape):
            raise CheckpointError(
                f"{path}: weight {name} has shape {tuple(tensor.shape)}, "
                f"expected {tuple(ref.shape)}"
            )
        if tensor.dtype != ref.dtype:
            raise CheckpointError(f"{path}: weight {name} has dtype {tensor.dtype}")
        if not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{path}: weight {name} holds non-finite values")


def load(path: Path, *, content: bytes | None = None) -> Checkpoint:
    """Read and validate a checkpoint; raises CheckpointError with a clear message.

    ``content``: the bytes of ``path`` when the caller has read them already (to check their
    hash, say), so that the file is not read twice; ``path`` then only names it in messages.
    """
    path = Path(path)
    data = _read(path, content)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a Heedful NRMS checkpoint")
    version = data.get("version")
    if version != VERSION:
        raise CheckpointError(f"{path}: unsupported checkpoint format version {version!r}")
    missing = sorted(_KEYS - set(data))
    if missing:
        raise CheckpointError(f"{path}: missing entries: {', '.join(missing)}")
    raw_config = data["config"]
    if not isinstance(raw_config, dict):
        raise CheckpointError(f"{path}: config is not a mapping")
    try:
        config = NRMSConfig.from_dict(raw_config)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: invalid config: {exc}") from exc
    tokens = data["vocab"]
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise CheckpointError(f"{path}: vocabulary is not a list of strings")
    try:
        vocab = Vocabulary.from_tokens(tokens)
    except ValueError as exc:
        raise CheckpointError(f"{path}: invalid vocabulary: {exc}") from exc
    # a throw-away CPU model gives the expected shapes (a few ms); building it on the meta
    # device instead would import torch._dynamo and sympy (about 1 s and 110 MB per process)
    expected = NRMS(config, len(vocab)).state_dict()
    state = data["state"]
    if isinstance(state, dict):  # written before the feed bias: a = 1 and b = 0 score the same
        state = {**{k: expected[k] for k in _NEUTRAL if k not in state}, **state}
    _check_state(path, state, expected)
    pretrained = data["pretrained"]
    if (
        not isinstance(pretrained, torch.Tensor)
        or pretrained.dtype != torch.bool
        or tuple(pretrained.shape) != (len(vocab),)
    ):
        raise CheckpointError(f"{path}: pretrained-row mask does not match the vocabulary")
    glove = data["glove"]
    if not isinstance(glove, bool):
        raise CheckpointError(f"{path}: the GloVe flag is not a bool")
    meta = data["meta"]
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: metadata is not a mapping")
    try:
        meta = _plain(meta)
    except ValueError as exc:
        raise CheckpointError(f"{path}: invalid metadata: {exc}") from exc
    assert isinstance(meta, dict)
    return Checkpoint(config, vocab, state, pretrained, glove, meta)
