"""Profiles with a model version for the tests of ranking: three feeds of made-up headlines, some
of them opened, and version 1 a small untrained model (no GloVe, made in a second). It stands in
for a trained one where a test is about where the numbers come from, not how good they are."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.services import activity
from app.services.profile import Profile
from app.storage import articles, events, feeds
from app.storage.record import IncomingArticle

_WORDS = (
    "rocket launch orbit telescope mars rover market shares bank rates striker derby cup "
    "final storm flood climate ocean election vote court judge chip phone apple startup"
)
WORDS = _WORDS.split()


def made_up_feeds(
    profile: Profile,
    rng: random.Random,
    counts: Sequence[int],
    *,
    hours: int,
    now: datetime,
) -> list[list[int]]:
    """A feed of ``counts[f]`` articles for each f, the n-th of feed f published
    ``n * hours + f`` hours before ``now``; their ids, feed by feed."""
    by_feed: list[list[int]] = []
    with profile.db.write() as s:
        for f, count in enumerate(counts):
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
                for n in range(count)
            ]
            by_feed.append(list(articles.upsert_articles(s, feed.id, items, now).new_ids))
    return by_feed


def three_feeds(
    profile: Profile, rng: random.Random, *, per_feed: int, hours: int, now: datetime
) -> list[int]:
    """Three made-up feeds of ``per_feed`` articles each (:func:`made_up_feeds`); all ids."""
    return [
        a for ids in made_up_feeds(profile, rng, [per_feed] * 3, hours=hours, now=now) for a in ids
    ]


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


def biased_version(profile: Profile, biases: Sequence[float], clicks: int) -> None:
    """Publish version 1: an untrained model over the profile's titles whose feeds, in id
    order, have fitted-looking ``biases``, no vectors cached."""
    import torch

    from nrms_core.recommender import Recommender

    with profile.db.read() as s:
        titles = articles.article_titles(s)
        feed_ids = sorted({a.feed_id for a in articles.list_articles(s, limit=100_000)})
    model = Recommender.create(pretrained=False, seed=0)
    model.add_titles(titles.values(), [f"feed{f}" for f in feed_ids])
    with torch.no_grad():
        for f, bias in zip(feed_ids, biases, strict=True):
            row = model._source_row(f"feed{f}")
            assert row is not None
            model._model.source_bias[row] = bias
    where = profile.paths.models / "model-00001.pt"
    sha = model.save(where, meta={"clicks_used": clicks})
    with profile.db.write() as s:
        events.add_model_version(s, str(where), sha, datetime.now(UTC), clicks, {})


@contextmanager
def modelled_profile(
    root: Path, *, seed: int, per_feed: int, hours: int, now: datetime, opens: int = 12
) -> Iterator[Profile]:
    """A profile of :func:`three_feeds`, ``opens`` of its articles opened (drawn with
    ``seed``) and :func:`untrained_version` published; closed on leaving."""
    rng = random.Random(seed)
    with Profile(root) as profile:
        ids = three_feeds(profile, rng, per_feed=per_feed, hours=hours, now=now)
        open_all(profile, rng.sample(ids, opens))
        untrained_version(profile, opens, now)
        yield profile
