"""The fetching address policy (issue 18, item 17): what the reader typed is fetched, link-local
addresses never are, and a redirect may not cross from a public address to a private one.

Only loopback servers are used. The crossing rule needs a "public" first hop, so these tests
give the policy a classifier that pretends 127.0.0.2 (a loopback address) is public. A guard
fails any test that would connect anywhere but loopback.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from app.feeds.address import AddressPolicy, Reach, classify
from app.feeds.fetcher import Fetcher, FetchError, FetchLimits
from harness.server import LocalServer, Reply

LIMITS = FetchLimits(connect_timeout=2.0, total_timeout=5.0)
RSS = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test before any connection to an address that is not loopback."""
    real = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and not ipaddress.ip_address(host).is_loopback:
            raise AssertionError(f"a test tried to connect to {host}")
        real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


class _Redirector:
    """A one-route server on a chosen loopback address that redirects every GET."""

    def __init__(self, host: str, location: Callable[[], str]) -> None:
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                self.send_response(302)
                self.send_header("Location", location())
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self._httpd.server_address[1]}/feed"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def pretend_public() -> AddressPolicy:
    """The real policy, except that 127.0.0.2 and 127.0.0.3 count as public addresses."""
    public = {ipaddress.ip_address("127.0.0.2"), ipaddress.ip_address("127.0.0.3")}

    def classifier(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Reach:
        return Reach.PUBLIC if address in public else classify(address)

    return AddressPolicy(classifier=classifier)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    local.route("/feed", Reply(body=RSS))
    try:
        yield local
    finally:
        local.stop()


def test_the_classifier_knows_link_local_private_and_public() -> None:
    ip = ipaddress.ip_address
    assert classify(ip("169.254.169.254")) is Reach.LINK_LOCAL
    assert classify(ip("fe80::1")) is Reach.LINK_LOCAL
    assert classify(ip("::ffff:169.254.169.254")) is Reach.LINK_LOCAL
    for private in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "100.64.0.1", "0.0.0.0", "::1"):
        assert classify(ip(private)) is Reach.PRIVATE, private
    assert classify(ip("93.184.215.14")) is Reach.PUBLIC
    assert classify(ip("2606:4700::1111")) is Reach.PUBLIC


def test_what_the_reader_typed_is_fetched_even_on_loopback(server: LocalServer) -> None:
    with Fetcher(LIMITS) as fetcher:
        assert fetcher.fetch(server.url("/feed")).body == RSS


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/feed",
        "http://[::ffff:169.254.169.254]/feed",
        "http://metadata.test/computeMetadata/v1/",
    ],
)
def test_link_local_is_refused_even_when_typed(url: str) -> None:
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["169.254.169.254"]

    policy = AddressPolicy(resolver=resolver)
    with Fetcher(LIMITS, policy=policy) as fetcher, pytest.raises(FetchError, match="link-local"):
        fetcher.fetch(url)


def test_a_redirect_to_link_local_is_refused(server: LocalServer) -> None:
    server.route("/meta", Reply(status=302, headers={"Location": "http://169.254.169.254/"}))
    with Fetcher(LIMITS) as fetcher, pytest.raises(FetchError, match="link-local"):
        fetcher.fetch(server.url("/meta"))


def test_a_redirect_from_public_to_loopback_is_refused(
    server: LocalServer, pretend_public: AddressPolicy
) -> None:
    bouncer = _Redirector("127.0.0.2", lambda: server.url("/feed"))
    try:
        with (
            Fetcher(LIMITS, policy=pretend_public) as fetcher,
            pytest.raises(FetchError, match=r"public server to 127\.0\.0\.1"),
        ):
            fetcher.fetch(bouncer.url)
    finally:
        bouncer.stop()
    assert bouncer.hits == 1
    assert server.count("/feed") == 0  # the private address was never asked


def test_redirects_that_do_not_cross_are_followed(
    server: LocalServer, pretend_public: AddressPolicy
) -> None:
    # private -> private (the reader's own network), with the real policy
    inner = _Redirector("127.0.0.1", lambda: server.url("/feed"))
    # public -> public
    outer_target = _Redirector("127.0.0.3", lambda: server.url("/feed"))
    try:
        with Fetcher(LIMITS) as fetcher:
            assert fetcher.fetch(inner.url).body == RSS
        with Fetcher(LIMITS, policy=pretend_public) as fetcher:
            # 127.0.0.2 -> 127.0.0.3 is public to public; 127.0.0.3 -> 127.0.0.1 then crosses
            hop = _Redirector("127.0.0.2", lambda: outer_target.url)
            try:
                with pytest.raises(FetchError, match="private or local"):
                    fetcher.fetch(hop.url)
                assert hop.hits == 1 and outer_target.hits == 1
            finally:
                hop.stop()
    finally:
        inner.stop()
        outer_target.stop()
    assert server.count("/feed") == 1  # only the private-to-private chain reached it
