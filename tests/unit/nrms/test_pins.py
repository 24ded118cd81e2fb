"""The reader's pins on the click score's biases, and the feed and word priors the fit starts
from."""

from __future__ import annotations

import numpy as np
import pytest

from nrms_core.recommender import Recommender
from nrms_core.sampling import Sample

TITLES = {
    1: "Rocket launch reaches orbit",
    2: "Election results are in",
    3: "Striker scores twice in derby",
    4: "Markets fall on rate fears",
}
SOURCES = {1: "space", 2: "politics", 3: "sport", 4: "markets"}


def _fitted(prior: dict[str, float] | None = None) -> Recommender:
    rec = Recommender.create(pretrained=False, seed=0)
    rec.add_titles(TITLES.values(), SOURCES.values())
    if prior is not None:
        rec.feed_prior = prior
    groups = [Sample((), (1, 2, 3)), Sample((), (1, 3, 4)), Sample((), (3, 2, 4))]
    rec.fit_bias(groups, TITLES, SOURCES)
    return rec


def test_pins_bound_feed_biases_and_silence_words() -> None:
    rec = _fitted()
    before = rec.source_bias(["space", "sport"])
    alone = float(rec.lexical(["election"])[0])
    moved = rec.pin_biases(
        feeds={"space": (None, -2.0), "sport": (1.0, None)}, words_off=["election", "nowhere"]
    )
    after = rec.source_bias(["space", "sport"])
    assert after[0] == min(before[0], -2.0) and after[1] == max(before[1], 1.0)
    assert alone != 0.0  # the fit gave "election" a bias (its article was always skipped)
    assert float(rec.lexical(["election"])[0]) == 0.0
    assert moved == 3


def test_the_fit_starts_from_the_feed_prior() -> None:
    plain = _fitted()
    leaning = _fitted({"markets": 1.5, "unknown feed": 3.0})
    b_plain = plain.source_bias(["markets"])[0]
    b_leaning = leaning.source_bias(["markets"])[0]
    assert b_leaning > b_plain + 0.5
    assert np.isfinite(b_leaning)


def test_the_fit_starts_from_the_word_prior() -> None:
    rec = Recommender.create(pretrained=False, seed=0)
    rec.add_titles([*TITLES.values(), "Blair speaks"], SOURCES.values())
    assert rec.title_words("Blair speaks to the nation") == ["blair", "speaks", "nation"]
    rec.word_prior = {"blair": 1.1, "orbit": -0.5, "never seen": 2.0}
    groups = [Sample((), (1, 2, 3)), Sample((), (1, 3, 4)), Sample((), (3, 2, 4))]
    rec.fit_bias(groups, TITLES, SOURCES)
    assert float(rec.lexical(["blair"])[0]) == pytest.approx(1.1)  # in no group: its prior
    plain = _fitted()
    assert float(rec.lexical(["orbit"])[0]) < float(plain.lexical(["orbit"])[0]) - 0.2
    rec.pin_biases(words_off=["blair"])
    assert float(rec.lexical(["blair"])[0]) == 0.0
