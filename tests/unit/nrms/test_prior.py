"""The exposure prior: where the click biases start, fitted on every article the reader was
shown, on any screen."""

from __future__ import annotations

import numpy as np
import pytest

from nrms_core.prior import FEED_LIMIT, WORD_LIMIT, fit_prior
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
