"""GUI benchmark: figures for the desktop app, printed, never asserted.

1. Time to first paint of the main window on a profile with 100,000 articles.
2. The event loop's stalls (a 10 ms QTimer measuring its own lateness; p50, p99 and max, how
   much of the long ones the GUI thread waited for a CPU, and the load average) while torch
   loads in the background, while 200 local feeds refresh alone and together with a training
   round, and at the end (bench/stall.py) while a refresh, a training round, For you and an
   explanation all run at once.
3. "For you" over ``--rank-articles`` articles: the time until it is shown (its newest articles
   ranked) and until every one is ranked (the model host ranks the rest a slice at a time),
   then resident memory: the window's process, each of its helper processes (model host,
   multiprocessing's resource tracker), and the total.
4. A click felt at once: the time from a recorded open to For you re-ranked below the row being
   read (p50 and max over 10 opens), with the event loop's stalls meanwhile.

Headlines come from AG News (../shared/data/headlines/ag_news) when present, else are
synthetic. Clicks are simulated (a reader who opens Sci/Tech stories); no real click log exists.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/gui.py [--articles 100000] [--feeds 200]
"""

from __future__ import annotations

import argparse
import importlib.machinery
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shiboken6  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import app.ui  # noqa: E402, F401
from app.services import activity  # noqa: E402
from app.services.profile import Profile  # noqa: E402
from app.services.refresh import Refresher  # noqa: E402
from app.storage import articles, feeds, query  # noqa: E402
from app.storage.record import IncomingArticle  # noqa: E402
from app.ui.outline import FOR_YOU, LATEST  # noqa: E402
from app.ui.river import Role  # noqa: E402
from app.ui.window import QUIET, MainWindow  # noqa: E402
from bench.feedserver import headlines, serve  # noqa: E402
from bench.stall import Probe, all_at_once, run_until  # noqa: E402


def rss_kib(pid: int | str = "self") -> tuple[float, float]:
    """(current RSS, peak RSS) in MiB of process ``pid``."""
    current = peak = 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return current, peak


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, their children, ...)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return sorted(found)


def process_name(pid: int) -> str:
    """A short description of a helper process from its command line."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(a.decode(errors="replace") for a in argv if a)
    if "resource_tracker" in text:
        return "resource tracker"
    if "spawn_main" in text:
        return "spawned helper (model host)"
    return text[:60]


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user and system, all threads) process ``pid`` has used so far: what the
    model host spends on For you, steadier than its wall time on a shared machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def river_scores(window: MainWindow) -> dict[int, float]:
    """The number on each loaded row of the river, by article id, top first."""
    model = window.river
    return {
        model.index(r).data(Role.ARTICLE_ID): model.index(r).data(Role.SCORE)
        for r in range(model.rowCount())
    }


def memory_report(skip: int | None = None) -> None:
    """RSS of this process, of each helper process, and the total (MiB); ``skip`` is the
    benchmark's own feed server, which is not part of the app."""
    current, peak = rss_kib()
    total = current
    print(f"  RSS after ranking, window process: {current:.0f} MiB (peak {peak:.0f} MiB)")
    for pid in descendants(os.getpid()):
        if pid == skip:
            continue
        child, child_peak = rss_kib(pid)
        total += child
        print(
            f"  RSS after ranking, {process_name(pid)} [{pid}]: {child:.0f} MiB "
            f"(peak {child_peak:.0f} MiB)"
        )
    print(f"  RSS after ranking, total: {total:.0f} MiB")


def top_up(profile: Profile, total: int) -> int:
    """Add old filler articles until the profile holds ``total``; returns how many were added.
    They are unread, so "For you" ranks all of them.

    They are spread over archive feeds of at most half the profile's per-feed unread cap
    (:func:`app.storage.articles.unread_cap`, 2,000 by default) each, as a reader's 100,000
    unread articles come from hundreds of feeds: one archive feed would keep only its newest
    2,000 (the cap purges the rest as they are stored), so For you would rank a twentieth of
    what the figure claims. The cap itself is left as the app ships it."""
    lines = headlines()
    with profile.db.read() as s:
        have = len(articles.article_titles(s))
        cap = articles.unread_cap(s)
    missing = max(0, total - have)
    per_feed = max(1, (cap or 2 * missing) // 2)
    now = datetime.now(UTC)
    for start in range(0, missing, per_feed):
        with profile.db.write() as s:
            number = start // per_feed
            feed = feeds.add_feed(
                s, f"https://feeds.example.org/archive-{number}.xml", title=f"Archive {number}"
            )
            items = [
                IncomingArticle(
                    dedup_key=f"archive-{n}",
                    url=f"https://example.org/archive/{n}",
                    title=f"{lines[n % len(lines)][1]} #{n}",
                    summary_html="<p>archive</p>",
                    summary_text="archive",
                    author=None,
                    published=now - timedelta(days=2, seconds=n * 7),
                )
                for n in range(start, min(missing, start + per_feed))
            ]
            articles.upsert_articles(s, feed.id, items, now)
    return missing


def build_large_profile(root: Path, total: int, feed_count: int = 500) -> float:
    """Insert ``total`` articles across ``feed_count`` feeds; returns seconds."""
    lines = headlines()
    started = time.perf_counter()
    now = datetime.now(UTC)
    per_feed = max(1, total // feed_count)
    with Profile(root) as profile:
        n = 0
        for f in range(feed_count):
            with profile.db.write() as s:
                feed = feeds.add_feed(s, f"https://feeds.example.org/{f}.xml", title=f"Feed {f}")
                items = []
                for _ in range(per_feed):
                    _, title = lines[n % len(lines)]
                    items.append(
                        IncomingArticle(
                            dedup_key=f"{f}-{n}",
                            url=f"https://example.org/{n}",
                            title=f"{title} #{n}" if n >= len(lines) else title,
                            summary_html=f"<p>{escape(title)}</p>",
                            summary_text=title,
                            author=None,
                            published=now - timedelta(seconds=n * 7),
                        )
                    )
                    n += 1
                articles.upsert_articles(s, feed.id, items, now)
    return time.perf_counter() - started


def first_paint(app: QApplication, root: Path) -> None:
    with Profile(root) as profile:
        started = time.perf_counter()
        window = MainWindow(profile, options=QUIET)
        built = time.perf_counter() - started
        window.show()
        app.processEvents()
        shown = time.perf_counter() - started
        run_until(lambda: window.river.rowCount() > 0 and bool(window.sidebar.feeds), 60)
        window.repaint()
        painted = time.perf_counter() - started
        print(f"  window constructed           {built * 1000:8.0f} ms")
        print(f"  window shown (first paint)   {shown * 1000:8.0f} ms")
        print(f"  river and sidebar filled     {painted * 1000:8.0f} ms")
        window.show_place(LATEST)
        t = time.perf_counter()
        run_until(lambda: window.river.rowCount() > 0, 30)
        page = time.perf_counter() - t
        window.river.fetchMore(window.river.index(0).parent())
        t = time.perf_counter()
        run_until(lambda: window.river.rowCount() > 200, 30)
        more = time.perf_counter() - t
        print(f"  Latest, first page (200)     {page * 1000:8.0f} ms")
        print(f"  next page (fetchMore)        {more * 1000:8.0f} ms")
        window.close()
        # delete it here, in the GUI thread; left to the garbage collector it could be
        # collected on a worker thread
        shiboken6.delete(window)


class FeedServer:
    """Serves ``/feed/N.xml`` for N in range(count); ``version`` adds new items each round.

    The server runs in a process of its own, as real feed servers are elsewhere: serving 200
    feeds from threads of the window's process would compete with the window for the GIL and
    measure the benchmark's server, not the app.
    """

    def __init__(self, count: int, per_feed: int) -> None:
        self.lines = headlines()
        context = multiprocessing.get_context("spawn")
        self._version = context.Value("i", 0)
        ports = context.SimpleQueue()
        self._process = context.Process(
            target=serve,
            args=(count, per_feed, datetime.now(UTC).timestamp(), self._version, ports),
            name="feed-server",
            daemon=True,
        )
        self._process.start()
        self.port = int(ports.get())

    @property
    def version(self) -> int:
        return int(self._version.value)

    @version.setter
    def version(self, value: int) -> None:
        self._version.value = value

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.port}/feed/{n}.xml"

    def stop(self) -> None:
        self._process.terminate()
        self._process.join(5)


def stalls(app: QApplication, root: Path, feed_count: int, epochs: int, rank_articles: int) -> None:
    server = FeedServer(feed_count, 40)
    try:
        with Profile(root) as profile:
            with profile.db.write() as s:
                for n in range(feed_count):
                    feeds.add_feed(s, server.url(n))
            t = time.perf_counter()
            summary = Refresher(profile.db).refresh()
            print(
                f"  headless first refresh: {summary.feeds} feeds, {summary.new} articles "
                f"in {time.perf_counter() - t:.1f} s"
            )
            simulate_clicks(profile, server.lines)
            window = MainWindow(profile, options=QUIET)
            window.show()
            run_until(lambda: window.river.rowCount() > 0, 60)
            probe = Probe()

            probe.start()
            t = time.perf_counter()
            window.runner.submit("preload", window.ranker.preload)
            run_until(lambda: window.runner.pending() == 0, 120)
            probe.stop()
            print(
                f"  model host start, torch import + model load ({time.perf_counter() - t:.1f} s):"
            )
            print(f"    {probe.summary()}")

            server.version = 1
            probe.start()
            t = time.perf_counter()
            window.refresh()
            run_until(lambda: not window.scheduler.refreshing, 600)
            probe.stop()
            print(f"  refresh of {feed_count} local feeds alone ({time.perf_counter() - t:.1f} s):")
            print(f"    {probe.summary()}")

            server.version = 2
            probe.start()
            t = time.perf_counter()
            window.refresh()
            window.train(epochs=epochs)
            refresh_s = train_s = 0.0

            def both_done() -> bool:
                nonlocal refresh_s, train_s
                now = time.perf_counter() - t
                if not window.scheduler.refreshing and not refresh_s:
                    refresh_s = now
                if not window.scheduler.trainer.running and not train_s:
                    train_s = now
                return bool(refresh_s and train_s)

            run_until(both_done, 900)
            probe.stop()
            print(
                f"  refresh of {feed_count} local feeds ({refresh_s:.1f} s) together with a "
                f"training round of {epochs} epochs ({train_s:.1f} s):"
            )
            print(f"    {probe.summary()}")

            added = top_up(profile, rank_articles)
            with profile.db.read() as s:
                unread = len(articles.unread_ids(s))
                ranked = len(query.candidate_ids(s, unread_only=True))
            print(
                f"  added {added:,} older articles: {unread:,} unread, of which 'For you' "
                f"ranks {ranked:,} (copies of one story are ranked once)"
            )
            hosts = [p for p in descendants(os.getpid()) if "model host" in process_name(p)]
            cpu = sum(cpu_seconds(p) for p in hosts)
            probe.start()
            t = time.perf_counter()
            window.show_place(FOR_YOU)
            run_until(lambda: window.river.rowCount() > 0 and not window.river.loading, 300)
            shown_s = time.perf_counter() - t
            shown_cpu = sum(cpu_seconds(p) for p in hosts) - cpu
            waiting = window.reranking.unranked
            first = river_scores(window)
            run_until(lambda: not window.reranking.unranked and not window.reranking.running, 300)
            whole_s = time.perf_counter() - t
            whole_cpu = sum(cpu_seconds(p) for p in hosts) - cpu
            probe.stop()
            print(
                f"  'For you' shown ({window.river.mode}, {waiting:,} older articles still to "
                f"rank) in {shown_s:.2f} s, model host CPU {shown_cpu:.2f} s, "
                f"load {os.getloadavg()[0]:.1f}"
            )
            print(
                f"  'For you' ranked ({window.river.mode}, all {ranked:,}) in {whole_s:.2f} s, "
                f"model host CPU {whole_cpu:.2f} s, load {os.getloadavg()[0]:.1f}; "
                f"{probe.summary()}"
            )
            final = river_scores(window)
            moved = [abs(final[a] - v) for a, v in list(first.items())[:30] if a in final]
            print(
                f"  its top 30 when shown: numbers moved by at most {max(moved, default=0):.4f} "
                f"once all were ranked (the pool's spread and fair top moved); of the top 30 "
                f"after, {sum(a not in first for a in list(final)[:30])} were ranked after it "
                f"was shown"
            )
            memory_report(skip=server.pid)
            click_to_reorder(window, unread)
            server.version = 3
            all_at_once(window, feed_count, epochs, ranked)
            passes = window.sweeper.passes
            print(
                f"  the window's full collection passes, run while it was idle: "
                f"{window.sweeper.count}" + (f" (longest {max(passes):.0f} ms)" if passes else "")
            )
            window.close()
            shiboken6.delete(window)
    finally:
        server.stop()


def _longer_than(items: list[int], size: int) -> Callable[[], bool]:
    return lambda: len(items) > size


def click_to_reorder(window: MainWindow, unread: int, clicks: int = 10) -> None:
    """The time from a recorded open (the desk's ``record_click``, as a long enough read or
    "open in browser" calls it) to For you re-ranked below the row being read, over
    ``clicks`` opens of rows further and further down; and whether that row ever moved."""
    if window.river.mode != "ranked":
        print(f"  click to reordered For you: skipped (For you is {window.river.mode})")
        return
    done: list[int] = []
    window.reranking.reranked.connect(done.append)
    took: list[float] = []
    moved = changed = 0
    sidebar: list[float] = []  # each open reloads the sidebar's counts: the GUI thread's part
    sidebar_cpu: list[float] = []
    shown = window._on_overview_loaded

    def timed_sidebar(overview: Any) -> None:
        t, cpu = time.perf_counter(), time.thread_time()
        shown(overview)
        sidebar.append((time.perf_counter() - t) * 1000)
        sidebar_cpu.append((time.thread_time() - cpu) * 1000)

    window._on_overview_loaded = timed_sidebar  # type: ignore[method-assign]
    probe = Probe()
    probe.start()
    for n in range(clicks):
        row = min(3 + 4 * n, window.river.rowCount() - 2)
        window.river_view.setCurrentIndex(window.river.index(row))
        window.river_view.scrollTo(window.river.index(row))
        article = window.river.article_at(row)
        run_until(lambda: window.runner.pending() == 0, 30)  # its "mark read" is not timed
        if article is None or window.desk.reading is None:
            continue
        before = len(done)
        t = time.perf_counter()
        window.desk.record_click(article.id, 20.0, window.desk.reading)
        run_until(_longer_than(done, before), 60)
        took.append(time.perf_counter() - t)
        changed += sum(done[before:])
        moved += window.river.article_at(row) != article
    probe.stop()
    run_until(lambda: window.runner.pending() == 0, 30)  # the last highlights
    del window._on_overview_loaded
    if not took:
        print("  click to reordered For you: no click was recorded")
        return
    if sidebar:
        print(
            f"  sidebar reloads during the opens: {len(sidebar)}, on the GUI thread "
            f"p50 {statistics.median(sidebar):.1f} ms, max {max(sidebar):.1f} ms "
            f"(on a CPU p50 {statistics.median(sidebar_cpu):.1f} ms, "
            f"max {max(sidebar_cpu):.1f} ms)"
        )
    ms = sorted(s * 1000 for s in took)
    print(
        f"  click to reordered For you ({len(ms)} opens, {unread:,} unread): "
        f"p50 {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms; "
        f"{changed / len(ms):.0f} rows below re-ranked per open, the row being read moved "
        f"{moved} times; {probe.summary()}"
    )


def simulate_clicks(profile: Profile, lines: list[tuple[int, str]]) -> None:
    """A simulated reader: opens the Sci/Tech stories among the newest unread, skips the rest."""
    topic = {title: cls for cls, title in lines}
    with profile.db.read() as s:
        river = articles.list_articles(s, unread_only=True, limit=400)
    session = activity.new_session()
    shown: list[int] = []
    clicks = 0
    for a in river:
        if topic.get(a.title) == 4 and clicks < 40:
            activity.record_click(profile.db, a.id, session, dwell=20.0, shown_above=shown[-10:])
            clicks += 1
        else:
            shown.append(a.id)
    print(f"  simulated {clicks} clicks (Sci/Tech stories) with skipped stories as impressions")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--rank-articles",
        type=int,
        default=100_000,
        help="articles in the profile when 'For you' is ranked (0: only the refreshed ones)",
    )
    parser.add_argument(
        "--trace-stalls",
        type=int,
        default=0,
        metavar="MS",
        help="write every thread's stack to stderr when the event loop stalls this long",
    )
    args = parser.parse_args()
    Probe.trace_ms = args.trace_stalls
    # A spawned helper process re-imports the main script unless its spec names it __main__.
    # This script imports Qt at the top, which main.py does not; keep Qt out of the helpers so
    # that their memory is what the app's would be.
    sys.modules["__main__"].__spec__ = importlib.machinery.ModuleSpec("__main__", None)
    app = QApplication(sys.argv[:1])
    print(f"Heedful GUI benchmark ({os.cpu_count()} CPUs, Qt platform {app.platformName()})")
    with tempfile.TemporaryDirectory() as tmp:
        large = Path(tmp) / "large"
        print(f"1. first paint with {args.articles:,} articles")
        seconds = build_large_profile(large, args.articles)
        print(f"  profile built through the storage API in {seconds:.1f} s")
        first_paint(app, large)
        print(f"2. event-loop stalls ({args.feeds} local feeds)")
        stalls(app, Path(tmp) / "busy", args.feeds, args.epochs, args.rank_articles)


if __name__ == "__main__":
    main()
