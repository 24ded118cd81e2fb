"""A local RSS server for the GUI benchmark, run in a process of its own (see bench/gui.py)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
AG_NEWS = ROOT.parent / "shared" / "data" / "headlines" / "ag_news" / "test.csv"


def headlines() -> list[tuple[int, str]]:
    """(class, title) pairs: AG News when present (1 World, 2 Sports, 3 Business, 4 Sci/Tech)."""
    if AG_NEWS.is_file():
        with AG_NEWS.open(encoding="utf-8", newline="") as handle:
            return [(int(row[0]), row[1].strip()) for row in csv.reader(handle) if len(row) >= 2]
    words = ["market", "rocket", "league", "vote", "chip", "storm", "film", "court"]
    return [
        (1 + i % 4, f"{words[i % 8]} story {i} about {words[(i * 3) % 8]}") for i in range(4000)
    ]


def serve(count: int, per_feed: int, start_ts: float, version: Any, ports: Any) -> None:
    """The feed server process: answer until terminated."""
    lines = headlines()
    start = datetime.fromtimestamp(start_ts, UTC)

    def body(path: str) -> bytes:
        try:
            n = int(path.rsplit("/", 1)[-1].removesuffix(".xml"))
        except ValueError:
            return b""
        if not 0 <= n < count:
            return b""
        items = []
        for i in range(per_feed + 10 * int(version.value)):
            k = (n * 97 + i) % len(lines)
            title = lines[k][1]
            when = format_datetime(start - timedelta(minutes=i * 5 + n))
            items.append(
                f"<item><title>{escape(title)}</title><link>https://example.org/{n}/{i}</link>"
                f"<guid>{n}-{i}</guid><pubDate>{when}</pubDate>"
                f"<description>{escape(title)}</description></item>"
            )
        return (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title>'
            f"{''.join(items)}</channel></rss>"
        ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = body(self.path)
            self.send_response(200 if data else 404)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    ports.put(httpd.server_address[1])
    httpd.serve_forever()
