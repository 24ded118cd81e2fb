"""A short fuzzing run in CI (bench/fuzz.py runs longer), plus every crash found so far as a
regression case."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.storage import feeds
from app.storage.database import Database
from harness.mutation import corpus, mutated
from harness.sample import rss
from harness.target import check_feed, check_opml

_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEEDS = corpus("feeds", limit=150)
OPMLS = corpus("opml", limit=40)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, int, Path]]:
    folder = tmp_path_factory.mktemp("fuzz")
    db = Database(folder / "fuzz.db")
    with db.write() as s:
        feed_id = feeds.add_feed(s, "http://127.0.0.1:9/feed.xml").id
    try:
        yield db, feed_id, folder
    finally:
        db.close()


@_SETTINGS
@given(data=mutated(FEEDS), variant=st.integers(0, 3))
def test_mutated_feeds_parse_or_fail_cleanly_and_store(
    scratch: tuple[Database, int, Path], data: bytes, variant: int
) -> None:
    db, feed_id, _ = scratch
    check_feed(data, db, feed_id, variant)


@_SETTINGS
@given(data=mutated(OPMLS))
def test_mutated_opml_imports_or_fails_cleanly(
    scratch: tuple[Database, int, Path], data: bytes
) -> None:
    db, _, folder = scratch
    check_opml(data, db, folder)


REGRESSIONS: list[bytes] = [
    rss(1, 0, 2).replace(b"<title>", b"<title>\x00", 1),
    b'<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><item>'
    b"<title>x</title></item></channel></rss>",
    b"<rss><channel><item><title><![CDATA[</title></item></channel></rss>",
    b"\xff\xfe<\x00r\x00s\x00s\x00",
    b"<feed><entry><title>&#x110000;</title><link href='javascript:x'/></entry></feed>",
    # found by bench/fuzz.py: a NUL spelled as a character reference in a plain-text title
    b"<rss version='2.0'><channel><item><title>Co&#0;ok Islands</title>"
    b"<guid>g</guid></item></channel></rss>",
]


@pytest.mark.parametrize("data", REGRESSIONS)
def test_known_hard_inputs(scratch: tuple[Database, int, Path], data: bytes) -> None:
    db, feed_id, _ = scratch
    for variant in range(4):
        check_feed(data, db, feed_id, variant)
