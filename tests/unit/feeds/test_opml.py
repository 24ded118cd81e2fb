"""Reading and writing OPML subscription lists."""

from __future__ import annotations

from pathlib import Path

import listparser
import pytest

import app.feeds.opml as opml_module
from app.feeds.opml import OpmlError, OpmlFeed, read_opml, write_opml

RESOURCES = (
    Path(__file__).resolve().parents[3]
    / ".."
    / "shared"
    / "data"
    / "feeds"
    / "RSParser"
    / "Tests"
    / "RSParserTests"
    / "Resources"
)


def resource(name: str) -> bytes:
    path = RESOURCES / name
    if not path.is_file():
        pytest.skip("../shared/data is absent")
    return path.read_bytes()


def opml(body: str, head: str = "<head><title>x</title></head>") -> bytes:
    declaration = '<?xml version="1.0" encoding="UTF-8"?>'
    return f'{declaration}<opml version="2.0">{head}<body>{body}</body></opml>'.encode()


@pytest.mark.shared_data
def test_real_subscription_list_matches_listparser() -> None:
    data = resource("Subs.opml")
    result = read_opml(data)
    reference = listparser.parse(data)
    assert {f.url for f in result.feeds} == {f["url"] for f in reference["feeds"]}
    assert len(result.feeds) == len(reference["feeds"])
    first = result.feeds[0]
    assert first == OpmlFeed(
        url="http://daringfireball.net/feeds/main",
        title="Daring Fireball",
        folder=None,
        site_url="http://daringfireball.net/",
    )
    folders = {f.folder for f in result.feeds}
    assert {"Weblogs", "Programming", None} <= folders
    chat = next(f for f in result.feeds if "corinnekrych" in f.url)
    assert chat.title == "chat & code"


@pytest.mark.shared_data
def test_real_list_without_title_attributes() -> None:
    result = read_opml(resource("SubsNoTitleAttributes.opml"))
    assert result.feeds
    assert all(f.url.startswith(("http://", "https://")) for f in result.feeds)


@pytest.mark.shared_data
def test_real_list_round_trips() -> None:
    result = read_opml(resource("Subs.opml"))
    assert read_opml(write_opml(result.feeds)).feeds == result.feeds


def test_nested_folders_are_joined() -> None:
    data = opml(
        '<outline text="News"><outline text="Tech">'
        '<outline text="A" xmlUrl="https://a.example/feed" htmlUrl="https://a.example/"/>'
        '</outline><outline text="B" type="rss" xmlUrl="https://b.example/rss"/></outline>'
        '<outline text="Top" xmlUrl="https://c.example/atom"/>'
    )
    result = read_opml(data)
    assert result.feeds == (
        OpmlFeed("https://a.example/feed", "A", "News/Tech", "https://a.example/"),
        OpmlFeed("https://b.example/rss", "B", "News", None),
        OpmlFeed("https://c.example/atom", "Top", None, None),
    )
    assert result.problems == ()


def test_duplicates_and_non_web_urls_are_skipped_with_problems() -> None:
    data = opml(
        '<outline text="A" xmlUrl="https://a.example/feed"/>'
        '<outline text="F"><outline text="A again" xmlUrl="https://a.example/feed"/></outline>'
        '<outline text="File" xmlUrl="file:///etc/passwd"/>'
        '<outline text="JS" xmlUrl="javascript:alert(1)"/>'
        '<outline text="Relative" xmlUrl="/feed.xml"/>'
        '<outline text="Feed scheme" xmlUrl="feed://d.example/rss"/>'
        '<outline text="Other list" type="include" url="https://lists.example/x.opml"/>'
    )
    result = read_opml(data)
    assert [f.url for f in result.feeds] == ["https://a.example/feed", "http://d.example/rss"]
    assert len(result.problems) == 5
    assert any("duplicate" in p for p in result.problems)
    assert any("file:///etc/passwd" in p for p in result.problems)
    assert any("another list" in p for p in result.problems)


def test_sloppy_opml_still_reads() -> None:
    data = (
        b'<opml version="1.0"><body><outline text="Fish & Chips" '
        b'xmlUrl="https://f.example/rss?a=1&b=2"><outline text="unclosed" '
        b'xmlUrl="https://g.example/rss"></body>'
    )
    result = read_opml(data)
    assert [f.url for f in result.feeds] == [
        "https://f.example/rss?a=1&b=2",
        "https://g.example/rss",
    ]
    assert result.feeds[0].title == "Fish & Chips"


def test_latin1_declared_encoding() -> None:
    data = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><opml version="1.0"><body>'
        '<outline text="Café" xmlUrl="https://cafe.example/rss"/></body></opml>'
    ).encode("latin-1")
    assert read_opml(data).feeds[0].title == "Café"


def test_utf16_opml() -> None:
    data = opml('<outline text="Ünï" xmlUrl="https://u.example/rss"/>').decode().encode("utf-16")
    assert read_opml(data).feeds[0].title == "Ünï"


@pytest.mark.parametrize(
    "data",
    [b"", b"   ", b"<html><body>hello</body></html>", b"\x89PNG\r\n\x1a\n\x00\x00", b"just text"],
)
def test_not_opml_is_an_error(data: bytes) -> None:
    with pytest.raises(OpmlError):
        read_opml(data)


def test_size_cap() -> None:
    data = opml("<!-- " + "x" * (5 * 1024 * 1024) + " -->")
    with pytest.raises(OpmlError, match="larger than 5 MiB"):
        read_opml(data)


def test_outline_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(opml_module, "MAX_OUTLINES", 10)
    body = "".join(f'<outline text="{i}" xmlUrl="https://x.example/{i}"/>' for i in range(11))
    with pytest.raises(OpmlError, match="more than 10 outlines"):
        read_opml(opml(body))
    assert len(read_opml(opml(body[: body.index('<outline text="10"')])).feeds) == 10


def test_default_caps() -> None:
    assert opml_module.MAX_OUTLINES == 10_000
    assert opml_module.MAX_BYTES == 5 * 1024 * 1024


def test_entity_expansion_does_not_happen() -> None:
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    data = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY lol0 "lol">{lol}]>'
        '<opml version="2.0"><body><outline text="&lol9;" xmlUrl="https://l.example/rss"/>'
        "</body></opml>"
    ).encode()
    result = read_opml(data)
    assert result.feeds[0].url == "https://l.example/rss"
    assert result.feeds[0].title is not None and len(result.feeds[0].title) < 100


def test_external_entities_are_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("https://secret.example/TOPSECRET")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
        '<opml version="2.0"><body><outline text="&xxe;" xmlUrl="&xxe;"/>'
        '<outline text="ok" xmlUrl="https://ok.example/rss"/></body></opml>'
    ).encode()
    result = read_opml(data)
    assert [f.url for f in result.feeds] == ["https://ok.example/rss"]
    assert "TOPSECRET" not in repr(result)


def test_write_then_read_round_trips() -> None:
    feeds = [
        OpmlFeed("https://a.example/feed", "A & <B>", "News/Tech", "https://a.example/"),
        OpmlFeed("https://b.example/rss", None, None, None),
        OpmlFeed("https://c.example/rss", "C", "News", None),
        OpmlFeed("https://d.example/rss", "Ünïcödé", "News/Tech", "https://d.example/"),
    ]
    data = write_opml(feeds, title="Mine")
    assert data.startswith(b"<?xml")
    result = read_opml(data)
    # feeds come back grouped by folder in first-seen folder order
    assert sorted(result.feeds, key=lambda f: f.url) == sorted(feeds, key=lambda f: f.url)
    assert result.problems == ()
    assert listparser.parse(data)["meta"]["title"] == "Mine"


def test_written_opml_nests_folders() -> None:
    data = write_opml([OpmlFeed("https://a.example/f", "A", "X/Y", None)])
    text = data.decode()
    assert (
        text.index('text="X"') < text.index('text="Y"') < text.index('xmlUrl="https://a.example/f"')
    )
