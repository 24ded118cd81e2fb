"""Fetcher helpers that need no network: URL checks, redaction, Retry-After."""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime

import httpx
import pytest

from app.feeds.fetcher import (
    Fetcher,
    FetchError,
    FetchLimits,
    _credentials,
    check_url,
    describe_network_error,
    parse_retry_after,
    redact,
    redirect_target,
)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://x/y",
        "javascript:alert(1)",
        "feed.xml",
        "http://",
        "data:,x",
        "",
    ],
)
def test_check_url_refuses(url: str) -> None:
    with pytest.raises(FetchError):
        check_url(url)


def test_check_url_accepts_web_urls() -> None:
    assert check_url("  https://example.org/feed  ") == "https://example.org/feed"
    assert check_url("HTTP://EXAMPLE.org") == "HTTP://EXAMPLE.org"


def test_redact_hides_credentials() -> None:
    assert redact("https://bob:pw@example.org/f?q=1") == "https://***@example.org/f?q=1"
    assert redact("https://example.org/f") == "https://example.org/f"


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/b", "https://a.example/b"),
        ("https://c.example/x", "https://c.example/x"),
        ("//d.example/y", "https://d.example/y"),
    ],
)
def test_redirect_target(location: str, expected: str) -> None:
    assert redirect_target("https://a.example/a", location) == expected


@pytest.mark.parametrize("location", ["file:///etc/passwd", "javascript:x", "ftp://x/", "data:,"])
def test_redirect_target_refuses(location: str) -> None:
    with pytest.raises(FetchError, match="non-web"):
        redirect_target("https://a.example/a", location)


def test_retry_after() -> None:
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Mon, 01 Jan 2024 12:05:00 GMT", now) == 300.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("99999999999", now) == 30 * 24 * 3600.0


def test_fetcher_refuses_bad_urls_before_any_request() -> None:
    with Fetcher(FetchLimits(total_timeout=1.0)) as fetcher, pytest.raises(FetchError):
        fetcher.fetch("file:///etc/passwd")


def test_default_limits() -> None:
    limits = FetchLimits()
    assert (limits.connect_timeout, limits.total_timeout) == (10.0, 30.0)
    assert limits.max_bytes == 10 * 1024 * 1024 and limits.max_redirects == 5
    assert limits.user_agent.startswith("Heedful/")


@pytest.mark.parametrize(
    ("cause", "words"),
    [
        (socket.gaierror(-2, "Name or service not known"), "name could not be resolved"),
        (ConnectionRefusedError(111, "Connection refused"), "refused the connection"),
        (ssl.SSLError(1, "wrong version number"), "secure connection failed"),
    ],
)
def test_network_failures_are_put_into_words(cause: BaseException, words: str) -> None:
    error = httpx.ConnectError("boom")
    error.__cause__ = cause
    assert words in describe_network_error(error)


def test_timeouts_are_put_into_words() -> None:
    assert describe_network_error(httpx.ReadTimeout("slow")) == "the server did not answer in time"


@pytest.mark.parametrize(
    ("url", "user", "password"),
    [
        ("https://alice:s3cret@example.org/feed", "alice", "s3cret"),
        ("https://alice:p%40ss%3Aw%C3%B6rd@example.org/f?q=1", "alice", "p@ss:wörd"),
        ("http://b%C3%B8b:a:b:c@example.org:8080/", "bøb", "a:b:c"),
        ("https://only-user@example.org/feed", "only-user", ""),
    ],
)
def test_credentials_become_the_header_httpx_basic_auth_writes(
    url: str, user: str, password: str
) -> None:
    """The fetcher writes the Authorization header itself (it sends without httpx.Client's
    auth flow): the same header as httpx.BasicAuth, and an address without the password."""
    bare, header = _credentials(url)
    request = next(httpx.BasicAuth(user, password).sync_auth_flow(httpx.Request("GET", bare)))
    assert header == request.headers["authorization"]
    assert bare == url.replace(url.split("//")[1].partition("@")[0] + "@", "")


def test_an_address_without_credentials_is_sent_as_it_is() -> None:
    assert _credentials("https://example.org/a@b") == ("https://example.org/a@b", None)
    assert _credentials("https://example.org/feed") == ("https://example.org/feed", None)
