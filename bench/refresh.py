"""Refresh throughput: N local feeds of M items each, first refresh, an all-304 second one,
and a third in which every feed has a few new items (the everyday refresh).

Prints the wall time of both refreshes, their CPU time (which depends less on what else runs),
and of it that of the thread that schedules and writes (this one; the rest is the fetcher
threads' and the parser pool's), that of the server process (which shares the cores), the peak
resident memory of this process and of its largest parser process (VmHWM, sampled from /proc
while the refresh runs), the load average before and after each refresh, and the figures
measured before the refresh was batched, side by side. The feeds are generated and served from
127.0.0.1 by a threaded standard-library server in a process of its own (``--server process``,
the default): in this process its threads would compete for the interpreter's lock with the
fetcher threads and the writer, and on a 2-core machine the server alone took a large part of
the refresh's time. ``--server thread`` serves from a thread of this process, as the benchmark
did before.

The third refresh (``--new K`` items a feed, 5 by default; 0 skips it) is the one a reader
runs every day: every feed answers with its items and K newer ones, so each is stored through
the general path (what is there already is read back, for a batch of feeds at once, and
compared), not the first fetch's bulk insert.

    python bench/refresh.py [--feeds 500] [--items 50] [--new 5] [--server process|thread]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import multiprocessing
import os
import resource
import tempfile
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from xml.sax.saxutils import escape

from app.services.profile import Profile
from app.services.refresh import Refresher
from app.storage import feeds

WORDS = [
    *("market", "election", "storm", "vaccine", "league", "budget", "rocket", "climate"),
    *("court", "startup", "chip", "museum", "drought", "strike", "summit", "merger"),
    *("orbit", "festival", "transfer", "inflation"),
]

BEFORE = {
    "label": "commit 74c8acd (before this work), this bench, 5000 x 50, load 15.9 -> 16.7",
    "cold": 822.60,
    "not_modified": 29.84,
    "cold_cpu": 63.55,
    "not_modified_cpu": 9.72,
    "parser_cpu": 106.23,
    "rss": 281.4,
    "parser_rss": 59.3,
}
"""The refresh before its writes were batched and plain RSS skipped feedparser, measured with
this benchmark on this 2-core machine while other agents' jobs ran (load 16-17). The wall times
follow the load (at 9.5-14 the same code took 443 s cold and 51 s all-304, with the same CPU
times), so compare the CPU times first. With the server in this process and a load of 0.4-5.2
it took 182.5 s cold and 15.5 s all-304 (356.5 MB); issue 19 quotes 41.7 s cold, 139 MiB plus
two 28 MiB parsers, from a quieter run. docs/benchmarks/refresh.md has every run."""


def make_feed(index: int, items: int) -> bytes:
    """An RSS 2.0 document with ``items`` entries, deterministic for ``index``."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
        f"<title>Feed {index}</title><link>http://example.org/{index}</link>",
    ]
    for j in range(items):
        w = [WORDS[(index * 7 + j * k) % len(WORDS)] for k in (1, 3, 5, 11)]
        title = escape(f"{w[0].title()} {w[1]} as {w[2]} meets {w[3]} ({index}-{j})")
        date = formatdate(1_700_000_000 + index * 1000 + j * 60, usegmt=True)
        parts.append(
            f"<item><title>{title}</title><link>http://example.org/{index}/{j}</link>"
            f"<guid>urn:bench:{index}:{j}</guid><pubDate>{date}</pubDate>"
            f"<description>&lt;p&gt;{title} &lt;b&gt;in depth&lt;/b&gt;.&lt;/p&gt;"
            f"</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


class FeedHandler(BaseHTTPRequestHandler):
    """Serves the generated feeds, with an ETag so that a second fetch gets 304; once
    ``phase`` is 1, the later versions (a few newer items each)."""

    bodies: ClassVar[dict[str, bytes]] = {}
    etags: ClassVar[dict[str, str]] = {}
    later: ClassVar[dict[str, bytes]] = {}
    later_etags: ClassVar[dict[str, str]] = {}
    phase: ClassVar[Any] = None

    def do_GET(self) -> None:
        late = self.phase is not None and self.phase.value == 1
        body = (self.later if late else self.bodies).get(self.path)
        if body is None:
            self.send_error(404)
            return
        etag = (self.later_etags if late else self.etags)[self.path]
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def _etags(bodies: dict[str, bytes]) -> dict[str, str]:
    return {path: '"' + hashlib.sha1(body).hexdigest() + '"' for path, body in bodies.items()}


def _server(count: int, items: int, new: int, phase: Any) -> ThreadingHTTPServer:
    FeedHandler.bodies = {f"/feed/{i}.xml": make_feed(i, items) for i in range(count)}
    FeedHandler.etags = _etags(FeedHandler.bodies)
    FeedHandler.later = (
        {f"/feed/{i}.xml": make_feed(i, items + new) for i in range(count)} if new else {}
    )
    FeedHandler.later_etags = _etags(FeedHandler.later)
    FeedHandler.phase = phase
    server = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    server.daemon_threads = True
    server.request_queue_size = 1024
    return server


def _serve(count: int, items: int, new: int, phase: Any, ports: Any) -> None:
    """The server process: answer until terminated."""
    server = _server(count, items, new, phase)
    ports.put(server.server_address[1])
    server.serve_forever()


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry))
    return found


def _hwm_mib(pid: int) -> float:
    """Peak resident memory of a process (VmHWM), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class ChildPeak:
    """Samples the peak resident memory of this process's children (the server's left out)."""

    def __init__(self, skip: set[int]) -> None:
        self.peak = 0.0
        self.count = 0
        self._skip = skip
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            pids = [p for p in _children(os.getpid()) if p not in self._skip]
            self.count = max(self.count, len(pids))
            for pid in pids:
                self.peak = max(self.peak, _hwm_mib(pid))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _cpu() -> tuple[float, float]:
    """CPU seconds (user and system) of this process, and of its children that have ended."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, ended.ru_utime + ended.ru_stime


def _process_cpu(pid: int | None) -> float:
    """CPU seconds (user and system) of another process so far, 0 when it is not there."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--new", type=int, default=5, help="new items a feed in the third refresh")
    parser.add_argument("--server", choices=("process", "thread"), default="process")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    skip: set[int] = set()
    process = None
    phase: Any = multiprocessing.get_context("spawn").Value("i", 0)
    if args.server == "process":
        ports: Any = multiprocessing.get_context("spawn").Queue()
        process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(args.feeds, args.items, args.new, phase, ports), daemon=True
        )
        process.start()
        port = ports.get(timeout=120)
        skip.add(process.pid or 0)
        server = None
    else:
        server = _server(args.feeds, args.items, args.new, phase)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
    skip.update(_children(os.getpid()))  # the spawn machinery's own helpers
    base = f"http://127.0.0.1:{port}"

    with tempfile.TemporaryDirectory() as tmp, Profile(Path(tmp)) as profile:
        with profile.db.write() as s:
            for i in range(args.feeds):
                feeds.add_feed(s, f"{base}/feed/{i}.xml")
        refresher = Refresher(profile.db)
        children = ChildPeak(skip)
        loads = [_load()]
        server_pid = None if process is None else process.pid
        cpu = [_cpu()]
        served = [_process_cpu(server_pid)]
        writer = [time.thread_time()]  # the refresh schedules and writes in the calling thread

        def taken() -> float:
            """The time the refresh ended; then read the load, the CPU and the writer's time."""
            ended = time.perf_counter()
            loads.append(_load())
            cpu.append(_cpu())
            served.append(_process_cpu(server_pid))
            writer.append(time.thread_time())
            return ended

        t0 = time.perf_counter()
        first = refresher.refresh()
        t1 = taken()
        second = refresher.refresh()
        t2 = taken()
        third = None
        t3 = t2
        if args.new:
            phase.value = 1
            third = refresher.refresh()
            t3 = taken()
        children.stop()
    if server is not None:
        server.shutdown()
    if process is not None:
        process.terminate()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cold, warm = t1 - t0, t2 - t1
    print(f"feeds: {args.feeds} x {args.items} items, served from {base} ({args.server})")
    print(f"load average (1, 5, 15 min): before {loads[0]}, after cold {loads[1]}, "
          f"after 304 {loads[2]}")  # fmt: skip
    print(f"cold: ok={first.ok} failed={first.failed} new={first.new}; "
          f"all-304: not_modified={second.not_modified} failed={second.failed}")  # fmt: skip
    if third is not None:
        print(f"new items: ok={third.ok} failed={third.failed} new={third.new} "
              f"({args.new} a feed); load after {loads[3]}")  # fmt: skip
    print(f"{'':18}{'now':>10}{'before':>10}  target")
    rows = [
        ("cold refresh", f"{cold:9.2f}s", f"{BEFORE['cold']:9.2f}s", "<= 25 s at 5000 x 50"),
        ("all-304 refresh", f"{warm:9.2f}s", f"{BEFORE['not_modified']:9.2f}s", "<= 5 s at 5000"),
        ("cold CPU, self", f"{cpu[1][0] - cpu[0][0]:9.2f}s", f"{BEFORE['cold_cpu']:9.2f}s",
         "the refresher's process"),
        ("  writer thread", f"{writer[1] - writer[0]:9.2f}s", "",
         "of it, the thread that schedules and writes (the rest: fetchers, parser pool)"),
        ("all-304 CPU, self", f"{cpu[2][0] - cpu[1][0]:9.2f}s",
         f"{BEFORE['not_modified_cpu']:9.2f}s", "the refresher's process"),
        ("  writer thread", f"{writer[2] - writer[1]:9.2f}s", "", "of it"),
        ("cold CPU, parsers", f"{cpu[1][1] - cpu[0][1]:9.2f}s", f"{BEFORE['parser_cpu']:9.2f}s",
         "its parser processes (not the server's)"),
        ("server CPU, cold", f"{served[1] - served[0]:9.2f}s", "", "the bench's own server "
         "process, which shares the cores (0 with --server thread)"),
        ("server CPU, 304", f"{served[2] - served[1]:9.2f}s", "", ""),
        ("peak RSS, self", f"{peak_mb:8.1f}MB", f"{BEFORE['rss']:8.1f}MB", ""),
        ("peak RSS, parser", f"{children.peak:8.1f}MB", f"{BEFORE['parser_rss']:8.1f}MB",
         f"the largest; {children.count} parser processes at most"),
    ]  # fmt: skip
    if third is not None:
        rows += [
            ("new-items refresh", f"{t3 - t2:9.2f}s", "", "every feed with new items"),
            ("new-items CPU", f"{cpu[3][0] - cpu[2][0]:9.2f}s", "", "the refresher's process"),
            ("  writer thread", f"{writer[3] - writer[2]:9.2f}s", "", "of it"),
            ("new-items parsers", f"{cpu[3][1] - cpu[2][1]:9.2f}s", "", "its parser processes"),
        ]  # fmt: skip
    for name, now, before, note in rows:
        print(f"{name:18}{now:>10}{before:>10}  {note}")
    print(f"before: {BEFORE['label']}")
    for failure in first.failures[:5]:
        print(f"  failed: {failure.url}: {failure.message}")


if __name__ == "__main__":
    main()
