"""The reader's model in use: the newest usable checkpoint, the article vectors it encodes
and caches per model version, and the reader vector built from their latest clicks.

:class:`ModelLoader` is the base of :class:`app.services.ranking.Ranker`; torch loads lazily,
only when a model is first asked for (or :meth:`ModelLoader.preload` runs in the background).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from app.services import heap
from app.services.cache import VectorCache
from app.services.model import (
    Loaded,
    RankingError,
    article_texts,
    cache_path,
    checkpoint_path,
    encode,
    file_sha256,
    forget_tokens,
)
from app.services.profile import Profile
from app.storage import events

log = logging.getLogger(__name__)

HISTORY = 50
TRIM_AFTER = 4096
"""Encodes of at least this many titles hand their freed memory back to the system."""

FloatArray = npt.NDArray[np.float32]


class ModelLoader:
    """Loads the newest usable checkpoint and encodes articles with it; thread-safe (one lock,
    ``_lock``, guards the loaded model and everything a subclass caches beside it)."""

    def __init__(
        self, profile: Profile, *, device: str | None = None, load_models: bool = True
    ) -> None:
        """``load_models=False`` never loads a model (nor torch)."""
        self._profile = profile
        self._device = device
        self._load_models = load_models
        self._lock = threading.RLock()
        self._loaded: Loaded | None = None
        self._unusable: set[int] = set()

    @property
    def loaded_version(self) -> int | None:
        """The id of the model version loaded now (None: none yet)."""
        loaded = self._loaded
        return None if loaded is None else loaded.version.id

    def preload(self) -> None:
        """Import torch and load the current model; meant for a background thread at start-up."""
        if not self._load_models:
            return
        from nrms_core import Recommender  # noqa: F401  (the import is the work)

        with self._lock:
            self._current()

    def _current(self) -> Loaded | None:
        """The newest loadable model (reloaded when training made a newer one)."""
        if not self._load_models:
            return None
        with self._profile.db.read() as s:
            versions = events.list_model_versions(s)
        if not versions:
            return None
        usable = [v for v in versions if v.id not in self._unusable]
        if self._loaded is not None and usable and self._loaded.version.id == usable[-1].id:
            return self._loaded
        from nrms_core import CheckpointError, Recommender

        for version in reversed(usable):
            path = checkpoint_path(self._profile, version)
            try:
                if file_sha256(path) != version.sha256:
                    raise CheckpointError(f"{path.name} is not the file that training wrote")
                model = Recommender.load(
                    path, device=self._device, cache_dir=self._profile.paths.glove
                )
            except (CheckpointError, OSError) as exc:
                log.warning("model version %d is unusable: %s", version.id, exc)
                self._unusable.add(version.id)
                continue
            self._loaded = Loaded(
                version, model, VectorCache.load(cache_path(self._profile, version.id))
            )
            return self._loaded
        return None

    def _no_model_notice(self, *, explain: bool = False) -> str:
        """Why no model is in use: none trained yet, or every recorded one is damaged (a
        reader told "no model yet" after training would look for the wrong cause)."""
        with self._profile.db.read() as s:
            versions = events.list_model_versions(s)
        then = "nothing to explain" if explain else "showing Latest"
        if not versions or not self._load_models:
            if explain:
                return "there is no trained model yet, so nothing to explain"
            return "No model trained yet; showing Latest until the first training round."
        newest = checkpoint_path(self._profile, versions[-1])
        return (
            f"The model file {newest} is damaged or missing, and no earlier one can be used; "
            f"{then} until the next training round writes a new one."
        )

    def _texts(self, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """(title, source) of each known article; the source is its feed, as the model sees it."""
        return article_texts(self._profile.db, ids)

    def _vectors_for(
        self,
        loaded: Loaded,
        ids: Sequence[int],
        texts: Mapping[int, tuple[str, str]] | None = None,
    ) -> FloatArray:
        """Vectors [len(ids), D] of these articles, encoding (and caching) the missing ones.

        ``texts`` gives (title, source) by id when the caller has them already.
        """
        self._encode_missing(loaded, ids, texts)
        rows = loaded.cache.rows(ids)
        if rows is None:
            raise RankingError("some articles are gone; refresh the view")
        return rows

    def _encode_missing(
        self,
        loaded: Loaded,
        ids: Sequence[int],
        texts: Mapping[int, tuple[str, str]] | None = None,
        *,
        save: bool = True,
    ) -> None:
        """Encode and cache the articles among ``ids`` that have no vector yet (``save``: see
        :meth:`VectorCache.add`)."""
        missing = loaded.cache.missing(ids)
        if not missing:
            return
        if texts is None:
            texts = self._texts(missing)
        missing = [a for a in missing if a in texts]
        if missing:
            vectors, lexical = encode(loaded.model, [texts[a] for a in missing])
            loaded.cache.add(missing, vectors, lexical, save=save)
            del vectors, lexical
            if len(missing) >= TRIM_AFTER:
                forget_tokens()
                heap.trim()

    def _history(self) -> tuple[int, ...]:
        """The past reads the reader vector is built from, oldest first, at most HISTORY: the
        articles opened and those said "more like this" of, less those said "less like this"
        of, each at its time, as a training round takes them (:func:`app.services.signal.build`
        gives the same sequence), so an open or a judgement moves For you at once, not only
        from the next round. Only the latest clicks are read: enough of them for HISTORY
        distinct reads (a profile's whole log grows by thousands of clicks a year)."""
        with self._profile.db.read() as s:
            given = [f for f in events.feedback(s) if f.kind in ("more", "less")]
            less = {f.article_id for f in given if f.kind == "less"}
            limit = 4 * HISTORY
            while True:
                latest = events.latest_clicks(s, limit)[::-1]  # oldest first
                reads = [(t, a) for a, t in latest if a not in less]
                whole = len(latest) < limit  # every click there is
                if whole or len({a for _, a in reads}) >= HISTORY:
                    break
                limit *= 4
            liked = [f for f in given if f.kind == "more" and f.article_id not in less]
            opened = events.opened_among(s, [f.article_id for f in liked if f.article_id])
        since = None if whole or not latest else latest[0][1]
        for f in liked:  # a "more" counts as an open of an article never opened, once
            if f.article_id and f.article_id not in opened:
                opened.add(f.article_id)
                if since is None or f.time >= since:
                    reads.append((f.time, f.article_id))
        reads.sort(key=lambda read: read[0])  # stable: a click before a "more" at one time
        return tuple(dict.fromkeys(a for _, a in reversed(reads)))[:HISTORY][::-1]

    def _user_vector(
        self, loaded: Loaded, history: Sequence[int] | None = None
    ) -> tuple[FloatArray, list[int], dict[int, tuple[str, str]]]:
        """The reader vector u [D], the ids of the past reads it is built from (oldest first,
        at most HISTORY; :meth:`_history` unless given) and their (title, source)."""
        recent = list(self._history() if history is None else history)
        texts = self._texts(recent)
        recent = [a for a in recent if a in texts]
        vectors = self._vectors_for(loaded, recent, texts)
        return loaded.model.user_vector(vectors), recent, texts

    def _locked_current(self) -> Loaded | None:
        with self._lock:
            return self._current()

    def _install(self, loaded: Loaded) -> None:
        """Rank by a newly trained model from now on."""
        with self._lock:
            self._loaded = loaded
