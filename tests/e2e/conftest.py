"""Fixtures of the end-to-end suite: a real local HTTP server (:mod:`harness.server`).

``http_server`` starts one for a test and stops it afterwards:

    def test_x(http_server):
        http_server.route("/feed.xml", Reply(body=b"<rss/>", content_type="application/rss+xml"))
        url = http_server.url("/feed.xml")
        ...
        assert http_server.count("/feed.xml") == 1
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.server import LocalServer


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    """A fresh local HTTP server for one test."""
    server = LocalServer()
    try:
        yield server
    finally:
        server.stop()
