"""A damaged article-vector cache never blocks anything (issue 18, items 1 and 4).

Every kind of damage a power cut or a bad disk leaves (truncated, bad CRC, empty, mis-shaped,
non-finite) is discarded with one log line and re-encoded; the file is written with fsync and
an atomic rename; NaN and Inf never reach a score nor the JSON; pruning keeps the newest caches
by version number, past version 10.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from app import cli
from app.services.cache import VectorCache
from app.services.profile import Profile
from app.services.tuning import _prune
from harness.damage import DAMAGE, good_cache
from harness.sample import seed_profile
from harness.training import install_model


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_a_damaged_cache_is_discarded_with_one_log_line(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "vectors-1.npz"
    DAMAGE[damage](path)
    with caplog.at_level(logging.WARNING, logger="app.services.cache"):
        cache = VectorCache.load(path)
    assert len(cache) == 0
    lines = [r for r in caplog.records if r.name == "app.services.cache"]
    assert len(lines) == 1 and str(path) in lines[0].getMessage()
    assert not path.exists()  # gone, so the next save starts clean
    cache.add([7], np.ones((1, 4), np.float32))  # and the cache works again
    assert VectorCache.load(path).rows([7]) is not None


def test_non_finite_vectors_never_reach_a_score(tmp_path: Path) -> None:
    cache = VectorCache(tmp_path / "vectors-1.npz")
    vectors = np.ones((3, 4), np.float32)
    vectors[0, 1] = np.nan
    vectors[1, 2] = 1e6  # beyond float16: it would be stored as inf
    cache.add([1, 2, 3], vectors, np.array([0.5, np.inf, 0.1], np.float32))
    scores = cache.scores([1, 2, 3], np.ones(4, np.float32))
    lexical = cache.lexical([1, 2, 3])
    assert scores is not None and lexical is not None
    assert np.isfinite(scores).all() and np.isfinite(lexical).all()
    assert scores.tolist() == [0.0, 0.0, 4.0]
    assert len(VectorCache.load(tmp_path / "vectors-1.npz")) == 3  # stored clean
    nan_user = np.full(4, np.nan, np.float32)
    assert np.isfinite(cache.scores([1, 2, 3], nan_user)).all()  # type: ignore[arg-type]


def test_the_cache_is_fsynced_and_renamed_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vectors-1.npz"
    good_cache(path)
    before = path.read_bytes()
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)

    def power_cut(self: Path, target: object) -> Path:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(Path, "replace", power_cut)
    cache = VectorCache.load(path)
    cache.add([99], np.ones((1, 8), np.float32))  # the save fails at the rename
    assert synced  # the data was flushed to disk before the rename was tried
    assert path.read_bytes() == before  # the old file is whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vectors-1.npz"]  # no temporary


def test_pruning_keeps_the_newest_versions_past_ten(tmp_path: Path) -> None:
    with Profile(tmp_path / "p") as profile:
        for version in range(1, 13):
            good_cache(profile.paths.cache / f"vectors-{version}.npz", n=2)
        _prune(profile, profile.paths.models, keep=set())
        left = sorted(p.name for p in profile.paths.cache.iterdir())
    assert left == ["vectors-10.npz", "vectors-11.npz", "vectors-12.npz"]


def _strict(text: str) -> object:
    def refuse(name: str) -> object:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.slow  # loads torch and a model
def test_ranked_list_and_explain_survive_a_truncated_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "p"
    seed_profile(root, feed_count=3, per_feed=12, clicks=21)
    install_model(root)
    assert cli.main(["--data-dir", str(root), "list", "--ranked", "--json", "--limit", "3"]) == 0
    capsys.readouterr()
    cache = root / "cache" / "vectors-1.npz"
    assert cache.exists()
    with cache.open("r+b") as handle:  # as `truncate -s` after a power cut
        handle.truncate(cache.stat().st_size // 3)
    assert cli.main(["--data-dir", str(root), "list", "--ranked", "--json", "--limit", "3"]) == 0
    items = _strict(capsys.readouterr().out)
    assert isinstance(items, list) and items and all(i["score"] is not None for i in items)
    first = items[0]["id"]
    assert cli.main(["--data-dir", str(root), "explain", str(first), "--json"]) == 0
    explanation = _strict(capsys.readouterr().out)
    assert isinstance(explanation, dict) and explanation["article_id"] == first
    assert len(VectorCache.load(cache)) > 0  # rebuilt


def test_json_output_never_carries_nan(capsys: pytest.CaptureFixture[str]) -> None:
    data = {"score": float("nan"), "items": [{"share": float("inf")}, 1.5]}
    cli._emit(data, True, lambda: "")
    assert _strict(capsys.readouterr().out) == {"score": None, "items": [{"share": None}, 1.5]}
