"""Refresh throughput: N local feeds of M items each, first refresh and an all-304 second one.

Prints the wall time of both refreshes, their CPU time (which depends less on what else runs),
the peak resident memory of this process and of its largest parser process (VmHWM, sampled from
/proc while the refresh runs), the load average before and after each refresh, and the figures
measured before the refresh was batched, side by side. The feeds are generated and served from
127.0.0.1 by a threaded standard-library server in a process of its own (``--server process``,
the default): in this process its threads would compete for the interpreter's lock with the
fetcher threads and the writer, and on a 2-core machine the server alone took a large part of
the refresh's time. ``--server thread`` serves from a thread of this process, as the benchmark
did before.

    python bench/refresh.py [--feeds 500] [--items 50] [--server process|thread]
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
    "label": "before batching (commit 74c8acd, 5000 x 50, server in-process, load 0.4 -> 5.2)",
    "cold": 182.49,
    "not_modified": 15.47,
    "rss": 356.5,
    "parser_rss": None,
}
"""The figures of the refresh before its writes were batched, on this 2-core machine while
other agents' jobs ran (issue 19 quotes 41.7 s cold, 139 MiB plus two 28 MiB parsers, from a
quieter run)."""


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
    """Serves the generated feeds, with an ETag so that a second fetch gets 304."""

    bodies: ClassVar[dict[str, bytes]] = {}
    etags: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        body = self.bodies.get(self.path)
        if body is None:
            self.send_error(404)
            return
        etag = self.etags[self.path]
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


def _server(count: int, items: int) -> ThreadingHTTPServer:
    FeedHandler.bodies = {f"/feed/{i}.xml": make_feed(i, items) for i in range(count)}
    FeedHandler.etags = {
        path: '"' + hashlib.sha1(body).hexdigest() + '"'
        for path, body in FeedHandler.bodies.items()
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    server.daemon_threads = True
    server.request_queue_size = 1024
    return server


def _serve(count: int, items: int, ports: Any) -> None:
    """The server process: answer until terminated."""
    server = _server(count, items)
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


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--server", choices=("process", "thread"), default="process")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    skip: set[int] = set()
    process = None
    if args.server == "process":
        ports: Any = multiprocessing.get_context("spawn").Queue()
        process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(args.feeds, args.items, ports), daemon=True
        )
        process.start()
        port = ports.get(timeout=120)
        skip.add(process.pid or 0)
        server = None
    else:
        server = _server(args.feeds, args.items)
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
        cpu = [_cpu()]
        t0 = time.perf_counter()
        first = refresher.refresh()
        t1 = time.perf_counter()
        loads.append(_load())
        cpu.append(_cpu())
        second = refresher.refresh()
        t2 = time.perf_counter()
        loads.append(_load())
        cpu.append(_cpu())
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
    print(f"{'':18}{'now':>10}{'before':>10}  target")
    print(f"{'cold refresh':18}{cold:9.2f}s{BEFORE['cold']:9.2f}s  <= 25 s at 5000 x 50")
    print(f"{'all-304 refresh':18}{warm:9.2f}s{BEFORE['not_modified']:9.2f}s  <= 5 s at 5000")
    for name, at in (("cold CPU, self", 1), ("all-304 CPU, self", 2)):
        print(f"{name:18}{cpu[at][0] - cpu[at - 1][0]:9.2f}s{'':10}  the refresher's process")
    print(f"{'cold CPU, parsers':18}{cpu[1][1] - cpu[0][1]:9.2f}s{'':10}  "
          "its parser processes (the server's not counted)")  # fmt: skip
    print(f"{'peak RSS, self':18}{peak_mb:8.1f}MB{BEFORE['rss']:8.1f}MB")
    print(f"{'peak RSS, parser':18}{children.peak:8.1f}MB{'n/a':>10}  "
          f"({children.count} parser processes at most)")  # fmt: skip
    print(f"before: {BEFORE['label']}")
    for failure in first.failures[:5]:
        print(f"  failed: {failure.url}: {failure.message}")


if __name__ == "__main__":
    main()
