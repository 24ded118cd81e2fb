"""Faithfulness of the explanations: shares of the original inputs against shares of blends.

The readers are those of bench/quality.py (same seeds, same simulated sessions over real
headlines, same base model: GloVe and the click-free warm start on every headline the
reader is shown, labelled by its topical feed), fine-tuned on their first N clicks as its
personal protocol does. Each reader's dev impressions give the candidates (every shown
headline, clicked or not) and the history before them (the last 50 clicks). Each candidate is
explained twice:

- ``blend``: the shares taken after self-attention (a·α_j uᵀh^w_j, a·β_i h_iᵀr_c), as
  explanations were before the input-level decomposition;
- ``inputs``: the shares of the original title words and past reads (nrms_core/explain.py).

Printed, old against new:

- leave-one-out agreement: per candidate, the Spearman correlation between the shares and
  the score change when one word is erased (masked; the word's part of the lexical bias goes
  with it) or one past read is dropped, as ``explain --json`` reports it; the median over
  candidates (goal: words >= 0.8, past reads >= 0.7); also for the words without the click
  biases (the shares of a·uᵀr_c against its own leave-one-out), since a word's bias is
  exact in both and could carry the agreement alone;
- deletion curves: the mean drop of the click score when the top-k words (past reads) by
  share are erased, k = 1..5, against k erased at random (mean of 5 draws); only titles of
  at least 6 words (the feed's token counts as a word, as it does in "Why this?") and
  histories of at least 6 reads;
- how spread the past reads' shares are (sd over |mean| within one history, and the part
  of Σ|share| the top 3 reads carry), the bases (the value-bias parts no word or read
  carries) against |score|, how far from uniform the reader encoder's self-attention is
  (the mean largest weight of a row times H: 1 when uniform), and what the river's default
  highlight rule (:func:`app.services.highlight.highlight`: at most 3 words, each with
  |share| >= 15 % of the title's Σ|share| and >= 5 % of the title's and the feed's) would
  tint.

    python bench/explain.py [--readers 4] [--clicks 100,500] [--candidates 40]

Writes bench/out/explain.{json,md,png} (--out). Exits 0 with a note when the headlines of
../shared/data are absent.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.services.highlight import highlight  # noqa: E402
from bench.simulate import (  # noqa: E402
    feed_label,
    load_headlines,
    make_reader,
    simulate,
    split_at,
    write_reader,
)
from nrms_core.config import WARM_EPOCHS, WARM_SAMPLES  # noqa: E402
from nrms_core.explain import Explanation, Method, explain  # noqa: E402
from nrms_core.mind.protocol import EvalData, behavior_samples, load_data  # noqa: E402
from nrms_core.recommender import Recommender  # noqa: E402
from nrms_core.tokenizer import source_token, tokenize  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "headlines"
HORIZON = 500  # as bench/quality.py: a reader's sessions do not depend on --clicks
DEV_SESSIONS = 40
METHODS: tuple[Method, ...] = ("blend", "inputs")
KS = (1, 2, 3, 4, 5)
DRAWS = 5


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--readers", type=int, default=4)
    p.add_argument("--clicks", default="100,500")
    p.add_argument("--candidates", type=int, default=40, help="per reader and click budget")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    p.add_argument("--replot", type=Path, help="only redraw the PNG from a saved JSON")
    return p.parse_args()


def _base(titles: list[str], feeds: list[str], seed: int) -> Recommender:
    """GloVe and the click-free warm start, as bench/quality.py builds a reader's base."""
    rec = Recommender.create(device="cpu", seed=seed, pretrained=True)
    rec.add_titles(titles)
    rec.warm_start(
        titles, feeds, epochs=WARM_EPOCHS, max_samples=WARM_SAMPLES, source_rate=0.5, seed=seed
    )
    return rec


def _fine_tune(base: Path, data: EvalData, seed: int) -> tuple[Recommender, float | None]:
    """The personal protocol of nrms_core.mind.protocol for one reader; (model, holdout AUC)."""
    rng = random.Random(seed)
    rec = Recommender.load(base, device="cpu")
    samples = behavior_samples(data.train.behaviors, data.ids, negatives=4, max_history=50, rng=rng)
    sessions = behavior_samples(
        data.train.behaviors, data.ids, negatives=None, max_history=50, rng=rng
    )
    result = rec.fine_tune(samples, data.titles, data.sources, sessions=sessions, seed=seed)
    return rec, result.holdout_auc


def _deletion(
    rec: Recommender,
    title: str,
    source: str,
    history: list[str],
    sources: list[str],
    shares: dict[str, list[float]],
    n_words: int,
    rng: random.Random,
) -> dict[str, dict[str, list[float]]]:
    """Mean score drops after erasing the top-k words / past reads by each method's shares,
    and k at random, k in KS: {"words"|"reads": {method|"random": [drop per k]}}."""
    out: dict[str, dict[str, list[float]]] = {"words": {}, "reads": {}}
    n_reads = len(history)
    word_sets: list[list[int]] = []
    read_sets: list[list[int]] = []
    keys: list[tuple[str, str]] = []
    for method in METHODS:
        by_word = np.argsort(-np.asarray(shares[f"{method}_words"]), kind="stable")
        by_read = np.argsort(-np.asarray(shares[f"{method}_reads"]), kind="stable")
        for k in KS:
            word_sets.append([int(j) for j in by_word[:k]])
            read_sets.append([int(i) for i in by_read[:k]])
            keys.append((method, str(k)))
    for k in KS:
        for _ in range(DRAWS):
            word_sets.append(rng.sample(range(n_words), k))
            read_sets.append(rng.sample(range(n_reads), k))
    score = shares["score"][0]
    after_words, after_reads = rec.erased(
        title, history, source, sources, words=word_sets, reads=read_sets
    )
    drop_words, drop_reads = score - after_words, score - after_reads
    for part, drops in (("words", drop_words), ("reads", drop_reads)):
        for method in METHODS:
            out[part][method] = [float(drops[i]) for i, (m, _) in enumerate(keys) if m == method]
        rand = drops[len(keys) :].reshape(len(KS), DRAWS)
        out[part]["random"] = [float(v) for v in rand.mean(axis=1)]
    return out


def _tint(e: Explanation, source: str) -> tuple[float, float] | None:
    """The app's default highlight rule (:func:`app.services.highlight.highlight`) on one
    title's own words, weighed beside its feed's share (the feed's bias and its token's
    share): (fraction of words tinted, fraction of the words' Σ|share| they cover); None when
    no word carries anything."""
    token = source_token(source)
    words = [w.share + w.bias for w in e.words if w.token != token]
    feed = e.feed + sum(w.share + w.bias for w in e.words if w.token == token)
    whole = sum(abs(v) for v in words)
    if whole <= 0.0:
        return None
    flags = highlight(words, feed=feed)
    covered = sum(abs(v) for v, f in zip(words, flags, strict=True) if f)
    return sum(flags) / len(words), covered / whole


def _spread(shares: list[float]) -> tuple[float, float]:
    """(sd / |mean| of one history's shares, part of Σ|share| the top 3 carry)."""
    values = np.asarray(shares)
    mean = abs(float(values.mean()))
    cv = float(values.std()) / mean if mean > 0 else float("inf")
    magnitude = np.sort(np.abs(values))[::-1]
    return cv, float(magnitude[:3].sum() / magnitude.sum()) if magnitude.sum() > 0 else 0.0


def _ids(rec: Recommender, title: str, source: str) -> list[int]:
    """A title's token ids as the Recommender builds them: its feed's token first."""
    words = tokenize(title, rec.config.max_title)
    token = source_token(source)
    return rec.vocab.ids([token, *words] if token is not None and token in rec.vocab else words)


def _explain_one(
    rec: Recommender,
    title: str,
    source: str,
    history: list[str],
    sources: list[str],
    rng: random.Random,
) -> dict[str, Any]:
    found: dict[str, Explanation] = {
        m: rec.explain(title, history, source, sources, method=m) for m in METHODS
    }
    row: dict[str, Any] = {"words": len(found["inputs"].words), "reads": len(history)}
    shares: dict[str, list[float]] = {"score": [found["inputs"].score]}
    for m, e in found.items():
        totals = [w.share + w.bias for w in e.words]
        shares[f"{m}_words"] = totals
        shares[f"{m}_reads"] = [h.share for h in e.history]
        row[m] = {
            "loo_words": e.faithfulness_words,
            "loo_reads": e.faithfulness_history,
            "spread_reads": _spread(shares[f"{m}_reads"]) if len(history) >= 3 else None,
            "tint": _tint(e, source) if totals else None,
        }
    # the same without the click biases: how far the model's own uᵀr shares agree
    ids = rec.vocab.ids([w.token for w in found["inputs"].words])
    past = [_ids(rec, t, s) for t, s in zip(history, sources, strict=True)]
    cpu = torch.device("cpu")
    for m in METHODS:
        bare = explain(rec.model, ids, ["w"] * len(ids), past, cpu, method=m)
        row[m]["loo_words_model"] = bare.faithfulness_words
    inputs = found["inputs"]
    depth = inputs.history_self_attention.shape[-1]
    if depth:  # 1 where every past read attends to all alike, H where each picks one
        row["self_attention_peak"] = float(inputs.history_self_attention.max(-1).mean() * depth)
    row["score"] = inputs.score
    row["word_base"] = inputs.word_base
    row["history_base"] = inputs.history_base
    if row["words"] >= 6 and row["reads"] >= 6:
        row["deletion"] = _deletion(rec, title, source, history, sources, shares, row["words"], rng)
    return row


def _median(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(statistics.median(kept)) if kept else None


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"candidates": len(rows)}
    for m in METHODS:
        spreads = [r[m]["spread_reads"] for r in rows if r[m]["spread_reads"] is not None]
        tints = [r[m]["tint"] for r in rows if r[m]["tint"] is not None]
        out[m] = {
            "loo_words": _median([r[m]["loo_words"] for r in rows]),
            "loo_reads": _median([r[m]["loo_reads"] for r in rows]),
            "loo_words_model": _median([r[m]["loo_words_model"] for r in rows]),
            "measured_words": sum(r[m]["loo_words"] is not None for r in rows),
            "measured_reads": sum(r[m]["loo_reads"] is not None for r in rows),
            "reads_cv": _median([s[0] for s in spreads]),
            "reads_top3": _median([s[1] for s in spreads]),
            "tinted_words": float(np.mean([t[0] for t in tints])) if tints else None,
            "tinted_cover": float(np.mean([t[1] for t in tints])) if tints else None,
        }
    curves = [r["deletion"] for r in rows if "deletion" in r]
    out["deletion_candidates"] = len(curves)
    for part in ("words", "reads"):
        out[f"deletion_{part}"] = {
            key: [float(np.mean([c[part][key][i] for c in curves])) for i in range(len(KS))]
            if curves
            else []
            for key in (*METHODS, "random")
        }
    peaks = [r["self_attention_peak"] for r in rows if "self_attention_peak" in r]
    out["self_attention_peak"] = float(np.median(peaks)) if peaks else None
    scores = np.abs([r["score"] for r in rows])
    out["mean_abs_score"] = float(scores.mean())
    out["mean_abs_word_base"] = float(np.mean(np.abs([r["word_base"] for r in rows])))
    out["mean_abs_history_base"] = float(np.mean(np.abs([r["history_base"] for r in rows])))
    return out


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _markdown(table: dict[str, Any], readers: int) -> str:
    lines = [
        f"Simulated readers over real headlines ({readers} readers per budget); shares of "
        "blends (`blend`, before) against shares of the original inputs (`inputs`).",
        "",
        "| clicks | shares | candidates | LOO words | LOO words (uᵀr only) | LOO past reads "
        "| reads sd/mean | top-3 reads | words tinted | share covered |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, entry in table.items():
        for m in METHODS:
            s = entry[m]
            lines.append(
                f"| {n} | {m} | {entry['candidates']} | {_fmt(s['loo_words'])} "
                f"| {_fmt(s['loo_words_model'])} | {_fmt(s['loo_reads'])} "
                f"| {_fmt(s['reads_cv'], 2)} | {_fmt(s['reads_top3'], 2)} "
                f"| {_fmt(s['tinted_words'], 2)} | {_fmt(s['tinted_cover'], 2)} |"
            )
    lines += [
        "",
        "Deletion curves: mean drop of the click score after erasing the top-k by share "
        "(or k at random), k = 1..5.",
        "",
        "| clicks | erased | candidates | blend top-k | inputs top-k | random |",
        "|---:|---|---:|---|---|---|",
    ]
    for n, entry in table.items():
        for part, name in (("words", "title words"), ("reads", "past reads")):
            curve = entry[f"deletion_{part}"]
            if not curve.get("random"):
                continue
            cells = " | ".join(
                " ".join(f"{v:+.3f}" for v in curve[key]) for key in (*METHODS, "random")
            )
            lines.append(f"| {n} | {name} | {entry['deletion_candidates']} | {cells} |")
    lines += [
        "",
        "Bases (value-bias parts no word / past read carries), mean |.| against mean |score|:",
        "",
    ]
    for n, entry in table.items():
        lines.append(
            f"- {n} clicks: |score| {entry['mean_abs_score']:.3f}, word base "
            f"{entry['mean_abs_word_base']:.3f}, history base "
            f"{entry['mean_abs_history_base']:.3f}; the reader encoder's self-attention "
            f"peak (median over candidates of the mean largest weight x H; 1 = uniform) "
            f"{_fmt(entry['self_attention_peak'], 2)}"
        )
    return "\n".join(lines) + "\n"


def _plot(table: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"blend": ("tab:orange", "blend shares"), "inputs": ("tab:blue", "input shares")}
    dashes = ["-", "--", ":"]
    for ax, part, name in zip(axes, ("words", "reads"), ("title words", "past reads"), strict=True):
        for n, (budget, entry) in enumerate(table.items()):
            curve = entry[f"deletion_{part}"]
            if not curve.get("random"):
                continue
            line = dashes[n % len(dashes)]
            for key in METHODS:
                color, label = styles[key]
                ax.plot(KS, curve[key], line, color=color, marker="o", label=f"{label}, {budget}")
            ax.plot(KS, curve["random"], line, color="grey", marker="x", label=f"random, {budget}")
        ax.set_xticks(KS)
        ax.set_xlabel(f"{name} erased (top-k by share, or at random)")
        ax.set_ylabel("mean drop of the click score")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Deletion curves by click budget: simulated readers on real headlines")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    args = _parse()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("nrms_core.mind.reader").setLevel(logging.ERROR)
    if args.replot is not None:
        saved = json.loads(args.replot.read_text(encoding="utf-8"))
        _plot(saved["table"], args.replot.with_suffix(".png"))
        return 0
    if not DATA.is_dir():
        print(f"no headlines at {DATA}; nothing to measure")
        return 0
    torch.set_num_threads(args.threads)
    budgets = sorted(int(c) for c in args.clicks.split(","))
    started = time.perf_counter()
    headlines = load_headlines(DATA)
    by_id = {h.hid: h for h in headlines}
    print(f"{len(headlines)} real headlines loaded in {time.perf_counter() - started:.1f} s")
    rows: dict[int, list[dict[str, Any]]] = {n: [] for n in budgets}
    readers: list[dict[str, Any]] = []
    rid = made = 0
    with tempfile.TemporaryDirectory(prefix="heedful-explain-") as tmp:
        work = Path(tmp)
        while made < args.readers:
            rng = random.Random(f"{args.seed}:{rid}")
            reader = make_reader(rid, headlines, rng)
            sessions = simulate(reader, headlines, rng, HORIZON, DEV_SESSIONS)
            rid += 1
            if sum(sum(s.labels) for s in sessions) < HORIZON + DEV_SESSIONS:
                continue  # as bench/quality.py: too few headlines, draw another
            made += 1
            end = split_at(sessions, HORIZON, DEV_SESSIONS)[1]
            hids = list(dict.fromkeys(h for s in sessions[:end] for h in s.shown))
            t0 = time.perf_counter()
            base = _base(
                [by_id[h].title for h in hids], [feed_label(by_id[h]) for h in hids], args.seed
            )
            base_path = work / f"r{reader.rid}.ckpt"
            base.save(base_path)
            for n in budgets:
                train, dev = write_reader(
                    work / f"r{reader.rid}" / f"n{n}", reader, sessions, by_id, n, DEV_SESSIONS
                )
                data = load_data(train, dev)
                rec, holdout = _fine_tune(base_path, data, args.seed)
                pick = random.Random(f"{args.seed}:{reader.rid}:{n}")
                pairs = [(b, c) for b in data.dev.behaviors for c, _ in b.impressions]
                pick.shuffle(pairs)
                t1 = time.perf_counter()
                for behavior, news in pairs[: args.candidates]:
                    past = [data.ids[h] for h in behavior.history[-rec.config.max_history :]]
                    cand = data.ids[news]
                    rows[n].append(
                        {
                            "reader": reader.rid,
                            **_explain_one(
                                rec,
                                data.titles[cand],
                                data.sources[cand],
                                [data.titles[a] for a in past],
                                [data.sources[a] for a in past],
                                pick,
                            ),
                        }
                    )
                mine = [r for r in rows[n] if r["reader"] == reader.rid]
                summary = _summary(mine)
                readers.append({"reader": reader.rid, "clicks": n, "holdout_auc": holdout})
                print(
                    f"reader {reader.rid:2d} n={n:3d}: holdout AUC {_fmt(holdout)}, trained and "
                    f"explained in {time.perf_counter() - t0:.0f} s "
                    f"({(time.perf_counter() - t1) / max(1, len(mine)):.2f} s per candidate); "
                    "median LOO words/reads blend "
                    f"{_fmt(summary['blend']['loo_words'])}/{_fmt(summary['blend']['loo_reads'])}"
                    f", inputs {_fmt(summary['inputs']['loo_words'])}/"
                    f"{_fmt(summary['inputs']['loo_reads'])}",
                    flush=True,
                )
                t0 = time.perf_counter()
    table = {str(n): _summary(rows[n]) for n in budgets}
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "note": "clicks are simulated; headlines are real (see bench/simulate.py)",
        "options": {k: str(v) for k, v in vars(args).items()},
        "seconds": round(time.perf_counter() - started, 1),
        "readers": readers,
        "table": table,
        "rows": {str(n): r for n, r in rows.items()},
    }
    (args.out / "explain.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    markdown = _markdown(table, args.readers)
    (args.out / "explain.md").write_text(markdown, encoding="utf-8")
    _plot(table, args.out / "explain.png")
    print()
    print(markdown)
    print(f"total {report['seconds']} s; wrote {args.out / 'explain.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
