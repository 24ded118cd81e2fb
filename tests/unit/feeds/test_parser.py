"""Feed parsing: real corpus cases, XML safety, titles, dates, links and dedup keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import app.feeds.entry as entry_module
from app.feeds.entry import ParsedFeed, ParseError, dedup_key
from app.feeds.parser import parse_feed
from tests.unit.feeds.hostile import problems

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "feeds"
MINIFLUX = CORPUS / "miniflux" / "internal" / "reader" / "parser" / "testdata"
ILLFORMED = CORPUS / "gesab001-headlines" / "illformed_real"
XML = {"content-type": "application/xml"}
BASE = "https://example.org/feed.xml"


def corpus(relative: str) -> bytes:
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip("../shared/data is absent")
    return path.read_bytes()


def rss(items: str, channel: str = "<title>T</title><link>https://example.org/</link>") -> bytes:
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0">'
    return f"{head}<channel>{channel}{items}</channel></rss>".encode()


# ---- real corpus cases -------------------------------------------------------------------


@pytest.mark.shared_data
def test_iso_8859_1_declared() -> None:
    feed = parse_feed(
        corpus("miniflux/internal/reader/parser/testdata/encoding_ISO-8859-1.xml"), XML, BASE
    )
    assert feed.title == "Golem.de"
    assert len(feed.entries) == 40
    assert "wünschen" in feed.entries[0].summary_text
    assert feed.entries[0].published == datetime(2018, 10, 28, 12, 48, tzinfo=UTC)


@pytest.mark.shared_data
def test_iso_8859_1_undeclared_is_still_readable() -> None:
    feed = parse_feed(
        corpus("miniflux/internal/reader/parser/testdata/no_encoding_ISO-8859-1.xml"), XML, BASE
    )
    assert feed.title == "Flux RSS du magazine de psychologie Le Cercle Psy"
    assert feed.entries
    assert feed.warnings  # not UTF-8 though undeclared: readable, with a warning


@pytest.mark.shared_data
def test_windows_1251() -> None:
    feed = parse_feed(
        corpus("miniflux/internal/reader/parser/testdata/encoding_WINDOWS-1251.xml"), XML, BASE
    )
    assert feed.title == "iBash.Org.Ru"
    assert feed.entries[0].title == "Цитата #17703"
    assert feed.entries[0].url == "http://ibash.org.ru/quote.php?id=17703"


@pytest.mark.shared_data
def test_rdf() -> None:
    feed = parse_feed(corpus("miniflux/internal/reader/parser/testdata/rdf_UTF8.xml"), XML, BASE)
    assert feed.title == "heise online News"
    assert len(feed.entries) == 60
    assert feed.entries[0].title == "OLED-TVs: Vorsichtsmaßnahmen gegen Einbrennen"


@pytest.mark.shared_data
def test_atom() -> None:
    feed = parse_feed(corpus("miniflux/internal/reader/parser/testdata/small_atom.xml"), XML, BASE)
    assert feed.site_url == "https://github.com/miniflux/v2/commits/main"
    first = feed.entries[0]
    assert first.title == "Parse podcast categories"
    assert first.author == "fguillot"
    assert first.published == datetime(2024, 3, 12, 5, 30, 27, tzinfo=UTC)
    assert first.url is not None and first.url.startswith("https://github.com/miniflux/v2/commit/")


@pytest.mark.shared_data
@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_bodies_match_utf8(codec: str) -> None:
    utf8 = corpus("miniflux/internal/reader/parser/testdata/small_atom.xml")
    wide = utf8.decode("utf-8").replace('encoding="UTF-8"', f'encoding="{codec}"').encode(codec)
    assert b"\x00" in wide
    expected = parse_feed(utf8, XML, BASE)
    got = parse_feed(wide, XML, BASE)
    assert [e.title for e in got.entries] == [e.title for e in expected.entries]
    assert [e.dedup_key for e in got.entries] == [e.dedup_key for e in expected.entries]


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["utf-16le-bom.xml", "utf-16be.xml", "utf-32le.xml", "u16.xml"])
def test_feedparser_wide_encoding_cases_are_feeds(name: str) -> None:
    feed = parse_feed(corpus(f"feedparser/tests/encoding/{name}"), {}, BASE)
    assert feed.entries == ()


@pytest.mark.shared_data
def test_euc_kr_item() -> None:
    feed = parse_feed(corpus("feedparser/tests/encoding/euc-kr-item.xml"), {}, BASE)
    assert feed.entries[0].summary_text == "\ub144"


@pytest.mark.shared_data
def test_real_html_error_page_is_a_parse_error() -> None:
    body = corpus(
        "gesab001-headlines/illformed_real/latimes_2021-10-17_7877d1e7_html-error-page.xml"
    )
    with pytest.raises(ParseError, match="web page, not a feed"):
        parse_feed(body, XML, BASE)


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("name", "entries"),
    [
        ("fox_2020-05-18_4d269639_truncated-4096.xml", 2),
        ("nzherald_2020-04-28_7436676a_truncated-16384.xml", 20),
    ],
)
def test_truncated_downloads_keep_complete_entries(name: str, entries: int) -> None:
    feed = parse_feed(corpus(f"gesab001-headlines/illformed_real/{name}"), XML, BASE)
    assert len(feed.entries) >= entries
    assert any("malformed" in w for w in feed.warnings)


@pytest.mark.shared_data
def test_download_cut_before_the_first_entry_is_a_parse_error() -> None:
    body = corpus("gesab001-headlines/illformed_real/fox_2020-05-18_4d269639_truncated-4096.xml")
    cut = body[: body.index(b"<item")]
    with pytest.raises(ParseError, match="could not be read"):
        parse_feed(cut, XML, BASE)


@pytest.mark.shared_data
def test_json_feed() -> None:
    feed = parse_feed(
        corpus("RSParser/Tests/RSParserTests/Resources/DaringFireball.json"), {}, BASE
    )
    assert feed.title == "Daring Fireball"
    assert feed.site_url == "https://daringfireball.net/"
    assert len(feed.entries) == 48
    assert feed.entries[0].author == "John Gruber"
    assert feed.entries[0].published is not None


# ---- synthetic cases ---------------------------------------------------------------------


def test_empty_body_is_a_parse_error() -> None:
    for body in (b"", b"   \n"):
        with pytest.raises(ParseError, match="empty"):
            parse_feed(body, XML, BASE)


def test_html_page_is_a_parse_error() -> None:
    page = b"<!DOCTYPE html><html><head><title>Hi</title></head><body><p>Welcome</p></body></html>"
    with pytest.raises(ParseError, match="web page"):
        parse_feed(page, {"content-type": "text/html; charset=utf-8"}, BASE)
    with pytest.raises(ParseError, match="web page"):
        parse_feed(page, {}, BASE)


def test_garbage_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_feed(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, {}, BASE)


def test_valid_feed_without_entries_is_not_an_error() -> None:
    feed = parse_feed(rss(""), XML, BASE)
    assert feed == ParsedFeed(title="T", site_url="https://example.org/", entries=(), warnings=())


def test_a_body_that_is_a_path_is_not_opened(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_bytes(rss("<item><title>SECRET-FROM-DISK</title></item>"))
    for body in (str(secret).encode(), secret.as_uri().encode()):
        try:
            feed = parse_feed(body, {}, BASE)
        except ParseError:
            continue
        assert all("SECRET" not in e.title for e in feed.entries)


def test_billion_laughs_does_not_expand() -> None:
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{lol}]>'
        '<rss version="2.0"><channel><title>&lol9;</title>'
        "<item><title>x &lol9;</title><description>&lol9;</description></item></channel></rss>"
    ).encode()
    feed = parse_feed(body, XML, BASE)  # expat refuses the amplification; the rest is kept
    assert feed.entries
    for text in (feed.title, *(e.title + e.summary_html for e in feed.entries)):
        assert len(text) < 10_000
        assert "lollollol" not in text


def test_external_entities_are_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret.as_uri()}">'
        '<!ENTITY pw SYSTEM "file:///etc/passwd"><!ENTITY ok "fine">]>'
        '<rss version="2.0"><channel><title>t &xxe;</title>'
        "<item><title>a &xxe; &pw; &ok;</title><description>&xxe; &pw;</description></item>"
        "</channel></rss>"
    ).encode()
    feed = parse_feed(body, XML, BASE)
    assert feed.entries[0].title == "a fine"  # internal entities work, external ones vanish
    everything = feed.title + "".join(e.title + e.summary_html for e in feed.entries)
    assert "TOP-SECRET" not in everything
    assert "root:" not in everything


def test_nul_bytes_are_stripped() -> None:
    body = rss("<item><title>Hel\x00lo</title><guid>1</guid></item>").replace(b"<rss", b"\x00<rss")
    feed = parse_feed(body, XML, BASE)
    assert feed.entries[0].title == "Hello"


def test_titles_are_plain_text() -> None:
    items = (
        "<item><title>AT&amp;amp;T &lt;b&gt;wins&lt;/b&gt;\n\n  big</title><guid>1</guid></item>"
        "<item><title>" + "long " * 200 + "</title><guid>2</guid></item>"
    )
    feed = parse_feed(rss(items), XML, BASE)
    assert feed.entries[0].title == "AT&T wins big"
    assert len(feed.entries[1].title) <= 500


def test_untitled_entries_take_summary_words_or_a_placeholder() -> None:
    items = (
        "<item><description>&lt;p&gt;First words of the summary&lt;/p&gt;</description>"
        "<guid>1</guid></item><item><guid>2</guid></item>"
    )
    feed = parse_feed(rss(items), XML, BASE)
    assert [e.title for e in feed.entries] == ["First words of the summary", "(untitled)"]


def test_summary_is_sanitised_and_content_preferred() -> None:
    items = (
        '<item xmlns:content="http://purl.org/rss/1.0/modules/content/"><title>t</title>'
        "<link>/post/1</link><description>short</description>"
        "<content:encoded><![CDATA[<p onclick='x()'>Full <a href=\"rel\">link</a>"
        '<script>alert(1)</script><img src="/i.png"></p>]]></content:encoded></item>'
    )
    feed = parse_feed(rss(items), XML, BASE)
    entry = feed.entries[0]
    assert entry.url == "https://example.org/post/1"
    assert problems(entry.summary_html) == []
    assert 'href="https://example.org/' in entry.summary_html
    assert 'src="https://example.org/i.png"' in entry.summary_html
    assert entry.summary_text == "Full link"


def test_only_web_links_are_kept() -> None:
    items = (
        "<item><title>a</title><link>javascript:alert(1)</link></item>"
        "<item><title>b</title><link>ftp://example.org/x</link></item>"
        "<item><title>c</title><link>https://ok.example/c</link></item>"
    )
    feed = parse_feed(rss(items), XML, BASE)
    assert [e.url for e in feed.entries] == [None, None, "https://ok.example/c"]


def test_dates_are_utc_and_future_ones_dropped() -> None:
    future = (datetime.now(UTC) + timedelta(days=3)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    soon = (datetime.now(UTC) + timedelta(hours=2)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    items = (
        "<item><title>a</title><guid>a</guid>"
        "<pubDate>Tue, 10 Jun 2003 04:00:00 +0200</pubDate></item>"
        f"<item><title>b</title><guid>b</guid><pubDate>{future}</pubDate></item>"
        f"<item><title>c</title><guid>c</guid><pubDate>{soon}</pubDate></item>"
        "<item><title>d</title><guid>d</guid><pubDate>not a date</pubDate></item>"
    )
    feed = parse_feed(rss(items), XML, BASE)
    dates = [e.published for e in feed.entries]
    assert dates[0] == datetime(2003, 6, 10, 2, 0, tzinfo=UTC)
    assert dates[0] is not None and dates[0].utcoffset() == timedelta(0)
    assert dates[1] is None
    assert dates[2] is not None
    assert dates[3] is None


def test_atom_updated_is_used_when_published_is_missing() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><entry><id>urn:x</id>'
        b"<title>t</title><updated>2020-01-02T03:04:05-01:00</updated></entry></feed>"
    )
    feed = parse_feed(body, XML, BASE)
    assert feed.entries[0].published == datetime(2020, 1, 2, 4, 4, 5, tzinfo=UTC)


def test_entry_cap_keeps_the_first_and_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(entry_module, "MAX_ENTRIES", 3)
    items = "".join(f"<item><title>n{i}</title><guid>{i}</guid></item>" for i in range(5))
    feed = parse_feed(rss(items), XML, BASE)
    assert [e.title for e in feed.entries] == ["n0", "n1", "n2"]
    assert any("only the first 3" in w for w in feed.warnings)


def test_default_entry_cap_is_two_thousand() -> None:
    assert entry_module.MAX_ENTRIES == 2000


def test_repeated_identity_is_skipped_with_a_warning() -> None:
    items = "<item><title>one</title><guid>same</guid></item>" * 2
    feed = parse_feed(rss(items), XML, BASE)
    assert len(feed.entries) == 1
    assert any("repeated" in w for w in feed.warnings)


def test_json_feed_synthetic() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "home_page_url": "https://j.example/",
        "items": [
            {"id": 1, "url": "/p/1", "title": "One", "content_html": "<p onclick=x>Hi</p>",
             "date_published": "2021-05-06T07:08:09+02:00", "authors": [{"name": "Ann"}]},
            {"id": "2", "content_text": "Plain <text>"},
            "not an item",
        ],
    }  # fmt: skip
    feed = parse_feed(json.dumps(doc).encode(), {"content-type": "application/feed+json"}, BASE)
    one, two = feed.entries
    assert one.url == "https://j.example/p/1"
    assert one.summary_html == "<p>Hi</p>"
    assert one.published == datetime(2021, 5, 6, 5, 8, 9, tzinfo=UTC)
    assert one.author == "Ann"
    assert two.title == "Plain <text>" and two.summary_text == "Plain <text>"
    assert one.dedup_key == dedup_key("1", None, "", None)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"items": []}', b"{" * 100_000])
def test_bad_json_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(body, {"content-type": "application/json"}, BASE)


# ---- dedup keys --------------------------------------------------------------------------


def test_dedup_key_prefers_guid_then_link_then_title_and_date() -> None:
    by_guid = dedup_key("g", "https://a/1", "T", "d")
    assert by_guid == dedup_key("g", "https://other/", "Other", None)
    assert by_guid != dedup_key(None, "https://a/1", "T", "d")
    by_link = dedup_key(None, "https://a/1", "T", "d")
    assert by_link == dedup_key("  ", "https://a/1", "Changed title", "other date")
    by_title = dedup_key(None, None, "T", "d")
    assert by_title != dedup_key(None, None, "T", "e")
    assert by_title != dedup_key(None, None, "U", "d")
    assert len(by_guid) == 64 and int(by_guid, 16) >= 0


def test_edited_entry_keeps_its_key() -> None:
    before = parse_feed(rss("<item><title>Old</title><guid>g1</guid></item>"), XML, BASE)
    after = parse_feed(
        rss("<item><title>New</title><guid>g1</guid><description>x</description></item>"),
        XML,
        BASE,
    )
    assert before.entries[0].dedup_key == after.entries[0].dedup_key
    assert before.entries[0].title != after.entries[0].title


def test_entries_without_guid_use_link() -> None:
    feed = parse_feed(
        rss("<item><title>a</title><link>https://x.example/1</link></item>"), XML, BASE
    )
    assert feed.entries[0].dedup_key == dedup_key(None, "https://x.example/1", "a", None)


def test_complete_but_malformed_empty_feed_is_an_empty_feed() -> None:
    body = b'<rss version="2.0"><channel><title>Caf&eacute; news</title></channel></rss>'
    feed = parse_feed(body, XML, BASE)
    assert feed.entries == ()
    assert feed.title.startswith("Caf")
    assert any("malformed" in w for w in feed.warnings)


def test_cut_off_empty_feed_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="could not be read"):
        parse_feed(b'<rss version="2.0"><channel><title>News</title><desc', XML, BASE)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_billion_laughs_in_wide_encodings_does_not_expand(codec: str) -> None:
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    body = (
        f'<?xml version="1.0" encoding="{codec}"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{lol}]>'
        '<rss version="2.0"><channel><title>T &lol9;</title>'
        "<item><title>x &lol9;</title></item></channel></rss>"
    ).encode(codec)
    feed = parse_feed(body, XML, BASE)
    assert feed.title.startswith("T")
    assert [len(e.title) < 100 for e in feed.entries] == [True]
