"""Invisible Unicode in titles cannot spoof a headline or slip past a mute rule (issue 18,
item 12): bidi controls, zero-width and tag characters are stripped at the parsing boundary,
and mute rules match after NFKC, case-folding and removal of invisible characters."""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest

from app.feeds.parser import parse_feed
from app.feeds.sanitizer import clean_title, strip_invisible
from app.services import mute

HIDDEN = {
    "zero-width space": "Elec\u200btion",
    "word joiner": "Elec\u2060tion",
    "soft hyphen": "Elec\u00adtion",
    "zero-width joiner in Latin": "Elec\u200dtion",
    "bidi override": "\u202eElection\u202c",
    "bidi isolate": "\u2066Election\u2069",
    "right-to-left mark": "Elec\u200ftion",
    "byte order mark": "\ufeffElection",
    "tag characters": "Elec\U000e0041\U000e007ftion",
    "variation selector": "Elec\ufe0ftion",
}


def _rss(title: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><guid>g</guid><title>{escape(title)}</title><link>https://example.org/1</link>"
        "</item></channel></rss>"
    ).encode()


@pytest.mark.parametrize("name", list(HIDDEN))
def test_titles_lose_invisible_characters(name: str) -> None:
    parsed = parse_feed(_rss(f"{HIDDEN[name]} results"), {}, "https://example.org/feed")
    assert parsed.entries[0].title == "Election results"
    assert clean_title(f"<b>{HIDDEN[name]}</b>") == "Election"


def test_html_titles_lose_them_too() -> None:
    body = _rss("x").replace(b"<title>x</title>", b"<title type='html'>A&#8238;B&#x200B;C</title>")
    parsed = parse_feed(body, {}, "https://example.org/feed")
    assert parsed.entries[0].title == "ABC"


def test_joiners_that_scripts_and_emoji_need_survive() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    assert strip_invisible(family) == family
    assert strip_invisible(persian) == persian
    assert strip_invisible("a\u200cb") == "ab"


@pytest.mark.parametrize("name", list(HIDDEN))
def test_keyword_rules_see_through_invisible_characters(name: str) -> None:
    rules = [mute.Rule("election")]
    assert mute.apply(rules, f"{HIDDEN[name]} results")


@pytest.mark.parametrize(
    "title",
    ["ＥＬＥＣＴＩＯＮ day", "ELECTION day", "The election", "Ｅｌｅｃ\u200bｔｉｏｎ"],
)
def test_keyword_rules_match_after_nfkc_and_case_folding(title: str) -> None:
    assert mute.apply([mute.Rule("election")], title)


def test_rules_are_normalised_too() -> None:
    assert mute.apply([mute.Rule("Elec\u200btion")], "election night")
    assert mute.apply([mute.Rule("STRASSE")], "Die Straße")
    assert mute.apply([mute.Rule(r"elec\w+", regex=True)], "Elec\u200btion")
    assert not mute.apply([mute.Rule("election")], "elections")  # still whole words
    assert mute.validate(mute.Rule("\u200b\u200b")) is not None
