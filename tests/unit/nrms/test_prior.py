"""The exposure prior: where the click biases start, fitted on every article the reader was
shown, on any screen."""

from __future__ import annotations

import numpy as np
import pytest

from nrms_core.prior import (
    FEED_LIMIT,
    WORD_EASES,
    WORD_LIMIT,
    PriorFit,
    choose_word_ease,
    feed_signal,
    fit_prior,
)
from nrms_core.recommender import Recommender


def test_consistent_opens_outweigh_a_misclick() -> None:
    # Three feeds of 28 articles, all shown in one scroll of Latest; the reader opens 13 of
    # feed 1's in its own view and, once by mistake, one of feed 2's.
    feeds = [a // 28 for a in range(84)]
    opened = [28 <= a < 41 or a == 60 for a in range(84)]
    fit = fit_prior(feeds, [[] for _ in feeds], opened, 3, 0)
    assert fit.bias[1] > 1.0
    assert fit.bias[0] < fit.bias[2] < fit.bias[1]
    assert (fit.articles, fit.opened) == (84, 14)
    assert np.abs(fit.bias).max() <= FEED_LIMIT


def test_a_searched_word_gets_the_credit_not_the_feed_it_comes_up_in() -> None:
    # A keyword reader: "blair" comes up in 10 of feed 0's 30 titles and 2 of feed 1's 30;
    # they open every "blair" title (from a search) and nothing else.
    feeds: list[int] = []
    words: list[list[int]] = []
    opened: list[bool] = []
    for feed, hits in ((0, 10), (1, 2)):
        for k in range(30):
            blair = k < hits
            feeds.append(feed)
            words.append([0, 1 + k % 5] if blair else [1 + k % 5])
            opened.append(blair)
    fit = fit_prior(feeds, words, opened, 2, 6)
    assert fit.words[0] > 1.0
    assert np.abs(fit.words).max() <= WORD_LIMIT
    feeds_only = fit_prior(feeds, [[] for _ in feeds], opened, 2, 0)
    gap, gap_alone = fit.bias[0] - fit.bias[1], feeds_only.bias[0] - feeds_only.bias[1]
    assert gap_alone > 1.0  # without its words, feed 0 would have gone far ahead
    assert gap < 0.5 * gap_alone


def test_nothing_to_compare_gives_no_prior_and_bad_input_is_refused() -> None:
    fit = fit_prior([0, 1], [[0], [1]], [True, True], 2, 2)
    assert not fit.bias.any() and not fit.words.any()
    with pytest.raises(ValueError):
        fit_prior([0], [[0], [1]], [True, False], 2, 2)
    with pytest.raises(ValueError):
        fit_prior([0, 1], [[0], [1]], [True, False], 2, 2, l2=0.0)


def test_the_recommender_keys_its_priors_by_source_and_word() -> None:
    titles = {
        1: "Blair speaks on schools",
        2: "Blair meets the press",
        3: "Storm hits the coast",
        4: "Markets fall again",
        5: "Rain all week",
    }
    sources = {1: "news", 2: "politics", 3: "news", 4: "markets", 5: "news"}
    rec = Recommender.create(pretrained=False, seed=0)
    fit = rec.fit_priors([1, 2, 3, 4, 5, 99], {1, 2}, titles, sources)
    assert fit.articles == 5 and fit.opened == 2  # 99 has no title
    assert rec.word_prior["blair"] > 0.0
    assert rec.word_prior["blair"] == max(rec.word_prior.values())
    assert set(rec.feed_prior) == {"news", "politics", "markets"}


def test_only_the_latest_shown_articles_count(monkeypatch: pytest.MonkeyPatch) -> None:
    from nrms_core import calibration

    titles = {a: f"Story number {a} about {'blair' if a < 50 else 'rain'}" for a in range(100)}
    sources = dict.fromkeys(titles, "news")
    rec = Recommender.create(pretrained=False, seed=0)
    monkeypatch.setattr(calibration, "PRIOR_ARTICLES", 40)
    fit = rec.fit_priors(range(100), {a for a in range(100) if a % 3 == 0}, titles, sources)
    assert fit.articles == 40
    assert "blair" not in rec.word_prior  # only articles 60-99 were fitted on


def _reader(kind: str, seed: int) -> tuple[list[int], list[list[int]], list[bool]]:
    """900 shown articles of 8 feeds, 4-8 of 300 words each; word 0 (a keyword) comes up
    four times as often in feeds 0 and 1. A keyword reader opens most titles with word 0,
    in any feed; a feed reader a quarter of feeds 0 and 1's, whatever their words."""
    rng = np.random.default_rng(seed)
    feeds, words, opened = [], [], []
    for _ in range(900):
        feed = int(rng.integers(0, 8))
        row = [int(w) for w in rng.choice(np.arange(1, 300), int(rng.integers(4, 9)), False)]
        if rng.random() < (0.08 if feed < 2 else 0.02):
            row[0] = 0
        liked = 0 in row if kind == "keywords" else feed < 2 and rng.random() < 0.25
        feeds.append(feed)
        words.append(row)
        opened.append(bool(liked and rng.random() < 0.8) or rng.random() < 0.003)
    return feeds, words, opened


@pytest.mark.parametrize("seed", [0, 1])
def test_cross_validation_eases_the_words_for_a_keyword_reader_only(seed: int) -> None:
    keyword = choose_word_ease(*_reader("keywords", seed), 8, 300)
    feed = choose_word_ease(*_reader("feeds", seed), 8, 300)
    assert (keyword, feed) == (0.5, 1.0)
    # too few opens to cross-validate: the configured penalty
    feeds, words, _ = _reader("keywords", seed)
    assert choose_word_ease(feeds[:60], words[:60], [False] * 59 + [True], 8, 300) == 1.0


def test_an_eased_word_penalty_lets_a_keyword_grow_past_the_usual_limit() -> None:
    feeds, words, opened = _reader("keywords", 0)
    held = fit_prior(feeds, words, opened, 8, 300)
    eased = fit_prior(feeds, words, opened, 8, 300, word_linear=0.125, word_limit=WORD_LIMIT / 0.5)
    assert held.words[0] == pytest.approx(WORD_LIMIT)  # held at the usual limit
    assert eased.words[0] > WORD_LIMIT
    # and the feeds the keyword comes up in most take less of the credit
    assert eased.bias[:2].max() < held.bias[:2].max()


@pytest.mark.parametrize("ease", WORD_EASES)
def test_a_misclick_moves_a_word_less_than_consistent_opens_at_every_ease(ease: float) -> None:
    # the keyword reader of 25 opens, and one open by mistake of a title without the keyword
    feeds, words, opened = _reader("keywords", 0)
    slip = next(i for i, o in enumerate(opened) if not o and 0 not in words[i])
    opened[slip] = True
    fit = fit_prior(
        feeds, words, opened, 8, 300, word_linear=0.25 * ease, word_limit=WORD_LIMIT / ease
    )
    # each of its words moves less than a tenth of the way the keyword's 25 opens move it
    # (an ease of 0.25 failed this: one misclick gave its words 1.5-3.0 against the keyword's
    # 6.0, the "one open gave 'big' +0.45" that issue 13 reported, so it is not offered)
    assert all(fit.words[w] < fit.words[0] / 10 for w in words[slip])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_keyword_readers_feeds_say_no_more_than_their_noise(seed: int) -> None:
    """On every article shown, a keyword reader's feed biases stay within their own noise once
    the words carry the keyword; a feed reader's stand far above it."""
    from nrms_core.calibration import FEED_SIGNAL

    signals = {}
    for kind in ("keywords", "feeds"):
        feeds, words, opened = _reader(kind, seed)
        ease = choose_word_ease(feeds, words, opened, 8, 300)
        fit = fit_prior(
            feeds,
            words,
            opened,
            8,
            300,
            word_linear=0.25 * ease,
            word_limit=WORD_LIMIT / ease,
        )
        signals[kind] = feed_signal(fit, feeds, words, l2=1.0)
    assert signals["keywords"] < FEED_SIGNAL < 1.0 < signals["feeds"]
    assert feed_signal(fit, [-1] * len(feeds), words, l2=1.0) == 0.0  # no feed at all


def test_the_recommender_holds_the_feeds_of_a_reader_whose_feeds_are_noise() -> None:
    """The keyword reader's feeds are pulled hard to 0 in the prior and in the round's bias
    fits (the same multiple of the feeds' pull); the feed reader's keep the configured pull."""
    from nrms_core.calibration import FEED_HOLD

    for kind, held in (("keywords", True), ("feeds", False)):
        feeds, words, opened = _reader(kind, 0)
        titles = {a: " ".join(f"w{w}" for w in row) for a, row in enumerate(words)}
        sources = {a: f"feed{f}" for a, f in enumerate(feeds)}
        rec = Recommender.create(pretrained=False, seed=0)
        rec.fit_priors(range(len(feeds)), {a for a, o in enumerate(opened) if o}, titles, sources)
        assert rec.feed_hold == (FEED_HOLD if held else 1.0)
        assert rec.bias_penalties()["l2"] == rec.config.bias_l2 * rec.feed_hold
        largest = max(abs(v) for v in rec.feed_prior.values())
        assert (largest < 0.2) if held else (largest > 1.0)


def test_clickbias_ranks_by_the_priors_alone() -> None:
    """ClickBias (a model whose network part is off) scores by the feed and word priors, not
    by a refit on each screen's groups, whose rows share what a search or a feed view shares."""
    feeds, words, opened = _reader("feeds", 0)
    titles = {a: " ".join(f"w{w}" for w in row) for a, row in enumerate(words)}
    sources = {a: f"feed{f}" for a, f in enumerate(feeds)}
    rec = Recommender.create(pretrained=False, seed=0)
    rec.fit_priors(range(len(feeds)), {a for a, o in enumerate(opened) if o}, titles, sources)
    rec.add_titles(titles.values(), sources.values())
    rec.keep_bias_only()
    assert rec.scale == 0.0
    names = sorted(rec.feed_prior)
    assert list(rec.source_bias(names)) == pytest.approx([rec.feed_prior[n] for n in names])


def test_priors_refitted_on_more_of_the_log_keep_the_penalties_they_were_judged_with() -> None:
    """A round is judged with priors fitted before its held-out clicks and ranks with priors
    over all of them; the second fit takes the first's word ease and feed hold instead of
    choosing again, so that the figure the guard saw speaks for the order the reader sees."""
    feeds, words, opened = _reader("keywords", 0)
    titles = {a: " ".join(f"w{w}" for w in row) for a, row in enumerate(words)}
    sources = {a: f"feed{f}" for a, f in enumerate(feeds)}
    clicks = {a for a, o in enumerate(opened) if o}
    rec = Recommender.create(pretrained=False, seed=0)
    rec.fit_priors(range(len(feeds)), clicks, titles, sources)
    judged = rec.priors()
    assert judged.feed_hold != 1.0  # the keyword reader's feeds are held
    # the same log with the feeds made to matter: chosen afresh, the feeds would be free
    loud = {a for a in range(len(feeds)) if feeds[a] == 0} | clicks
    other = Recommender.create(pretrained=False, seed=0)
    other.fit_priors(range(len(feeds)), loud, titles, sources)
    assert other.feed_hold == 1.0
    rec.fit_priors(range(len(feeds)), loud, titles, sources, penalties_of=judged)
    assert (rec.word_ease, rec.feed_hold) == (judged.word_ease, judged.feed_hold)
    assert rec.feed_prior != judged.feeds  # refitted on the new log, under the same penalties


def test_a_fit_is_informed_only_with_enough_opens_and_skips_to_choose_its_penalties() -> None:
    """Below 2·CV_FOLDS opens or skips its penalties were not chosen from the evidence (the
    first ease, feeds held on no signal), so a refit over more of the log chooses again."""
    from nrms_core.prior import CV_FOLDS

    def fit(articles: int, opened: int) -> PriorFit:
        return PriorFit(0.0, np.zeros(0), np.zeros(0), articles, opened)

    enough = 2 * CV_FOLDS
    assert fit(100, enough).informed
    assert not fit(100, enough - 1).informed
    assert not fit(enough + enough - 1, enough).informed  # too few skips
    assert not fit(0, 0).informed  # a first sitting, all of it after the cut
