import random

import numpy as np
import pytest
import torch

from nrms_core.config import NRMSConfig
from nrms_core.model import NRMS
from nrms_core.sampling import Sample
from nrms_core.trainer import Progress, Trainer, collate, ranking_metrics

VOCAB = 30
CPU = torch.device("cpu")


def _world(seed: int = 0) -> dict[int, list[int]]:
    """40 titles: ids 0..19 use words 2..15 (topic A), ids 20..39 words 16..29 (topic B)."""
    rng = random.Random(seed)
    titles = {}
    for article in range(40):
        words = range(2, 16) if article < 20 else range(16, 30)
        titles[article] = rng.sample(list(words), rng.randint(2, 6))
    return titles


def _samples(n: int, likes_a: bool = True, seed: int = 0) -> list[Sample]:
    rng = random.Random(seed)
    liked, other = (range(20), range(20, 40)) if likes_a else (range(20, 40), range(20))
    out = []
    for _ in range(n):
        history = tuple(rng.sample(list(liked), 5))
        out.append(Sample(history, (rng.choice(liked), *rng.sample(list(other), 4))))
    return out


def _contrary(n: int, seed: int = 1) -> list[Sample]:
    """A-topic histories whose click is a B title among A titles: the opposite of _samples."""
    rng = random.Random(seed)
    return [
        Sample(
            tuple(rng.sample(range(20), 5)), (rng.choice(range(20, 40)), *rng.sample(range(20), 4))
        )
        for _ in range(n)
    ]


def _model(seed: int = 0) -> NRMS:
    torch.manual_seed(seed)
    model = NRMS(NRMSConfig(), VOCAB)
    with torch.no_grad():
        model.embedding.weight.normal_(0.0, 0.3)
    return model


def _trainer(model: NRMS, **kwargs: object) -> Trainer:
    options: dict[str, object] = {"device": CPU, "lr": 2e-3, "epochs": 4, "batch_size": 16}
    options.update(kwargs)
    return Trainer(model, _world(), **options)  # type: ignore[arg-type]


def test_training_learns_a_topic_reader() -> None:
    model = _model()
    seen: list[Progress] = []
    result = _trainer(model, on_batch_end=seen.append, patience=0).fit(_samples(64))
    assert result.samples == 64
    assert result.epochs_run == 4
    assert result.steps == len(seen) == 4 * 4  # 54 training samples / 16 per batch
    assert [p.batch for p in seen[:4]] == [1, 2, 3, 4]
    assert all(p.batches == 4 and p.epochs == 4 for p in seen)
    assert seen[0].loss > seen[-1].loss
    assert result.train_loss is not None and result.train_loss < np.log(5)
    assert result.holdout_auc is not None and result.holdout_auc > 0.9
    assert result.holdout_ndcg10 is not None and result.holdout_ndcg10 > 0.8
    assert result.device == "cpu"
    assert not result.cancelled
    assert not model.training


def test_should_stop_cancels_and_keeps_the_best_known_state() -> None:
    model = _model()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    calls = iter(range(100))
    result = _trainer(model, should_stop=lambda: next(calls) >= 3).fit(_samples(64))
    # cancelled inside the first epoch: no trained epoch exists, the start is kept
    assert result.cancelled
    assert result.steps == 3
    assert result.epochs_run == 0
    for name, value in model.state_dict().items():
        assert torch.equal(value, start[name]), name


def test_early_stopping_on_the_latest_samples_restores_the_best_state() -> None:
    model = _model()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    # the reader's tastes flip: the latest (held-out) clicks contradict the older ones
    samples = _samples(48, likes_a=True) + _contrary(16)
    result = _trainer(model, holdout=0.25, patience=1, epochs=6, keep_start=True).fit(samples)
    assert result.stopped_early
    assert result.epochs_run < 6
    for name, value in model.state_dict().items():
        assert torch.equal(value, start[name]), name


@pytest.mark.parametrize("monitor", ["loss", "auc"])
def test_keep_start_false_always_takes_a_trained_epoch(monitor: str) -> None:
    model = _model()
    start = model.embedding.weight.detach().clone()
    samples = _samples(48, likes_a=True) + _samples(16, likes_a=False, seed=1)
    trainer = _trainer(model, holdout=0.25, patience=1, epochs=3, monitor=monitor, keep_start=False)
    result = trainer.fit(samples)
    assert result.epochs_run >= 1
    assert not torch.equal(model.embedding.weight.detach(), start)
    with pytest.raises(ValueError):
        _trainer(model, monitor="accuracy")


def test_without_holdout_there_are_no_holdout_figures() -> None:
    result = _trainer(_model(), holdout=0.0, epochs=1).fit(_samples(10))
    assert result.holdout_loss is None and result.holdout_auc is None
    assert result.steps == 1


def test_frozen_rows_do_not_move_and_anchor_holds_weights_back() -> None:
    trainable = torch.zeros(VOCAB, dtype=torch.bool)
    trainable[16:] = True
    model = _model()
    before = model.embedding.weight.detach().clone()
    _trainer(model, trainable_rows=trainable, patience=0).fit(_samples(32))
    after = model.embedding.weight.detach()
    assert torch.equal(after[:16], before[:16])

    def drift(anchor_decay: float) -> float:
        net = _model()
        start = [p.detach().clone() for p in net.parameters()]
        _trainer(net, anchor_decay=anchor_decay, patience=0, holdout=0.0).fit(_samples(32))
        return sum(
            float(((p.detach() - s) ** 2).sum())
            for p, s in zip(net.parameters(), start, strict=True)
        )

    assert drift(1.0) < 0.5 * drift(0.0)


def test_refit_retrains_on_every_sample_for_the_chosen_epochs() -> None:
    samples = _samples(64)
    plain_model, refit_model = _model(), _model()
    plain = _trainer(plain_model, patience=0, keep_start=False).fit(samples)
    refit = _trainer(refit_model, patience=0, keep_start=False, refit=True).fit(samples)
    # the selection run is the same; the refit adds best-epoch passes over all 64 samples
    assert refit.holdout_auc == plain.holdout_auc and refit.epochs_run == plain.epochs_run
    assert refit.steps > plain.steps
    assert not torch.equal(refit_model.embedding.weight, plain_model.embedding.weight)
    assert not refit_model.training


def test_on_selected_sees_the_chosen_weights_before_the_refit() -> None:
    samples = _samples(64)
    plain_model, model = _model(), _model()
    _trainer(plain_model, patience=0, keep_start=False).fit(samples)  # ends at the chosen epoch
    events: list[object] = []

    def selected() -> None:
        events.append({k: v.clone() for k, v in model.state_dict().items()})

    trainer = _trainer(
        model,
        patience=0,
        keep_start=False,
        refit=True,
        on_selected=selected,
        on_batch_end=lambda p: events.append(p.epoch),
    )
    result = trainer.fit(samples)
    states = [e for e in events if isinstance(e, dict)]
    assert len(states) == 1
    for name, value in plain_model.state_dict().items():
        assert torch.equal(states[0][name], value), name
    after = events[events.index(states[0]) + 1 :]
    assert after and all(isinstance(e, int) for e in after)  # the refit ran after the call
    assert len(after) < result.steps
    cancelled = _trainer(_model(), on_selected=selected, should_stop=lambda: True)
    cancelled.fit(samples)
    assert len([e for e in events if isinstance(e, dict)]) == 1  # not called when cancelled


def test_a_refit_past_its_passes_continues_over_the_newest_samples_only() -> None:
    """Past ``refit_passes`` the refit does not start again over every sample: it goes on
    from the chosen weights for one epoch over the held-out samples and as many others."""
    samples = _samples(64)
    plain_model, model = _model(), _model()
    plain = _trainer(plain_model, patience=0, keep_start=False).fit(samples)
    batches: list[int] = []
    trainer = _trainer(
        model,
        patience=0,
        keep_start=False,
        refit=True,
        refit_passes=0,
        on_batch_end=lambda p: batches.append(p.batches),
    )
    result = trainer.fit(samples)
    assert result.epochs_kept == plain.epochs_kept > 0
    held = round(64 * trainer.holdout)
    refit_steps = result.steps - plain.steps
    assert refit_steps == -(-2 * held // trainer.batch_size)  # one epoch, 2 x held samples
    assert batches[-1] == refit_steps
    assert not torch.equal(model.embedding.weight, plain_model.embedding.weight)


def test_refit_keeps_the_start_when_no_epoch_beat_it() -> None:
    model = _model()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    samples = _samples(48, likes_a=True) + _contrary(16)
    trainer = _trainer(model, holdout=0.25, patience=1, epochs=6, keep_start=True, refit=True)
    trainer.fit(samples)
    for name, value in model.state_dict().items():
        assert torch.equal(value, start[name]), name


def test_collate_encodes_each_distinct_title_once() -> None:
    titles = {1: [2, 3], 2: [4, 5, 6, 7], 3: [8], 4: [9, 10, 11]}
    batch = collate([Sample((1, 2), (3, 1)), Sample((), (4, 2))], titles, CPU)
    assert batch.tokens.shape == (4, 4)  # 4 distinct articles, longest title 4 words
    assert batch.history.shape == (2, 2)
    assert batch.history_mask.tolist() == [[True, True], [False, False]]
    rows = {tuple(r[r > 0].tolist()): i for i, r in enumerate(batch.tokens)}
    assert batch.candidates.tolist() == [
        [rows[(8,)], rows[(2, 3)]],
        [rows[(9, 10, 11)], rows[(4, 5, 6, 7)]],
    ]
    with pytest.raises(ValueError):
        collate([Sample((), (1, 2)), Sample((), (1, 2, 3))], titles, CPU)


def test_ranking_metrics() -> None:
    logits = np.array([[3.0, 1.0, 2.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]])
    auc, ndcg = ranking_metrics(logits)
    assert auc == pytest.approx((1.0 + 0.25 + 0.0) / 3)
    assert ndcg == pytest.approx((1.0 + 1 / np.log2(3) + 1 / np.log2(4)) / 3)


@pytest.mark.cuda
def test_cuda_train_encode_explain() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from nrms_core.recommender import Recommender

    rec = Recommender.create(device="cuda", pretrained=False)
    assert rec.device.startswith("cuda")
    titles = {
        i: f"{'oil market prices' if i < 20 else 'cup final goal'} story {i}" for i in range(40)
    }
    samples = [Sample(tuple(range(i % 5, i % 5 + 5)), (i % 20, 20, 21, 22, 23)) for i in range(40)]
    result = rec.fine_tune(samples, titles, epochs=2)
    assert result.device.startswith("cuda") and result.steps > 0
    vectors = rec.encode(list(titles.values()))
    assert vectors.shape == (40, 256) and np.isfinite(vectors).all()
    explanation = rec.explain(titles[0], [titles[i] for i in range(1, 6)])
    words = sum(w.share for w in explanation.words) + explanation.word_base
    reads = sum(h.share for h in explanation.history) + explanation.history_base
    assert words == pytest.approx(explanation.score, abs=1e-4)
    assert reads == pytest.approx(explanation.score, abs=1e-4)


def test_training_the_used_rows_alone_gives_the_weights_of_the_whole_table() -> None:
    """Rows no title uses never move, so a run that trains only the used rows (issue 19:
    a step no longer touches a large profile's whole vocabulary) ends with the same weights,
    the whole table back in place; a callback between still sees the whole table."""
    wide = VOCAB + 50  # rows 30..79 are words of no title
    fast = torch.zeros(wide, dtype=torch.bool)
    fast[[3, 17, 40]] = True
    trainable = torch.ones(wide, dtype=torch.bool)
    trainable[5] = False
    models, seen = [], []
    for used_rows in (False, True):
        torch.manual_seed(0)
        model = NRMS(NRMSConfig(), wide)
        with torch.no_grad():
            model.embedding.weight.normal_(0.0, 0.3)
        table = model.embedding.weight
        _trainer(
            model,
            anchor_decay=0.5,
            fast_rows=fast,
            fast_lr_scale=10.0,
            embed_lr_scale=0.1,
            trainable_rows=trainable,
            refit=True,
            keep_start=False,
            patience=0,
            used_rows=used_rows,
            on_selected=lambda m=model: seen.append(m.embedding.weight.shape[0]),
        ).fit(_samples(48))
        assert model.embedding.weight is table and model.embedding.num_embeddings == wide
        models.append(model)
    assert seen == [wide, wide]
    whole, used = (dict(m.state_dict()) for m in models)
    for name, value in whole.items():
        torch.testing.assert_close(used[name], value, rtol=1e-5, atol=1e-6, msg=name)
