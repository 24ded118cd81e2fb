"""Fault scenarios shared by the CI tests (few trials) and bench/reliability.py (many trials).

Each scenario drives the real program (``python -m app ...`` in a subprocess) or the real
services in-process, then inspects the profile with plain ``sqlite3`` and the checkpoint loader.
A scenario returns one :class:`Trial` per attempt: whether every check held, how many records
were lost, and a line saying what happened.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.services import activity
from app.services.profile import Profile
from app.storage import articles, feeds
from harness.sample import rss
from harness.server import LocalServer, Reply

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Trial:
    """One attempt at a scenario: ``ok`` when every check held; ``lost`` counts records that
    existed before the fault and were gone after it."""

    scenario: str
    ok: bool
    lost: int = 0
    detail: str = ""
    orphans: int = 0
    """Child processes that outlived a kill -9 of their parent (killed by the scenario)."""


# -- the program and the profile, seen from outside -------------------------------------------


def app_command(root: Path, *args: str) -> list[str]:
    """The command line of the headless program on profile ``root``."""
    return [sys.executable, "-m", "app", "--data-dir", str(root), *args]


def child_env() -> dict[str, str]:
    """Environment for child processes: the project importable, few threads."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_app(
    root: Path, *args: str, timeout: float = 300.0, preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m app`` to completion and capture its output."""
    return subprocess.run(
        app_command(root, *args),
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=preexec,
    )


def clear_failure(proc: subprocess.CompletedProcess[str]) -> bool:
    """Whether a failed command exited 1 and ended by telling the reader why in one line."""
    lines = proc.stderr.strip().splitlines()
    return proc.returncode == 1 and bool(lines) and lines[-1].startswith("heedful: ")


def traceback_logged(proc: subprocess.CompletedProcess[str]) -> bool:
    """Whether a command wrote a Python traceback to stderr (its log)."""
    return "Traceback (most recent call last)" in proc.stderr


def database_path(root: Path) -> Path:
    """The profile's database file."""
    return root / "heedful.db"


@contextmanager
def raw(root: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to the profile database, outside the application."""
    conn = sqlite3.connect(database_path(root), timeout=30)
    try:
        yield conn
    finally:
        conn.close()


def integrity(root: Path) -> str:
    """``PRAGMA integrity_check`` of the profile database ("ok" when sound)."""
    with raw(root) as conn:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    return "; ".join(str(r[0]) for r in rows)


def duplicate_articles(root: Path) -> int:
    """Articles stored more than once: same (feed, dedup key) or same (feed, url)."""
    with raw(root) as conn:
        by_key = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM articles GROUP BY feed_id, dedup_key "
            "HAVING count(*) > 1)"
        ).fetchone()[0]
        by_url = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM articles WHERE url IS NOT NULL "
            "GROUP BY feed_id, url HAVING count(*) > 1)"
        ).fetchone()[0]
    return int(by_key) + int(by_url)


def click_ids(root: Path) -> set[int]:
    """Ids of every recorded click."""
    with raw(root) as conn:
        return {int(r[0]) for r in conn.execute("SELECT id FROM clicks")}


def article_count(root: Path) -> int:
    """How many articles the profile holds."""
    with raw(root) as conn:
        return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])


def model_rows(root: Path) -> list[tuple[int, str, str]]:
    """(id, path, sha256) of every recorded model version, oldest first."""
    with raw(root) as conn:
        return [
            (int(r[0]), str(r[1]), str(r[2]))
            for r in conn.execute("SELECT id, path, sha256 FROM model_versions ORDER BY id")
        ]


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    """Poll ``predicate`` every 20 ms until it holds or ``timeout`` seconds pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def descendants(pid: int) -> set[int]:
    """Ids of every live process below ``pid`` (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def survivors(pids: set[int], timeout: float = 2.0) -> set[int]:
    """Those of ``pids`` still running after ``timeout`` seconds (zombies count as gone)."""

    def alive() -> set[int]:
        left = set()
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state != "Z":
                left.add(pid)
        return left

    wait_for(lambda: not alive(), timeout)
    return alive()


def _command_name(pid: int) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(w.decode(errors="replace") for w in words if w)
    for known in ("resource_tracker", "spawn_main", "forkserver"):
        if known in text:
            return known
    return text[:40]


def kill_hard(proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL ``proc``; returns whether it was still running when killed."""
    alive = proc.poll() is None
    if alive:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return alive


# -- a farm of local feeds ---------------------------------------------------------------------


class FeedFarm:
    """``count`` RSS feeds on a local server. Each feed shows a window of ``per_feed`` items
    that slides forward by ``step`` items whenever :meth:`advance` is called, so every refresh
    brings new articles and repeats old ones."""

    def __init__(
        self,
        server: LocalServer,
        count: int,
        *,
        per_feed: int = 20,
        step: int = 3,
        delay: float = 0.0,
        prefix: str = "/farm",
    ) -> None:
        self.server = server
        self.count = count
        self.per_feed = per_feed
        self.step = step
        self.delay = delay
        self.generation = 0
        self.prefix = prefix
        self.served: dict[int, set[int]] = {}
        for n in range(count):
            server.route(self._path(n), self._handler(n))

    def _path(self, n: int) -> str:
        return f"{self.prefix}/{n}.xml"

    def _handler(self, n: int) -> Callable[[object], Reply]:
        def reply(_request: object) -> Reply:
            self.served.setdefault(n, set()).add(self.generation)
            body = rss(
                n,
                self.generation * self.step,
                self.per_feed,
            )
            return Reply(body=body, content_type="application/rss+xml", delay=self.delay)

        return reply

    @property
    def urls(self) -> list[str]:
        """Every feed's address."""
        return [self.server.url(self._path(n)) for n in range(self.count)]

    def advance(self) -> None:
        """Slide every feed's window forward."""
        self.generation += 1

    def distinct_items(self) -> int:
        """How many different items the feeds have served up to now."""
        total = 0
        for generations in self.served.values():
            items: set[int] = set()
            for g in generations:
                items.update(range(g * self.step, g * self.step + self.per_feed))
            total += len(items)
        return total


def subscribe(root: Path, urls: Sequence[str]) -> None:
    """Add feeds to the profile through the storage API (no network)."""
    with Profile(root) as profile, profile.db.write() as s:
        for url in urls:
            feeds.add_feed(s, url)


def click_some(root: Path, count: int, rng: random.Random) -> list[int]:
    """Record ``count`` clicks on random articles, as the window would; returns click ids."""
    ids: list[int] = []
    with Profile(root) as profile:
        with profile.db.read() as s:
            unread = articles.unread_ids(s)
        for chosen in rng.sample(unread, min(count, len(unread))):
            above = rng.sample(unread, min(4, len(unread)))
            above = [a for a in above if a != chosen]
            ids.append(
                activity.record_click(profile.db, chosen, activity.new_session(), shown_above=above)
            )
    return ids


# -- kill -9 during a refresh ------------------------------------------------------------------


def timed_refresh(root: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """A complete ``refresh`` and its wall time."""
    start = time.monotonic()
    proc = run_app(root, "refresh", "--json")
    return proc, time.monotonic() - start


def _first_write(root: Path, proc: subprocess.Popen[bytes]) -> Callable[[], bool]:
    """A predicate: the profile holds more articles than now, or ``proc`` ended."""
    count = article_count(root)
    return lambda: article_count(root) > count or proc.poll() is not None


def kill_refresh_trials(root: Path, farm: FeedFarm, trials: int, rng: random.Random) -> list[Trial]:
    """Kill ``python -m app refresh`` at random moments, ``trials`` times.

    Before each kill a click is recorded and the feeds move on (new articles to insert).
    After it: integrity_check is ok, no article is duplicated, every click is still there, and
    the next refresh completes with every feed ok and every distinct item stored once.
    """
    first, seconds = timed_refresh(root)
    if first.returncode != 0:
        return [Trial("kill -9 refresh", False, 0, f"first refresh failed: {first.stderr[-300:]}")]
    results: list[Trial] = []
    for _ in range(trials):
        click_some(root, 1, rng)
        before = click_ids(root)
        farm.advance()
        proc = subprocess.Popen(
            app_command(root, "refresh"),
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started = time.monotonic()
        if len(results) % 2:
            # aim inside the write phase: wait for the first new article, then a random moment
            wait_for(_first_write(root, proc), seconds * 3)
            time.sleep(rng.uniform(0.0, seconds / 3))
        else:
            time.sleep(rng.uniform(0.0, seconds))
        delay = time.monotonic() - started
        workers = descendants(proc.pid)
        killed = kill_hard(proc)
        problems = []
        orphans = survivors(workers)
        notes = []
        if orphans:
            names = sorted({_command_name(pid) for pid in orphans})
            notes.append(f"{len(orphans)} child processes outlived the kill ({', '.join(names)})")
            for pid in orphans:
                os.kill(pid, signal.SIGKILL)
        check = integrity(root)
        if check != "ok":
            problems.append(f"integrity_check: {check[:200]}")
        dups = duplicate_articles(root)
        if dups:
            problems.append(f"{dups} duplicated articles")
        lost = len(before - click_ids(root))
        if lost:
            problems.append(f"{lost} clicks lost")
        after, _ = timed_refresh(root)
        if after.returncode != 0 or '"failed": 0' not in after.stdout:
            problems.append(f"next refresh: rc {after.returncode} {after.stderr[-200:]}")
        stored, expected = article_count(root), farm.distinct_items()
        if stored != expected:
            problems.append(f"{stored} articles stored, {expected} expected")
        if duplicate_articles(root):
            problems.append("duplicates after the next refresh")
        what = f"killed at {delay:.2f} s" if killed else f"finished before {delay:.2f} s"
        results.append(
            Trial(
                "kill -9 refresh",
                not problems,
                lost,
                "; ".join([what, *problems, *notes]),
                len(orphans),
            )
        )
    return results
