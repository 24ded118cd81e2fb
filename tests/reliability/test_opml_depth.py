"""Deeply nested OPML (issue 18, item 6): import bounds the folder depth and says so, export
works at any depth without recursion, and memory stays linear in the input."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from app.feeds.opml import MAX_DEPTH, OpmlFeed, read_opml, write_opml
from app.services.profile import Profile
from app.services.subscription import export_opml, import_opml
from app.storage import feeds


def _nested(depth: int) -> bytes:
    """A list with ``depth`` nested folders and one feed at the bottom (about 32 B a level)."""
    opening = "".join(f'<outline text="f{i}">' for i in range(depth))
    return (
        '<?xml version="1.0"?><opml version="2.0"><head><title>deep</title></head><body>'
        f'{opening}<outline type="rss" text="deep" xmlUrl="https://deep.example/feed"/>'
        f"{'</outline>' * depth}</body></opml>"
    ).encode()


def test_import_bounds_the_depth_and_says_so() -> None:
    data = _nested(9_000)
    assert len(data) > 150_000  # about the 320 KB list of the issue, in kind
    tracemalloc.start()
    try:
        result = read_opml(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [feed] = result.feeds
    assert feed.url == "https://deep.example/feed"
    assert feed.folder is not None and len(feed.folder.split("/")) == MAX_DEPTH
    assert feed.folder.split("/")[:2] == ["f0", "f1"]
    assert any(f"{MAX_DEPTH} levels" in p for p in result.problems)
    assert peak < 64 * 1024 * 1024  # linear in the input, not quadratic in its depth


def test_a_list_within_the_bound_keeps_its_folders_whole() -> None:
    result = read_opml(_nested(MAX_DEPTH))
    assert result.feeds[0].folder == "/".join(f"f{i}" for i in range(MAX_DEPTH))
    assert result.problems == ()


def test_export_works_at_any_depth_without_recursion(tmp_path: Path) -> None:
    deep = "/".join(f"level{i}" for i in range(5_000))
    with Profile(tmp_path / "p") as profile:
        with profile.db.write() as s:
            feeds.add_feed(s, "https://deep.example/feed", title="Deep", folder=deep)
            feeds.add_feed(s, "https://flat.example/feed", title="Flat & <odd>")
        out = tmp_path / "out.opml"
        assert export_opml(profile.db, out) == 2
    data = out.read_bytes()
    assert len(data) < 2_000_000  # indentation stops growing: not quadratic in depth
    back = read_opml(data)
    assert {f.url for f in back.feeds} == {"https://deep.example/feed", "https://flat.example/feed"}
    deep_feed = next(f for f in back.feeds if f.url.startswith("https://deep"))
    assert deep_feed.folder == "/".join(f"level{i}" for i in range(MAX_DEPTH))
    assert next(f for f in back.feeds if f.url.startswith("https://flat")).title == "Flat & <odd>"


def test_an_exported_deep_list_imports_into_a_new_profile(tmp_path: Path) -> None:
    data = write_opml([OpmlFeed("https://a.example/f", "A", "/".join(["x"] * 2_000), None)])
    path = tmp_path / "deep.opml"
    path.write_bytes(data)
    with Profile(tmp_path / "q") as profile:
        report = import_opml(profile.db, path)
        assert report.added == 1
        assert any("levels" in p for p in report.problems)


def test_odd_characters_are_written_as_valid_xml() -> None:
    odd = OpmlFeed("https://a.example/f?a=1&b=2", 'Quote " tab\t bell\x07 nul\x00', "A\nB", None)
    back = read_opml(write_opml([odd]))
    [feed] = back.feeds
    assert feed.url == odd.url
    assert feed.title == 'Quote " tab bell nul'  # controls XML cannot hold are dropped
