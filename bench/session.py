"""The learning loop as a reader uses it: simulated readers drive the real window, offscreen.

Real headlines (../shared/data/headlines: AG News, BBC, fwd/news, Reuters) are grouped into
twenty feeds (bench/newsroom.py) and served from 127.0.0.1, a new day of items at a time.
Each simulated reader has a known interest of one of three kinds (three feeds; two topics
spread across feeds; three names) and browses in one of four patterns (bench/reader.py):
Latest top to bottom then feed by feed; For you only; bursts inside one feed view; searches.
It lives ``--days`` days. Each day it opens the window (a new session), refreshes, browses
with mouse and keys (bench/hand.py: select views in the sidebar, scroll, read in the pane,
preview, misclick, search), then presses "Train now" and waits for the round.

The next morning, after the refresh and before the reader touches anything, the benchmark
reads For you's whole order and scores it on the articles that arrived that day (labels:
the reader's true interest) against Latest, ClickBias and the per-reader TF-IDF logistic
regression (bench/measurement.py), and prints per pattern and day:
AUC and nDCG@10 of each; the worst rank, over readers, of each favoured feed's best unread
article in For you; the largest single feed's share of For you's top 30 beside the largest
feed's share of the reader's own opens; and the rounds the guard rejected ("n/a" while the
app records no decision). The clicks are simulated; no real click log is used.

The window's dwell times are shortened (a read counts after 50 ms, an impression after
30 ms on screen), so nothing sleeps for real; the training rounds run at full length.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/session.py [--readers 1] [--days 3]
        [--patterns latest,foryou,bursts,search] [--seed 0] [--epochs N] [--out docs/benchmarks]

Writes session.{json,md,png} under --out.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import json
import logging
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shiboken6  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import app.ui  # noqa: E402, F401  (counters the PySide6 None defect before any Qt call)
from app.services.profile import Profile  # noqa: E402
from app.storage import articles, events, feeds  # noqa: E402
from app.ui.outline import FOR_YOU  # noqa: E402
from app.ui.window import QUIET, MainWindow  # noqa: E402
from bench import measurement  # noqa: E402
from bench.digest import aggregate, document, fmt, judged, markdown, plot  # noqa: E402
from bench.hand import Hand, Visit, caught_browser, quick_time  # noqa: E402
from bench.measurement import RANKERS, Shown  # noqa: E402
from bench.newsroom import FeedServer, Newsroom  # noqa: E402
from bench.reader import KINDS, PATTERNS, Day, browser_for, draw_interest, favoured_feeds  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "headlines"
log = logging.getLogger("bench.session")


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--readers", type=int, default=3, help="readers per pattern")
    p.add_argument("--days", type=int, default=4, help="days each reader lives (3-5)")
    p.add_argument("--patterns", default=",".join(PATTERNS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None, help="default: the app's own round")
    p.add_argument("--first-budget", type=int, default=32, help="opens meant on day 1")
    p.add_argument("--budget", type=int, default=20, help="opens meant on later days")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    p.add_argument("--keep", type=Path, help="keep each reader's profile under this folder")
    p.add_argument("--replot", type=Path, help="only redraw the PNG and Markdown from a saved JSON")
    return p.parse_args()


def _known(profile: Profile, newsroom: Newsroom) -> dict[int, Shown]:
    """Every stored article, with its story."""
    with profile.db.read() as s:
        stored = articles.list_articles(s, limit=1_000_000)
    return {
        a.id: Shown(
            a.id,
            a.title,
            a.feed_title,
            a.published.timestamp() if a.published else 0.0,
            newsroom.story_of(a.url),
        )
        for a in stored
    }


def _refresh(hand: Hand) -> None:
    """Press Refresh and wait for it (and the river's reload)."""
    hand.w.act_refresh.trigger()
    if not hand.until(lambda: not hand.w.scheduler.refreshing, 600):
        raise TimeoutError("the refresh did not end")
    hand.wait(0.3)  # the sidebar reloads on a short timer
    hand.idle()


def _for_you(hand: Hand) -> tuple[str, list[int]]:
    """For you's whole order (ids), read from the river while the window is still hidden, so
    the benchmark's look logs no impressions."""
    hand.w.show_place(FOR_YOU)
    hand.idle()
    while hand.w.river.canFetchMore(hand.w.river.index(0).parent()):
        hand.w.river.fetchMore(hand.w.river.index(0).parent())
        hand.idle()
    return hand.w.river.mode, [a.id for a in hand.rows()]


def _morning(
    hand: Hand,
    profile: Profile,
    newsroom: Newsroom,
    reader: dict[str, Any],
    day: int,
    visits: list[Visit],
    opened: list[int],
) -> dict[str, Any]:
    """Score the model trained at the end of ``day - 1`` on the articles of ``day``."""
    mode, ids = _for_you(hand)
    known = _known(profile, newsroom)
    order = [known[a] for a in ids if a in known]
    interest = reader["interest"]
    fresh = [a for a in order if a.story is not None and a.story.day == day]
    labels = [int(interest.likes(a.story)) for a in fresh]
    by_ranker = measurement.scores(order, fresh, visits, known, opened)
    parts = _parts(profile, fresh)
    explained = _explained(profile, ids[:EXPLAINED])
    feed_top, share_top = measurement.top_share([a.feed for a in order[: measurement.TOP]])
    feed_opens, share_opens = measurement.top_share([known[a].feed for a in opened if a in known])
    return {
        "mode": mode,
        "unread": len(order),
        "candidates": len(fresh),
        "liked": sum(labels),
        "quality": measurement.quality(labels, by_ranker),
        "parts": measurement.quality(labels, parts) if parts else {},
        "explained": explained,
        "favoured_ranks": measurement.favoured_ranks(order, reader["favoured"], interest.likes),
        "favoured_opens": measurement.favoured_opens(opened, known, reader["favoured"]),
        "tfidf_favoured_ranks": measurement.favoured_ranks(
            measurement.baseline_order(order, visits, known, opened),
            reader["favoured"],
            interest.likes,
        ),
        "top30_feed": feed_top,
        "top30_share": share_top,
        "opens_feed": feed_opens,
        "opens_share": share_opens,
    }


def _parts(profile: Profile, fresh: list[Shown]) -> dict[str, list[float]]:
    """For you's score of each candidate taken apart (a means of finding what costs it, not a
    figure of the product): the model's click score alone, with freshness, the whole ranked
    score, and the click score's own terms (the scaled NRMS score, the feed bias with its
    prior, the word biases). Computed by an in-process ranker on the same model version."""
    import numpy as np

    from app.services.ranking import Ranker
    from app.services.training import source_of

    ranker = Ranker(profile)
    try:
        loaded = ranker._current()
        if loaded is None or not fresh:
            return {}
        table = ranker._score_table(loaded)
        row = table.position()
        kept = [a for a in fresh if a.id in row]
        if len(kept) != len(fresh):
            return {}
        at = [row[a.id] for a in fresh]
        user, _, _ = ranker._user_vector(loaded)
        ids = [a.id for a in fresh]
        raw = loaded.cache.scores(ids, user)
        lexical = loaded.cache.lexical(ids)
        if raw is None or lexical is None:
            return {}
        feeds = table.feeds[at]
        bias = loaded.model.source_bias([source_of(int(f)) for f in feeds])
        model = loaded.model
        return {
            "total": [float(x) for x in table.total[at]],
            "click": [float(x) for x in table.click[at]],
            "click+fresh": [float(x) for x in (table.click + table.fresh)[at]],
            "nrms": [float(x) for x in model.scale * np.asarray(raw, np.float64)],
            "feed": [float(x) for x in bias],
            "words": [float(x) for x in lexical],
            "feed+words": [float(x) for x in np.asarray(bias, np.float64) + lexical],
        }
    except Exception:  # a diagnostic: never the reason a reader's run fails
        log.exception("could not take the score apart")
        return {}
    finally:
        ranker.close()


EXPLAINED = 20
"""For you's top rows whose explanations the morning measures."""


def _explained(profile: Profile, ids: list[int]) -> dict[str, Any]:
    """How For you's top rows are explained, by the same services the window uses: the
    median leave-one-out agreement (Spearman) of the word shares and of the past-read
    shares, and the river's highlights on those rows (mean fraction of a title's words
    tinted, mean fraction of its |share| they cover; issue 14's goals: >= 0.8, >= 0.7,
    <= 30 %, >= 60 %)."""
    import statistics

    from app.services.highlight import highlight_stats
    from app.services.ranking import Ranker

    ranker = Ranker(profile)
    try:
        loaded = ranker._current()
        if loaded is None or not ids:
            return {}
        _, recent, texts = ranker._user_vector(loaded)
        history = [texts[h][0] for h in recent]
        sources = [texts[h][1] for h in recent]
        shown = ranker._texts(ids)
        words: list[float] = []
        reads: list[float] = []
        for a in ids:
            if a not in shown:
                continue
            e = loaded.model.explain(shown[a][0], history, shown[a][1], sources)
            if e.faithfulness_words is not None:
                words.append(e.faithfulness_words)
            if e.faithfulness_history is not None:
                reads.append(e.faithfulness_history)
        shares = ranker.word_shares(ids)
        stats = highlight_stats(list(shares.values()))
        return {
            "rows": len(shares),
            "loo_words": statistics.median(words) if words else None,
            "loo_reads": statistics.median(reads) if reads else None,
            "tinted": stats.tinted,
            "covered": stats.covered,
            "rows_tinted": stats.rows_tinted,
            "covered_tinted": stats.covered_tinted,
        }
    except Exception:  # a diagnostic: never the reason a reader's run fails
        log.exception("could not measure the explanations")
        return {}
    finally:
        ranker.close()


def _clicks(profile: Profile) -> int:
    with profile.db.read() as s:
        return len(events.click_history(s))


def run_reader(
    pattern: str, rid: int, newsroom: Newsroom, server: FeedServer, root: Path, args: Any
) -> list[dict[str, Any]]:
    """One reader's days; a row per day with that day's round and the next morning's scores."""
    rng = random.Random(f"{args.seed}:{pattern}:{rid}")
    kind = KINDS[(rid + PATTERNS.index(pattern)) % len(KINDS)]
    interest = draw_interest(kind, newsroom, rng)
    reader = {"interest": interest, "favoured": favoured_feeds(interest, newsroom)}
    browse = browser_for(pattern, interest, newsroom)
    print(f"[{pattern} r{rid}] {interest.describe()}; favoured feeds: {reader['favoured']}")
    profile = Profile(root)
    with profile.db.write() as s:
        for spec in newsroom.feeds:
            feeds.add_feed(s, server.url(spec))
    visits: list[Visit] = []
    opened: list[int] = []
    rows: list[dict[str, Any]] = []
    try:
        for day in range(1, args.days + 2):
            server.day = day
            started = time.perf_counter()
            window = MainWindow(profile, options=QUIET)
            hand = Hand(window, timeout_s=900)
            try:
                _refresh(hand)
                if day > 1:
                    rows[-1]["next_morning"] = _morning(
                        hand, profile, newsroom, reader, day, visits, opened
                    )
                    _print_row(pattern, rid, rows[-1])
                if day > args.days:
                    break
                hand.show()
                budget = args.first_budget if day == 1 else args.budget
                browse(hand, Day(newsroom, interest, rng, budget, rng.randint(2, 3)))
                hand.go("Latest" if window.place == FOR_YOU else "For you")  # leave the pane
                hand.idle()
                visits += hand.visits
                opened += hand.opened
                logged = _clicks(profile)
                report = hand.train(args.epochs)
                versions = window.ranker.model_versions()
                rows.append(
                    {
                        "pattern": pattern,
                        "reader": rid,
                        "kind": kind,
                        "interest": interest.describe(),
                        "day": day,
                        "opens_today": len(hand.opened),
                        "opens_total": len(opened),
                        "clicks_logged": logged,
                        "visits": len(hand.visits),
                        "guard": measurement.guard(report, versions),
                        "summary": report if isinstance(report, str) else report.summary(),
                        "seconds": round(time.perf_counter() - started, 1),
                    }
                )
            finally:
                window.close()
                shiboken6.delete(window)
    finally:
        profile.close()
    return rows


def _print_row(pattern: str, rid: int, row: dict[str, Any]) -> None:
    m = row["next_morning"]
    q = m["quality"]
    cells = "  ".join(f"{r} {fmt(q[r]['auc'])}/{fmt(q[r]['ndcg10'])}" for r in RANKERS)
    opens = m.get("favoured_opens", {})
    tfidf = m.get("tfidf_favoured_ranks", {})
    ranks = (
        ", ".join(
            f"{f} {fmt(v, 'd')} (TF-IDF {fmt(tfidf.get(f), 'd')}, {opens.get(f, '?')} opened)"
            for f, v in m["favoured_ranks"].items()
        )
        or "-"
    )
    unjudged = "" if judged(row["guard"]) else " (too few held out to judge)"
    print(
        f"[{pattern} r{rid}] day {row['day']} ({row['opens_today']} opens, app logged "
        f"{row['clicks_logged']} clicks in all; round: {row['guard']['decision']}, click AUC "
        f"{fmt(row['guard'].get('holdout_click_auc'))}{unjudged}) next morning, "
        f"{m['candidates']} new of {m['unread']} unread ({m['mode']}): AUC/nDCG@10 {cells}; "
        f"favoured best ranks: {ranks}; top-30 largest feed {fmt(m['top30_share'], '.0%')} "
        f"({m['top30_feed']}), opens {fmt(m['opens_share'], '.0%')}",
        flush=True,
    )
    if m.get("explained"):
        e = m["explained"]
        print(
            f"[{pattern} r{rid}]   explanations of For you's top {e['rows']}: LOO words "
            f"{fmt(e['loo_words'])}, past reads {fmt(e['loo_reads'])}; tinted "
            f"{fmt(e['tinted'], '.0%')} of words, covering {fmt(e['covered'], '.0%')} of |share|; "
            f"{fmt(e.get('rows_tinted'), '.0%')} of rows tint, covering "
            f"{fmt(e.get('covered_tinted'), '.0%')} of theirs",
            flush=True,
        )
    if m.get("parts"):
        cells = "  ".join(f"{r} {fmt(v['auc'])}/{fmt(v['ndcg10'])}" for r, v in m["parts"].items())
        print(f"[{pattern} r{rid}]   For you's parts, AUC/nDCG@10: {cells}", flush=True)


def write(args: argparse.Namespace, rows: list[dict[str, Any]], started: float) -> str:
    """Write session.{json,md,png} from the rows so far; returns the table as Markdown."""
    table = aggregate(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "note": "clicks are simulated by readers driving the real window; headlines are real",
        "command": "bench/session.py " + " ".join(sys.argv[1:]),
        "options": {k: str(v) for k, v in vars(args).items()},
        "cpus": os.cpu_count(),
        "seconds": round(time.perf_counter() - started, 1),
        "table": table,
        "rows": rows,
    }
    (args.out / "session.json").write_text(json.dumps(report, indent=1, default=str), "utf-8")
    (args.out / "session.md").write_text(document(report), encoding="utf-8")
    if table:
        plot(table, args.out / "session.png")
    return markdown(table)


def main() -> int:
    args = _parse()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.replot is not None:
        saved = json.loads(args.replot.read_text(encoding="utf-8"))
        saved["table"] = aggregate(saved["rows"])  # with today's digest rules
        plot(saved["table"], args.replot.with_suffix(".png"))
        args.replot.with_suffix(".md").write_text(document(saved), encoding="utf-8")
        return 0
    if not DATA.is_dir():
        print(f"no headlines at {DATA}; nothing to measure (skipped)")
        return 0
    patterns = [p.strip() for p in args.patterns.split(",") if p.strip()]
    unknown = [p for p in patterns if p not in PATTERNS]
    if unknown:
        print(f"unknown patterns {unknown}; choose from {', '.join(PATTERNS)}")
        return 1
    # A spawned helper re-imports the main script unless its spec names it __main__; keep Qt
    # out of the model's processes, as main.py does.
    sys.modules["__main__"].__spec__ = importlib.machinery.ModuleSpec("__main__", None)
    from bench.simulate import load_headlines

    started = time.perf_counter()
    newsroom = Newsroom(load_headlines(DATA), args.days + 1, args.seed)
    print(
        f"{len(newsroom.stories)} real headlines in {len(newsroom.feeds)} feeds over "
        f"{args.days + 1} days ({time.perf_counter() - started:.1f} s)"
    )
    qt = QApplication(sys.argv[:1])
    rows: list[dict[str, Any]] = []
    server = FeedServer(newsroom)
    try:
        with tempfile.TemporaryDirectory() as tmp, quick_time() as shortened, caught_browser():
            print(f"shortened: {', '.join(shortened)}")
            for pattern in patterns:
                for rid in range(args.readers):
                    root = (args.keep or Path(tmp)) / f"{pattern}-{rid}"
                    try:
                        rows += run_reader(pattern, rid, newsroom, server, root, args)
                    except Exception:  # one reader's failure is reported, the others run
                        log.exception("reader %s %d failed", pattern, rid)
                    write(args, rows, started)
    finally:
        server.stop()
    del qt
    text = write(args, rows, started)
    print()
    print(text)
    print(f"total {round(time.perf_counter() - started, 1)} s; wrote {args.out / 'session.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
