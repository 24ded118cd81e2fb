"""A feed the reader keeps opening keeps its seat in For you's top between bursts of reading:
a seat is counted over the latest SEAT_WINDOW opens, not only the reader vector's 50.

A small untrained model with fitted-looking feed biases stands in for a trained one: the rule
is about which feed has a seat, not how good the model is.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from app.services import activity
from app.services.profile import Profile
from app.services.ranking import Ranker
from app.services.score import TOP
from tests.modelled import biased_version, made_up_feeds


def test_a_feed_read_in_an_earlier_burst_keeps_its_seat(tmp_path: Path) -> None:
    rng = random.Random(3)
    with Profile(tmp_path / "profile") as profile:
        by_feed = made_up_feeds(profile, rng, (40, 40, 40, 40, 120), hours=2, now=datetime.now(UTC))
        every = [a for ids in by_feed for a in ids]
        activity.record_impressions(profile.db, [(a, i) for i, a in enumerate(every)], "seen")
        burst = by_feed[3][20:32]  # a burst of Feed 3, then 50 opens of the three others
        later = by_feed[0][20:37] + by_feed[1][20:37] + by_feed[2][20:36]
        for article in burst + later:
            activity.record_click(profile.db, article, "seen", dwell=30.0)
        biased_version(profile, (1.0, 1.0, 1.0, 0.2, -1.0), clicks=len(burst) + len(later))
        items = Ranker(profile).river(ranked=True, limit=500).items
        ranks = [r for r, i in enumerate(items) if i.article.feed_title == "Feed 3"]
        assert ranks[0] < TOP  # 12 of its last 62 opens: a seat, though none of the last 50
        assert ranks[1] > 60  # only its best: the others keep the scores' order
        e = Ranker(profile).explain(items[ranks[0]].article.id)
        assert e.spreading > 0 and "keep opening" in e.summary()
