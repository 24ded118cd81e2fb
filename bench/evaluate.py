"""Throughput of the MIND evaluator on a MIND-small-sized synthetic set, on CPU (or a GPU).

The data are synthetic: 50,000 news items whose titles are drawn from per-category word
pools, and readers who each like one or two categories; nothing here is real text or a real
click log. By default the set has MIND-small's shape: 50,000 users, 150,000 train impressions
(about 3 per user, 10-40 shown news each, about 1.5 clicks), one dev impression per user, a
history of 5-50 news. It is written once under ``bench/out/`` and reused.

Prints:
- general training samples/s: ``--general-samples`` of the general protocol's samples (the
  first ones, in file order), one epoch, as ``evaluate --protocol general`` trains them;
- the personal protocol's seconds per reader for ``--readers`` readers at each ``--jobs``
  value (what ``evaluate --protocol personal --users READERS --jobs J --no-pretrained`` runs,
  in this process, on the data read once), with the metrics, which must agree between job
  counts.

    python bench/evaluate.py [--users 50000] [--impressions 150000] [--readers 20]
                             [--jobs 1,2] [--general-samples 4000] [--threads 1] [--device cpu]

The process runs with OMP_WAIT_POLICY=PASSIVE (unless set) and ``--threads`` torch threads,
as the evaluator's workers do; on a shared machine spinning OpenMP threads waste the share.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when torch loads: sleep, not spin
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.busy import load  # noqa: E402
from nrms_core.mind.protocol import EvalData  # noqa: E402
from nrms_core.mind.reader import Behavior, NewsItem, write_behaviors, write_news  # noqa: E402

CATEGORIES = 16
WORDS = 20_000
POOL = 400


def _news(count: int, rng: random.Random) -> list[NewsItem]:
    words = [f"w{i}" for i in range(WORDS)]
    pools = [rng.sample(words, POOL) for _ in range(CATEGORIES)]
    items = []
    for i in range(count):
        category = i % CATEGORIES
        length = rng.randint(6, 14)
        own = rng.sample(pools[category], length - length // 4)
        title = " ".join(own + rng.sample(words, length // 4))
        items.append(NewsItem(f"N{i}", f"cat{category}", "", title))
    return items


Readers = tuple[list[list[int]], list[tuple[str, ...]]]


def _categories(news: list[NewsItem]) -> list[list[str]]:
    by_category: list[list[str]] = [[] for _ in range(CATEGORIES)]
    for item in news:
        by_category[int(item.category[3:])].append(item.news_id)
    return by_category


def _readers(users: int, news: list[NewsItem], rng: random.Random) -> Readers:
    """Each reader's liked categories and history (5-50 news of those categories)."""
    by_category = _categories(news)
    tastes = [rng.sample(range(CATEGORIES), rng.choice((1, 2))) for _ in range(users)]
    histories = [
        tuple(rng.choice(by_category[rng.choice(t)]) for _ in range(rng.randint(5, 50)))
        for t in tastes
    ]
    return tastes, histories


def _behaviors(
    readers: Readers, impressions: int, news: list[NewsItem], rng: random.Random, *, first: int
) -> list[Behavior]:
    """``impressions`` rows over the readers (every reader at least once, in order)."""
    tastes, histories = readers
    users = len(tastes)
    by_category = _categories(news)
    every = [item.news_id for item in news]
    owners = list(range(users)) + [rng.randrange(users) for _ in range(impressions - users)]
    t0 = datetime(2019, 11, 9, 0, 0, 0)
    out = []
    for row, user in enumerate(owners[:impressions]):
        liked = set(tastes[user])
        shown = rng.sample(every, rng.randint(10, 40))
        if not any(int(n[1:]) % CATEGORIES in liked for n in shown):
            shown[0] = rng.choice(by_category[tastes[user][0]])
        labels = []
        for news_id in shown:
            p = 0.12 if int(news_id[1:]) % CATEGORIES in liked else 0.02
            labels.append(int(rng.random() < p))
        if not any(labels):
            labels[next(i for i, n in enumerate(shown) if int(n[1:]) % CATEGORIES in liked)] = 1
        when = t0 + timedelta(seconds=row * 3)
        out.append(
            Behavior(
                str(first + row),
                f"U{user}",
                when,
                histories[user],
                tuple(zip(shown, labels, strict=True)),
            )
        )
    return out


def synthesize(folder: Path, users: int, impressions: int, news: int, seed: int = 0) -> Path:
    """Write ``folder/train`` and ``folder/dev`` (one dev impression per user) once."""
    done = folder / "done"
    if done.is_file():
        return folder
    rng = random.Random(seed)
    items = _news(news, rng)
    readers = _readers(users, items, rng)
    for name, count, first in (("train", impressions, 1), ("dev", users, impressions + 1)):
        target = folder / name
        target.mkdir(parents=True, exist_ok=True)
        write_news(target / "news.tsv", items)
        rows = _behaviors(readers, count, items, rng, first=first)
        write_behaviors(target / "behaviors.tsv", rows)
    done.write_text("ok\n", encoding="utf-8")
    return folder


def general(data: EvalData, count: int, device: str, threads: int) -> None:
    """Samples/s of one epoch over the first ``count`` general samples, as the protocol trains."""
    import torch

    from nrms_core.mind.protocol import behavior_samples
    from nrms_core.recommender import Recommender
    from nrms_core.tokenizer import tokenize
    from nrms_core.trainer import Trainer

    torch.set_num_threads(threads)
    samples = behavior_samples(
        data.train.behaviors, data.ids, negatives=4, max_history=50, rng=random.Random(0)
    )
    print(f"{len(samples):,} general samples")
    rec = Recommender.create(device=None if device == "auto" else device, pretrained=False)
    rec.add_titles(data.titles[i] for i in sorted(data.titles))
    part = samples[:count]
    needed = {a for s in part for a in (*s.history, *s.candidates)}
    config = rec.config
    ids = {a: rec.vocab.ids(tokenize(data.titles[a], config.max_title)) for a in needed}
    trainer = Trainer(
        rec.model,
        ids,
        device=torch.device(rec.device),
        lr=config.fine_tune_lr,
        epochs=1,
        holdout=0.0,
        embed_lr_scale=config.embed_lr_scale,
        anchor_decay=config.anchor_decay,
        seed=0,
    )
    started = time.perf_counter()
    result = trainer.fit(part)
    seconds = time.perf_counter() - started
    each = len(samples) / (len(part) / seconds)
    print(
        f"general training on {rec.device} ({threads} threads): {len(part):,} samples, 1 epoch, "
        f"{result.steps} steps in {seconds:.1f} s = {len(part) / seconds:,.0f} samples/s "
        f"(one epoch of all {len(samples):,} would take {each / 60:.0f} min); load {load()}",
        flush=True,
    )


def personal(data: EvalData, readers: int, jobs: list[int], device: str) -> None:
    """Seconds per reader of the personal protocol for the first ``readers`` readers (as
    ``evaluate --protocol personal --users READERS --jobs J --no-pretrained`` runs them)."""
    from nrms_core.mind.protocol import Options, evaluate_nrms

    rows = []
    for count in jobs:
        before = load()
        options = Options(
            protocol="personal", pretrained=False, device=device, users=readers, jobs=count
        )
        started = time.perf_counter()
        result = evaluate_nrms(data, options)
        whole = time.perf_counter() - started
        rows.append(result)
        print(
            f"personal, {readers} readers, --jobs {count}: {result['seconds_per_reader']:.2f} s "
            f"per reader ({result['readers_seconds']:.1f} s for the readers, {whole:.1f} s with "
            f"the base model's warm start); AUC {result['auc']:.4f}, nDCG@10 "
            f"{result['ndcg10']:.4f}, {result['train_samples']} samples; load {before} before, "
            f"{load()} after",
            flush=True,
        )
    same = all(r["auc"] == rows[0]["auc"] and r["ndcg10"] == rows[0]["ndcg10"] for r in rows)
    print(f"figures identical across --jobs {','.join(map(str, jobs))}: {same}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--users", type=int, default=50_000)
    p.add_argument("--impressions", type=int, default=150_000)
    p.add_argument("--news", type=int, default=50_000)
    p.add_argument("--readers", type=int, default=20)
    p.add_argument("--jobs", default="1,2", help="comma-separated --jobs values")
    p.add_argument("--general-samples", type=int, default=4000)
    p.add_argument(
        "--threads", type=int, default=1, help="torch threads of this process (--jobs 1 too)"
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--skip", choices=("general", "personal"), default=None)
    args = p.parse_args(argv)
    folder = ROOT / "bench" / "out" / f"mind-{args.users}u-{args.impressions}i-{args.news}n"
    started = time.perf_counter()
    synthesize(folder, args.users, args.impressions, args.news)
    print(f"synthetic MIND-format set in {folder} ({time.perf_counter() - started:.1f} s)")
    print(f"cores {os.cpu_count()}, load {load()}", flush=True)
    from nrms_core.mind.protocol import load_data

    started = time.perf_counter()
    data = load_data(folder / "train", folder / "dev")
    print(
        f"data: {len(data.train.behaviors):,} train impressions, {len(data.dev.behaviors):,} dev, "
        f"{len(data.ids):,} news, {len({b.user_id for b in data.train.behaviors}):,} users "
        f"(read in {time.perf_counter() - started:.1f} s); load {load()}",
        flush=True,
    )
    if args.skip != "general":
        general(data, args.general_samples, args.device, args.threads)
    if args.skip != "personal":
        personal(data, args.readers, [int(j) for j in args.jobs.split(",")], args.device)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
