"""Refresh throughput: N local feeds of M items each, first refresh and an all-304 second one.

Prints wall time of both refreshes and the peak resident memory of this process. The feeds are
generated and served from 127.0.0.1 by a threaded standard-library server in this process.

    python bench/refresh.py [--feeds 500] [--items 50]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import resource
import tempfile
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from xml.sax.saxutils import escape

from app.services.profile import Profile
from app.services.refresh import Refresher
from app.storage import feeds

WORDS = [
    *("market", "election", "storm", "vaccine", "league", "budget", "rocket", "climate"),
    *("court", "startup", "chip", "museum", "drought", "strike", "summit", "merger"),
    *("orbit", "festival", "transfer", "inflation"),
]


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
    bodies: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.bodies.get(self.path)
        if body is None:
            self.send_error(404)
            return
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=50)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    FeedHandler.bodies = {f"/feed/{i}.xml": make_feed(i, args.items) for i in range(args.feeds)}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    server.daemon_threads = True
    server.request_queue_size = 256
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    with tempfile.TemporaryDirectory() as tmp, Profile(Path(tmp)) as profile:
        with profile.db.write() as s:
            for i in range(args.feeds):
                feeds.add_feed(s, f"{base}/feed/{i}.xml")
        refresher = Refresher(profile.db)
        t0 = time.perf_counter()
        first = refresher.refresh()
        t1 = time.perf_counter()
        second = refresher.refresh()
        t2 = time.perf_counter()
    server.shutdown()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"feeds: {args.feeds} x {args.items} items, served from {base}")
    print(
        f"first refresh:  {t1 - t0:6.2f} s  ok={first.ok} failed={first.failed} "
        f"new={first.new}  (target < 15 s for 500 x 50)"
    )
    print(
        f"second refresh: {t2 - t1:6.2f} s  not_modified={second.not_modified} "
        f"failed={second.failed}  (target < 3 s)"
    )
    print(
        f"peak RSS:       {peak_mb:6.1f} MB in this process, {child_mb:.1f} MB in the largest "
        "parser process  (target < 300 MB)"
    )
    for failure in first.failures[:5]:
        print(f"  failed: {failure.url}: {failure.message}")


if __name__ == "__main__":
    main()
