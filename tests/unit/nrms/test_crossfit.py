"""Cross-fitting: the click score's scale and biases are fitted on uᵀr from models that
never trained on the click being scored, while the round keeps its own weights."""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import pytest
import torch

from nrms_core.config import NRMSConfig
from nrms_core.recommender import Recommender
from nrms_core.sampling import Sample
from nrms_core.trainer import Trainer, TrainResult

WORDS = ["match", "market", "storm", "vote", "court", "film", "rocket", "harvest", "bank", "song"]
TITLES = {
    a: " ".join(random.Random(a).sample(WORDS, random.Random(a + 99).randint(2, 4)))
    for a in range(60)
}
SOURCES = {a: ("left" if a % 2 else "right") for a in TITLES}


def _sessions(seed: int = 0, n: int = 40) -> list[Sample]:
    """Sessions of 8 articles with one click chosen at random: nothing to learn."""
    rng = random.Random(seed)
    out: list[Sample] = []
    history: list[int] = []
    for _ in range(n):
        shown = rng.sample(sorted(TITLES), 8)
        out.append(Sample(tuple(history[-10:]), tuple(shown)))
        history.append(shown[0])
    return out


def _samples(sessions: list[Sample]) -> list[Sample]:
    return [Sample(g.history, g.candidates[:5]) for g in sessions]


def _round(
    folds: int, should_stop: Callable[[], bool] | None = None
) -> tuple[Recommender, TrainResult]:
    rec = Recommender.create(NRMSConfig(cross_fit=folds), pretrained=False, seed=5)
    sessions = _sessions()
    result = rec.fine_tune(
        _samples(sessions), TITLES, SOURCES, epochs=3, sessions=sessions, should_stop=should_stop
    )
    return rec, result


def _weights(rec: Recommender) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in rec.model.named_parameters()}


def test_cross_fitting_leaves_the_rounds_weights_alone() -> None:
    crossed, result = _round(2)
    plain, plain_result = _round(0)
    assert result.epochs_kept == plain_result.epochs_kept
    for name, value in _weights(plain).items():
        assert torch.equal(value, _weights(crossed)[name]), name
    assert crossed.scale != plain.scale


def _log_folds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[int]]]:
    """A log, filled as the round runs, of every training run ("train", its samples'
    clicks) and every scoring of groups ("score", their clicks), in order."""
    events: list[tuple[str, list[int]]] = []
    fit, raw = Trainer.fit, Recommender._raw_scores

    def logged_fit(self: Trainer, samples: list[Sample]) -> TrainResult:
        events.append(("train", [s.candidates[0] for s in samples]))
        return fit(self, samples)

    def logged_raw(self: Recommender, groups: list[Sample], *args: object) -> list[np.ndarray]:
        events.append(("score", [g.candidates[0] for g in groups]))
        return raw(self, groups, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Trainer, "fit", logged_fit)
    monkeypatch.setattr(Recommender, "_raw_scores", logged_raw)
    return events


def test_each_click_is_scored_by_a_model_that_never_trained_on_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = _log_folds(monkeypatch)
    _round(3)
    first = next(i for i, (kind, _) in enumerate(events[1:], 1) if kind == "train")
    folds = events[first:]
    assert [kind for kind, _ in folds] == ["train", "score"] * 3
    scored: list[int] = []
    for (_, trained), (_, clicks) in zip(folds[::2], folds[1::2], strict=True):
        assert trained and clicks and not set(trained) & set(clicks)
        scored += clicks
    assert sorted(scored) == sorted(g.candidates[0] for g in _sessions())


def test_bounded_folds_train_on_fewer_samples_yet_never_on_a_click_they_score(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the folds' passes bounded, each fold trains on a sample of the other folds'
    clicks, and every group is still scored, by a fold model that never saw its click."""
    from nrms_core import budget

    monkeypatch.setattr(budget, "CROSS_FIT_PASSES", 24)  # 2 folds x 3 epochs x 4 samples
    events = _log_folds(monkeypatch)
    rec = Recommender.create(NRMSConfig(cross_fit=2, keep_start=False), pretrained=False, seed=5)
    sessions = _sessions()
    result = rec.fine_tune(_samples(sessions), TITLES, SOURCES, epochs=3, sessions=sessions)
    assert result.epochs_kept > 0
    first = next(i for i, (kind, _) in enumerate(events[1:], 1) if kind == "train")
    folds = events[first:]
    assert [kind for kind, _ in folds] == ["train", "score"] * 2
    scored: list[int] = []
    for (_, trained), (_, clicks) in zip(folds[::2], folds[1::2], strict=True):
        per_fold = 24 // (2 * result.epochs_kept)
        assert 0 < len(trained) <= per_fold and not set(trained) & set(clicks)
        scored += clicks
    assert sorted(scored) == sorted(g.candidates[0] for g in sessions)


def test_on_random_clicks_the_cross_fitted_scale_trusts_the_model_less() -> None:
    """A model that memorised random clicks scores them well in-sample only."""
    crossed, _ = _round(2)
    plain, _ = _round(0)
    assert crossed.scale < plain.scale


def test_stopping_while_cross_fitting_cancels_the_round(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = []
    fit = Trainer.fit

    def counted(self: Trainer, samples: list[Sample]) -> TrainResult:
        runs.append(len(samples))
        return fit(self, samples)

    monkeypatch.setattr(Trainer, "fit", counted)
    crossed, result = _round(2, should_stop=lambda: len(runs) > 1)
    assert result.cancelled and len(runs) == 2  # the round, then the first fold
    plain, _ = _round(0)
    for name, value in _weights(plain).items():
        assert torch.equal(value, _weights(crossed)[name]), name
    assert crossed.scale == 1.0 and not crossed.source_bias(["left", "right"]).any()


@pytest.mark.parametrize("bad", [-1, True, 1.5])
def test_the_config_refuses_a_bad_fold_count(bad: object) -> None:
    with pytest.raises(ValueError, match="cross_fit"):
        NRMSConfig(cross_fit=bad)  # type: ignore[arg-type]
