"""Learning from clicks, headless: click one topic, train, and "For you" moves it up and says why.

Runs the real model (GloVe-initialised NRMS on the CPU) on a small profile.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.services.profile import Profile
from app.services.ranking import Ranker
from harness.server import LocalServer, Reply
from tests.e2e.feedgen import rss

SPORT = [
    "Striker scores twice as United beat City in derby",
    "Tennis champion wins fifth title at the open",
    "Coach sacked after ten straight league defeats",
    "Olympic sprinter breaks world record in final",
    "Cricket captain retires after series win",
    "Goalkeeper saves penalty to win the cup final",
    "Rugby team names squad for the world cup",
    "Marathon runner sets course record in Boston",
    "Basketball star signs record contract extension",
    "Cyclist takes yellow jersey on mountain stage",
    "Golfer wins playoff to claim the championship",
    "Boxer retains heavyweight title on points",
    "Swimmer wins gold in the relay final",
    "Formula one driver takes pole at home race",
    "Baseball pitcher throws a perfect game",
    "Hockey team clinches playoff spot with late goal",
    "Skier wins downhill race despite heavy snow",
    "Football club appoints new manager after loss",
    "Jockey rides winner in the grand national",
    "Chess champion defends title in tie break",
    "Volleyball team reaches the league final",
    "Sprinter banned after failed doping test",
    "Striker transfer fee breaks club record",
    "Tennis star withdraws from open with injury",
    "League leaders held to a draw at home",
    "Cup holders knocked out by second division side",
    "Wrestler wins title at world championships",
    "Rowing crew wins the boat race by two lengths",
    "Sailor completes solo race around the world",
    "Athlete wins decathlon with personal best",
]
MARKETS = [
    "Shares fall as central bank raises interest rates",
    "Oil prices climb after supply cut announcement",
    "Tech company reports record quarterly profit",
    "Inflation slows for third month in a row",
    "Bank announces job cuts amid restructuring",
    "Retail sales rise ahead of the holiday season",
    "Currency slides to lowest level in a decade",
    "Carmaker recalls vehicles over brake fault",
    "Bond yields jump on strong jobs report",
    "Startup raises funding at higher valuation",
    "Merger talks collapse between two airlines",
    "Housing market cools as mortgage rates climb",
    "Factory output falls for a second quarter",
    "Gold price hits record on safe haven demand",
    "Trade deficit widens as imports surge",
    "Insurer posts loss after storm claims",
    "Chipmaker shares soar on strong demand outlook",
    "Unemployment rate falls to a new low",
    "Regulator fines bank over money laundering",
    "Supermarket chain warns on profits",
    "Pension fund sells stake in energy firm",
    "Budget plan raises taxes on large companies",
    "Stock market closes higher on earnings hopes",
    "Brewer agrees takeover by rival group",
    "Mining company cuts output forecast",
    "Airline fuel costs weigh on quarterly results",
    "Consumer confidence drops to two year low",
    "Central bank holds rates steady",
    "Software maker beats revenue estimates",
    "Telecom group plans to spin off towers",
]


def cli(data_dir: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code = main(["--data-dir", str(data_dir), *argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out) if "--json" in argv else captured.out


def test_clicks_on_one_topic_move_it_up_and_explanations_name_them(
    http_server: LocalServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # interleave the two feeds in time so that Latest mixes them
    http_server.route(
        "/sport.xml",
        Reply(body=rss("Sport", [(f"s{i}", t) for i, t in enumerate(SPORT)], start=1_750_000_000)),
    )
    http_server.route(
        "/markets.xml",
        Reply(
            body=rss("Markets", [(f"m{i}", t) for i, t in enumerate(MARKETS)], start=1_750_000_300)
        ),
    )
    cli(tmp_path, capsys, "add", http_server.url("/sport.xml"))
    cli(tmp_path, capsys, "add", http_server.url("/markets.xml"))

    latest = cli(tmp_path, capsys, "list", "--limit", "100", "--json")
    sport_ids = [a["id"] for a in latest if a["feed"] == "Sport"]
    clicked = sport_ids[:22]
    for article_id in clicked:
        cli(tmp_path, capsys, "click", str(article_id), "--session", f"s{article_id}")

    report = cli(tmp_path, capsys, "train", "--epochs", "3", "--json")
    assert report["version"] == 1 and report["clicks_used"] == 22 and not report["cancelled"]
    assert 0.0 <= report["holdout_click_auc"] <= 1.0  # the ranking's score, measured held out

    ranked = cli(tmp_path, capsys, "list", "--ranked", "--limit", "100", "--json")
    unread = [a for a in ranked if a["id"] not in clicked]
    assert len(ranked) == len(latest) - len(clicked), "ranking reorders, it never hides"
    assert all(a["score"] is not None for a in ranked)
    top = [a["feed"] for a in ranked[:6]]
    assert top.count("Sport") >= 5, top
    assert {a["feed"] for a in unread} == {"Sport", "Markets"}

    explained = cli(tmp_path, capsys, "explain", str(ranked[0]["id"]), "--json")
    assert explained["article_id"] == ranked[0]["id"]
    words = explained["words"]
    history = explained["history"]
    word_part = sum(w["share"] for w in words) + explained.get("word_base", 0.0)
    history_part = sum(h["share"] for h in history) + explained.get("history_base", 0.0)
    assert abs(word_part - explained["score"]) < 1e-4
    assert abs(history_part - explained["score"]) < 1e-4
    assert {h["article_id"] for h in history} <= set(clicked)
    assert {"token", "attention", "share", "bias"} <= set(words[0])
    assert abs(sum(w["bias"] for w in words) - explained["lexical"]) < 1e-6
    assert {"article_id", "title", "attention", "share"} <= set(history[0])
    assert set(explained["faithfulness"]) == {"words", "history"}
    feed = explained["feed"]
    assert feed is None or feed["title"] == ranked[0]["feed"]
    share = 0.0 if feed is None else feed["share"]
    total = explained["score"] + explained["lexical"] + share
    assert abs(total - explained["model_click_score"]) < 1e-6
    blended = total + explained["freshness"] + explained["spreading"]
    assert abs(blended - explained["click_score"]) < 1e-3  # float32 vectors in the cache
    # one score everywhere (freshness may move by a hair if a minute turned in between)
    assert abs(explained["click_score"] - ranked[0]["score"]) < 1e-2

    stats = cli(tmp_path, capsys, "stats", "--json")
    assert stats["model_version"] == 1 and stats["clicks"] == 22

    # paging through "For you" ranks once and gives the same order as one long page
    with Profile(tmp_path) as profile:
        ranker = Ranker(profile)
        whole = [i.article.id for i in ranker.river(ranked=True, limit=100).items]
        rankings: list[int] = []
        rank = ranker._ranked_order

        def counted(*args: Any, **kwargs: Any) -> Any:
            rankings.append(1)
            return rank(*args, **kwargs)

        monkeypatch.setattr(ranker, "_ranked_order", counted)
        pages = [ranker.river(ranked=True, limit=10, offset=o).items for o in range(0, 40, 10)]
    assert [i.article.id for page in pages for i in page] == whole
    assert len(rankings) == 1
