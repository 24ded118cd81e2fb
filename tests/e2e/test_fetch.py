"""The fetcher against a real local HTTP server."""

from __future__ import annotations

import gzip
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from app.feeds.fetcher import Fetcher, FetchError, FetchLimits
from app.feeds.parser import parse_feed
from harness.server import LocalServer, Reply, Request, chunked, gzip_bomb

RSS = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Local</title>'
    b"<link>http://127.0.0.1/</link><item><title>First</title><link>/a/1</link>"
    b"<guid>1</guid><description>Hello &lt;b&gt;world&lt;/b&gt;</description></item>"
    b"</channel></rss>"
)

FAST = FetchLimits(connect_timeout=2.0, total_timeout=2.0, max_bytes=1 << 20, max_redirects=5)


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(FAST) as f:
        yield f


def test_plain_fetch_sends_our_headers_and_parses(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    http_server.route("/feed", Reply(body=RSS, content_type="application/rss+xml"))
    result = fetcher.fetch(http_server.url("/feed"))
    assert result.status == 200
    assert result.body == RSS
    assert result.headers["content-type"] == "application/rss+xml"
    assert not result.not_modified
    seen = http_server.last("/feed").headers
    assert seen["user-agent"] == FAST.user_agent
    assert seen["accept"].startswith("application/atom+xml, application/rss+xml")
    assert "gzip" in seen["accept-encoding"]
    feed = parse_feed(result.body or b"", result.headers, result.url)
    assert feed.title == "Local"
    assert feed.entries[0].url == http_server.url("/a/1")


def test_etag_revalidation_gets_304(http_server: LocalServer, fetcher: Fetcher) -> None:
    def handler(request: Request) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(status=304, body=b"", content_type=None, headers={"ETag": '"v1"'})
        return Reply(body=RSS, headers={"ETag": '"v1"'})

    http_server.route("/feed", handler)
    first = fetcher.fetch(http_server.url("/feed"))
    assert first.etag == '"v1"' and first.body == RSS
    second = fetcher.fetch(http_server.url("/feed"), etag=first.etag)
    assert second.not_modified and second.body is None and second.status == 304
    assert second.etag == '"v1"'
    assert http_server.last("/feed").headers["if-none-match"] == '"v1"'
    assert http_server.count("/feed") == 2


def test_last_modified_revalidation_gets_304(http_server: LocalServer, fetcher: Fetcher) -> None:
    stamp = "Wed, 21 Oct 2015 07:28:00 GMT"

    def handler(request: Request) -> Reply:
        if request.headers.get("if-modified-since") == stamp:
            return Reply(status=304, body=b"", content_type=None)
        return Reply(body=RSS, headers={"Last-Modified": stamp})

    http_server.route("/feed", handler)
    first = fetcher.fetch(http_server.url("/feed"))
    assert first.last_modified == stamp and first.etag is None
    second = fetcher.fetch(http_server.url("/feed"), last_modified=first.last_modified)
    assert second.not_modified and second.body is None
    assert second.last_modified == stamp  # kept from the request when the 304 omits it
    assert http_server.last("/feed").headers["if-modified-since"] == stamp


def test_redirect_chain_is_followed(http_server: LocalServer, fetcher: Fetcher) -> None:
    for hop in range(5):
        target = f"/hop{hop + 1}" if hop < 4 else "/final"
        status = (301, 302, 303, 307, 308)[hop]
        http_server.route(f"/hop{hop}", Reply(status=status, headers={"Location": target}))
    http_server.route("/final", Reply(body=RSS))
    result = fetcher.fetch(http_server.url("/hop0"))
    assert result.url == http_server.url("/final")
    assert result.body == RSS
    assert [http_server.count(f"/hop{i}") for i in range(5)] == [1] * 5


def test_too_many_redirects_are_refused(http_server: LocalServer, fetcher: Fetcher) -> None:
    for hop in range(6):
        http_server.route(f"/hop{hop}", Reply(status=302, headers={"Location": f"/hop{hop + 1}"}))
    http_server.route("/hop6", Reply(body=RSS))
    with pytest.raises(FetchError, match="too many redirects"):
        fetcher.fetch(http_server.url("/hop0"))
    assert http_server.count("/hop6") == 0


def test_redirect_loop_is_refused(http_server: LocalServer, fetcher: Fetcher) -> None:
    http_server.route("/a", Reply(status=302, headers={"Location": "/b"}))
    http_server.route("/b", Reply(status=302, headers={"Location": "/a"}))
    with pytest.raises(FetchError, match="too many redirects"):
        fetcher.fetch(http_server.url("/a"))
    assert http_server.count("/a") + http_server.count("/b") == FAST.max_redirects + 1


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://127.0.0.1/feed", "javascript:alert(1)", "data:,x"]
)
def test_redirect_to_non_web_scheme_is_refused(
    http_server: LocalServer, fetcher: Fetcher, location: str
) -> None:
    http_server.route("/feed", Reply(status=301, headers={"Location": location}))
    with pytest.raises(FetchError, match="non-web address") as info:
        fetcher.fetch(http_server.url("/feed"))
    assert "passwd" not in info.value.message


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/f", "javascript:alert(1)", "feed.xml"]
)
def test_non_web_urls_are_refused_without_a_request(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError, match="only http and https"):
        fetcher.fetch(url)


def test_server_slower_than_total_timeout(http_server: LocalServer) -> None:
    http_server.route("/slow", Reply(body=RSS, delay=3.0))
    limits = FetchLimits(connect_timeout=1.0, total_timeout=0.5)
    start = time.monotonic()
    with Fetcher(limits) as fetcher, pytest.raises(FetchError, match="in time"):
        fetcher.fetch(http_server.url("/slow"))
    assert time.monotonic() - start < 2.5


def test_slow_drip_body_hits_the_total_deadline(http_server: LocalServer) -> None:
    # Each chunk arrives well within any per-read timeout; only a wall-clock deadline stops it.
    http_server.route("/drip", Reply(body=(b"<" for _ in range(1000)), chunk_delay=0.1))
    limits = FetchLimits(connect_timeout=1.0, total_timeout=0.8)
    start = time.monotonic()
    with Fetcher(limits) as fetcher, pytest.raises(FetchError, match="in time"):
        fetcher.fetch(http_server.url("/drip"))
    assert time.monotonic() - start < 2.0


def test_oversized_body_is_refused(http_server: LocalServer) -> None:
    big = b"<rss>" + b" " * (64 * 1024) + b"</rss>"
    http_server.route("/big", Reply(body=big))
    http_server.route("/big-stream", Reply(body=chunked(big, 4096)))
    limits = FetchLimits(max_bytes=32 * 1024, total_timeout=2.0)
    with Fetcher(limits) as fetcher:
        with pytest.raises(FetchError, match="larger than 32768 bytes"):
            fetcher.fetch(http_server.url("/big"))
        with pytest.raises(FetchError, match="larger than 32768 bytes"):
            fetcher.fetch(http_server.url("/big-stream"))
        http_server.route("/fits", Reply(body=big[: 32 * 1024]))
        assert len(fetcher.fetch(http_server.url("/fits")).body or b"") == 32 * 1024


def test_gzip_bomb_is_refused_with_bounded_memory(http_server: LocalServer) -> None:
    bomb = gzip_bomb()  # 1 GiB of zeros, about 1 MB compressed
    assert len(bomb) < 2 * 1024 * 1024
    http_server.route(
        "/bomb", Reply(body=chunked(bomb, 64 * 1024), headers={"Content-Encoding": "gzip"})
    )
    cap = 1024 * 1024
    with Fetcher(FetchLimits(max_bytes=cap, total_timeout=5.0)) as fetcher:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match="larger than"):
                fetcher.fetch(http_server.url("/bomb"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 6 * cap, f"peak {peak} bytes while refusing a bomb capped at {cap}"


def test_gzip_and_deflate_bodies_are_decoded(http_server: LocalServer, fetcher: Fetcher) -> None:
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw = raw_deflate.compress(RSS) + raw_deflate.flush()
    http_server.route("/gz", Reply(body=gzip.compress(RSS), headers={"Content-Encoding": "gzip"}))
    http_server.route(
        "/zl", Reply(body=zlib.compress(RSS), headers={"Content-Encoding": "deflate"})
    )
    http_server.route("/raw", Reply(body=raw, headers={"Content-Encoding": "deflate"}))
    for path in ("/gz", "/zl", "/raw"):
        assert fetcher.fetch(http_server.url(path)).body == RSS, path


@pytest.mark.parametrize("body", [b"not gzip at all", gzip.compress(RSS)[:-12]])
def test_corrupt_gzip_is_a_fetch_error(
    http_server: LocalServer, fetcher: Fetcher, body: bytes
) -> None:
    http_server.route("/bad", Reply(body=body, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(FetchError, match="cannot be decoded"):
        fetcher.fetch(http_server.url("/bad"))


@pytest.mark.parametrize(("status", "words"), [(404, "404 Not Found"), (500, "500")])
def test_http_errors_have_clear_messages(
    http_server: LocalServer, fetcher: Fetcher, status: int, words: str
) -> None:
    http_server.route("/feed", Reply(status=status, body=b"oops", content_type="text/plain"))
    with pytest.raises(FetchError) as info:
        fetcher.fetch(http_server.url("/feed"))
    assert words in info.value.message
    assert info.value.status == status
    assert info.value.retry_after is None


def test_retry_after_seconds_on_429(http_server: LocalServer, fetcher: Fetcher) -> None:
    http_server.route("/feed", Reply(status=429, headers={"Retry-After": "120"}))
    with pytest.raises(FetchError, match="429") as info:
        fetcher.fetch(http_server.url("/feed"))
    assert info.value.retry_after == 120.0


def test_retry_after_http_date_on_503(http_server: LocalServer, fetcher: Fetcher) -> None:
    when = datetime.now(UTC) + timedelta(minutes=10)
    http_server.route(
        "/feed", Reply(status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    )
    with pytest.raises(FetchError, match="503") as info:
        fetcher.fetch(http_server.url("/feed"))
    assert info.value.retry_after is not None
    assert 560 <= info.value.retry_after <= 600


def test_wrong_content_type_is_still_parsed(http_server: LocalServer, fetcher: Fetcher) -> None:
    http_server.route("/feed", Reply(body=RSS, content_type="text/plain; charset=iso-8859-1"))
    result = fetcher.fetch(http_server.url("/feed"))
    feed = parse_feed(result.body or b"", result.headers, result.url)
    assert [e.title for e in feed.entries] == ["First"]


def test_connection_refused_is_a_fetch_error(fetcher: Fetcher) -> None:
    server = LocalServer()
    url = server.url("/feed")
    server.stop()
    with pytest.raises(FetchError, match=r"refused|connection failed"):
        fetcher.fetch(url)


def test_credentials_in_url_are_not_in_messages(http_server: LocalServer, fetcher: Fetcher) -> None:
    http_server.route("/feed", Reply(status=403))
    url = http_server.url("/feed").replace("http://", "http://user:s3cret@")
    with pytest.raises(FetchError) as info:
        fetcher.fetch(url)
    assert "s3cret" not in info.value.message
    assert http_server.last("/feed").headers["authorization"].startswith("Basic ")


def test_one_fetcher_serves_several_threads(http_server: LocalServer, fetcher: Fetcher) -> None:
    http_server.route("/feed", Reply(body=RSS))
    bodies: list[bytes | None] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(5):
            body = fetcher.fetch(http_server.url("/feed")).body
            with lock:
                bodies.append(body)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert bodies == [RSS] * 20
    assert http_server.count("/feed") == 20


def test_cookies_are_not_carried_from_one_fetch_to_another(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    http_server.route("/a", Reply(body=RSS, headers={"Set-Cookie": "session=a; Path=/"}))
    http_server.route("/b", Reply(body=RSS))
    fetcher.fetch(http_server.url("/a"))
    fetcher.fetch(http_server.url("/b"))
    fetcher.fetch(http_server.url("/a"))
    assert "cookie" not in http_server.last("/b").headers  # another feed of the same site
    assert "cookie" not in http_server.last("/a").headers  # the same feed's next refresh


def test_a_cookie_set_on_a_redirect_is_sent_on_the_next_hops(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    def gate(request: Request) -> Reply:
        if request.headers.get("cookie") != "pass=1":
            return Reply(status=403)
        return Reply(body=RSS)

    http_server.route(
        "/start", Reply(status=302, headers={"Location": "/next", "Set-Cookie": "pass=1; Path=/"})
    )
    http_server.route("/next", Reply(status=302, headers={"Location": "/feed"}))
    http_server.route("/feed", gate)
    assert fetcher.fetch(http_server.url("/start")).body == RSS
    assert http_server.last("/next").headers["cookie"] == "pass=1"
    with pytest.raises(FetchError, match="403"):
        fetcher.fetch(http_server.url("/feed"))  # the cookie went with the fetch that got it


def test_a_cookie_is_not_sent_to_another_host_on_a_redirect(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    other = http_server.url("/feed").replace("127.0.0.1", "localhost")
    http_server.route("/start", Reply(status=302, headers={"Location": other, "Set-Cookie": "a=1"}))
    http_server.route("/feed", Reply(body=RSS))
    assert fetcher.fetch(http_server.url("/start")).body == RSS
    assert "cookie" not in http_server.last("/feed").headers


def test_tls_failure_is_a_fetch_error(http_server: LocalServer, fetcher: Fetcher) -> None:
    http_server.route("/feed", Reply(body=RSS))
    url = http_server.url("/feed").replace("http://", "https://")
    with pytest.raises(FetchError, match="secure connection failed"):
        fetcher.fetch(url)


def test_unsupported_content_encoding_is_a_fetch_error(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    http_server.route("/feed", Reply(body=b"\x1b\x00", headers={"Content-Encoding": "br"}))
    with pytest.raises(FetchError, match="unsupported content encoding"):
        fetcher.fetch(http_server.url("/feed"))


def test_gzip_bomb_fixture_is_a_valid_stream() -> None:
    assert gzip.decompress(gzip_bomb(3)) == bytes(3 << 20)
