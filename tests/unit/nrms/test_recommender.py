import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nrms_core.checkpoint import CheckpointError
from nrms_core.config import NRMSConfig
from nrms_core.glove import load_glove
from nrms_core.recommender import Recommender
from nrms_core.sampling import Click, Exposure, build_samples
from nrms_core.trainer import Progress

ROOT = Path(__file__).resolve().parents[3]

FINANCE = [
    f"Markets {w} as shares and bonds {v}"
    for w in ("rally", "slide", "swing")
    for v in ("gain", "fall", "drift", "jump")
]
SPORT = [
    f"Team {w} the {v} after late goal"
    for w in ("wins", "loses", "draws")
    for v in ("cup", "final", "derby", "league")
]
TITLES = dict(enumerate(FINANCE + SPORT))


@pytest.fixture
def rec() -> Recommender:
    rec = Recommender.create(pretrained=False, seed=0)
    rec.add_titles(TITLES.values())
    return rec


def test_import_nrms_core_does_not_import_torch() -> None:
    code = "import sys, nrms_core; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_encode_user_and_score_shapes(rec: Recommender) -> None:
    vectors = rec.encode(list(TITLES.values()))
    assert vectors.shape == (24, 256) and vectors.dtype == np.float32
    assert rec.encode([]).shape == (0, 256)
    small = rec.encode(list(TITLES.values()), batch_size=5)
    assert np.allclose(small, vectors, atol=1e-5)
    user = rec.user_vector(vectors[:3])
    assert user.shape == (256,) and user.dtype == np.float32
    scores = rec.score(user, vectors)
    assert scores.shape == (24,)
    assert np.allclose(scores, vectors @ user, atol=1e-5)
    empty = rec.user_vector(np.zeros((0, 256), dtype=np.float32))
    assert np.isfinite(rec.score(empty, vectors)).all()
    assert rec.device == "cpu"


def test_only_the_last_max_history_vectors_count() -> None:
    rec = Recommender.create(NRMSConfig(max_history=2), pretrained=False)
    rec.add_titles(TITLES.values())
    vectors = rec.encode(list(TITLES.values()))
    assert np.allclose(rec.user_vector(vectors[:5]), rec.user_vector(vectors[3:5]), atol=1e-6)


def test_vocabulary_growth_keeps_existing_vectors(rec: Recommender) -> None:
    before = rec.encode(FINANCE)
    size = len(rec.vocab)
    added = rec.add_titles(["Quantum widgets stun markets", "Markets rally"])
    assert added == 3  # quantum, widgets, stun
    assert len(rec.vocab) == size + 3 == rec.model.vocab_size
    assert rec.add_titles(["Markets rally"]) == 0
    assert np.array_equal(rec.encode(FINANCE), before)


def test_save_and_load_round_trip(rec: Recommender, tmp_path: Path) -> None:
    path = tmp_path / "ck" / "model.pt"
    digest = rec.save(path, meta={"clicks": 12})
    assert len(digest) == 64
    again = Recommender.load(path)
    assert again.meta == {"clicks": 12}
    assert again.vocab.tokens() == rec.vocab.tokens()
    assert again.config == rec.config
    titles = list(TITLES.values())
    assert np.array_equal(again.encode(titles), rec.encode(titles))
    (tmp_path / "ck" / "model.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError):
        Recommender.load(path)


def test_device_choice() -> None:
    assert Recommender.create(pretrained=False, device="cpu").device == "cpu"
    with pytest.raises(ValueError):
        Recommender.create(pretrained=False, device="tpu")


def _reader_log() -> tuple[list[Click], list[Exposure]]:
    """A reader who opens sport and skips finance, 4 sessions x 6 shown."""
    clicks, impressions = [], []
    for s in range(8):
        t = 100.0 * s
        shown = [12 + (s + k) % 12 for k in range(2)] + [(s * 3 + k) % 12 for k in range(4)]
        impressions += [Exposure(a, t, f"s{s}") for a in shown]
        clicks += [Click(shown[0], t + 1, f"s{s}"), Click(shown[1], t + 2, f"s{s}")]
    return clicks, impressions


def test_fine_tune_learns_the_reader_and_reports_progress(rec: Recommender) -> None:
    clicks, impressions = _reader_log()
    samples = build_samples(clicks, impressions)
    assert len(samples) == 16
    seen: list[Progress] = []
    result = rec.fine_tune(samples, TITLES, epochs=6, lr=3e-3, progress=seen.append)
    assert result.samples == 16 and result.steps == len(seen) > 0
    vectors = rec.encode(list(TITLES.values()))
    user = rec.user_vector(vectors[[12, 13, 14, 15]])
    scores = rec.score(user, vectors)
    assert scores[12:].mean() > scores[:12].mean()


def test_fine_tune_skips_samples_with_unknown_articles(rec: Recommender) -> None:
    clicks, impressions = _reader_log()
    samples = build_samples(clicks, impressions)
    partial = {k: v for k, v in TITLES.items() if k != 12}
    result = rec.fine_tune(samples, partial, epochs=1)
    expected = sum(1 for s in samples if 12 not in s.candidates)
    assert result.samples == expected < len(samples)


def test_warm_start_uses_feeds_as_labels(rec: Recommender) -> None:
    titles = FINANCE + SPORT
    groups = ["finance"] * 12 + ["sport"] * 12
    calls: list[Progress] = []
    result = rec.warm_start(titles, groups, epochs=3, lr=3e-3, progress=calls.append, seed=1)
    assert result.samples == 2 * 12 * 4  # each title the positive 4 times (small feeds)
    assert result.steps == len(calls) > 0
    vectors = rec.encode(titles)
    user = rec.user_vector(vectors[12:16])
    assert rec.score(user, vectors[16:]).mean() > rec.score(user, vectors[:12]).mean()
    single = rec.warm_start(titles[:3], ["one"] * 3)
    assert single.samples == 0 and single.steps == 0
    with pytest.raises(ValueError):
        rec.warm_start(titles, groups[:3])


def test_cancel_from_should_stop(rec: Recommender) -> None:
    clicks, impressions = _reader_log()
    result = rec.fine_tune(build_samples(clicks, impressions), TITLES, should_stop=lambda: True)
    assert result.cancelled and result.steps == 0


def test_real_glove(tmp_path: Path) -> None:
    rec = Recommender.create(cache_dir=tmp_path)
    assert (tmp_path / "glove_6B_words.npy").stat().st_size > 1_000_000
    rec.add_titles(["Oil prices climb", "Zzqxv blorft"])
    again = Recommender.create(cache_dir=tmp_path)  # the word list now comes from the cache
    again.add_titles(["Oil prices climb"])
    assert np.array_equal(
        again.model.embedding.weight.detach().numpy()[2:5],
        rec.model.embedding.weight.detach().numpy()[2:5],
    )
    oil, prices, climb = rec.model.embedding.weight.detach().numpy()[2:5]
    glove = load_glove(tmp_path)
    vectors, found = glove.lookup(["oil", "prices", "climb", "zzqxv"])
    assert found.tolist() == [True, True, True, False]
    # GloVe rows are centred on the mean of the frequent words (config.center_glove)
    assert np.allclose(np.stack([oil, prices, climb]), vectors[:3] - glove.mean, atol=1e-6)
    assert np.linalg.norm(glove.mean) > 0.1
    # a checkpoint written before centring keeps adding uncentred rows
    assert not NRMSConfig.from_dict({}).center_glove
    assert NRMSConfig.from_dict(NRMSConfig().to_dict()).center_glove
    plain = Recommender.create(NRMSConfig(center_glove=False), cache_dir=tmp_path)
    plain.add_titles(["Oil prices climb"])
    assert np.array_equal(plain.model.embedding.weight.detach().numpy()[2:5], vectors[:3])
    assert rec.model.embedding.weight.shape == (7, 50)
    unknown = rec.model.embedding.weight.detach().numpy()[5]
    assert 0 < np.linalg.norm(unknown) < np.linalg.norm(oil)
