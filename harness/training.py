"""kill -9 during training: the profile must always load a valid model (the previous or the
new one), never a partial file. Shared by the CI tests and bench/reliability.py."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from app.services.profile import Profile
from app.storage import articles, events
from harness.scenario import (
    ROOT,
    Trial,
    child_env,
    click_ids,
    integrity,
    kill_hard,
    model_rows,
    run_app,
    wait_for,
)

_HOOK = """
import os, sys, time, pathlib
marker = pathlib.Path(sys.argv[1])
where = sys.argv[2]
real_fsync, real_replace = os.fsync, os.replace

def _hold(what):
    marker.write_text(what)
    time.sleep(600)

def fsync(fd):
    real_fsync(fd)
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        target = ""
    if where == "fsync" and os.path.basename(target).startswith(".model-"):
        _hold(target)

def replace(src, dst, *args, **kwargs):
    real_replace(src, dst, *args, **kwargs)
    if where == "replace" and os.path.basename(os.fspath(dst)).startswith("model-"):
        _hold(os.fspath(dst))

os.fsync, os.replace = fsync, replace
import app.services.guard as guard

def judge(*args, **kwargs):  # the trial is about writing a checkpoint: every round publishes
    import dataclasses
    verdict = guard.real_judge(*args, **kwargs)
    return dataclasses.replace(
        verdict, decision=guard.PUBLISHED, publish="round", mode=guard.MODEL
    )

guard.real_judge, guard.judge = guard.judge, judge
from app.cli import main
sys.exit(main(sys.argv[3:]))
"""
"""A driver that runs the CLI but stops dead at a chosen point of the checkpoint write:
after the temporary file is complete and synced (``fsync``), or right after it was renamed to
its final name and before the database records it (``replace``)."""


def install_model(root: Path) -> None:
    """Record a first model version quickly: an untrained model without GloVe (no training)."""
    from nrms_core.recommender import Recommender

    with Profile(root) as profile:
        with profile.db.read() as s:
            titles = articles.article_titles(s)
        model = Recommender.create(pretrained=False, seed=0)
        model.add_titles(titles.values())
        path = profile.paths.models / "model-00001.pt"
        sha = model.save(path, meta={"clicks_used": 0})
        with profile.db.write() as s:
            events.add_model_version(s, str(path), sha, datetime.now(UTC), 0, {})


def checkpoint_state(root: Path) -> tuple[list[str], int]:
    """Problems with the profile's models, and how many recorded versions are unusable.

    Every ``model-*.pt`` file must load (never a partial file under a final name), the newest
    recorded version must load, and the Ranker must pick a model.
    """
    from nrms_core.checkpoint import CheckpointError, load

    problems: list[str] = []
    for path in sorted((root / "models").glob("model-*.pt")):
        try:
            load(path)
        except CheckpointError as exc:
            problems.append(f"partial or bad checkpoint {path.name}: {exc}")
    rows = model_rows(root)

    def recorded_path(recorded: str) -> Path:
        path = Path(recorded)  # versions record the file name, relative to models/
        return path if path.is_absolute() else root / "models" / path

    unusable = 0
    for _, recorded, _ in rows:
        try:
            load(recorded_path(recorded))
        except CheckpointError:
            unusable += 1
    if rows:
        try:
            load(recorded_path(rows[-1][1]))
        except CheckpointError as exc:
            problems.append(f"newest recorded model does not load: {exc}")
    from app.services.ranking import Ranker

    with Profile(root) as profile:
        river = Ranker(profile).river(ranked=True, limit=5)
    if rows and river.mode != "ranked":
        problems.append(f"the Ranker found no model ({river.notice})")
    return problems, unusable


def stale_temporaries(root: Path) -> int:
    """Temporary checkpoint files left in the models folder."""
    return len(list((root / "models").glob(".model-*")))


def kill_train_trial(
    root: Path, rng: random.Random, *, where: str, expected_seconds: float
) -> Trial:
    """Kill ``python -m app train --epochs 1`` once.

    ``where`` is "random" (a uniform moment in the expected run time), or "fsync"/"replace"
    (dead stop at that point of the checkpoint write). Afterwards every checkpoint file loads,
    the newest recorded version loads, the Ranker ranks, no recorded version was lost, and the
    next training round works.
    """
    before = model_rows(root)
    clicks_before = click_ids(root)
    marker = root.parent / f"{root.name}.hook"
    marker.unlink(missing_ok=True)
    args = ["--data-dir", str(root), "train", "--epochs", "1"]
    if where == "random":
        command = [sys.executable, "-m", "app", *args]
    else:
        command = [sys.executable, "-c", _HOOK, str(marker), where, *args]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    if where == "random":
        delay = rng.uniform(0.0, expected_seconds)
        time.sleep(delay)
        what = f"killed at {delay:.2f} s"
    else:
        reached = wait_for(lambda: marker.exists() or proc.poll() is not None, 300)
        what = f"killed at {where}" if reached and marker.exists() else f"{where} not reached"
    killed = kill_hard(proc)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if not killed:
        what = f"finished (rc {proc.returncode}) before the kill"
        if proc.returncode != 0:
            return Trial(f"kill -9 train ({where})", False, 0, f"{what}: {stderr[-300:]}")
    problems, _ = checkpoint_state(root)
    after = model_rows(root)
    lost_versions = len({r[0] for r in before} - {r[0] for r in after})
    lost_clicks = len(clicks_before - click_ids(root))
    if integrity(root) != "ok":
        problems.append("integrity_check failed")
    stale = stale_temporaries(root)
    detail = f"{what}; {len(after) - len(before)} new versions; {stale} stale temporary files"
    return Trial(
        f"kill -9 train ({where})",
        not problems,
        lost_versions + lost_clicks,
        "; ".join([detail, *problems]),
    )


def train_completes(root: Path) -> Trial:
    """A full training round after the kills: exit 0 and a new loadable version."""
    before = model_rows(root)
    proc = run_app(root, "train", "--epochs", "1", "--json")
    after = model_rows(root)
    problems, _ = checkpoint_state(root)
    if proc.returncode != 0:
        problems.append(f"rc {proc.returncode}: {proc.stderr[-300:]}")
    if len(after) != len(before) + 1:
        problems.append("no new model version")
    return Trial("train after kills", not problems, 0, "; ".join(problems) or "ok")
