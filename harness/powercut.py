"""Power cuts, simulated: a writer is killed with SIGKILL at a chosen point before its data
reaches the disk, then the file is truncated at a random point (what the page cache had not
written back is lost), and the profile is opened again. Shared by the tests and
bench/reliability.py.

Two subjects:
- the article-vector cache: the writer is held inside ``os.fsync`` of its temporary file and
  killed there; then the cache file itself is truncated at a random offset (as an older
  writer, which renamed before syncing, could leave it). Opening must rank and explain with
  finite scores and rebuild the cache; a cache is disposable, so nothing counts as lost
  except the reader's own records.
- the database: a writer commits clicks one at a time without end, noting each committed
  click's id in a side file that it syncs; it is killed at a random moment while it is still
  writing (never after closing the database), then the database file or its write-ahead log
  is truncated at a random offset. Opening must not crash; every click the writer saw committed
  that the program cannot show counts as lost. The database runs with ``synchronous=FULL``:
  the write-ahead log is synced at each commit, so the log is cut only past what the last
  commit synced; the main file is cut anywhere, which is damage no power cut causes in WAL
  mode (its pages are written only at checkpoints, and synced), left in as a harder case.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from harness.scenario import ROOT, Trial, child_env, kill_hard, run_app, wait_for

_CACHE_WRITER = """
import os, sys, time, pathlib
import numpy as np
from app.services.cache import VectorCache
path, marker, rows = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), int(sys.argv[3])
real_fsync = os.fsync
def fsync(fd):
    marker.write_text("in fsync")
    time.sleep(600)
os.fsync = fsync
cache = VectorCache.load(path)
dim = cache.rows([]).shape[1] if len(cache) else 64
start = 10_000_000
cache.add(list(range(start, start + rows)), np.random.default_rng(0).normal(size=(rows, dim)))
"""
"""Loads a cache, appends ``rows`` vectors and saves: held inside the fsync of the temporary
file, where the parent kills it."""

_DB_WRITER = """
import os, sys, pathlib
from app.services import activity
from app.services.profile import Profile
root, witness = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
ids = [int(a) for a in sys.argv[3].split(",")]
parent = os.getppid()
wal = root / "heedful.db-wal"
profile = Profile(root).__enter__()
with witness.open("a") as log:
    n = 0
    while os.getppid() == parent:
        article = ids[n % len(ids)]
        click = activity.record_click(profile.db, article, f"cut-{n // 5}", dwell=12.0)
        log.write(f"{click} {article} {wal.stat().st_size if wal.exists() else 0}\\n")
        log.flush()
        os.fsync(log.fileno())
        n += 1
os._exit(1)
"""
"""Commits clicks one at a time, cycling through ``ids``, without end: it never closes the
database, so the parent's kill always lands mid-stream. After each commit returns it notes
the click's id and article in ``witness`` (synced) with the write-ahead log's size at that
moment, so the parent knows what the program had promised was saved and how much of the log
a commit had synced. Should the parent die, it stops at once, still without closing."""


def _child(code: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _truncate(path: Path, rng: random.Random, *, at_least: int = 0) -> int:
    """Cut ``path`` at a random offset, not below ``at_least``; returns the new size (-1 when
    there is no file)."""
    if not path.exists():
        return -1
    size = path.stat().st_size
    low = min(max(0, at_least), size)
    cut = rng.randrange(low, size) if size > low else size
    with path.open("r+b") as handle:
        handle.truncate(cut)
    return cut


# -- the vector cache ---------------------------------------------------------------------------


def cache_trial(root: Path, rng: random.Random) -> Trial:
    """One power cut of the vector cache of a profile that has a model and 20+ clicks."""
    from app.services.cache import VectorCache
    from app.services.profile import Profile
    from app.services.ranking import Ranker

    name = "power cut: vector cache"
    path = root / "cache" / "vectors-1.npz"
    if not path.exists():
        with Profile(root) as profile:
            Ranker(profile).river(ranked=True, limit=1)  # writes the cache
    marker = root / "writer-in-fsync"
    marker.unlink(missing_ok=True)
    before_clicks = _click_count(root)
    writer = _child(_CACHE_WRITER, str(path), str(marker), str(rng.randrange(50, 5000)))
    held = wait_for(marker.exists, 60)
    kill_hard(writer)
    err = writer.stderr.read().decode() if writer.stderr else ""
    if writer.stderr:
        writer.stderr.close()
    if not held:
        return Trial(name, False, 0, f"the writer never reached fsync: {err[-300:]}")
    temporaries = sorted(path.parent.glob(".vectors-*.tmp"))
    for tmp in temporaries:  # the unsynced temporary file loses its tail too
        _truncate(tmp, rng)
    cut = _truncate(path, rng)
    problems: list[str] = []
    try:
        with Profile(root) as profile:
            ranker = Ranker(profile)
            river = ranker.river(ranked=True, limit=20)
            scores = [i.score for i in river.items]
            if river.mode != "ranked":
                problems.append(f"river mode {river.mode}: {river.notice}")
            if not scores or not all(s is not None and math.isfinite(s) for s in scores):
                problems.append(f"scores not all finite: {scores[:3]}")
            explanation = ranker.explain(river.items[0].article.id)
            json.dumps(explanation.as_dict(), allow_nan=False, default=str)
    except Exception as exc:  # any crash is the failure this scenario looks for
        problems.append(f"{type(exc).__name__}: {str(exc)[:200]}")
    rebuilt = len(VectorCache.load(path)) if path.exists() else 0
    if not rebuilt:
        problems.append("the cache was not rebuilt")
    lost = max(0, before_clicks - _click_count(root))
    for tmp in temporaries:  # what pruning does an hour later
        tmp.unlink(missing_ok=True)
    detail = f"cut at {cut} bytes, {len(temporaries)} temporary, rebuilt {rebuilt} rows"
    return Trial(name, not problems and not lost, lost, "; ".join(problems) or detail)


def _click_count(root: Path) -> int:
    with closing(read_only(root)) as conn:
        return int(conn.execute("SELECT count(*) FROM clicks").fetchone()[0])


# -- the database -------------------------------------------------------------------------------


def database_trial(base: Path, work: Path, rng: random.Random, *, target: str) -> Trial:
    """One power cut of the database: copy ``base`` (a seeded profile without clicks), commit
    clicks without end until killed at a random moment, truncate ``target`` ("db" or "wal") at
    a random point, open again. What must survive is every click the writer noted as committed
    before the kill; a writer that had stopped before the kill makes the trial fail, since its
    database would have been closed cleanly rather than cut."""
    name = f"power cut: database ({'write-ahead log' if target == 'wal' else 'main file'})"
    root = work / f"cut-{target}-{rng.randrange(10**9)}"
    shutil.copytree(base, root)
    # (closed before the writer starts: an open connection would keep the write-ahead log's
    # index alive across the "power cut", which a real one does not)
    with closing(read_only(root)) as conn:
        articles = [int(r[0]) for r in conn.execute("SELECT id FROM articles ORDER BY id")]
        feeds_before = int(conn.execute("SELECT count(*) FROM feeds").fetchone()[0])
    articles_before = len(articles)
    rng.shuffle(articles)
    witness = root / "committed.txt"
    writer = _child(_DB_WRITER, str(root), str(witness), ",".join(map(str, articles)))
    wait_for(lambda: witness.exists() and witness.stat().st_size > 0, 60)
    time.sleep(rng.uniform(0.0, KILL_WITHIN))
    writing = kill_hard(writer)
    err = writer.stderr.read().decode(errors="replace") if writer.stderr else ""
    if writer.stderr:
        writer.stderr.close()
    noted = [line.split() for line in witness.read_text().splitlines()] if witness.exists() else []
    noted = [row for row in noted if len(row) == 3]  # a line the kill cut short was not noted
    committed = {int(row[0]) for row in noted}
    synced = int(noted[-1][2]) if noted else 0
    if not writing or not committed:
        why = "had stopped before the kill" if not writing else "committed nothing"
        return Trial(name, False, 0, f"the writer {why}: {err[-300:]}")
    file = root / ("heedful.db-wal" if target == "wal" else "heedful.db")
    size = file.stat().st_size if file.exists() else 0
    # The log is synced at every commit (synchronous=FULL): a power cut can take only what
    # was written after the last commit returned. The main file is cut anywhere (damage).
    cut = _truncate(file, rng, at_least=synced if target == "wal" else 0)
    proc = run_app(root, "stats", "--json", timeout=120)
    lines = proc.stderr.strip().splitlines()
    crashed = "Traceback" in proc.stderr or proc.returncode not in (0, 1)
    check = quick_check(root)
    readable = readable_clicks(root)
    silent = False
    if proc.returncode == 0:
        silent = check != "ok"  # damaged, and nothing said
        outcome = "opened"
    else:
        outcome = f"refused (exit {proc.returncode}: {lines[-1][:120] if lines else ''})"
        if _has_recover(root):  # the program's own way out, where it has one
            fixed = run_app(root, "recover", timeout=300)
            crashed = crashed or "Traceback" in fixed.stderr or fixed.returncode not in (0, 1)
            proc = run_app(root, "stats", "--json", timeout=120)
            crashed = crashed or "Traceback" in proc.stderr or proc.returncode not in (0, 1)
            outcome += f", recover exit {fixed.returncode}, then stats exit {proc.returncode}"
    if proc.returncode == 0:
        stats = json.loads(proc.stdout)
        shown = shown_clicks(root)
        lost = (
            len(committed - shown)
            + max(0, feeds_before - int(stats["feeds"]))
            + max(0, articles_before - int(stats["articles"]))
        )
        silent = silent or (lost > 0 and outcome == "opened")  # data gone, nothing said
        outcome += f": {stats['clicks']} clicks of {len(committed)} committed"
    else:  # nothing can be read through the program
        lost = len(committed) + feeds_before + articles_before
    if crashed:
        outcome = "crashed: " + outcome
    detail = (
        f"{outcome}; killed while writing; {file.name} {size} -> {cut} bytes; "
        f"quick_check {check[:60]}; {readable} clicks readable by sqlite3 before any recovery"
    )
    ok = not crashed and not silent and lost == 0
    return Trial(name, ok, lost, detail)


KILL_WITHIN = 2.0
"""Seconds after the writer's first commit within which it is killed, at a random moment."""


def committed_clicks(root: Path) -> set[int]:
    """The ids of the clicks the writer of a database trial noted as committed."""
    witness = root / "committed.txt"
    if not witness.exists():
        return set()
    rows = [line.split() for line in witness.read_text().splitlines()]
    return {int(row[0]) for row in rows if len(row) == 3}


def shown_clicks(root: Path) -> set[int]:
    """The ids of the clicks the profile's database holds, read without writing to it."""
    try:
        with closing(read_only(root)) as conn:
            return {int(r[0]) for r in conn.execute("SELECT id FROM clicks")}
    except sqlite3.Error:
        return set()


def outcomes(trials: list[Trial]) -> dict[str, int]:
    """How database trials ended: opened (no loss / silent loss), refused then recovered,
    refused for good, crashed."""
    tally: dict[str, int] = {}
    for t in trials:
        if t.detail.startswith("crashed"):
            kind = "crashed"
        elif t.detail.startswith("opened"):
            kind = "opened, nothing lost" if t.lost == 0 else "opened, commits lost silently"
        elif "then stats exit 0" in t.detail:
            kind = "refused in one line, recover rebuilt it"
        else:
            kind = "refused in one line, nothing readable"
        tally[kind] = tally.get(kind, 0) + 1
    return tally


def _has_recover(root: Path) -> bool:
    """Whether this version of the program has a ``recover`` command."""
    return run_app(root, "recover", "--help", timeout=60).returncode == 0


def read_only(root: Path) -> sqlite3.Connection:
    """A read-only connection to the profile's database. Looking at a cut file must not change
    it: closing the last read-write connection checkpoints the write-ahead log into the file
    and deletes the log, and with it the older frames that still hold the pages a checkpoint
    wrote into the part the cut took, which recover reads."""
    uri = f"{(root / 'heedful.db').resolve().as_uri()}?mode=ro"
    return sqlite3.connect(uri, uri=True)


def quick_check(root: Path) -> str:
    """``PRAGMA quick_check`` of the profile's database, read-only; or the error it gave."""
    try:
        with closing(read_only(root)) as conn:
            return "; ".join(str(r[0]) for r in conn.execute("PRAGMA quick_check"))
    except sqlite3.Error as exc:
        return f"error: {exc}"


def readable_clicks(root: Path) -> int:
    """How many clicks sqlite3 counts in the profile's database, read-only (0 on an error)."""
    try:
        with closing(read_only(root)) as conn:
            return int(conn.execute("SELECT count(*) FROM clicks").fetchone()[0])
    except sqlite3.Error:
        return 0


def seeded_base(work: Path) -> Path:
    """A profile with feeds and articles but no clicks, the start of every database trial."""
    from harness.sample import seed_profile

    base = work / "powercut-base"
    seed_profile(base, feed_count=4, per_feed=120, clicks=0)
    for stale in ("heedful.lock",):
        (base / stale).unlink(missing_ok=True)
    os.sync()
    return base
