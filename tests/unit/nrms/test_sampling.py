import pytest

from nrms_core.sampling import Click, Exposure, Sample, build_groups, build_samples


def _imps(session: str, time: float, *articles: int) -> list[Exposure]:
    return [Exposure(a, time, session) for a in articles]


def test_negatives_come_from_the_same_session_and_were_never_clicked() -> None:
    clicks = [Click(1, 10.0, "s1"), Click(5, 20.0, "s2")]
    impressions = [
        *_imps("s1", 9.0, 1, 2, 3, 4, 5, 6),
        *_imps("s2", 19.0, 5, 7, 8, 9, 10, 11),
    ]
    samples = build_samples(clicks, impressions, negatives=4)
    assert len(samples) == 2
    assert samples.skipped == 0
    first, second = samples
    assert first.candidates[0] == 1
    assert set(first.candidates[1:]) == {2, 3, 4, 6}  # 5 is clicked later: never a negative
    assert second.candidates[0] == 5
    assert set(second.candidates[1:]) <= {7, 8, 9, 10, 11}
    assert len(set(second.candidates[1:])) == 4


def test_history_is_the_clicks_strictly_before() -> None:
    clicks = [Click(3, 30.0, "a"), Click(1, 10.0, "a"), Click(2, 10.0, "a"), Click(4, 40.0, "a")]
    impressions = _imps("a", 0.0, 9, 8, 7, 6)
    samples = build_samples(clicks, impressions, negatives=2)
    by_positive = {s.candidates[0]: s.history for s in samples}
    assert by_positive[1] == ()
    assert by_positive[2] == ()  # same time is not before
    assert by_positive[3] == (1, 2)
    assert by_positive[4] == (1, 2, 3)
    assert [s.candidates[0] for s in samples] == [1, 2, 3, 4]


def test_history_is_cut_to_max_history_and_drops_the_positive() -> None:
    clicks = [Click(i, float(i), "a") for i in range(1, 8)] + [Click(3, 9.0, "a")]
    samples = build_samples(clicks, _imps("a", 0.0, 100), negatives=1, max_history=3)
    assert samples[-1].history == (5, 6, 7)
    assert samples[-1].candidates == (3, 100)
    assert samples[6].history == (4, 5, 6)


def test_top_up_from_nearest_skipped_impressions_then_pool() -> None:
    clicks = [Click(1, 100.0, "s")]
    impressions = [
        Exposure(1, 99.0, "s"),
        Exposure(2, 99.0, "s"),
        Exposure(50, 10.0, "old"),
        Exposure(60, 95.0, "near"),
        Exposure(70, 130.0, "later"),
    ]
    samples = build_samples(clicks, impressions, negatives=3)
    assert samples[0].candidates == (1, 2, 60, 70)
    pooled = build_samples(clicks, impressions, negatives=6, fallback_pool=[1, 80, 81, 82])
    assert pooled[0].candidates[:5] == (1, 2, 60, 70, 50)
    assert pooled[0].candidates[5:] in {(80, 81), (80, 82), (81, 80), (81, 82), (82, 80), (82, 81)}


def test_few_negatives_are_repeated_and_none_is_skipped() -> None:
    clicks = [Click(1, 1.0, "a"), Click(2, 2.0, "b")]
    samples = build_samples(clicks, [Exposure(9, 1.0, "a"), Exposure(2, 1.0, "a")])
    assert samples == [Sample((), (1, 9, 9, 9, 9)), Sample((1,), (2, 9, 9, 9, 9))]
    none = build_samples(clicks, [Exposure(1, 1.0, "a")])
    assert none == []
    assert none.skipped == 2


def test_deterministic_for_a_seed() -> None:
    clicks = [Click(i, float(i), "s") for i in range(5)]
    impressions = _imps("s", 0.0, *range(100, 140))
    a = build_samples(clicks, impressions, seed=3)
    b = build_samples(clicks, impressions, seed=3)
    c = build_samples(clicks, impressions, seed=4)
    assert a == b
    assert a != c


def test_invalid_negatives() -> None:
    with pytest.raises(ValueError):
        build_samples([], [], negatives=0)


def test_groups_hold_every_skipped_article_of_the_session_and_nothing_else() -> None:
    clicks = [Click(1, 10.0, "s1"), Click(5, 20.0, "s2"), Click(7, 30.0, "s3")]
    impressions = [
        *_imps("s1", 9.0, 1, 2, 3, 4, 5, 6, 3),
        *_imps("s2", 19.0, 5, 8, 9),
        *_imps("s3", 29.0, 7),  # nothing skipped beside it
    ]
    groups = build_groups(clicks, impressions)
    assert [g.history for g in groups] == [(), (1,)]
    assert groups[0].candidates[0] == 1 and sorted(groups[0].candidates[1:]) == [2, 3, 4, 6]
    assert groups[1].candidates[0] == 5 and sorted(groups[1].candidates[1:]) == [8, 9]
    assert groups.skipped == 1
    samples = build_samples(clicks, impressions, negatives=2)
    assert [g.history for g in groups] == [s.history for s in samples[:2]]


def test_a_group_keeps_what_was_shown_nearest_the_click() -> None:
    impressions = [Exposure(a, float(a), "window") for a in range(100, 200)]
    groups = build_groups([Click(1, 150.2, "window")], impressions, max_skipped=4)
    assert groups[0].candidates == (1, 150, 151, 149, 152)
    with pytest.raises(ValueError):
        build_groups([], [], max_skipped=0)
