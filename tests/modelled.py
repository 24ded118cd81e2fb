"""Profiles with a model version for the tests of ranking: three feeds of made-up headlines, some
of them opened, and version 1 a small untrained model (no GloVe, made in a second). It stands in
for a trained one where a test is about where the numbers come from, not how good they are."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from app.services import activity
from app.services.profile import Profile
from app.storage import articles, events, feeds
from app.storage.record import IncomingArticle

_WORDS = (
    "rocket launch orbit telescope mars rover market shares bank rates striker derby cup "
    "final storm flood climate ocean election vote court judge chip phone apple startup"
)
WORDS = _WORDS.split()


def three_feeds(
    profile: Profile, rng: random.Random, *, per_feed: int, hours: int, now: datetime
) -> list[int]:
    """``per_feed`` articles in each of three feeds, the n-th of feed f published
    ``n * hours + f`` hours before ``now``; their ids."""
    ids: list[int] = []
    with profile.db.write() as s:
        for f in range(3):
            feed = feeds.add_feed(s, f"https://feeds.example.org/{f}.xml", title=f"Feed {f}")
            items = [
                IncomingArticle(
                    dedup_key=f"a-{f}-{n}",
                    url=f"https://example.org/{f}/{n}",
                    title=" ".join(rng.sample(WORDS, 5)).capitalize() + f" {f}x{n}",
                    summary_html="<p>summary</p>",
                    summary_text="summary",
                    author=None,
                    published=now - timedelta(hours=n * hours + f),
                )
                for n in range(per_feed)
            ]
            ids += articles.upsert_articles(s, feed.id, items, now).new_ids
    return ids


def open_all(profile: Profile, chosen: list[int]) -> None:
    """Record an open of each of ``chosen``, each in a session of its own."""
    for i, article in enumerate(chosen):
        activity.record_click(profile.db, article, f"s{i}", dwell=30.0)


def untrained_version(profile: Profile, clicks: int, now: datetime) -> None:
    """Publish version 1: an untrained model over the profile's titles, no vectors cached."""
    from nrms_core.recommender import Recommender

    with profile.db.read() as s:
        titles = articles.article_titles(s)
    model = Recommender.create(pretrained=False, seed=0)
    model.add_titles(titles.values(), ["feed1", "feed2", "feed3"])
    where = profile.paths.models / "model-00001.pt"
    sha = model.save(where, meta={"clicks_used": clicks})
    with profile.db.write() as s:
        events.add_model_version(s, str(where), sha, now, clicks, {})
