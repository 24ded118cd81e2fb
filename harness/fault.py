"""Storage faults: a full disk, a second instance, a database locked by another program.

Shared by the CI tests and bench/reliability.py; each scenario returns :class:`Trial` values.
"""

from __future__ import annotations

import errno
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from app.services import activity
from app.services.profile import Profile
from app.storage.database import ProfileLockedError, StorageError
from harness.scenario import (
    ROOT,
    FeedFarm,
    Trial,
    app_command,
    article_count,
    child_env,
    clear_failure,
    click_ids,
    click_some,
    database_path,
    duplicate_articles,
    integrity,
    model_rows,
    run_app,
    traceback_logged,
    wait_for,
)
from harness.training import checkpoint_state, stale_temporaries

# -- a small disk ------------------------------------------------------------------------------


def can_mount() -> bool:
    """Whether this process may mount a tmpfs (root on Linux with ``mount`` available)."""
    return sys.platform.startswith("linux") and os.geteuid() == 0 and bool(shutil.which("mount"))


@contextmanager
def tmpfs(path: Path, size_kib: int) -> Iterator[Path]:
    """Mount a tmpfs of ``size_kib`` KiB at ``path`` for the duration; raises OSError when the
    mount is refused."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise OSError(errno.EPERM, f"mount refused: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def fill(folder: Path, spare: int) -> Path:
    """Fill the file system holding ``folder`` until at most ``spare`` bytes are free."""
    filler = folder / "filler.bin"
    block = bytes(64 * 1024)
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(block)
                handle.flush()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    size = filler.stat().st_size
    with filler.open("r+b") as handle:
        handle.truncate(max(0, size - spare))
    return filler


def file_size_limit(limit: int) -> Callable[[], None]:
    """A preexec function: no file of the child may grow past ``limit`` bytes, and writing past
    it fails with EFBIG instead of killing the child with SIGXFSZ."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def disk_full_refresh_trial(root: Path, farm: FeedFarm, rng: random.Random, *, mode: str) -> Trial:
    """Refresh while the disk is full: a clear error, the database and clicks intact, and a
    complete refresh once space is back.

    ``mode`` is "tmpfs" (``root`` lies on a small tmpfs that is filled up) or "rlimit"
    (RLIMIT_FSIZE in the child, so the database's growth fails with EFBIG).
    """
    name = f"disk full: refresh ({mode})"
    first = run_app(root, "refresh", "--json")
    if first.returncode != 0:
        return Trial(name, False, 0, f"setup refresh failed: {first.stderr[-300:]}")
    click_some(root, 3, rng)
    before = click_ids(root)
    for _ in range(8):
        farm.advance()
    filler: Path | None = None
    preexec = None
    if mode == "tmpfs":
        filler = fill(root, 8 * 1024)
    else:
        # Below the database's size, so that it cannot grow; and the log, which a clean close
        # leaves empty and a refresh writes first, holds half of it: less than this refresh
        # writes, whose every entry is new, as many as the first refresh stored. (A page over
        # the largest file let the log grow as large as the whole database before failing.)
        biggest = max(p.stat().st_size for p in root.glob("heedful.db*"))
        preexec = file_size_limit(biggest // 2)
    full = run_app(root, "refresh", "--json", preexec=preexec)
    if filler is not None:
        filler.unlink()
    problems = []
    if not clear_failure(full):
        problems.append(f"no clear error: rc {full.returncode}, stderr {full.stderr[-400:]!r}")
    check = integrity(root)
    if check != "ok":
        problems.append(f"integrity_check: {check[:200]}")
    lost = len(before - click_ids(root))
    if lost:
        problems.append(f"{lost} clicks lost")
    again = run_app(root, "refresh", "--json")
    if again.returncode != 0 or '"failed": 0' not in again.stdout:
        problems.append(f"refresh with space back: rc {again.returncode} {again.stderr[-200:]}")
    if article_count(root) != farm.distinct_items():
        problems.append(f"{article_count(root)} articles, {farm.distinct_items()} expected")
    if duplicate_articles(root):
        problems.append("duplicated articles")
    message = next((ln for ln in full.stderr.splitlines() if ln.startswith("heedful: ")), "")
    if traceback_logged(full):
        message += " (a traceback was logged too)"
    return Trial(name, not problems, lost, "; ".join([message[:160], *problems]))


def disk_full_train_trial(root: Path, *, mode: str) -> Trial:
    """Train while the disk is full: a clear error, the previous model intact and in use, no
    partial checkpoint left behind."""
    name = f"disk full: train ({mode})"
    before = model_rows(root)
    filler: Path | None = None
    preexec = None
    if mode == "tmpfs":
        filler = fill(root, 64 * 1024)
    else:
        preexec = file_size_limit(256 * 1024)
    full = run_app(root, "train", "--epochs", "1", preexec=preexec)
    if filler is not None:
        filler.unlink()
    problems, _ = checkpoint_state(root)
    if not clear_failure(full):
        tail = full.stderr.strip().splitlines()[-1:] or [""]
        problems.append(f"no clear error: rc {full.returncode}, last line {tail[0][:160]!r}")
    after = model_rows(root)
    lost = len({r[0] for r in before} - {r[0] for r in after})
    if len(after) != len(before):
        problems.append(f"{len(after) - len(before)} versions recorded without their file")
    stale = stale_temporaries(root)
    if stale:
        problems.append(f"{stale} temporary checkpoint files left")
    if integrity(root) != "ok":
        problems.append("integrity_check failed")
    return Trial(name, not problems, lost, "; ".join(problems) or "clear error, model intact")


# -- two instances -----------------------------------------------------------------------------


def second_instance_trial(root: Path, farm: FeedFarm) -> Trial:
    """While one ``refresh`` runs (slow feeds), a second ``refresh`` and a ``click`` on the same
    profile are refused with a message; the first completes and nothing is duplicated."""
    name = "second instance"
    farm.delay = 4.0
    farm.advance()
    first = subprocess.Popen(
        app_command(root, "refresh", "--json"),
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lock = root / "heedful.lock"
    problems = []
    try:
        if not wait_for(lambda: lock.exists() and lock.read_text() == str(first.pid), 60):
            problems.append("the first instance never took the lock")
        second = run_app(root, "refresh")
        if not clear_failure(second) or "already open" not in second.stderr:
            problems.append(f"second refresh not refused: rc {second.returncode} {second.stderr!r}")
        click = run_app(root, "click", "1")
        if not clear_failure(click) or "already open" not in click.stderr:
            problems.append(f"click not refused: rc {click.returncode} {click.stderr!r}")
        if first.poll() is not None:
            problems.append("the first instance ended before the second was tried")
        out, err = first.communicate(timeout=300)
    finally:
        farm.delay = 0.0
        if first.poll() is None:
            first.kill()
            first.wait()
    if first.returncode != 0 or '"failed": 0' not in out:
        problems.append(f"first refresh: rc {first.returncode} {err[-200:]}")
    if integrity(root) != "ok":
        problems.append("integrity_check failed")
    if duplicate_articles(root):
        problems.append("duplicated articles")
    return Trial(name, not problems, 0, "; ".join(problems) or "refused with a message")


# -- a database locked by another program ------------------------------------------------------

_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def hold_lock(root: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process that holds the database's write lock for ``seconds`` seconds."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(database_path(root)), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    line = holder.stdout.readline()
    if line.strip() != "locked":
        holder.kill()
        raise RuntimeError("the lock holder did not start")
    return holder


def release(holder: subprocess.Popen[str]) -> None:
    """Wait for the lock holder to end and close its pipe."""
    holder.wait(timeout=60)
    if holder.stdout is not None:
        holder.stdout.close()


def locked_database_trial(root: Path, *, busy_ms: int, hold: float) -> Trial:
    """A write while another program holds the lock longer than the busy timeout: the write
    waits out the busy timeout, then fails with ProfileLockedError in words; after the lock is
    gone the same write succeeds and nothing recorded before is lost."""
    name = "database locked (in-process)"
    before = click_ids(root)
    with Profile(root) as profile, profile.db.read() as s:
        from app.storage import articles

        target = articles.unread_ids(s)[0]
    holder = hold_lock(root, hold)
    problems = []
    started = time.monotonic()
    error: StorageError | None = None
    try:
        with Profile(root, busy_timeout_ms=busy_ms) as profile:
            activity.record_click(profile.db, target, activity.new_session())
    except ProfileLockedError as exc:
        error = exc
    waited = time.monotonic() - started
    release(holder)
    if error is None:
        problems.append("the write did not fail while the lock was held")
    elif "locked" not in str(error) or "Traceback" in str(error):
        problems.append(f"unclear message: {error}")
    if waited < busy_ms / 1000 * 0.9:
        problems.append(f"gave up after {waited:.2f} s, before the busy timeout")
    with Profile(root, busy_timeout_ms=busy_ms) as profile:
        activity.record_click(profile.db, target, activity.new_session())
    lost = len(before - click_ids(root))
    if len(click_ids(root)) != len(before) + 1:
        problems.append("the retried click is not recorded exactly once")
    if integrity(root) != "ok":
        problems.append("integrity_check failed")
    detail = f"failed after {waited:.2f} s: {error}" if error else "no error"
    return Trial(name, not problems, lost, "; ".join([detail, *problems]))


def locked_cli_trial(root: Path, *, hold: float) -> Trial:
    """``python -m app click`` while another program holds the lock past the default busy
    timeout (5 s): exit 1 with one line, no traceback; the click works once the lock is gone."""
    name = "database locked (CLI)"
    with Profile(root) as profile, profile.db.read() as s:
        from app.storage import articles

        target = articles.unread_ids(s)[0]
    before = click_ids(root)
    holder = hold_lock(root, hold)
    locked = run_app(root, "click", str(target))
    release(holder)
    problems = []
    if not clear_failure(locked) or "locked" not in locked.stderr:
        problems.append(f"rc {locked.returncode}: {locked.stderr[-300:]!r}")
    again = run_app(root, "click", str(target))
    if again.returncode != 0:
        problems.append(f"retry failed: {again.stderr[-200:]}")
    lost = len(before - click_ids(root))
    message = next((ln for ln in locked.stderr.splitlines() if ln.startswith("heedful: ")), "")
    return Trial(name, not problems, lost, "; ".join([message[:120], *problems]))
