"""One score everywhere: For you, Latest, a search, a feed view, "Why this?", ``list --json`` and
``explain --json`` show the same number for the same article and model version, the one For
you is ordered by (the model's click score, freshness and feed spreading), and the river's
rows tint the words the highlight rule picks.

A small untrained model (no GloVe, made in a second) with fitted-looking feed biases stands in
for a trained one: the rule is about where numbers come from, not how good they are.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.cli import main
from app.services import activity, ranking
from app.services.highlight import highlight
from app.services.profile import Profile
from app.services.ranking import Ranker
from app.services.river import RiverFilter
from app.storage import events
from app.ui.delegate import tints
from app.ui.river import RiverModel, RiverQuery, Role
from app.ui.worker import JobRunner
from tests.modelled import biased_version, made_up_feeds

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A profile with four feeds (one of high volume), 22 opens and a model version."""
    path = tmp_path_factory.mktemp("one-score") / "profile"
    rng = random.Random(3)
    with Profile(path) as profile:
        by_feed = made_up_feeds(profile, rng, (60, 15, 15, 15), hours=3, now=datetime.now(UTC))
        # the reader opens the three small feeds more than the large one (4 of 22 from it)
        opened = by_feed[0][10:14] + by_feed[1][:6] + by_feed[2][:6] + by_feed[3][:6]
        rng.shuffle(opened)
        skipped = [a for ids in by_feed for a in ids if a not in opened]
        for i, chosen in enumerate(opened):
            above = skipped[i * 3 : i * 3 + 3]
            activity.record_click(profile.db, chosen, f"s{i}", dwell=30.0, shown_above=above)
        biased_version(profile, (1.5, -0.5, 0.2, 0.0), clicks=22)
    return path


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Freshness is taken at one moment for every view and command of a test."""
    monkeypatch.setattr(ranking, "_now", lambda: NOW)


@pytest.fixture
def ranker(root: Path) -> Iterator[Ranker]:
    with Profile(root) as profile:
        yield Ranker(profile)


def cli(root: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code = main(["--data-dir", str(root), *argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def scores(river: Any) -> dict[int, float]:
    return {i.article.id: i.score for i in river.items}


def test_every_service_shows_the_score_for_you_is_ordered_by(ranker: Ranker) -> None:
    foryou = ranker.river(ranked=True, limit=500)
    assert foryou.mode == "ranked"
    ranked = scores(foryou)
    values = list(ranked.values())
    assert values == sorted(values, reverse=True)  # the score shown is the order
    top = [i.article for i in foryou.items][:8]
    # a search, a feed view and Latest show the same numbers for the same articles
    word = top[0].title.split()[1]
    searched = scores(ranker.river(ranked=True, limit=500, view=RiverFilter(search=word)))
    assert searched and all(searched[a] == ranked[a] for a in searched)
    feed_view = scores(ranker.river(ranked=True, limit=500, view=RiverFilter(feed_id=1)))
    assert all(feed_view[a] == ranked[a] for a in feed_view)
    latest = ranker.scores([a.id for a in top])
    assert latest == {a.id: ranked[a.id] for a in top}
    for article in top[:1]:
        e = ranker.explain(article.id)
        assert e.ranked == ranked[article.id]
        assert e.as_dict()["click_score"] == ranked[article.id]
        assert e.score + e.freshness + e.spreading == pytest.approx(e.ranked, abs=1e-4)
        assert sum(p.share for p in e.parts()) == pytest.approx(e.ranked, abs=1e-4)
        assert e.median is not None


def test_read_articles_score_alike_in_every_view(ranker: Ranker) -> None:
    shown = scores(ranker.river(ranked=True, limit=500, view=RiverFilter(include_read=True)))
    with ranker._profile.db.read() as s:
        opened = [c.article_id for c in events.click_history(s)][:3]
    for article_id in opened:
        assert ranker.scores([article_id])[article_id] == shown[article_id]
        assert ranker.explain(article_id).ranked == shown[article_id]


def test_the_high_volume_feed_is_spread_and_its_share_is_explained(ranker: Ranker) -> None:
    items = ranker.river(ranked=True, limit=30).items
    assert sum(i.article.feed_title == "Feed 0" for i in items) <= 10
    crowded = [i for i in items if i.article.feed_title == "Feed 0"][-1]
    e = ranker.explain(crowded.article.id)
    assert e.spreading < 0 and e.above > 0
    assert any(p.kind == "spreading" for p in e.groups())


def test_the_command_line_shows_the_same_numbers(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Profile(root) as profile:  # the commands open the profile themselves
        ranked = scores(Ranker(profile).river(ranked=True, limit=500))
    listed = cli(root, capsys, "list", "--ranked", "--limit", "500", "--json")
    assert {a["id"]: a["score"] for a in listed} == ranked
    for row in listed[-1:]:  # the lowest, with the most spreading
        explained = cli(root, capsys, "explain", str(row["id"]), "--json")
        assert explained["click_score"] == row["score"]
        assert explained["version"] == 2
        words = [w for w in explained["words"] if not w["source"]]
        feed = (explained["feed"] or {"share": 0.0})["share"] + sum(
            w["share"] + w["bias"] for w in explained["words"] if w["source"]
        )
        flags = highlight([w["share"] + w["bias"] for w in words], feed=feed)
        assert [w["highlight"] for w in words] == flags


def test_the_river_rows_show_the_same_score_and_tint_the_rule_s_words(
    root: Path, ranker: Ranker, qtbot: QtBot
) -> None:
    ranked = scores(ranker.river(ranked=True, limit=500))
    runner = JobRunner()
    model = RiverModel(ranker, runner)
    try:
        for query in (RiverQuery(ranked=True), RiverQuery(ranked=False)):
            with qtbot.waitSignal(model.loaded, timeout=10000):
                model.set_query(query)
            assert model.rowCount() > 10
            for row in range(model.rowCount()):
                index = model.index(row)
                assert index.data(Role.SCORE) == ranked[index.data(Role.ARTICLE_ID)]
        with qtbot.waitSignal(model.loaded, timeout=10000):
            model.set_query(RiverQuery(ranked=True))
        for row in range(10):
            index = model.index(row)
            shares = index.data(Role.SHARES)
            title = index.data(Role.ARTICLE).title
            flags = highlight(shares.values, feed=shares.feed)
            picked = [t for (t, _), f in zip(shares.words, flags, strict=True) if f]
            tinted = [title[a:b].lower() for a, b, _ in tints(title, shares)]
            assert tinted == [t for t in (m.lower() for m in title.split()) if t in picked]
            assert len(tinted) <= 3
    finally:
        assert runner.shutdown(5000)


def test_views_asked_minutes_apart_show_the_same_number(
    ranker: Ranker, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ranker.river(ranked=True, limit=5).items[0]
    monkeypatch.setattr(ranking, "_now", lambda: NOW + timedelta(minutes=3))
    assert ranker.scores([first.article.id]) == {first.article.id: first.score}
    monkeypatch.setattr(ranking, "_now", lambda: NOW + ranking.TABLE_TTL)
    ranker.scores([first.article.id])
    assert ranker._table is not None
    assert ranker._table[1].now == NOW + ranking.TABLE_TTL  # a fresh moment, past the TTL


def test_why_this_tints_the_words_the_row_tints(ranker: Ranker) -> None:
    top = [i.article.id for i in ranker.river(ranked=True, limit=3).items]
    rows = ranker.word_shares(top)
    for article_id in top:
        words = ranker.explain(article_id).title_words
        row = rows[article_id]
        assert [t for t, _ in row.words] == [w.token for w in words]
        assert row.values == pytest.approx([w.total for w in words], abs=1e-4)
        explained = ranker.explain(article_id)
        feed = explained.feed_share + sum(w.total for w in explained.words if w.source)
        assert row.feed == pytest.approx(feed, abs=1e-4)
        assert highlight(row.values, feed=row.feed) == [w.highlight for w in words]
