"""Fault and hostile-input suites at full size: 20 kill -9 trials of refresh and of training,
full disks (tmpfs when mounting is allowed, RLIMIT_FSIZE otherwise), a second instance, a
locked database, hostile servers with 1 GiB bombs and a 50,000-item feed, hostile checkpoints,
damaged vector caches, power cuts of the vector cache and of the database (a writer killed
with SIGKILL before its data was synced, then the file truncated at a random point, then the
profile opened again: see harness/powercut.py), and a fuzzing run. Prints one table:
scenario, trials, failures, data lost.

    python bench/reliability.py [--kills 20] [--cuts 20] [--fuzz-seconds 120] [--quick]
    python bench/reliability.py --only "power cuts"     # one suite by name
"""

from __future__ import annotations

import argparse
import io
import logging
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.feeds.fetcher import FetchLimits
from app.services.profile import Profile
from app.services.ranking import Ranker
from app.storage import backup, events, rebuild, salvage
from harness import fault, hostile, powercut, scenario, training
from harness.sample import seed_profile
from harness.scenario import Trial
from harness.server import LocalServer


def refresh_kills(work: Path, server: LocalServer, kills: int) -> list[Trial]:
    farm = scenario.FeedFarm(server, 100, prefix="/kill")
    root = work / "kill-refresh"
    scenario.subscribe(root, farm.urls)
    trials = scenario.kill_refresh_trials(root, farm, kills, random.Random(20))
    orphaned = [
        Trial("kill -9 refresh: no orphan processes", t.orphans == 0, 0, t.detail) for t in trials
    ]
    return trials + orphaned


def train_kills(work: Path, kills: int) -> list[Trial]:
    root = work / "kill-train"
    seed_profile(root, feed_count=10, per_feed=40, clicks=30)
    started = time.monotonic()
    first = scenario.run_app(root, "train", "--json")
    seconds = time.monotonic() - started
    if first.returncode != 0:
        return [Trial("kill -9 train", False, 0, f"first training failed: {first.stderr[-300:]}")]
    rng = random.Random(7)
    plan = ["fsync", "replace"] * (kills // 5) + ["random"] * (kills - 2 * (kills // 5))
    trials = []
    for where in plan:
        trials.append(training.kill_train_trial(root, rng, where=where, expected_seconds=seconds))
    trials.append(training.train_completes(root))
    stale = training.stale_temporaries(root)
    trials.append(Trial("kill -9 train: no stale temporary files", stale == 0, 0, f"{stale} left"))
    return trials


def disk_full(work: Path, server: LocalServer) -> list[Trial]:
    trials = []
    modes = ["rlimit"] + (["tmpfs"] if fault.can_mount() else [])
    for mode in modes:
        farm = scenario.FeedFarm(server, 10, prefix=f"/disk-{mode}")
        base = work / f"disk-{mode}"
        try:
            if mode == "tmpfs":
                with fault.tmpfs(base, 3072):
                    scenario.subscribe(base / "p", farm.urls)
                    trials.append(
                        fault.disk_full_refresh_trial(base / "p", farm, random.Random(1), mode=mode)
                    )
                with fault.tmpfs(base, 4096):
                    seed_profile(base / "q")
                    training.install_model(base / "q")
                    trials.append(fault.disk_full_train_trial(base / "q", mode=mode))
            else:
                scenario.subscribe(base / "p", farm.urls)
                trials.append(
                    fault.disk_full_refresh_trial(base / "p", farm, random.Random(1), mode=mode)
                )
                seed_profile(base / "q")
                training.install_model(base / "q")
                trials.append(fault.disk_full_train_trial(base / "q", mode=mode))
        except OSError as exc:
            trials.append(Trial(f"disk full ({mode})", False, 0, f"could not set up: {exc}"))
    return trials


def instances(work: Path, server: LocalServer, rounds: int) -> list[Trial]:
    farm = scenario.FeedFarm(server, 6, prefix="/second")
    root = work / "second"
    scenario.subscribe(root, farm.urls)
    trials = [fault.second_instance_trial(root, farm) for _ in range(rounds)]
    locked = work / "locked"
    seed_profile(locked, feed_count=2, per_feed=8, clicks=0)
    trials += [fault.locked_database_trial(locked, busy_ms=500, hold=1.5) for _ in range(rounds)]
    trials.append(fault.locked_cli_trial(locked, hold=9.0))
    return trials


def hostile_servers(work: Path, server: LocalServer) -> list[Trial]:
    limits = FetchLimits(connect_timeout=5.0, total_timeout=10.0)
    outcome = hostile.hostile_batch(
        server, work / "hostile", work / "secret.txt", limits, bomb_mib=1024, items=50_000
    )
    peak = "n/a" if outcome.peak_mib is None else f"{outcome.peak_mib:.0f} MiB"
    bounded = outcome.seconds < 4 * limits.total_timeout + 30
    return [
        *outcome.trials,
        Trial(
            "hostile: whole batch bounded",
            bounded,
            0,
            f"{outcome.summary.feeds} feeds in {outcome.seconds:.1f} s, parent peak +{peak}",
        ),
    ]


def checkpoints(work: Path) -> list[Trial]:
    import torch

    from nrms_core import checkpoint

    root = work / "checkpoints"
    seed_profile(root, feed_count=3, per_feed=12, clicks=21)
    training.install_model(root)
    good_path = root / "models" / "model-00001.pt"
    good = good_path.read_bytes()
    marker = work / "executed"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str, str]]:
            return (open, (str(marker), "w"))

    import pickle

    zipped = io.BytesIO()
    torch.save({"format": checkpoint.FORMAT, "meta": Payload()}, zipped)
    flipped = bytearray(good)
    rng = random.Random(3)
    for _ in range(32):
        flipped[rng.randrange(len(flipped))] ^= 0xFF
    hostile_files = {
        "pickle payload (raw)": pickle.dumps(Payload()),
        "pickle payload (torch zip)": zipped.getvalue(),
        "truncated": good[: len(good) // 2],
        "empty": b"",
        "32 flipped bytes": bytes(flipped),
    }
    trials = []
    for number, (name, data) in enumerate(hostile_files.items(), start=2):
        path = root / "models" / f"model-{number:05d}.pt"
        path.write_bytes(data)
        with Profile(root) as profile:
            with profile.db.write() as s:
                events.add_model_version(s, str(path), "0" * 64, datetime.now(UTC), 21, {})
            ranker = Ranker(profile)
            river = ranker.river(ranked=True, limit=3)
            used = ranker.explain(river.items[0].article.id).model_version
        ok = river.mode == "ranked" and used == 1 and not marker.exists()
        trials.append(
            Trial(
                f"checkpoint: {name}",
                ok,
                0,
                f"model in use: version {used}, ran: {marker.exists()}",
            )
        )
    # a well-formed checkpoint whose bytes no longer match the recorded sha256
    loaded = checkpoint.load(good_path)
    state = {k: (v * 2 if v.is_floating_point() else v) for k, v in loaded.state.items()}
    tampered = root / "models" / "model-00009.pt"
    checkpoint.save(
        tampered,
        config=loaded.config,
        vocab=loaded.vocab,
        state=state,
        pretrained=loaded.pretrained,
        glove=loaded.glove,
        meta=dict(loaded.meta),
    )
    with Profile(root) as profile:
        with profile.db.read() as s:
            recorded = events.list_model_versions(s)[0].sha256
        with profile.db.write() as s:
            version = events.add_model_version(
                s, str(tampered), recorded, datetime.now(UTC), 21, {}
            )
        ranker = Ranker(profile)
        river = ranker.river(ranked=True, limit=3)
        used = ranker.explain(river.items[0].article.id).model_version
    trials.append(
        Trial(
            "checkpoint: tampered (sha256 mismatch)",
            used != version.id,
            0,
            f"model in use: version {used} (tampered is {version.id})",
        )
    )
    return trials


def damaged_caches(work: Path) -> list[Trial]:
    """Every kind of cache damage of harness/damage.py, on a profile with a model: "For you"
    and "Why this?" must work and rebuild the cache."""
    from app.services.cache import VectorCache
    from harness.damage import DAMAGE

    root = work / "damaged-caches"
    seed_profile(root, feed_count=3, per_feed=20, clicks=21)
    training.install_model(root)
    path = root / "cache" / "vectors-1.npz"
    trials = []
    for name, damage in DAMAGE.items():
        path.unlink(missing_ok=True)
        damage(path)
        try:
            with Profile(root) as profile:
                ranker = Ranker(profile)
                river = ranker.river(ranked=True, limit=5)
                ranker.explain(river.items[0].article.id)
            scores = [i.score for i in river.items]
            ok = river.mode == "ranked" and all(
                s is not None and s == s and abs(s) != float("inf") for s in scores
            )
            detail = f"rebuilt {len(VectorCache.load(path))} rows"
        except Exception as exc:  # the failure this suite looks for
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        trials.append(Trial(f"damaged cache: {name}", ok, 0, detail))
    return trials


def power_cuts(work: Path, cuts: int) -> list[Trial]:
    """``cuts`` power cuts of the vector cache, and ``cuts`` each of the database's main file
    and of its write-ahead log (harness/powercut.py looks at each cut file read-only)."""
    rng = random.Random(18)
    root = work / "powercut-cache"
    seed_profile(root, feed_count=3, per_feed=40, clicks=21)
    training.install_model(root)
    trials = [powercut.cache_trial(root, rng) for _ in range(cuts)]
    base = powercut.seeded_base(work)
    for target in ("wal", "db"):
        trials += [_database_trial(base, work, rng, target) for _ in range(cuts)]
    return trials


PARTIAL: dict[str, list[int]] = {}
"""By scenario: clicks that came back rebuilt from the indexes (their dwell and the rows on
screen with them lost), how many of those lost their screen too; of the clicks lost, how many
the damaged file's click index still lists (their article, without the time); trials that
lost records, and how many of those cut a file that had no write-ahead log left."""


def _database_trial(base: Path, work: Path, rng: random.Random, target: str) -> Trial:
    """powercut.database_trial, and what the clicks that came back lost on the way: a click
    rebuilt from the indexes counts as kept (its article and time are there) but is tallied
    here, since the writer gave every click a dwell."""
    before = set(work.glob(f"cut-{target}-*"))
    trial = powercut.database_trial(base, work, rng, target=target)
    rebuilt = unplaced = listed = logless = 0
    for root in set(work.glob(f"cut-{target}-*")) - before:
        try:
            with closing(powercut.read_only(root)) as conn:
                rebuilt, unplaced = conn.execute(
                    "SELECT count(*), coalesce(sum(session = ?), 0) FROM clicks "
                    "WHERE dwell IS NULL",
                    (salvage.LOST_SESSION,),
                ).fetchone()
        except sqlite3.Error:
            pass
        listed = _lost_but_listed(root) if trial.lost else 0
        logs = root.glob("heedful.damaged-*.db-wal")
        logless += bool(trial.lost) and not any(log.stat().st_size for log in logs)
    tally = PARTIAL.setdefault(trial.scenario, [0, 0, 0, 0, 0])
    tally[0] += rebuilt
    tally[1] += unplaced
    tally[2] += listed
    tally[3] += bool(trial.lost)
    tally[4] += logless
    if rebuilt or listed:
        detail = (
            f"{trial.detail}; {rebuilt} clicks rebuilt from indexes ({unplaced} unplaced); "
            f"{listed} lost clicks still listed by the index"
        )
        trial = Trial(trial.scenario, trial.ok, trial.lost, detail, trial.orphans)
    return trial


def _lost_but_listed(root: Path) -> int:
    """Of the committed clicks that recover did not bring back, how many the damaged file's
    click index still lists, read by recover's own routes (the file, its log's frames old
    and new, the backup's schema pages): their article is known, but no page, log frame or
    backup holds their time, so recover cannot rebuild them."""
    damaged = sorted(root.glob("heedful.damaged-*.db"))
    committed = powercut.committed_clicks(root)
    if not damaged or not committed:
        return 0
    shown = powercut.shown_clicks(root)
    try:
        saved = backup.backups(root / "backups")
        with salvage.readable_copy(
            damaged[-1], mend=True, backup=saved[0] if saved else None
        ) as src:
            entries = rebuild.index_entries(src, "clicks", "ix_clicks_article")
    except (sqlite3.Error, OSError):
        return 0
    return len((committed - shown) & set(entries))


def fuzzing(seconds: float) -> list[Trial]:
    from harness.campaign import fuzz

    trials = []
    for target in ("feeds", "opml"):
        tried, crashes = fuzz(target, seconds / 2)
        trials.append(
            Trial(f"fuzz {target} ({tried} inputs)", not crashes, 0, "; ".join(crashes) or "ok")
        )
    return trials


def table(trials: list[Trial]) -> None:
    rows: dict[str, list[Trial]] = {}
    for t in trials:
        rows.setdefault(t.scenario, []).append(t)
    width = max(len(name) for name in rows) + 2
    print(f"\n{'scenario':{width}} {'trials':>6} {'failures':>8} {'data lost':>9}")
    print("-" * (width + 27))
    for name, group in rows.items():
        failed = sum(not t.ok for t in group)
        lost = sum(t.lost for t in group)
        print(f"{name:{width}} {len(group):6d} {failed:8d} {lost:9d}")
    failures = [t for t in trials if not t.ok]
    if failures:
        print("\nfailures:")
        for t in failures:
            print(f"  {t.scenario}: {t.detail[:300]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--cuts", type=int, default=20, help="power cuts of each kind")
    parser.add_argument("--fuzz-seconds", type=float, default=120.0)
    parser.add_argument("--quick", action="store_true", help="3 kills, 3 cuts, 20 s of fuzzing")
    parser.add_argument("--only", action="append", default=None, help="run only this suite")
    parser.add_argument("--details", action="store_true", help="print every trial's detail")
    args = parser.parse_args()
    if args.quick:
        args.kills, args.cuts, args.fuzz_seconds = 3, 3, 20.0
    logging.basicConfig(level=logging.CRITICAL)
    work = Path(tempfile.mkdtemp(prefix="heedful-reliability-"))
    server = LocalServer()
    suites: list[tuple[str, Callable[[], list[Trial]]]] = [
        ("kill -9 refresh", lambda: refresh_kills(work, server, args.kills)),
        ("kill -9 train", lambda: train_kills(work, args.kills)),
        ("disk full", lambda: disk_full(work, server)),
        ("instances and locks", lambda: instances(work, server, 3)),
        ("hostile servers", lambda: hostile_servers(work, server)),
        ("checkpoints", lambda: checkpoints(work)),
        ("damaged caches", lambda: damaged_caches(work)),
        ("power cuts", lambda: power_cuts(work, args.cuts)),
        ("fuzzing", lambda: fuzzing(args.fuzz_seconds)),
    ]
    if args.only:
        suites = [(name, suite) for name, suite in suites if name in args.only]
    trials: list[Trial] = []
    try:
        for name, suite in suites:
            started = time.monotonic()
            found = suite()
            trials += found
            bad = sum(not t.ok for t in found)
            print(f"{name}: {len(found)} trials, {bad} failed, {time.monotonic() - started:.0f} s")
            sys.stdout.flush()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    table(trials)
    for name in sorted({t.scenario for t in trials if t.scenario.startswith("power cut: data")}):
        tally = powercut.outcomes([t for t in trials if t.scenario == name])
        print(f"\n{name}: " + ", ".join(f"{kind}: {n}" for kind, n in tally.items()))
        rebuilt, unplaced, listed, losing, logless = PARTIAL.get(name, [0, 0, 0, 0, 0])
        lost = sum(t.lost for t in trials if t.scenario == name)
        if rebuilt:
            print(
                f"  {rebuilt} clicks came back rebuilt from the indexes, without their "
                f"dwell or the rows on screen with them; {unplaced} of them without their screen"
            )
        if lost:
            print(
                f"  of the {lost} records lost, {listed} are clicks whose article the damaged "
                "file's click index still lists but whose time no page, log frame or backup "
                "that recover reads holds; the rest no route reads at all; "
                f"{logless} of the {losing} trials that lost records cut a file with no "
                "write-ahead log left (every click was then only in the main file)"
            )
    if args.details:
        print("\ndetails:")
        for t in trials:
            print(f"  {t.scenario}: {'ok' if t.ok else 'FAILED'}, lost {t.lost}: {t.detail[:300]}")


if __name__ == "__main__":
    main()
