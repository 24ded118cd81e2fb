"""Malformed, huge and hostile OPML files through app.services.subscription.import_opml."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services.profile import Profile
from app.services.subscription import SubscriptionError, import_opml
from app.storage import feeds


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "list.opml"
    path.write_bytes(data)
    return path


def _outlines(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><opml version="2.0"><head><title>x</title>'
        f"</head><body>{body}</body></opml>"
    ).encode()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x00\x00",
        b"not xml at all",
        b"<html><body><p>hello</p></body></html>",
        b"\xff\xfe\x00\x00garbage",
        b'{"feeds": ["https://example.org/feed"]}',
    ],
)
def test_files_that_are_not_opml_are_refused_in_words(tmp_path: Path, data: bytes) -> None:
    with Profile(tmp_path / "p") as profile:
        try:
            report = import_opml(profile.db, _write(tmp_path, data))
        except SubscriptionError as exc:
            assert str(exc).strip()
        else:
            assert report.added == 0
        with profile.db.read() as s:
            assert feeds.list_feeds(s) == []


def test_a_huge_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    outline = '<outline type="rss" text="x" xmlUrl="https://example.org/{n}.xml"/>'
    body = "".join(outline.format(n=n) for n in range(70_000))
    with Profile(tmp_path / "p") as profile:
        with pytest.raises(SubscriptionError, match=r"larger than|more than"):
            import_opml(profile.db, _write(tmp_path, _outlines(body)))
        with profile.db.read() as s:
            assert feeds.list_feeds(s) == []


def test_too_many_outlines_are_refused(tmp_path: Path) -> None:
    body = "".join(f'<outline xmlUrl="https://e.org/{n}"/>' for n in range(10_001))
    with Profile(tmp_path / "p") as profile, pytest.raises(SubscriptionError, match="more than"):
        import_opml(profile.db, _write(tmp_path, _outlines(body)))


def test_non_web_addresses_are_skipped_with_a_report(tmp_path: Path) -> None:
    hostile = [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "ftp://example.org/feed.xml",
        "data:text/xml;base64,PHJzcy8+",
        "vbscript:msgbox",
        " java\tscript:alert(1)",
        "//example.org/protocol-relative.xml",
    ]
    good = ["https://example.org/a.xml", "http://example.org/b.xml", "feed://example.org/c.xml"]
    body = "".join(
        f'<outline type="rss" text="t{n}" xmlUrl="{u}" htmlUrl="javascript:alert(2)"/>'
        for n, u in enumerate(hostile + good)
    )
    with Profile(tmp_path / "p") as profile:
        report = import_opml(profile.db, _write(tmp_path, _outlines(body)))
        with profile.db.read() as s:
            stored = feeds.list_feeds(s)
    assert report.added == len(good)
    assert len(report.problems) >= len(hostile)
    assert sorted(f.url.split(":")[0] for f in stored) == ["http", "http", "https"]
    assert all(f.site_url is None for f in stored)


def test_a_malformed_but_readable_file_keeps_what_it_can(tmp_path: Path) -> None:
    body = (
        '<outline text="Folder"><outline xmlUrl="https://example.org/ok.xml" text="ok">'
        '<outline xmlUrl="https://example.org/unclosed.xml" text="<b>bold</b> &amp; co"'
    )
    with Profile(tmp_path / "p") as profile:
        try:
            report = import_opml(profile.db, _write(tmp_path, _outlines(body)[:-20]))
        except SubscriptionError:
            return
        with profile.db.read() as s:
            stored = feeds.list_feeds(s)
    assert report.added == len(stored)
    assert all(f.url.startswith("https://example.org/") for f in stored)
