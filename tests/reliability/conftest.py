"""Fixtures of the reliability suite: a local feed server and scratch profiles."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.server import LocalServer


@pytest.fixture
def feed_server() -> Iterator[LocalServer]:
    """A fresh local HTTP server on 127.0.0.1 for one test."""
    server = LocalServer()
    try:
        yield server
    finally:
        server.stop()
