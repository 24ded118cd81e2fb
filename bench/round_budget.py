"""Where a default training round's time goes (issue 19): training epochs, cross-fitting
folds, the click-bias fit and the held-out AUCs, with the process's peak memory; and the
held-out click AUC of the round, for the quality check of the bounded rounds.

Runs the round as the app runs it (``Recommender.fine_tune`` with the app's defaults: up to
``fine_tune_epochs`` with patience and a refit, cross-fitted biases), on the simulated reader
of bench/train.py, with the round's sample budget (:mod:`nrms_core.budget`) or without it
(``--unbounded``: every click, as rounds were before), optionally with a cap on samples x
epochs (``--passes``, not applied by the app yet).

    python bench/round_budget.py --clicks 1000 [--unbounded] [--passes 4000]

Each phase prints as it ends, so a run cut short by ``timeout`` still shows where it went.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the app's training process sets it
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.train import load_titles, simulate_reader  # noqa: E402
from nrms_core import budget  # noqa: E402
from nrms_core.calibration import Calibration  # noqa: E402
from nrms_core.recommender import Recommender  # noqa: E402
from nrms_core.rounds import Rounds  # noqa: E402
from nrms_core.sampling import build_groups, build_samples  # noqa: E402
from nrms_core.trainer import Trainer  # noqa: E402

SPENT: dict[str, float] = defaultdict(float)
CPU: dict[str, float] = defaultdict(float)


def timed(owner: Any, name: str, label: Callable[[], str]) -> None:
    """Wrap owner.name so that its calls add their time to SPENT[label()]."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = label()
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            SPENT[key] += time.perf_counter() - started
            CPU[key] += time.process_time() - cpu
            print(f"    done: {key}, {SPENT[key]:.1f} s so far", flush=True)

    setattr(owner, name, wrapper)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--clicks", type=int, default=1000)
    p.add_argument("--unbounded", action="store_true", help="every click, as before the budget")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--passes", type=int, default=0, help="cap samples x epochs (nrms_core.budget.round_epochs)"
    )
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    titles, labels, source = load_titles()
    rec = Recommender.create(pretrained=True, seed=0)
    rec.add_titles(titles)
    clicks, impressions = simulate_reader(titles, labels, args.clicks, seed=args.seed)
    samples = build_samples(clicks, impressions, negatives=4, seed=0)
    sessions = build_groups(clicks, impressions)
    if not args.unbounded:
        samples = budget.bounded(samples, seed=len(clicks))
        sessions = budget.bounded(sessions, seed=len(clicks))
    in_cross_fit = [False]

    def fit_label() -> str:
        return "cross-fitting folds" if in_cross_fit[0] else "training epochs (and refit)"

    timed(Trainer, "fit", fit_label)
    original_cf = Rounds._cross_fitted_scores

    def cross_fit(self: Rounds, *a: Any, **k: Any) -> Any:
        in_cross_fit[0] = True
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return original_cf(self, *a, **k)
        finally:
            in_cross_fit[0] = False
            SPENT["cross-fitting (total)"] += time.perf_counter() - started
            CPU["cross-fitting (total)"] += time.process_time() - cpu

    Rounds._cross_fitted_scores = cross_fit  # type: ignore[method-assign]
    timed(Calibration, "fit_bias", lambda: "bias fit")
    timed(Calibration, "_held_out_aucs", lambda: "held-out AUCs")
    started, cpu = time.perf_counter(), time.process_time()
    epochs = rec.config.fine_tune_epochs
    if args.passes:
        epochs = budget.round_epochs(len(samples), epochs, passes=args.passes)
    result = rec.fine_tune(
        samples, dict(enumerate(titles)), epochs=epochs, sessions=sessions, seed=0
    )
    whole, whole_cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mode = "unbounded" if args.unbounded else f"budget {budget.ROUND_SAMPLES} samples"
    mode += f", {epochs} epochs at most"
    auc = result.holdout_click_auc
    print(
        f"{source}; {args.clicks} clicks, {mode}: {len(samples)} samples, {len(sessions)} "
        f"groups; default round {whole:.1f} s ({whole_cpu:.1f} s CPU), {result.epochs_run} "
        f"epochs run, {result.epochs_kept} kept, {result.steps} steps; peak RSS {peak:.0f} MiB; "
        f"held-out AUC {result.holdout_auc:.3f}, with biases "
        f"{'n/a' if auc is None else f'{auc:.3f}'}"
    )
    for key, value in sorted(SPENT.items()):
        print(f"  {key}: {value:.1f} s ({CPU[key]:.1f} s CPU)")
    print("  (held-out AUCs run inside the training; cross-fitting's total holds its folds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
