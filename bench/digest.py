"""Tables, Markdown and the plot of the session benchmark (bench/session.py)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from bench.measurement import RANKERS, SHOWN_FAVOURITE
from bench.reader import PATTERNS


def fmt(x: Any, spec: str = ".3f") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return format(x, spec)


def _mean(values: list[float]) -> float:
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


def judged(guard: dict[str, Any]) -> bool:
    """Whether the guard judged the round on enough held-out clicks for its figure to mean
    anything (the app's ``too_few_held_out``; older reports say so only in the reason)."""
    if "too_few_held_out" in guard:
        return not guard["too_few_held_out"]
    return "too few held-out" not in str(guard.get("reason", ""))


def _worst(at: list[dict[str, Any]], key: str, *, shown: bool) -> int | None:
    """The worst rank in the mornings' ``key`` ranks, over every favoured feed or (``shown``)
    only those the reader had opened at least SHOWN_FAVOURITE articles of; None when the
    rows do not record them (older reports) or no feed qualifies."""
    ranks = [
        rank
        for r in at
        for feed, rank in r["next_morning"].get(key, {}).items()
        if rank is not None
        and (
            not shown or r["next_morning"].get("favoured_opens", {}).get(feed, 0) >= SHOWN_FAVOURITE
        )
    ]
    return max(ranks, default=None)


def aggregate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per pattern and day: mean AUC and nDCG@10 of each ranker over readers, the worst
    favoured-feed rank, the largest top-30 share and opens share, rejected rounds."""
    table = []
    keys = sorted(
        {(r["pattern"], r["day"]) for r in rows if "next_morning" in r},
        key=lambda k: (PATTERNS.index(k[0]), k[1]),
    )
    for pattern, day in keys:
        at = [
            r for r in rows if r["pattern"] == pattern and r["day"] == day and "next_morning" in r
        ]
        entry: dict[str, Any] = {"pattern": pattern, "day": day, "readers": len(at)}
        for ranker in RANKERS:
            for metric in ("auc", "ndcg10"):
                entry[f"{ranker}:{metric}"] = _mean(
                    [r["next_morning"]["quality"][ranker][metric] for r in at]
                )
        ranks = [v for r in at for v in r["next_morning"]["favoured_ranks"].values()]
        entry["worst_favoured_rank"] = max((v for v in ranks if v is not None), default=None)
        entry["favoured_feeds"] = len(ranks)
        entry["worst_shown_favoured_rank"] = _worst(at, "favoured_ranks", shown=True)
        entry["tfidf_worst_favoured_rank"] = _worst(at, "tfidf_favoured_ranks", shown=False)
        entry["tfidf_worst_shown_favoured_rank"] = _worst(at, "tfidf_favoured_ranks", shown=True)
        entry["top30_share"] = max(r["next_morning"]["top30_share"] for r in at)
        entry["opens_share"] = max(r["next_morning"]["opens_share"] for r in at)
        rejected = [r["guard"]["rejected"] for r in at]
        entry["rejected"] = "n/a" if "n/a" in rejected else sum(rejected)
        entry["rounds"] = sum(1 for r in at if r["guard"]["round"])
        # the round's own model ranks only when it was published: a rejected round that hands
        # For you to ClickBias publishes the biases, not the round
        published = [r for r in at if r["guard"].get("decision", "published") == "published"]
        entry["published_below_chance"] = sum(
            1
            for r in published
            if judged(r["guard"]) and (r["guard"].get("holdout_click_auc") or 1.0) < 0.5
        )
        entry["published_unjudged"] = sum(
            1 for r in published if r["guard"]["round"] and not judged(r["guard"])
        )
        for key in EXPLAINED:
            values = [
                r["next_morning"].get("explained", {}).get(key)
                for r in at
                if r["next_morning"].get("explained")
            ]
            kept = [v for v in values if v is not None]
            entry[f"explain:{key}"] = _mean(kept) if kept else None
        table.append(entry)
    return table


EXPLAINED = ("loo_words", "loo_reads", "tinted", "covered", "rows_tinted", "covered_tinted")
"""The explanation figures of For you's top rows (bench/session.py), averaged over readers."""


def _pair(entry: dict[str, Any], key: str) -> str:
    """For you's figure and, in brackets, the TF-IDF regression's."""
    return f"{fmt(entry.get(key), 'd')} ({fmt(entry.get('tfidf_' + key), 'd')})"


def markdown(table: list[dict[str, Any]]) -> str:
    head = " | ".join(f"{r} AUC / nDCG@10" for r in RANKERS)
    lines = [
        f"| pattern | day | readers | {head} | worst favoured rank (TF-IDF) "
        f"| of feeds opened {SHOWN_FAVOURITE}+ times (TF-IDF) | top-30 largest feed "
        "| opens largest feed | rounds | rejected | published below 0.5 | published unjudged |",
        "|---|---:|---:|" + "---|" * len(RANKERS) + "---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in table:
        cells = " | ".join(f"{fmt(e[f'{r}:auc'])} / {fmt(e[f'{r}:ndcg10'])}" for r in RANKERS)
        lines.append(
            f"| {e['pattern']} | {e['day']} | {e['readers']} | {cells} | "
            f"{_pair(e, 'worst_favoured_rank')} | {_pair(e, 'worst_shown_favoured_rank')} | "
            f"{fmt(e['top30_share'], '.0%')} | "
            f"{fmt(e['opens_share'], '.0%')} | {e['rounds']} | {e['rejected']} | "
            f"{e['published_below_chance']} | {e.get('published_unjudged', 0)} |"
        )
    if any(e.get("explain:loo_words") is not None for e in table):
        lines += [
            "",
            "Explanations of For you's top 20 the next morning (means over readers): median "
            "leave-one-out agreement of the word and past-read shares (goals >= 0.8, >= 0.7), "
            "and the river's highlights: fraction of a title's words tinted (goal <= 30 %) "
            "and of its |share| they cover (goal >= 60 %); the rows that tint any word (a row "
            "the feed carries tints none) and, over those rows, the |share| covered.",
            "",
            "| pattern | day | LOO words | LOO past reads | words tinted | share covered "
            "| rows tinting | share covered where tinting |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for e in table:
            lines.append(
                f"| {e['pattern']} | {e['day']} | {fmt(e.get('explain:loo_words'))} | "
                f"{fmt(e.get('explain:loo_reads'))} | {fmt(e.get('explain:tinted'), '.0%')} | "
                f"{fmt(e.get('explain:covered'), '.0%')} | "
                f"{fmt(e.get('explain:rows_tinted'), '.0%')} | "
                f"{fmt(e.get('explain:covered_tinted'), '.0%')} |"
            )
    return "\n".join(lines) + "\n"


def plot(table: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    patterns = [p for p in PATTERNS if any(e["pattern"] == p for e in table)]
    fig, axes = plt.subplots(2, len(patterns), figsize=(3.6 * len(patterns), 6.4), squeeze=False)
    for col, pattern in enumerate(patterns):
        rows = [e for e in table if e["pattern"] == pattern]
        days = [e["day"] for e in rows]
        for row, (metric, label) in enumerate((("auc", "AUC"), ("ndcg10", "nDCG@10"))):
            ax = axes[row][col]
            for ranker in RANKERS:
                ax.plot(days, [e[f"{ranker}:{metric}"] for e in rows], marker="o", label=ranker)
            ax.set_ylim(0.0, 1.02)
            ax.set_xticks(days)
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(pattern)
                ax.axhline(0.5, color="grey", lw=0.8, ls="--")
            else:
                ax.set_xlabel("day (scored the next morning)")
            if col == 0:
                ax.set_ylabel(label)
    axes[0][0].legend(fontsize=8)
    fig.suptitle("The window, driven by simulated readers on real headlines (mean over readers)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


LEGEND = """\
Simulated readers (known interests; their clicks are simulated) drive the real window
offscreen over real headlines in twenty local feeds. Each day: refresh, browse in the
pattern's way (mouse and keys on the sidebar, river, pane and search box), "Train now".
The next morning, after the refresh and before the reader touches anything, For you's order
is scored on the articles that arrived that day, labelled by the reader's true interest,
beside Latest (newest first), ClickBias and the per-reader TF-IDF logistic regression (both
fitted on the reader's own visits: the rows that were on screen, the opened ones positive).
Figures are means over readers; "worst favoured rank" is the worst, over readers and
favoured feeds, of the rank in For you of the feed's best unread article (a favoured feed:
at least half its stories are liked; keyword readers have none), in brackets the same for the
whole unread pool ordered by the TF-IDF regression; "of feeds opened 3+ times" keeps only the
favoured feeds the reader had opened at least three articles of by then (a favoured feed the
reader never visited, or passed over, shows no ranker from clicks that it is liked);
"top-30 largest feed" is the
largest single feed's share of For you's top 30 and "opens largest feed" the largest single
feed's share of the reader's own opens (both the maximum over readers); rounds rejected and
rounds published with a held-out click AUC below 0.5 come from the app's own training report
("published unjudged": rounds published on fewer held-out clicks than the guard needs to
judge, whose figure means nothing either way; the guard publishes those when the round fits
its own clicks better than chance, and For you then ranks by ClickBias, the feed and word
biases alone, until a round can be judged).
The window's dwell times were shortened (a read counts after 50 ms in the pane, an impression
after 30 ms on screen); training rounds ran at full length.
"""


def document(report: dict[str, Any]) -> str:
    """The Markdown page of a report."""
    return (
        f"# Session benchmark\n\n`{report['command']}` ({report['seconds']} s on "
        f"{report['cpus']} CPUs)\n\n{LEGEND}\n{markdown(report['table'])}"
    )
