"""Hypothesis strategies for fuzzing: real feed and OPML files as seeds, mutated byte-wise and
with tokens that parsers find hard (entities, CDATA, encodings, NUL, markup)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hypothesis import strategies as st

from harness.sample import rss

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TOKENS: tuple[bytes, ...] = (
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"&amp;",
    b"&#0;",
    b"&#x110000;",
    b"&nbsp;",
    b"&undefined;",
    b"<![CDATA[",
    b"]]>",
    b"<!--",
    b"-->",
    b'<!DOCTYPE rss [<!ENTITY e "eeeeeeeeee">]>',
    b'<!ENTITY x SYSTEM "file:///etc/passwd">',
    b"<script>alert(1)</script>",
    b'<img src="javascript:alert(1)" onerror="alert(2)">',
    b'<a href="data:text/html,x">',
    b'<?xml version="1.0" encoding="utf-16"?>',
    b'<?xml version="1.0" encoding="bogus-8"?>',
    b"<item>",
    b"</item>",
    b"<entry>",
    b"<title>",
    b"</title>",
    b"<link>",
    b"<guid>",
    b"<pubDate>Thu, 31 Feb 99999 25:61:61 +9999</pubDate>",
    b"<updated>0000-00-00T00:00:00Z</updated>",
    b'<outline xmlUrl="',
    b'" text="',
    b"/>",
    b"\r\n",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\x1b[31m",
)
_BUILTIN_FEEDS = (
    rss(1, 0, 3),
    b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
    b'<entry><id>1</id><title type="html">&lt;b&gt;x&lt;/b&gt;</title>'
    b'<link href="/a"/><content type="html">&lt;p&gt;hi&lt;/p&gt;</content></entry></feed>',
    b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": '
    b'[{"id": "1", "title": "t", "content_html": "<p>x</p>", "url": "https://e.org/1"}]}',
)
_BUILTIN_OPML = (
    b'<?xml version="1.0"?><opml version="2.0"><head><title>s</title></head><body>'
    b'<outline text="F"><outline type="rss" text="a" xmlUrl="https://e.org/a.xml"/></outline>'
    b"</body></opml>",
)


def corpus(kind: str, *, limit: int = 400, max_bytes: int = 200_000) -> list[bytes]:
    """Seed files: built-in samples plus, when ../shared/data is present, real ones.

    ``kind`` is "feeds" or "opml".
    """
    seeds = list(_BUILTIN_FEEDS if kind == "feeds" else _BUILTIN_OPML)
    folder = SHARED / "feeds"
    if folder.is_dir():
        suffixes = (".xml", ".rss", ".atom", ".rdf", ".json") if kind == "feeds" else (".opml",)
        paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in suffixes)
        if kind == "opml":
            paths += sorted(p for p in folder.rglob("*.xml") if b"<opml" in p.read_bytes()[:400])
        step = max(1, len(paths) // limit)
        for path in paths[::step][:limit]:
            data = path.read_bytes()
            if 0 < len(data) <= max_bytes:
                seeds.append(data)
    return seeds


def _apply(data: bytes, ops: Sequence[tuple[int, float, float, bytes]]) -> bytes:
    out = bytearray(data)
    for kind, where, span, token in ops:
        at = int(where * len(out))
        size = max(1, int(span * 64))
        if kind == 0:  # flip bits in a byte
            if out:
                at = min(at, len(out) - 1)
                out[at] ^= token[0] if token else 0xFF
        elif kind == 1:  # insert a token
            out[at:at] = token
        elif kind == 2:  # delete a run
            del out[at : at + size]
        elif kind == 3:  # duplicate a run
            out[at:at] = out[at : at + size] * 3
        elif kind == 4:  # truncate
            del out[at:]
        else:  # overwrite with a token
            out[at : at + len(token)] = token
    return bytes(out)


def _apply_pair(pair: tuple[bytes, list[tuple[int, float, float, bytes]]]) -> bytes:
    return _apply(*pair)


def mutated(seeds: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """A seed file with up to eight mutations (bit flips, token inserts, deletions,
    duplications, truncation, overwrites)."""
    op = st.tuples(
        st.integers(0, 5),
        st.floats(0.0, 1.0),
        st.floats(0.0, 1.0),
        st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=8)),
    )
    return st.tuples(st.sampled_from(list(seeds)), st.lists(op, max_size=8)).map(_apply_pair)
