"""Training and ranking speed of nrms_core on this machine, plus explanation faithfulness.

The headlines are real (../shared/data/headlines/ag_news, when present; synthetic
titles otherwise); the reader and their clicks are simulated: one reader who
opens World news and anything about oil, in sessions of 12 shown headlines.

Prints:
- training samples/s, batch-deduplicated (each distinct title encoded once,
  padded to the batch's longest) against the straightforward approach (every
  history and candidate title of every sample encoded, padded to 30), same
  model, same batches;
- the time of one fine-tune round over 1,000 clicks x 5 epochs, and of the
  click-free warm start that the app runs before its first round;
- encode throughput (titles/s) and the time to rank 100,000 cached vectors;
- the median faithfulness (Spearman of shares vs leave-one-out) on the trained model, for
  the shares of the original words and past reads and, as before, of the self-attention
  outputs (bench/explain.py measures both on the readers of bench/quality.py).

    python bench/train.py [--threads 2] [--clicks 1000] [--epochs 5]
    python bench/train.py --quality   # small few-clicks check instead (about 5 minutes)
    python bench/train.py --hog 2     # instead: a round quiet and beside 2 CPU-bound processes,
                                      # per OpenMP setting (bench/busy.py)

The quality check simulates 4 readers (each likes one AG News class and one
keyword; clicks are noisy) and compares, by held-out impression AUC after 30
and 150 clicks: NRMS fine-tuned from scratch, NRMS warm-started on feed labels
(simulated feeds: two per class, 15% of articles filed elsewhere) then
fine-tuned, the per-reader TF-IDF logistic baseline, and the oracle.
"""

from __future__ import annotations

import argparse
import copy
import csv
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nrms_core.model import NRMS  # noqa: E402
from nrms_core.recommender import Recommender  # noqa: E402
from nrms_core.sampling import Click, Exposure, Sample, build_samples  # noqa: E402
from nrms_core.tokenizer import tokenize  # noqa: E402
from nrms_core.trainer import Trainer, collate  # noqa: E402

AG_NEWS = ROOT.parent / "shared" / "data" / "headlines" / "ag_news" / "test.csv"


def load_titles() -> tuple[list[str], list[int], str]:
    """(titles, class labels 1..4, source description)."""
    if AG_NEWS.is_file():
        titles, labels = [], []
        with AG_NEWS.open(newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                labels.append(int(row[0]))
                titles.append(row[1])
        return titles, labels, f"{len(titles)} AG News headlines (real)"
    rng = random.Random(0)
    words = [f"w{i}" for i in range(3000)]
    titles = [" ".join(rng.sample(words, rng.randint(5, 14))) for _ in range(7600)]
    labels = [1 + i % 4 for i in range(len(titles))]
    return titles, labels, "7600 synthetic titles (no ../shared/data)"


def simulate_reader(
    titles: list[str], labels: list[int], clicks_wanted: int, seed: int = 0
) -> tuple[list[Click], list[Exposure]]:
    """A reader who likes class 1 (World) and 'oil'; 12 headlines per session."""
    rng = random.Random(seed)
    order = list(range(len(titles)))
    rng.shuffle(order)
    clicks: list[Click] = []
    impressions: list[Exposure] = []
    session = 0
    while len(clicks) < clicks_wanted:
        shown = [order[(session * 12 + k) % len(order)] for k in range(12)]
        t0 = 1000.0 * session
        for k, article in enumerate(shown):
            impressions.append(Exposure(article, t0 + k, f"s{session}"))
            liked = labels[article] == 1 or "oil" in tokenize(titles[article])
            if rng.random() < (0.6 if liked else 0.04):
                clicks.append(Click(article, t0 + 20 + k, f"s{session}"))
        session += 1
    return clicks[:clicks_wanted], impressions


def naive_step(
    model: NRMS,
    batch: list[Sample],
    tokens: dict[int, list[int]],
    optimizer: torch.optim.Optimizer,
    max_title: int,
) -> float:
    """The straightforward step: encode every history and candidate title, padded to 30."""
    b = len(batch)
    depth = max(1, max(len(s.history) for s in batch))
    n_cand = len(batch[0].candidates)
    hist = torch.zeros(b, depth, max_title, dtype=torch.long)  # [B, H, 30]
    mask = torch.zeros(b, depth, dtype=torch.bool)  # [B, H]
    cand = torch.zeros(b, n_cand, max_title, dtype=torch.long)  # [B, C, 30]
    for i, s in enumerate(batch):
        for j, a in enumerate(s.history):
            hist[i, j, : len(tokens[a])] = torch.tensor(tokens[a])
            mask[i, j] = True
        for j, a in enumerate(s.candidates):
            cand[i, j, : len(tokens[a])] = torch.tensor(tokens[a])
    h = model.encode_news(hist.view(-1, max_title)).view(b, depth, -1)  # [B, H, D]
    c = model.encode_news(cand.view(-1, max_title)).view(b, n_cand, -1)  # [B, C, D]
    logits = model.score(model.encode_user(h, mask), c)  # [B, C]
    loss = F.cross_entropy(logits, torch.zeros(b, dtype=torch.long))
    optimizer.zero_grad()
    loss.backward()  # type: ignore[no-untyped-call]
    optimizer.step()
    return float(loss.detach())


def dedup_step(
    model: NRMS,
    batch: list[Sample],
    tokens: dict[int, list[int]],
    optimizer: torch.optim.Optimizer,
) -> float:
    """The Trainer's step: distinct titles once, padded to the batch's longest."""
    packed = collate(batch, tokens, torch.device("cpu"))
    logits = model(packed.tokens, packed.history, packed.history_mask, packed.candidates)
    loss = F.cross_entropy(logits, torch.zeros(len(batch), dtype=torch.long))
    optimizer.zero_grad()
    loss.backward()  # type: ignore[no-untyped-call]
    optimizer.step()
    return float(loss.detach())


def compare_steps(rec: Recommender, samples: list[Sample], tokens: dict[int, list[int]]) -> None:
    trainer = Trainer(rec.model, tokens, device=torch.device("cpu"), lr=3e-4, batch_size=32)
    batches = trainer.batches(list(samples), random.Random(0))[:8]  # as one epoch draws them
    base = copy.deepcopy(rec.model).train()
    rates = {}
    for name in ("naive", "dedup"):
        model = copy.deepcopy(base).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
        step = dedup_step if name == "dedup" else None
        # one warm-up step, then the timed batches
        if step is None:
            naive_step(model, batches[0], tokens, optimizer, rec.config.max_title)
        else:
            step(model, batches[0], tokens, optimizer)
        started = time.perf_counter()
        n = 0
        for batch in batches:
            if step is None:
                naive_step(model, batch, tokens, optimizer, rec.config.max_title)
            else:
                step(model, batch, tokens, optimizer)
            n += len(batch)
        rates[name] = n / (time.perf_counter() - started)
    mean_hist = statistics.mean(len(s.history) for b in batches for s in b)
    distinct = statistics.mean(
        len({a for s in b for a in (*s.history, *s.candidates)}) for b in batches
    )
    print(
        f"train step, batch 32, mean history {mean_hist:.1f}, 1+4 candidates, "
        f"{distinct:.0f} distinct titles per batch (of {32 * (mean_hist + 5):.0f}):"
    )
    print(f"  straightforward (every title, padded to 30): {rates['naive']:8.1f} samples/s")
    print(f"  deduplicated (distinct titles, batch pad):   {rates['dedup']:8.1f} samples/s")
    print(f"  speed-up: {rates['dedup'] / rates['naive']:.1f}x")


def quality(titles: list[str], labels: list[int], readers: int = 4) -> None:
    """Few-clicks check; see the module docstring."""
    from nrms_core.baseline import TfidfLogistic, document
    from nrms_core.metrics import auc

    rng = random.Random(0)
    feeds = [
        f"f{labels[i] if rng.random() > 0.15 else rng.randint(1, 4)}{rng.randint(0, 1)}"
        for i in range(len(titles))
    ]
    words = [set(tokenize(t)) for t in titles]
    keys = ["oil", "google", "iraq", "microsoft"]
    bases = {}
    for name in ("scratch", "warm"):
        rec = Recommender.create(seed=0)
        rec.add_titles(titles)
        if name == "warm":
            res = rec.warm_start(titles, feeds, epochs=2, seed=0)
            print(f"warm start: {res.steps} steps in {res.seconds:.0f} s")
        bases[name] = rec
    table: dict[tuple[int, str], list[float]] = {}
    for budget in (30, 150):
        for r in range(readers):
            liked, key = 1 + r % 4, keys[r % len(keys)]
            sim = random.Random(100 + r)
            order = list(range(len(titles)))
            sim.shuffle(order)

            def interest(a: int, liked: int = liked, key: str = key) -> float:
                return 2.5 * (labels[a] == liked) + 2.5 * (key in words[a])

            sessions: list[tuple[list[int], list[int]]] = []
            cut = 0
            while not cut or len(sessions) < cut + 40:
                shown = order[len(sessions) * 15 : (len(sessions) + 1) * 15]
                z = [interest(a) - 3.0 + sim.gauss(0, 1) for a in shown]
                sessions.append((shown, [int(sim.random() < 1 / (1 + np.exp(-v))) for v in z]))
                if not cut and sum(sum(y) for _, y in sessions) >= budget:
                    cut = len(sessions)
            train, test = sessions[:cut], [s for s in sessions[cut:] if 0 < sum(s[1]) < 15]
            clicks = [
                Click(a, 100.0 * i + k, f"s{i}")
                for i, (shown, ys) in enumerate(train)
                for k, (a, y) in enumerate(zip(shown, ys, strict=True))
                if y
            ]
            imps = [
                Exposure(a, 100.0 * i, f"s{i}") for i, (shown, _) in enumerate(train) for a in shown
            ]
            samples = build_samples(clicks, imps)
            history = [c.article_id for c in clicks][-50:]
            row = {"oracle": [auc(y, [interest(a) for a in shown]) for shown, y in test]}
            lexical = TfidfLogistic()
            lexical.fit([([document(titles[a]) for a in shown], y) for shown, y in train])
            row["TfidfLogistic"] = [
                auc(y, lexical.score([], [document(titles[a]) for a in shown])) for shown, y in test
            ]
            for name, base in bases.items():
                rec = copy.deepcopy(base)
                rec.fine_tune(samples, dict(enumerate(titles)), seed=0)
                user = rec.user_vector(rec.encode([titles[a] for a in history]))
                row[f"NRMS {name}"] = [
                    auc(y, rec.score(user, rec.encode([titles[a] for a in shown])))
                    for shown, y in test
                ]
            for model, values in row.items():
                table.setdefault((budget, model), []).append(float(np.mean(values)))
    print("held-out impression AUC, mean over simulated readers:")
    for (budget, model), values in table.items():
        print(f"  {budget:4d} clicks  {model:15s} {np.mean(values):.3f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--clicks", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-glove", dest="glove", action="store_false")
    p.add_argument("--quality", action="store_true", help="run the few-clicks check only")
    p.add_argument(
        "--hog", type=int, default=0, help="run bench/busy.py's quiet / loaded table only"
    )
    args = p.parse_args()
    if args.hog:
        from bench import busy

        return busy.main(["--hog", str(args.hog)])
    torch.set_num_threads(args.threads)
    titles, labels, source = load_titles()
    print(f"{source}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    if args.quality:
        quality(titles, labels)
        return 0

    started = time.perf_counter()
    rec = Recommender.create(device=args.device, pretrained=args.glove, seed=0)
    rec.add_titles(titles)
    print(
        f"model created and vocabulary of {len(rec.vocab)} built in "
        f"{time.perf_counter() - started:.2f} s"
    )

    clicks, impressions = simulate_reader(titles, labels, args.clicks)
    samples = build_samples(clicks, impressions, negatives=4, seed=0)
    print(
        f"simulated reader: {len(clicks)} clicks, {len(impressions)} impressions, "
        f"{len(samples)} samples ({samples.skipped} skipped)"
    )
    tokens = {i: rec.vocab.ids(tokenize(t, rec.config.max_title)) for i, t in enumerate(titles)}
    if args.device == "cpu":
        compare_steps(rec, samples, tokens)

    started = time.perf_counter()
    result = rec.fine_tune(samples, dict(enumerate(titles)), epochs=args.epochs, seed=0)
    whole = time.perf_counter() - started
    click_auc = "n/a" if result.holdout_click_auc is None else f"{result.holdout_click_auc:.3f}"
    print(
        f"fine-tune round: {len(samples)} samples x {result.epochs_run} epochs "
        f"({result.steps} steps, stopped early: {result.stopped_early}) in "
        f"{whole:.2f} s on {result.device} ({result.seconds:.2f} s training, the rest "
        f"cross-fitting and the click-bias fit); holdout AUC {result.holdout_auc:.3f} "
        f"(with the biases {click_auc}), nDCG@10 {result.holdout_ndcg10:.3f}, "
        f"loss {result.holdout_loss:.3f}"
    )
    forced = copy.deepcopy(rec)
    started = time.perf_counter()
    full = forced.fine_tune(samples, dict(enumerate(titles)), epochs=args.epochs, holdout=0.0)
    print(
        f"  the same round without early stopping: {full.epochs_run} epochs, "
        f"{full.steps} steps in {time.perf_counter() - started:.2f} s"
    )
    default = copy.deepcopy(rec)  # resumes from the round above, as the app's rounds do
    started = time.perf_counter()
    app = default.fine_tune(samples, dict(enumerate(titles)), seed=0)
    print(
        f"  a next round with the app's defaults (up to {default.config.fine_tune_epochs} epochs, "
        f"patience {default.config.patience}, refit {default.config.refit}): "
        f"{app.epochs_run} epochs, {app.steps} steps in {time.perf_counter() - started:.2f} s"
    )

    # The app's first round starts with no model: a click-free warm start on the latest
    # 5,000 titles labelled by their feed (here the AG News class), with warm_start's defaults.
    fresh = Recommender.create(device=args.device, pretrained=args.glove, seed=0)
    first = len(titles) - min(5000, len(titles))
    started = time.perf_counter()
    warm = fresh.warm_start(titles[first:], [f"feed {label}" for label in labels[first:]], seed=0)
    print(
        f"the app's first warm start: {len(titles) - first} titles, {warm.samples} samples x "
        f"{warm.epochs_run} epochs ({warm.steps} steps) in {time.perf_counter() - started:.2f} s"
    )

    rec.encode(titles[:2048])
    started = time.perf_counter()
    vectors = rec.encode(titles, batch_size=1024)
    seconds = time.perf_counter() - started
    print(
        f"encode: {len(titles)} titles in {seconds:.3f} s = {len(titles) / seconds:,.0f} titles/s"
    )

    rng = np.random.default_rng(0)
    cache = rng.standard_normal((100_000, vectors.shape[1])).astype(np.float32)
    user = rec.user_vector(vectors[[c.article_id for c in clicks[-50:]]])
    times = []
    for _ in range(50):
        started = time.perf_counter()
        scores = cache @ user  # [100000]
        top = np.argpartition(-scores, 100)[:100]
        top = top[np.argsort(-scores[top])]
        times.append(time.perf_counter() - started)
    print(
        f"rank 100,000 cached vectors (matvec + argpartition top 100): "
        f"median {1000 * statistics.median(times):.2f} ms, best {1000 * min(times):.2f} ms"
    )

    history = [titles[c.article_id] for c in clicks[-50:]]
    shown = {i.article_id for i in impressions[-600:]} - {c.article_id for c in clicks}
    candidates = sorted(shown)[:40]
    for method in ("inputs", "blend"):
        words_f, hist_f = [], []
        started = time.perf_counter()
        for article in candidates:
            e = rec.explain(titles[article], history, method=method)
            if e.faithfulness_words is not None:
                words_f.append(e.faithfulness_words)
            if e.faithfulness_history is not None:
                hist_f.append(e.faithfulness_history)
        each = (time.perf_counter() - started) / max(1, len(candidates))
        name = "original words and past reads" if method == "inputs" else "blends (before)"
        print(
            f"explanations, shares of {name} ({len(words_f)} candidates, history 50, "
            f"{1000 * each:.1f} ms each): median Spearman(share, leave-one-out) words "
            f"{statistics.median(words_f):.3f}, history {statistics.median(hist_f):.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
