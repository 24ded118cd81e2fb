"""The per-feed click bias: the fit itself, and how the model, the recommender, explanations
and checkpoints carry it."""

from pathlib import Path

import numpy as np
import pytest
import torch

from nrms_core import checkpoint
from nrms_core.bias import MIN_SCALE, BiasFit, Group, click_scores, fit_bias
from nrms_core.click import word_parts
from nrms_core.recommender import Recommender
from nrms_core.sampling import Sample
from nrms_core.tokenizer import source_token


def _groups(rng: np.random.Generator, rates: list[float], n: int = 300) -> list[Group]:
    """Clicks drawn from sessions of 10 articles over len(rates) feeds, feed f clicked with
    odds proportional to ``rates[f]``; the scores carry no signal."""
    out = []
    for _ in range(n):
        feeds = rng.integers(0, len(rates), 10)
        weights = np.asarray(rates)[feeds]
        clicked = rng.choice(10, p=weights / weights.sum())
        order = np.r_[clicked, np.delete(np.arange(10), clicked)]
        out.append(Group(rng.normal(size=10), feeds[order]))
    return out


def test_the_fit_recovers_per_feed_click_odds() -> None:
    fit = fit_bias(_groups(np.random.default_rng(0), [1.0, 1.0, 4.0]), 3, l2=0.1)
    relative = fit.bias - fit.bias[0]
    assert relative[2] == pytest.approx(np.log(4.0), abs=0.35)
    assert abs(relative[1]) < 0.35
    assert fit.scale < 0.5  # scores that predict nothing are damped
    assert fit.clicks == 300 and np.isfinite(fit.log_likelihood)


def test_scores_that_predict_clicks_keep_their_weight() -> None:
    rng = np.random.default_rng(1)
    groups = []
    for _ in range(200):
        scores = rng.normal(size=8)
        p = np.exp(2.0 * scores)
        clicked = rng.choice(8, p=p / p.sum())
        order = np.r_[clicked, np.delete(np.arange(8), clicked)]
        groups.append(Group(scores[order], np.zeros(8, np.int64)))
    fit = fit_bias(groups, 1)
    assert fit.scale == pytest.approx(2.0, abs=0.4)
    assert fit.bias[0] == pytest.approx(0.0, abs=1e-9)  # in every group: nothing to tell apart


def test_a_score_that_points_the_wrong_way_is_floored_not_reversed() -> None:
    groups = [Group(np.array([-1.0, 1.0, 2.0]), np.array([0, 0, 0])) for _ in range(50)]
    fit = fit_bias(groups, 1)
    assert fit.scale == MIN_SCALE


def test_nothing_to_learn_from_gives_the_neutral_fit() -> None:
    single = [Group(np.array([1.0]), np.array([0]))]
    fit = fit_bias(single, 2)
    assert fit.scale == 1.0 and fit.bias.tolist() == [0.0, 0.0] and fit.clicks == 0
    with pytest.raises(ValueError):
        fit_bias([], 1, l2=0.0)


def test_feeds_out_of_range_and_non_finite_scores_are_ignored() -> None:
    groups = [
        Group(np.array([0.0, 0.0]), np.array([0, 7])),
        Group(np.array([np.nan, 0.0]), np.array([0, 0])),
    ]
    fit = fit_bias(groups, 1)
    assert fit.clicks == 1 and fit.bias[0] > 0.0


def test_the_fit_recovers_a_keyword_the_reader_opens() -> None:
    """Clicks drawn from the click score itself: word 0 has bias 2.0 and the rest 0; every
    title carries 2 to 4 of 12 words, so each word's weight is 1/√(its title's count)."""
    rng = np.random.default_rng(4)
    true = np.zeros(12)
    true[0] = 2.0
    groups = []
    for _ in range(800):
        words = tuple(rng.choice(12, rng.integers(2, 5), replace=False) for _ in range(10))
        z = np.array([true[w].sum() / np.sqrt(len(w)) for w in words])
        clicked = rng.choice(10, p=np.exp(z) / np.exp(z).sum())
        order = np.r_[clicked, np.delete(np.arange(10), clicked)]
        groups.append(
            Group(np.zeros(10), np.full(10, -1), tuple(words[k] for k in order))  # no feeds
        )
    fit = fit_bias(groups, 0, 12, word_l2=0.1)
    assert fit.words.shape == (12,)
    # a common shift of every word moves a title by c·√(its count), so it is only weakly
    # told apart from the truth: compare the words with each other
    relative = fit.words - np.median(fit.words[1:])
    assert relative[0] == pytest.approx(2.0, abs=0.4)
    assert np.abs(relative[1:]).max() < 0.4
    assert relative[0] > relative[1:].max() + 1.0
    assert fit.scale == pytest.approx(1.0)  # zero scores: only the pull to 1 acts on a
    with pytest.raises(ValueError):
        fit_bias(groups, 0, 12, word_l2=0.0)


def test_click_scores_add_the_scaled_score_the_feed_and_the_words() -> None:
    fit = BiasFit(2.0, np.array([0.5, -1.0]), 0.0, 1, np.array([0.3, 0.6, 0.9]))
    group = Group(
        np.array([1.0, 0.0, -1.0]),
        np.array([0, 1, -1]),
        (np.array([0, 1]), np.array([2, -1, 7]), np.array([], np.int64)),
    )
    expected = [2.0 + 0.5 + 0.9 / np.sqrt(2), 0.0 - 1.0 + 0.9 / np.sqrt(3), -2.0]
    assert click_scores([group], fit)[0].tolist() == pytest.approx(expected)


def _keyword_groups(rng: np.random.Generator, strength: float, clicks: int) -> list[Group]:
    """Clicks drawn from the click score: word 0 has bias ``strength``, the 11 others 0."""
    true = np.zeros(12)
    true[0] = strength
    groups = []
    for _ in range(clicks):
        words = tuple(rng.choice(12, rng.integers(2, 5), replace=False) for _ in range(10))
        z = np.array([true[w].sum() / np.sqrt(len(w)) for w in words])
        clicked = rng.choice(10, p=np.exp(z) / np.exp(z).sum())
        order = np.r_[clicked, np.delete(np.arange(10), clicked)]
        groups.append(Group(np.zeros(10), np.full(10, -1), tuple(words[k] for k in order)))
    return groups


def test_the_linear_tail_lets_a_strong_keyword_grow_and_holds_the_rest() -> None:
    groups = _keyword_groups(np.random.default_rng(7), strength=6.0, clicks=150)
    plain = fit_bias(groups, 0, 12, word_l2=4.0)
    tailed = fit_bias(groups, 0, 12, word_l2=4.0, word_linear=0.25)
    # compare the words with each other (a common shift is only weakly identified)
    relative = tailed.words - np.median(tailed.words[1:])
    assert relative[0] == pytest.approx(6.0, abs=1.0)
    assert np.abs(relative[1:]).max() < 1.0
    assert plain.words[0] - np.median(plain.words[1:]) < 4.5  # L2 at 4 shrinks it hard
    with pytest.raises(ValueError, match="word_linear"):
        fit_bias(groups, 0, 12, word_linear=-1.0)


def test_the_word_penalty_is_quadratic_near_zero_and_linear_far_out() -> None:
    from nrms_core.bias import word_penalty

    small, large = torch.tensor([0.01], dtype=torch.float64), torch.tensor([40.0])
    assert float(word_penalty(small, 0.25)) == pytest.approx(0.5 * 0.01**2, rel=1e-3)
    assert float(word_penalty(large, 0.25)) == pytest.approx(0.25 * 40.0, rel=0.01)
    assert float(word_penalty(large, 0.0)) == pytest.approx(0.5 * 40.0**2)


def test_a_checkpoint_config_from_before_the_linear_tail_keeps_plain_l2() -> None:
    from nrms_core.config import NRMSConfig

    assert NRMSConfig.from_dict({"word_l2": 1.0}).word_linear == 0.0
    assert NRMSConfig.from_dict(NRMSConfig().to_dict()).word_linear == NRMSConfig().word_linear
    with pytest.raises(ValueError, match="word_linear"):
        NRMSConfig(word_linear=-0.1)


SPORT = [f"Team {w} the {v}" for w in ("wins", "loses", "draws") for v in ("cup", "final")]
MARKETS = [
    f"Shares {w} as bonds {v}" for w in ("rally", "slide", "swing") for v in ("gain", "fall")
]
TITLES = dict(enumerate(SPORT + MARKETS))
SOURCES = {a: ("sport" if a < len(SPORT) else "markets") for a in TITLES}
SPORT_IDS = [a for a in TITLES if SOURCES[a] == "sport"]
MARKET_IDS = [a for a in TITLES if SOURCES[a] == "markets"]


def _sessions() -> list[Sample]:
    """A reader who opens 'sport' three times as often as 'markets'; no history, so the model's
    score (u = 0) says nothing and the bias carries it all."""
    out = []
    for k in range(30):
        sport, markets = SPORT_IDS[k % len(SPORT)], MARKET_IDS[k % len(MARKETS)]
        clicked = sport if k % 5 else markets
        skipped = [a for a in SPORT_IDS if a != clicked][:3]
        skipped += [a for a in MARKET_IDS if a != clicked][:3]
        out.append(Sample((), (clicked, *skipped)))
    return out


@pytest.fixture
def rec() -> Recommender:
    rec = Recommender.create(pretrained=False, seed=3)
    rec.add_titles(TITLES.values(), SOURCES.values())
    with torch.no_grad():
        rec.model.embedding.weight.mul_(4.0)
    return rec


def test_the_recommender_fits_keeps_and_scores_with_the_bias(rec: Recommender) -> None:
    fit = rec.fit_bias(_sessions(), TITLES, SOURCES)
    bias = rec.source_bias(["sport", "markets", None, "unknown feed"])
    assert bias[0] > bias[1] and bias[2] == 0.0 and bias[3] == 0.0
    assert rec.scale == pytest.approx(fit.scale)
    titles = list(TITLES.values())
    vectors = rec.encode(titles, list(SOURCES.values()))
    user = rec.user_vector(vectors[:2])
    names = list(SOURCES.values())
    expected = rec.scale * (vectors @ user) + rec.source_bias(names)
    assert np.allclose(rec.score(user, vectors, names), expected, atol=1e-5)
    assert np.allclose(rec.score(user, vectors), rec.scale * (vectors @ user), atol=1e-5)


def test_explanations_stay_exact_with_scale_and_biases(rec: Recommender) -> None:
    rec.fit_bias(_sessions(), TITLES, SOURCES)
    with torch.no_grad():  # make every term visible whatever the fit found
        rec.model.score_scale.fill_(0.7)
        rec.model.word_bias.zero_()
        rec.model.word_bias[rec.vocab.ids(["shares", "gain"])] = torch.tensor([0.8, -0.3])
    title = MARKETS[0]  # "Shares rally as bonds gain": 4 content words, "as" is a stopword
    history, names = SPORT[:3], ["sport"] * 3
    e = rec.explain(title, history, "markets", names)
    assert e.feed == pytest.approx(float(rec.source_bias(["markets"])[0]))
    assert e.feed != 0.0
    assert e.lexical == pytest.approx((0.8 - 0.3) / 2.0)
    assert e.lexical == pytest.approx(float(rec.lexical([title])[0]))
    bias = {w.token: w.bias for w in e.words}
    # each content word's Shapley part: "rally" and "bonds", without a bias of their own,
    # dilute the others; the stopword takes no part
    parts = word_parts([0.8, 0.0, 0.0, -0.3])
    assert [bias[w] for w in ("shares", "rally", "bonds", "gain")] == pytest.approx(parts)
    assert bias["as"] == 0.0 and bias["rally"] < 0.0 and bias["shares"] > 0.4
    assert sum(w.share + w.bias for w in e.words) + e.feed == pytest.approx(e.score, abs=1e-4)
    assert sum(h.share for h in e.history) + e.lexical + e.feed == pytest.approx(e.score, abs=1e-4)
    vectors = rec.encode(history, names)
    user = rec.user_vector(vectors)
    cand = rec.encode([title], ["markets"])
    assert e.score == pytest.approx(float(rec.score(user, cand, ["markets"], [title])[0]), abs=1e-4)
    shares = rec.word_shares([title], user, ["markets"])[0]
    assert [s for _, s in shares] == pytest.approx([w.share + w.bias for w in e.words], abs=1e-4)
    dropped = rec.user_vector(vectors[[0, 2]])
    loo = e.score - float(rec.score(dropped, cand, ["markets"], [title])[0])
    assert e.history[1].loo == pytest.approx(loo, abs=1e-4)
    erased = "Rally as bonds gain"  # erasing "shares" re-weighs the words left: 1/√3
    loo = e.score - float(
        rec.score(user, rec.encode([erased], ["markets"]), ["markets"], [erased])[0]
    )
    assert e.words[1].token == "shares"
    assert e.words[1].loo == pytest.approx(loo, abs=1e-4)


def test_the_bias_survives_a_checkpoint_and_vocabulary_growth(
    rec: Recommender, tmp_path: Path
) -> None:
    rec.fit_bias(_sessions(), TITLES, SOURCES)
    before = rec.source_bias(["sport", "markets"])
    rec.save(tmp_path / "m.pt")
    loaded = Recommender.load(tmp_path / "m.pt")
    assert np.allclose(loaded.source_bias(["sport", "markets"]), before)
    assert loaded.scale == pytest.approx(rec.scale)
    loaded.add_titles(["A brand new headline"], ["weather"])
    assert np.allclose(loaded.source_bias(["sport", "markets", "weather"]), [*before, 0.0])


def test_a_checkpoint_from_before_the_bias_loads_neutral(rec: Recommender, tmp_path: Path) -> None:
    rec.fit_bias(_sessions(), TITLES, SOURCES)
    path = tmp_path / "old.pt"
    rec.save(path)
    data = torch.load(path, weights_only=True)
    del data["state"]["score_scale"], data["state"]["source_bias"]
    torch.save(data, path)
    loaded = Recommender.load(path)
    assert loaded.scale == 1.0
    assert loaded.source_bias(["sport", "markets"]).tolist() == [0.0, 0.0]
    data["state"]["source_bias"] = torch.zeros(3)
    torch.save(data, path)
    with pytest.raises(checkpoint.CheckpointError, match="source_bias"):
        Recommender.load(path)


def test_fine_tune_ends_with_the_bias_unless_the_config_says_not(tmp_path: Path) -> None:
    from nrms_core.config import NRMSConfig

    samples = [Sample(s.history, s.candidates[:5]) for s in _sessions()]
    for enabled in (True, False):
        rec = Recommender.create(NRMSConfig(feed_bias=enabled), pretrained=False, seed=3)
        rec.fine_tune(samples, TITLES, SOURCES, epochs=1, sessions=_sessions())
        bias = rec.source_bias(["sport", "markets"])
        assert (bias[0] > bias[1]) if enabled else (bias.tolist() == [0.0, 0.0])


def test_the_round_measures_the_click_score_on_clicks_its_biases_never_saw() -> None:
    """A reader who opened sport for 26 clicks and markets for the last 4: biases fitted
    without those 4 favour sport, so the held-out click score ranks their clicks low."""
    from nrms_core.config import NRMSConfig

    sessions = []
    for k in range(30):
        clicked = SPORT_IDS[k % len(SPORT)] if k < 26 else MARKET_IDS[k % len(MARKETS)]
        skipped = [a for a in SPORT_IDS if a != clicked][:3]
        skipped += [a for a in MARKET_IDS if a != clicked][:3]
        sessions.append(Sample((), (clicked, *skipped)))
    samples = [Sample(g.history, g.candidates[:5]) for g in sessions]
    rec = Recommender.create(pretrained=False, seed=3)
    result = rec.fine_tune(samples, TITLES, SOURCES, epochs=2, sessions=sessions)
    assert result.holdout_click_auc is not None and result.holdout_click_auc < 0.5
    assert rec.source_bias(["sport"])[0] > rec.source_bias(["markets"])[0]
    off = Recommender.create(NRMSConfig(feed_bias=False), pretrained=False, seed=3)
    result = off.fine_tune(samples, TITLES, SOURCES, epochs=2, sessions=sessions)
    assert result.holdout_click_auc is None and result.holdout_auc is not None


def test_training_sees_the_raw_score_not_the_fitted_bias(rec: Recommender) -> None:
    assert source_token("sport") in rec.vocab
    tokens = torch.tensor([rec.vocab.ids([str(source_token("sport")), "team", "wins"]), [5, 6, 0]])
    args = (tokens, torch.tensor([[1]]), torch.tensor([[True]]), torch.tensor([[0, 1]]))
    before = rec.model(*args)
    with torch.no_grad():
        rec.model.source_bias.fill_(3.0)
        rec.model.score_scale.fill_(0.5)
    assert torch.equal(rec.model(*args), before)


def test_word_biases_are_fitted_kept_and_scored(rec: Recommender, tmp_path: Path) -> None:
    """A reader who opens what 'wins' and 'rally' say: those words get the largest biases,
    stopwords and source tokens none, and the biases survive a checkpoint and growth."""
    sessions = []
    for k in range(40):
        clicked = [a for a in TITLES if any(w in TITLES[a] for w in ("wins", "rally"))]
        pick = clicked[k % len(clicked)]
        sessions.append(Sample((), (pick, *[a for a in TITLES if a != pick][:8])))
    rec.fit_bias(sessions, TITLES, SOURCES)
    table = rec.model.word_bias.detach().numpy()
    top = {rec.vocab.token(int(i)) for i in np.argsort(-table)[:2]}
    assert top == {"wins", "rally"}
    assert table[rec.vocab.ids(["the", "as", str(source_token("sport"))])].tolist() == [0, 0, 0]
    title = SPORT[0]  # "Team wins the cup": 3 content words
    expected = table[rec.vocab.ids(["team", "wins", "cup"])].sum() / np.sqrt(3)
    assert rec.lexical([title, "Nothing known here"]).tolist() == pytest.approx([expected, 0.0])
    rec.save(tmp_path / "m.pt")
    loaded = Recommender.load(tmp_path / "m.pt")
    assert loaded.lexical([title])[0] == pytest.approx(expected)
    loaded.add_titles(["Wins and losses of a brand new season"])
    assert loaded.lexical([title])[0] == pytest.approx(expected)
    data = torch.load(tmp_path / "m.pt", weights_only=True)
    del data["state"]["word_bias"]
    torch.save(data, tmp_path / "old.pt")
    assert Recommender.load(tmp_path / "old.pt").lexical([title]).tolist() == [0.0]


def test_without_word_bias_in_the_config_no_word_gets_one() -> None:
    from nrms_core.config import NRMSConfig

    rec = Recommender.create(NRMSConfig(word_bias=False), pretrained=False, seed=3)
    rec.add_titles(TITLES.values(), SOURCES.values())
    rec.fit_bias(_sessions(), TITLES, SOURCES)
    assert not rec.model.word_bias.any()
    assert rec.source_bias(["sport"])[0] != 0.0


def test_a_word_the_vocabulary_cannot_take_still_counts_in_the_weight(rec: Recommender) -> None:
    long_word = "x" * 250  # longer than any vocabulary token may be
    title = f"Team wins {long_word}"
    rec.add_titles([title])
    assert long_word not in rec.vocab
    with torch.no_grad():
        rec.model.word_bias.zero_()
        rec.model.word_bias[rec.vocab.ids(["team", "wins"])] = torch.tensor([0.6, 0.9])
    assert rec.lexical([title])[0] == pytest.approx(1.5 / np.sqrt(3))
    titles = {0: title, 1: "Shares slide", 2: "Bonds fall"}
    rec.fit_bias([Sample((), (0, 1, 2))] * 5, titles)  # the fit weighs it the same way
    assert np.isfinite(rec.lexical([title])).all()


def test_a_word_every_candidate_carries_keeps_its_prior() -> None:
    # Word 0 is in every candidate of every group (the word a search screen filtered on):
    # the groups cannot move it, so it sits at its prior; word 2 is in no group at all.
    groups = []
    for _ in range(40):
        words = tuple(np.array([0, 1]) if k == 0 else np.array([0, 3]) for k in range(6))
        groups.append(Group(np.zeros(6), np.full(6, -1), words))
    prior = np.array([1.2, 0.0, -0.7, 0.0])
    fit = fit_bias(groups, 0, 4, word_prior=prior, word_linear=0.25)
    assert fit.words[0] == pytest.approx(1.2, abs=1e-3)
    assert fit.words[2] == pytest.approx(-0.7, abs=1e-6)
    assert fit.words[1] > 1.0  # the clicked rows' own word: learned from the groups
    plain = fit_bias(groups, 0, 4, word_linear=0.25)
    assert plain.words[0] == pytest.approx(0.0, abs=1e-3)
    empty = fit_bias([], 0, 4, word_prior=prior)
    assert np.array_equal(empty.words, prior)
    with pytest.raises(ValueError):
        fit_bias(groups, 0, 4, word_prior=np.array([0.0, np.nan, 0.0, 0.0]))


def test_lexical_equals_the_plain_definition_bit_for_bit() -> None:
    """``lexical`` skips titles without a biased word and counts |W_c| by set operations;
    each value must still be exactly the plain per-token sum (``_lexical_of``), on random
    titles (repeated words, stopwords, words the vocabulary lacks, empty and punctuation-only
    titles) under random bias tables (zeros, negatives, stopwords and a source with one)."""
    from nrms_core.tokenizer import tokenize

    rng = np.random.default_rng(7)
    known = [f"w{k}" for k in range(40)] + ["the", "of", "and", "a", "is"]
    unknown = [f"u{k}" for k in range(10)] + ["x" * 250]  # never added; the last cannot be
    rec = Recommender.create(pretrained=False, seed=5)
    rec.add_titles(known, ["sport"])  # one word a title: titles are cut at max_title
    pool = known + unknown + ["!", "--", "<src:sport>"]
    titles = ["", "!!", "w1 w1 w1", "The w2 of the w2", "u1 w3 u2 w3 u1", "w4 x"]
    titles += [" ".join(rng.choice(pool, rng.integers(1, 40))) for _ in range(400)]
    for trial in range(6):
        table = np.zeros(len(rec.vocab))
        rows = rng.choice(len(rec.vocab), max(1, trial * 8), replace=False)
        table[rows] = rng.normal(0.0, 2.0, len(rows)) * (rng.random(len(rows)) < 0.8)
        table[rec.vocab.ids(["w1", "w2", "w3", "the", str(source_token("sport"))])] = 0.7
        with torch.no_grad():
            rec.model.word_bias.copy_(torch.from_numpy(table))
        table = rec._word_table()  # [V] as rounded to the model's float32
        plain = [rec._lexical_of(tokenize(t, rec.config.max_title), table) for t in titles]
        fast = rec.lexical(titles)
        assert fast.dtype == np.float32
        assert fast.view(np.uint32).tolist() == np.array(plain, np.float32).view(np.uint32).tolist()
    assert rec.lexical(["w1 w1 w1"])[0] == np.float32(0.7)  # its only word, counted once
