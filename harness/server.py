"""A real local HTTP server on 127.0.0.1, for the tests and the benchmarks.

A :class:`LocalServer` serves a route table (path -> Reply, or path -> handler returning a
Reply) on a random port in a background thread; its owner then inspects what it received:
per-path request counts and every request's headers.

    server = LocalServer()
    server.route("/feed.xml", Reply(body=b"<rss/>", content_type="application/rss+xml"))
    url = server.url("/feed.xml")
    ...
    assert server.count("/feed.xml") == 1
    assert server.last("/feed.xml").headers["user-agent"].startswith("Heedful")
    server.stop()

A Reply can delay its headers, stream its body from an iterable of chunks and
pause between chunks (a slow-drip server). Paths are matched without the query
string; an unknown path answers 404.
"""

from __future__ import annotations

import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    """What the server received: method, path (no query), query and lower-cased headers."""

    method: str
    path: str
    query: str
    headers: dict[str, str]


@dataclass
class Reply:
    """A canned response.

    ``body`` is bytes, or an iterable of byte chunks streamed one by one (its
    length is then unknown and the connection closes at the end; an iterator is
    used up by the first request, so route a handler when a path is hit more than
    once). ``delay`` is slept before the status line; ``chunk_delay`` between chunks.
    """

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    content_type: str | None = "application/xml"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk_delay: float = 0.0


Handler = Callable[[Request], Reply]


class LocalServer:
    """A route table served over HTTP on 127.0.0.1, with counters of what it saw."""

    def __init__(self) -> None:
        self._routes: dict[str, Reply | Handler] = {}
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                server._serve(self)

            def do_HEAD(self) -> None:
                server._serve(self)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.base_url + path

    def route(self, path: str, reply: Reply | Handler) -> None:
        """Answer requests for ``path`` with ``reply`` (or with what the handler returns)."""
        with self._lock:
            self._routes[path] = reply

    def count(self, path: str) -> int:
        """How many requests ``path`` received."""
        with self._lock:
            return self.counts[path]

    def received(self, path: str) -> list[Request]:
        """Every request received for ``path``, oldest first."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def last(self, path: str) -> Request:
        """The latest request received for ``path``."""
        requests = self.received(path)
        assert requests, f"no request for {path}"
        return requests[-1]

    def stop(self) -> None:
        """Stop serving; streaming replies end at their next chunk."""
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        request = Request(
            method=handler.command,
            path=parts.path,
            query=parts.query,
            headers={k.lower(): v for k, v in handler.headers.items()},
        )
        with self._lock:
            self.counts[request.path] += 1
            self.requests.append(request)
            route = self._routes.get(request.path)
        try:
            if route is None:
                reply = Reply(status=404, body=b"not found", content_type="text/plain")
            elif isinstance(route, Reply):
                reply = route
            else:
                reply = route(request)
            self._send(handler, reply)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            pass  # the client gave up, which is what several tests provoke

    def _send(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if reply.delay and self.stopping.wait(reply.delay):
            return
        handler.send_response(reply.status)
        if reply.content_type is not None:
            handler.send_header("Content-Type", reply.content_type)
        if isinstance(reply.body, bytes):
            handler.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if handler.command == "HEAD":
            return
        chunks: Iterable[bytes] = [reply.body] if isinstance(reply.body, bytes) else reply.body
        for chunk in chunks:
            if self.stopping.is_set():
                return
            handler.wfile.write(chunk)
            handler.wfile.flush()
            if reply.chunk_delay and self.stopping.wait(reply.chunk_delay):
                return


_BOMB_CACHE: dict[int, bytes] = {}


def gzip_bomb(mebibytes: int = 1024) -> bytes:
    """A valid gzip stream of ``mebibytes`` MiB of zero bytes (1 GiB gives about 1 MB).

    Each 1 MiB block is compressed after a full flush, which resets the compressor, so
    every block after the first compresses to the same bytes: the stream is built by
    repeating them and writing the trailer (CRC-32 and size) directly, and the decoded
    size is never held in memory or even compressed.
    """
    if mebibytes not in _BOMB_CACHE:
        block = bytes(1 << 20)
        compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
        repeat = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
        final_block = compressor.flush()[:-8]  # the last (empty) block, without its trailer
        crc = 0
        for _ in range(mebibytes):
            crc = zlib.crc32(block, crc)
        trailer = struct.pack("<II", crc, (mebibytes << 20) & 0xFFFFFFFF)
        _BOMB_CACHE[mebibytes] = first + repeat * (mebibytes - 1) + final_block + trailer
    return _BOMB_CACHE[mebibytes]


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    """Split ``data`` into chunks of ``size`` bytes (for streamed replies)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
