"""Few-clicks quality: NRMS against per-reader baselines and an oracle, by click count.

The headlines are real; the readers and their clicks are simulated (see
bench/simulate.py). For each simulated reader and each click budget N, the
reader's first N clicks' sessions become a MIND-format train folder and the
next sessions (those with a click) the dev folder; the personal protocol of
nrms_core.mind.protocol then fine-tunes a copy of the reader's base model on that
reader alone, and the baselines are fitted on the same impressions. The base
model is built once per reader and shared by all click budgets: GloVe, then the
click-free warm start on every headline the reader is shown in the benchmark,
labelled by its feed (so at small budgets it has seen later, unlabelled
headlines too). NRMS sees each headline's feed as a source token, the first
token of the title (--no-source drops it), and ends each fine-tuning with a
per-feed and per-word click bias fitted on the reader's sessions (--set
feed_bias=false drops the first, --set word_bias=false the second). ClickBias
is those two biases alone, fitted the same way without NRMS, so NRMS - ClickBias
is what the neural score adds. The baselines' documents carry the
feed as one extra token (--titles-only drops it); TfidfLogistic-titles is the
logistic baseline without it. Every reader is simulated to 500 clicks plus the
dev sessions with its own random stream, so a reader's figures do not depend
on --clicks or --readers. Recency ranks by display order (newest first). The
oracle ranks by the reader's latent interests.

Two kinds of feeds, same readers and clicks (--feeds): "topical" files each
headline under its (source, category) feed, so the feed names the topic the
reader's interest was drawn from and a per-feed click rate is nearly the oracle;
"general" files it under its source only ("bbc", "reuters"), one feed per outlet
with every topic mixed in, as a newspaper's main feed is, so the words have to
carry the topic.

    python bench/quality.py [--feeds topical|general] [--readers 12]
                            [--clicks 20,50,100,200,500] [--quick]

Writes bench/out/quality.{json,md,png}; prints the table (mean ± sd over readers).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.simulate import (  # noqa: E402
    Headline,
    Reader,
    Session,
    feed_label,
    load_headlines,
    make_reader,
    simulate,
    source_label,
    split_at,
    write_reader,
)
from nrms_core.config import WARM_EPOCHS, WARM_SAMPLES, NRMSConfig  # noqa: E402
from nrms_core.metrics import evaluate_impressions  # noqa: E402
from nrms_core.mind.protocol import Options, evaluate_baselines, evaluate_nrms, load_data  # noqa: E402

METRICS = ("auc", "mrr", "ndcg5", "ndcg10")
MODELS = (
    "NRMS",
    "Recency",
    "TfidfCentroid",
    "TfidfLogistic",
    "TfidfLogistic-titles",
    "ClickBias",
    "Oracle",
)
PAIRED = {"logistic": "TfidfLogistic", "clickbias": "ClickBias"}
"""NRMS minus these, reader by reader, in every table (key: the name in the JSON)."""
DATA = ROOT.parent / "shared" / "data" / "headlines"
HORIZON = 500
"""Clicks every reader is simulated to, whatever the budgets, so that a reader's
sessions, base model and figures do not depend on --clicks or --readers."""


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--readers", type=int, default=12)
    p.add_argument("--clicks", default="20,50,100,200,500")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None, help="default: the model's config")
    p.add_argument("--negatives", type=int, default=4)
    p.add_argument("--lr", type=float, default=None, help="fine-tuning learning rate")
    p.add_argument("--warm-epochs", type=int, default=WARM_EPOCHS)
    p.add_argument("--warm-samples", type=int, default=WARM_SAMPLES)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--no-warm-start", dest="warm_start", action="store_false")
    p.add_argument("--embed-lr-scale", type=float, default=None)
    p.add_argument("--freeze-pretrained", action="store_true")
    p.add_argument("--anchor-decay", type=float, default=None)
    p.add_argument(
        "--no-source",
        dest="source",
        action="store_false",
        help="NRMS without the feed as a source token (titles only)",
    )
    p.add_argument(
        "--source-rate", type=float, default=0.5, help="warm start: share of titles with token"
    )
    p.add_argument("--source-lr-scale", type=float, default=None)
    p.add_argument("--source-std", type=float, default=None)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override an NRMSConfig field (repeatable), e.g. --set keep_start=true",
    )
    p.add_argument("--dev-sessions", type=int, default=40)
    p.add_argument(
        "--feeds",
        choices=("topical", "general"),
        default="topical",
        help="topical: a feed is a (source, category) pair, so it names the topic; "
        "general: one feed per source with every topic mixed in (same readers and clicks)",
    )
    p.add_argument("--no-nrms", dest="nrms", action="store_false", help="baselines only")
    p.add_argument(
        "--titles-only",
        action="store_true",
        help="baselines without the feed token (titles only, like the model's input)",
    )
    p.add_argument("--quick", action="store_true", help="4 readers, 20 and 100 clicks")
    p.add_argument("--tag", default="quality", help="output file stem")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    p.add_argument("--replot", type=Path, help="only redraw the PNG from a saved JSON")
    return p.parse_args()


def _config(args: argparse.Namespace) -> NRMSConfig | None:
    overrides: dict[str, Any] = {}
    if args.embed_lr_scale is not None:
        overrides["embed_lr_scale"] = args.embed_lr_scale
    if args.freeze_pretrained:
        overrides["freeze_pretrained"] = True
    if args.anchor_decay is not None:
        overrides["anchor_decay"] = args.anchor_decay
    if args.source_lr_scale is not None:
        overrides["source_lr_scale"] = args.source_lr_scale
    if args.source_std is not None:
        overrides["source_std"] = args.source_std
    if args.negatives != 4:
        overrides["negatives"] = args.negatives
    for item in args.set:
        name, _, text = item.partition("=")
        value: Any = json.loads(text.lower() if text.lower() in ("true", "false") else text)
        overrides[name.strip()] = value
    return NRMSConfig(**overrides) if overrides else None


def _label(args: argparse.Namespace) -> Callable[[Headline], str]:
    """The feed label models see: (source, category) or, with --feeds general, the source."""
    return source_label if args.feeds == "general" else feed_label


def _base(
    path: Path,
    sessions: list[Session],
    by_id: dict[int, Headline],
    end: int,
    args: argparse.Namespace,
) -> Path:
    """The reader's base model: GloVe, then (unless disabled) the click-free warm start.

    Built once per reader on every headline of ``sessions[:end]`` with its feed as
    the label, and shared by all click budgets of that reader.
    """
    from nrms_core.recommender import Recommender

    hids = list(dict.fromkeys(h for s in sessions[:end] for h in s.shown))
    titles = [by_id[h].title for h in hids]
    groups = [_label(args)(by_id[h]) for h in hids]
    rec = Recommender.create(_config(args), device="cpu", seed=args.seed, pretrained=True)
    rec.add_titles(titles)
    if args.warm_start:
        rec.warm_start(
            titles,
            groups,
            epochs=args.warm_epochs,
            max_samples=args.warm_samples,
            source_rate=args.source_rate if args.source else 0.0,
            seed=args.seed,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    rec.save(path)
    return path


def _oracle(reader: Reader, dev: Path, by_id: dict[int, Headline]) -> dict[str, float]:
    from nrms_core.mind.reader import read_mind

    data = read_mind(dev)
    impressions = [
        (
            [y for _, y in b.impressions],
            [reader.interest(by_id[int(n[1:])]) for n, _ in b.impressions],
        )
        for b in data.behaviors
    ]
    return evaluate_impressions(impressions)


def _aggregate(rows: list[dict[str, Any]], budgets: list[int]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for n in budgets:
        at = [r for r in rows if r["clicks"] == n]
        entry: dict[str, Any] = {"readers": len(at)}
        for model in MODELS:
            if not at or model not in at[0]["models"]:
                continue
            stats = {}
            for m in METRICS:
                values = np.array([r["models"][model][m] for r in at], dtype=float)
                values = values[~np.isnan(values)]
                sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
                stats[m] = {
                    "mean": float(values.mean()) if len(values) else math.nan,
                    "sd": sd,
                    "sem": sd / math.sqrt(len(values)) if len(values) else math.nan,
                }
            entry[model] = stats
        for key, other in PAIRED.items():
            if not at or "NRMS" not in at[0]["models"] or other not in at[0]["models"]:
                continue
            for m in ("auc", "ndcg10"):
                diff = np.array([r["models"]["NRMS"][m] - r["models"][other][m] for r in at])
                sd = float(diff.std(ddof=1)) if len(diff) > 1 else 0.0
                entry[f"nrms_minus_{key}_{m}"] = {
                    "mean": float(diff.mean()),
                    "sem": sd / math.sqrt(len(diff)),
                    "wins": int((diff > 0).sum()),
                }
        table[str(n)] = entry
    return table


def _markdown(table: dict[str, Any]) -> str:
    lines = [
        "| clicks | model | AUC | MRR | nDCG@5 | nDCG@10 |",
        "|---:|---|---|---|---|---|",
    ]
    for n, entry in table.items():
        for model in MODELS:
            if model not in entry:
                continue
            cells = " | ".join(
                f"{entry[model][m]['mean']:.3f} ± {entry[model][m]['sd']:.3f}" for m in METRICS
            )
            lines.append(f"| {n} | {model} | {cells} |")
    return "\n".join(lines) + "\n"


def _plot(table: dict[str, Any], path: Path, feeds: str = "topical") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budgets = [int(n) for n in table]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, metric, label in zip(axes, ("auc", "ndcg10"), ("AUC", "nDCG@10"), strict=True):
        for model in MODELS:
            if not all(model in table[str(n)] for n in budgets):
                continue
            mean = [table[str(n)][model][metric]["mean"] for n in budgets]
            sem = [table[str(n)][model][metric]["sem"] for n in budgets]
            ax.errorbar(budgets, mean, yerr=sem, marker="o", capsize=3, label=model)
        ax.set_xscale("log")
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.minorticks_off()
        ax.set_xlabel("clicks per reader (simulated)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].axhline(0.5, color="grey", lw=0.8, ls="--")
    axes[1].legend(fontsize=8)
    kind = "one general feed per outlet" if feeds == "general" else "topical feeds"
    fig.suptitle(
        f"Few clicks, {kind}: simulated readers on real headlines (mean ± sem over readers)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    args = _parse()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("nrms_core.mind.reader").setLevel(logging.ERROR)
    if args.replot is not None:
        saved = json.loads(args.replot.read_text(encoding="utf-8"))
        feeds = saved["options"].get("feeds", "topical")
        _plot(saved["table"], args.replot.with_suffix(".png"), feeds)
        return 0
    if not DATA.is_dir():
        print(f"no headlines at {DATA}; nothing to measure")
        return 1
    if args.quick:
        args.readers, args.clicks = 4, "20,100"
    budgets = sorted(int(c) for c in args.clicks.split(","))
    started = time.perf_counter()
    headlines = load_headlines(DATA)
    by_id = {h.hid: h for h in headlines}
    print(f"{len(headlines)} real headlines loaded in {time.perf_counter() - started:.1f} s")
    horizon = max(HORIZON, *budgets)
    import torch

    torch.set_num_threads(args.threads)
    work = args.out / "readers"
    rows: list[dict[str, Any]] = []
    rid = 0
    made = 0
    while made < args.readers:
        rng = random.Random(f"{args.seed}:{rid}")
        reader = make_reader(rid, headlines, rng)
        sessions = simulate(reader, headlines, rng, horizon, args.dev_sessions)
        rid += 1
        clicks = sum(sum(s.labels) for s in sessions)
        if clicks < horizon + args.dev_sessions:
            print(f"reader {rid - 1}: ran out of headlines at {clicks} clicks; drawing another")
            continue
        made += 1
        t_base = time.perf_counter()
        base = None
        if args.nrms:
            base = _base(
                work / f"r{reader.rid:02d}" / "base.ckpt",
                sessions,
                by_id,
                split_at(sessions, horizon, args.dev_sessions)[1],
                args,
            )
            print(f"reader {reader.rid:2d}: base model in {time.perf_counter() - t_base:.1f} s")
        options = Options(
            protocol="personal",
            seed=args.seed,
            epochs=args.epochs,
            device="cpu",
            base=base,
            warm_start=False,
            negatives=args.negatives,
            lr=args.lr,
            recency="order",
            category_token=not args.titles_only,
            source_token=args.source,
        )
        for n in budgets:
            train, dev = write_reader(
                work / f"r{reader.rid:02d}" / f"n{n}",
                reader,
                sessions,
                by_id,
                n,
                args.dev_sessions,
                _label(args),
            )
            data = load_data(train, dev)
            models: dict[str, dict[str, float]] = {}
            t0 = time.perf_counter()
            seconds = 0.0
            fit: dict[str, float] = {}
            if args.nrms:
                nrms = evaluate_nrms(data, options)
                models["NRMS"] = {m: nrms[m] for m in METRICS}
                fit = nrms.get("fit", {})
                seconds = time.perf_counter() - t0
            for name, res in evaluate_baselines(data, options).items():
                models[name] = {m: res[m] for m in METRICS}
            if options.category_token:
                titles_only = dataclasses.replace(options, category_token=False)
                res = evaluate_baselines(data, titles_only)["TfidfLogistic"]
                models["TfidfLogistic-titles"] = {m: res[m] for m in METRICS}
            models["Oracle"] = {
                m: v for m, v in _oracle(reader, dev, by_id).items() if m in METRICS
            }
            rows.append(
                {
                    "reader": reader.rid,
                    "clicks": n,
                    "models": models,
                    "nrms_s": seconds,
                    "nrms_fit": fit,
                }
            )
            summary = "  ".join(f"{k}={v['auc']:.3f}/{v['ndcg10']:.3f}" for k, v in models.items())
            print(
                f"reader {reader.rid:2d} n={n:3d} ({seconds:5.1f} s) AUC/nDCG10 {summary}",
                flush=True,
            )
    table = _aggregate(rows, budgets)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "note": "clicks are simulated; headlines are real (see bench/simulate.py)",
        "options": {k: str(v) for k, v in vars(args).items()},
        "seconds": round(time.perf_counter() - started, 1),
        "table": table,
        "rows": rows,
    }
    (args.out / f"{args.tag}.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    markdown = _markdown(table)
    (args.out / f"{args.tag}.md").write_text(markdown, encoding="utf-8")
    _plot(table, args.out / f"{args.tag}.png", args.feeds)
    print()
    print(markdown)
    for budget, entry in table.items():
        for name, other in PAIRED.items():
            for m in ("auc", "ndcg10"):
                key = f"nrms_minus_{name}_{m}"
                if key in entry:
                    d = entry[key]
                    print(
                        f"N={budget:>3} NRMS - {other} {m}: {d['mean']:+.3f} ± {d['sem']:.3f} "
                        f"(sem), NRMS ahead for {d['wins']}/{entry['readers']} readers"
                    )
    print(f"total {report['seconds']} s; wrote {args.out / (args.tag + '.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
