"""A training round on a busy machine: quiet against loaded time, for each OpenMP setting.

A desktop is never idle. For each setting below, the same short fine-tune round (the
simulated reader of bench/train.py, ``--clicks`` x ``--epochs``) runs in a fresh process
(OpenMP reads its settings when torch loads), once quiet and once with ``--hog`` busy-loop
processes (pure-Python spin, one core each) beside it, back to back; only the round itself
is timed (the process's start, torch's import and the model's creation are not). Prints a
table: setting, quiet s, loaded s, loaded / quiet, and the load average before each run, as
other jobs on the machine make "quiet" less than quiet.

    python bench/busy.py --hog 2 [--clicks 150] [--epochs 1] [--repeat 2] [--nice 5]
    python bench/train.py --hog 2   # the same

The settings: torch's default (one thread per core, threads spin while they wait for work);
OMP_WAIT_POLICY=PASSIVE (threads sleep instead of spinning); one thread; all cores but one
(what the app's training process gets) with and without PASSIVE; and PASSIVE with one
inter-op thread. The app's helpers run at niceness +5 (``--nice 5``): against processes at the
normal priority that alone leaves a round about a quarter of a core, whatever OpenMP does.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Variables the parent's environment might carry, cleared so each setting starts from torch's
# defaults.
OPENMP = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "MKL_NUM_THREADS")


def settings(cores: int) -> list[tuple[str, dict[str, str], int]]:
    """(name, environment, inter-op threads; 0 leaves torch's) for each candidate."""
    spare = str(max(1, cores - 1))
    passive = {"OMP_WAIT_POLICY": "PASSIVE"}
    found = [
        (f"default ({cores} threads)", {}, 0),
        ("OMP_WAIT_POLICY=PASSIVE", passive, 0),
        ("1 thread", {"OMP_NUM_THREADS": "1"}, 0),
        (f"cores-1 = {spare} (the app's training)", {"OMP_NUM_THREADS": spare}, 0),
        (f"cores-1 = {spare} + PASSIVE", {"OMP_NUM_THREADS": spare, **passive}, 0),
        ("PASSIVE + 1 inter-op thread", passive, 1),
    ]
    if spare == "1":  # on two cores "cores-1" is the one-thread row
        del found[3]
    return found


def spin() -> None:
    """A CPU-bound process: pure Python, never sleeps."""
    while True:
        pass


def one_round(clicks: int, epochs: int, interop: int, nice: int = 0) -> dict[str, float | int]:
    """The child's work: build the reader's samples, then time one fine-tune round."""
    import torch

    if nice:
        os.nice(nice)  # as the app's helpers do (app.services.lifeline.lower_priority)

    from bench.train import load_titles, simulate_reader
    from nrms_core.recommender import Recommender
    from nrms_core.sampling import build_samples

    if interop:
        torch.set_num_interop_threads(interop)
    titles, labels, _ = load_titles()
    rec = Recommender.create(pretrained=False, seed=0)
    rec.add_titles(titles)
    shown_clicks, impressions = simulate_reader(titles, labels, clicks)
    samples = build_samples(shown_clicks, impressions, negatives=4, seed=0)
    started = time.perf_counter()
    result = rec.fine_tune(samples, dict(enumerate(titles)), epochs=epochs, seed=0)
    return {
        "seconds": time.perf_counter() - started,
        "steps": result.steps,
        "threads": torch.get_num_threads(),
        "interop": torch.get_num_interop_threads(),
    }


def run_child(
    env: dict[str, str], interop: int, clicks: int, epochs: int, hogs: int, nice: int = 0
) -> dict[str, float | int]:
    """One round in a fresh process, with ``hogs`` spinning processes beside it."""
    context = multiprocessing.get_context("fork")  # a spinning child needs nothing re-imported
    spinners = [context.Process(target=spin, daemon=True) for _ in range(hogs)]
    for p in spinners:
        p.start()
    try:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            f"--clicks={clicks}",
            f"--epochs={epochs}",
            f"--interop={interop}",
            f"--nice={nice}",
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    finally:
        for p in spinners:
            p.terminate()
        for p in spinners:
            p.join()
    result: dict[str, float | int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def load() -> str:
    """The load average (1, 5, 15 min), for the record of what else ran."""
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def compare(hogs: int, clicks: int, epochs: int, repeat: int, nice: int = 0) -> None:
    cores = len(os.sched_getaffinity(0))
    base = {k: v for k, v in os.environ.items() if k not in OPENMP}
    print(
        f"one fine-tune round ({clicks} clicks x {epochs} epochs, random word vectors) in a "
        f"fresh process at niceness +{nice}, quiet and beside {hogs} spinning processes at "
        f"the normal priority; {cores} cores"
    )
    print(
        f"{'setting':36s} {'threads':>7s} {'steps':>5s} {'quiet s':>8s} {'loaded s':>9s} "
        f"{'ratio':>6s}   load avg before quiet | loaded"
    )
    for attempt in range(repeat):
        if repeat > 1:
            print(f"-- run {attempt + 1} of {repeat}")
        times: dict[str, tuple[float, float]] = {}
        for name, extra, interop in settings(cores):
            env = {**base, **extra}
            before_quiet = load()
            quiet = run_child(env, interop, clicks, epochs, 0, nice)
            before_loaded = load()
            loaded = run_child(env, interop, clicks, epochs, hogs, nice)
            times[name] = (float(quiet["seconds"]), float(loaded["seconds"]))
            ratio = times[name][1] / times[name][0]
            threads = f"{quiet['threads']}/{quiet['interop']}"
            print(
                f"{name:36s} {threads:>7s} {quiet['steps']:5d} {quiet['seconds']:8.2f} "
                f"{loaded['seconds']:9.2f} {ratio:6.2f}   {before_quiet} | {before_loaded}",
                flush=True,
            )
        # Other jobs can slow a setting's own quiet run too (a spinning team most), so its
        # ratio flatters it; the fastest quiet round of the run is the fairer yardstick.
        best = min(q for q, _ in times.values())
        print(f"   loaded / fastest quiet round of this run ({best:.2f} s):")
        for name, (_, loaded_s) in times.items():
            print(f"   {name:36s} {loaded_s / best:6.2f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--hog", type=int, default=2, help="spinning processes beside the loaded run")
    p.add_argument("--clicks", type=int, default=150)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--repeat", type=int, default=2, help="times to run the whole table")
    p.add_argument(
        "--nice", type=int, default=0, help="lower the round's priority (the app's helpers: 5)"
    )
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--interop", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(one_round(args.clicks, args.epochs, args.interop, args.nice)))
        return 0
    compare(args.hog, args.clicks, args.epochs, args.repeat, args.nice)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
