"""Feed addresses typed by the reader."""

from __future__ import annotations

import pytest

from app.services.subscription import SubscriptionError, normalise_url


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("https://example.org/feed", "https://example.org/feed"),
        ("  http://example.org/rss.xml \n", "http://example.org/rss.xml"),
        ("example.org/feed", "https://example.org/feed"),
        ("example.org:8080/feed", "https://example.org:8080/feed"),
    ],
)
def test_accepted_addresses(typed: str, expected: str) -> None:
    assert normalise_url(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "ftp://example.org/x",
        "https://",
        "mailto:me@example.org",
        "data:text/html,x",
    ],
)
def test_refused_addresses(typed: str) -> None:
    with pytest.raises(SubscriptionError):
        normalise_url(typed)
