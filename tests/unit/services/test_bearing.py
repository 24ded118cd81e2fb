"""What the reader said, given back in "Why this?": only judgements that bear on the article,
each saying no more than its pin or label does."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.services import feedback
from app.services.explanation import ArticleExplanation, FeedShare, WordShare
from app.services.profile import Profile
from app.services.signal import FEED_CEILING, FEED_FLOOR
from app.storage import articles, feeds
from app.storage.record import FeedbackRecord, IncomingArticle

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ARTICLE = 7
FEED = 3


def _told(
    i: int,
    kind: str,
    *,
    article: int | None = None,
    feed: int | None = None,
    word: str | None = None,
) -> FeedbackRecord:
    return FeedbackRecord(i, kind, article, feed, word, T0 + timedelta(minutes=i), None)


def _explained(feed_share: float = -0.5, apple_bias: float = 0.2) -> ArticleExplanation:
    words = (
        WordShare("from The Verge", 0.1, 0.05, source=True),
        WordShare("apple", 0.5, 0.3, bias=apple_bias),
        WordShare("sues", 0.3, 0.1, bias=0.05),
        WordShare("the", 0.1, 0.0),
    )
    return ArticleExplanation(
        article_id=ARTICLE,
        title="Apple sues the",
        score=0.4 + apple_bias + 0.05 + feed_share + 0.05,
        words=words,
        history=(),
        faithfulness_words=0.8,
        faithfulness_history=None,
        model_version=2,
        feed=FeedShare("The Verge", feed_share),
        lexical=apple_bias + 0.05,
    )


def _summary(given: list[FeedbackRecord], e: ArticleExplanation | None = None) -> str:
    e = e or _explained()
    said = feedback.said_on(e, given, FEED, "The Verge")
    return dataclasses.replace(e, said=said).summary()


def test_nothing_said_says_nothing() -> None:
    assert "You said" not in _explained().summary()
    assert "You said" not in _summary([])


def test_judgements_on_other_articles_feeds_and_words_are_left_out() -> None:
    given = [
        _told(1, "feed_less", feed=FEED + 1),
        _told(2, "word_off", word="banana"),
        _told(3, "more", article=ARTICLE + 1),
        _told(4, "less", article=ARTICLE + 2),
    ]
    assert "You said" not in _summary(given)


def test_fewer_from_the_feed_says_its_ceiling_and_whether_it_holds_yet() -> None:
    given = [_told(1, "feed_less", feed=FEED)]
    before = _summary(given, _explained(feed_share=-0.5))
    assert (
        f"You said: fewer from The Verge: from the next training round its own part (how often "
        f"you open it) is held at or below {FEED_CEILING:+.2f}; here it is -0.500." in before
    )
    after = _summary(given, _explained(feed_share=FEED_CEILING))
    assert (
        f"You said: fewer from The Verge: its own part (how often you open it) is held at or "
        f"below {FEED_CEILING:+.2f}; here it is {FEED_CEILING:+.3f}." in after
    )


def test_the_latest_word_on_a_feed_wins() -> None:
    given = [_told(1, "feed_less", feed=FEED), _told(2, "feed_more", feed=FEED)]
    text = _summary(given, _explained(feed_share=1.5))
    assert "fewer from" not in text
    assert (
        f"You said: more from The Verge: its own part (how often you open it) is held at or "
        f"above {FEED_FLOOR:+.2f}; here it is +1.500." in text
    )


def test_a_word_off_speaks_of_its_bias_only() -> None:
    given = [_told(1, "word_off", word="apple")]
    before = _summary(given)
    assert (
        "You said: don't rank on “apple”: from the next training round its own click bias is "
        "held at 0; here it is +0.200." in before
    )
    after = _summary(given, _explained(apple_bias=0.0))
    assert (
        "You said: don't rank on “apple”: its own click bias is held at 0, and the model's "
        "reading of it still counts (+0.300)." in after
    )


def test_an_undone_word_off_is_not_in_force_and_less_wins_over_more() -> None:
    given = [_told(1, "more", article=ARTICLE), _told(2, "less", article=ARTICLE)]
    text = _summary(given)
    assert "You said: less like this." in text and "more like this" not in text
    assert "You said: more like this." in _summary(given[:1])


def test_bearing_reads_the_log_and_finds_the_rankable_words(tmp_path: Path) -> None:
    profile = Profile(tmp_path / "profile")
    try:
        now = datetime.now(UTC)
        with profile.db.write() as s:
            feed_id = feeds.add_feed(s, "https://example.org/v.xml", title="The Verge").id
            item = IncomingArticle(
                "k", "https://example.org/a", "Apple sues the", "", "", None, now
            )
            (article_id,) = articles.upsert_articles(s, feed_id, [item], now).new_ids
        e = dataclasses.replace(_explained(), article_id=article_id)
        assert feedback.bearing(profile.db, e, feed_id).said == ()
        feedback.give(profile.db, "feed_less", feed_id=feed_id)
        taken = feedback.give(profile.db, "word_off", word="Sues")
        feedback.undo(profile.db, taken.id)
        heard = feedback.bearing(profile.db, e, feed_id)
        assert [s.kind for s in heard.said] == ["feed_less"]
        assert "You said: fewer from The Verge" in heard.summary()
        assert heard.rankable == frozenset({"apple", "sues"})  # not "the", not the feed
    finally:
        profile.close()
