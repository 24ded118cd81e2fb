"""The words of "Why this?" match its numbers: parts by size, high or low by the river's
median, "mostly" only when the named parts carry more than half, past reads by share."""

from __future__ import annotations

import dataclasses

import pytest

from app.services.explanation import (
    JSON_VERSION,
    NO_PAST,
    ArticleExplanation,
    FeedShare,
    PastShare,
    WordShare,
)


def make(**changes: object) -> ArticleExplanation:
    words = (
        WordShare("from Daily Sport", 0.1, 0.2, source=True),
        WordShare("rocket", 0.4, 0.5, bias=0.1),
        WordShare("the", 0.2, 0.02),
        WordShare("launch", 0.3, -0.12),
    )
    history = (
        *(PastShare(i, f"Read {i}", 0.02, 0.01) for i in range(47)),
        PastShare(90, "Rocket lands on the barge", 0.2, 0.1),
        PastShare(91, "Cup final tonight", 0.1, 0.05),
        PastShare(92, "Launch delayed by storm", 0.1, -0.02),
    )
    base = ArticleExplanation(
        article_id=5,
        title="The rocket launch",
        score=0.0,
        words=words,
        history=history,
        faithfulness_words=0.9,
        faithfulness_history=0.8,
        model_version=2,
        feed=FeedShare("Daily Sport", 2.0),
        lexical=0.1,
        freshness=0.3,
        spreading=-0.4,
        above=4,
        median=0.5,
        age_hours=3.0,
    )
    model = sum(w.total for w in words) + 2.0
    return dataclasses.replace(base, score=model, **changes).with_highlights()  # type: ignore[arg-type]


def test_the_parts_add_up_to_the_ranked_score_and_come_largest_first() -> None:
    e = make()
    assert sum(p.share for p in e.parts()) == pytest.approx(e.ranked)
    assert sum(p.share for p in e.groups()) == pytest.approx(e.ranked)
    kinds = [p.kind for p in e.groups()]
    assert kinds[0] == "feed"  # +2.2 is the largest part: it comes first
    assert kinds == ["feed", "words", "spreading", "freshness"]
    assert e.ranked == pytest.approx(0.2 + 0.6 + 0.02 - 0.12 + 2.0 + 0.3 - 0.4)


def test_ranked_high_above_the_median_and_mostly_only_over_half() -> None:
    e = make()
    text = e.because()
    assert text.startswith("Ranked high mostly because of the feed, Daily Sport (+2.20")
    assert "“rocket”" in text  # 0.6 of 3.14 is more than a tenth
    assert "“the”" not in text


def test_ranked_low_below_the_median_names_what_pulls_it_down() -> None:
    e = make(median=5.0)
    text = e.because()
    assert text.startswith("Ranked low because of")
    assert "feed spreading (-0.40" in text
    assert "“launch”" not in text  # 0.12 of 3.64 is under a tenth: not named
    assert "mostly" not in text  # 0.4 of 3.64 is not half
    assert "Ranked high" not in e.summary()


def test_mostly_needs_more_than_half() -> None:
    words = tuple(WordShare(f"w{i}", 0.1, 0.1) for i in range(10))
    e = make(words=words, feed=None, freshness=0.0, spreading=0.0, lexical=0.0, median=0.0)
    e = dataclasses.replace(e, score=1.0)
    assert e.because().startswith("Ranked high because of “w0” (+0.10, 10 %)")  # 3 of 10
    e = dataclasses.replace(e, words=(*words[:3], WordShare("x", 0.1, 0.7)), score=1.0)
    assert e.because().startswith("Ranked high mostly because of “x” (+0.70, 70 %)")


def test_what_no_word_carries_is_a_part_but_never_why_a_row_ranks() -> None:
    """The base is the same for every row of the river: it is listed with its share, and
    the text names what sets this row apart."""
    plain = make()
    e = dataclasses.replace(make(base=5.0), score=plain.score + 5.0)
    assert sum(p.share for p in e.parts()) == pytest.approx(e.ranked)
    assert e.parts()[0].kind == "base" and e.parts()[0].label == "what no word carries"
    text = e.because()
    assert text.startswith("Ranked high because of the feed, Daily Sport (+2.20")
    assert "no word carries" not in text


def test_past_reads_top_three_with_shared_words_and_concentration() -> None:
    e = make()
    line = e.past_line()
    assert line is not None
    assert line.startswith(
        "Of your past reads, “Rocket lands on the barge” (+0.100; shares “rocket”)"
    )
    assert "“Cup final tonight” (+0.050)" in line
    assert "3 of your 50 past reads carry" in line
    total = 47 * 0.01 + 0.1 + 0.05 + 0.02
    assert f"{100 * (0.1 + 0.05 + 0.01) / total:.0f} % of this part" in line


def test_past_reads_that_carry_nothing_are_not_said_to_weigh_in() -> None:
    """ClickBias: the network's part is off, so every past read's share is 0."""
    e = make()
    off = dataclasses.replace(
        e, history=tuple(dataclasses.replace(h, share=0.0) for h in e.history)
    )
    assert off.past_line() == NO_PAST and "weigh in" not in off.summary()


def test_word_habits_are_named_once_and_against_what_the_score_holds() -> None:
    """With the network's part on, a word's bias is what it adds beyond the model; with it
    off (ClickBias), the bias is the word's whole share: a tinted word is named once."""
    words = (
        WordShare("from Daily Sport", 0.1, 0.0, source=True),
        WordShare("rocket", 0.4, 0.0, bias=0.9),
        WordShare("launch", 0.3, 0.0, bias=0.15),
        WordShare("the", 0.2, 0.0, bias=0.01),
        WordShare("pad", 0.2, 0.0, bias=0.02),
        WordShare("crew", 0.2, 0.0, bias=0.02),
    )
    on = make(words=words)
    assert on.habit_line() == (
        "You open headlines with “rocket” (+0.900), “launch” (+0.150) more often than the "
        "model alone predicts."
    )
    off = dataclasses.replace(
        on, history=tuple(dataclasses.replace(h, share=0.0) for h in on.history)
    ).with_highlights()
    assert [w.token for w in off.title_words if w.highlight] == ["rocket"]
    assert off.habit_line() == (
        "You also open headlines with “launch” (+0.150) more often than their feeds predict."
    )
    assert "Words that carry it: rocket (+0.900)." in off.summary()
    assert off.summary().count("(+0.900)") == 1
    alone = dataclasses.replace(off, words=(*words[:2], *words[3:])).with_highlights()
    assert alone.habit_line() is None


def test_a_seat_in_the_top_is_said_as_such() -> None:
    lifted = make(spreading=0.8, above=0)
    line = lifted.summary()
    assert (
        "feed spreading +0.800: it is the best of Daily Sport in your river, a feed you keep "
        "opening, so it keeps a place in your top 30." in line
    )
    assert "it is the first of" not in line


def test_a_look_for_a_barely_shown_feed_is_said_as_such() -> None:
    waiting = make(spreading=0.8, above=0, exploring=True)
    line = waiting.summary()
    assert (
        "feed spreading +0.800: it is the best of Daily Sport in your river, a feed you have "
        "hardly been shown beside your others, so it waits just below your top 30 for a look; "
        "opening or passing it over teaches Heedful." in line
    )
    assert "keep opening" not in line
    assert waiting.as_dict()["exploring"] is True
    unshared = make(spreading=0.8, above=0, exploring=True, feed=None, feed_title="Local Wire")
    assert "it is the best of Local Wire in your river" in unshared.summary()
    assert make(spreading=0.8, above=0).as_dict()["exploring"] is False


def test_only_rule_picked_words_are_named_as_carrying() -> None:
    e = make()
    # "launch" (-0.12) has 16 % of the words' |share| but not 5 % beside the feed's +2.2
    assert [w.token for w in e.title_words if w.highlight] == ["rocket"]
    assert "Words that carry it: rocket (+0.600)." in e.summary()
    assert "No single word carries it" not in e.summary()


def test_a_row_the_feed_carries_says_why_no_word_is_tinted() -> None:
    words = (
        WordShare("from Daily Sport", 0.1, 0.2, source=True),
        WordShare("a", 0.3, 0.044),
        WordShare("blessing", 0.3, -0.035),
        WordShare("in", 0.3, 0.045),
    )
    e = make(words=words).with_highlights()
    assert not any(w.highlight for w in e.title_words)
    assert (
        "No word carries it: its 3 words add +0.05 together beside the feed's +2.20, and none "
        "carries 5 % of the two, so none is tinted." in e.summary()
    )


def test_a_title_read_as_a_whole_says_why_no_word_is_tinted() -> None:
    words = tuple(WordShare(f"w{i}", 0.1, 0.1) for i in range(10))  # 10 % each: below 15 %
    e = make(words=words, feed=None, freshness=0.0, spreading=0.0, lexical=0.0, median=0.0)
    e = e.with_highlights()
    assert not any(w.highlight for w in e.title_words)
    assert (
        "No single word carries it: its 10 words add +1.00 together, none more than 10 % of "
        "that, so none is tinted." in e.summary()
    )


def test_json_keeps_its_keys_adds_the_parts_and_says_its_version() -> None:
    e = make()
    data = e.as_dict()
    assert data["version"] == JSON_VERSION == 2
    assert sum(w["share"] for w in data["words"]) + data["word_base"] == pytest.approx(
        data["score"]
    )
    assert data["model_click_score"] == pytest.approx(
        data["score"] + data["lexical"] + data["feed"]["share"]
    )
    assert data["click_score"] == pytest.approx(
        data["model_click_score"] + data["freshness"] + data["spreading"]
    )
    assert data["click_score"] == pytest.approx(e.ranked)
    assert [w["highlight"] for w in data["words"]] == [False, True, False, False]
    assert sum(p["share"] for p in data["parts"]) == pytest.approx(data["click_score"])
    assert sum(p["percent"] for p in data["parts"]) == pytest.approx(100.0)
    assert data["standing"] == "high"


def test_the_river_number_wins_over_float_rounding() -> None:
    e = dataclasses.replace(make(), ranked_score=1.234)
    assert e.ranked == 1.234 and e.as_dict()["click_score"] == 1.234


def test_the_spreading_line_says_where_the_article_stands() -> None:
    first = make(above=0, spreading=0.0).summary()
    assert "it is the first of Daily Sport" in first
    below = make(above=4, spreading=0.0).summary()
    assert "below your top 30 the river keeps the scores' order" in below
    within = make(above=4, spreading=-0.4, allowance=10.0).summary()
    assert "a feed may fill about 10 of your top 30" in within
    past = make(above=12, spreading=-1.5, allowance=10.0).summary()
    assert "more than the 10 a feed may fill" in past and "just below the top" in past


def test_a_spreading_too_small_to_show_reads_zero_not_a_loss() -> None:
    line = make(spreading=-0.00004, above=3).summary()
    assert "feed spreading 0.000 (3 articles of" in line
    assert "-0.000" not in line
