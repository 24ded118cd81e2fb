"""Hostile servers and documents, refreshed in one batch through the Refresher into a real
profile: each misbehaving feed must end as a per-feed error (or harmlessly parsed), in bounded
time and memory, while the well-behaved feeds of the same batch still get their articles.

Shared by the CI tests (small bombs, short timeouts) and bench/reliability.py (bigger ones).
"""

from __future__ import annotations

import itertools
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.feeds.fetcher import FetchLimits
from app.services.profile import Profile
from app.services.refresh import Refresher, RefreshSummary
from app.storage import articles, feeds
from app.storage.record import ArticleRecord
from harness.sample import rss
from harness.scenario import Trial
from harness.server import LocalServer, Reply

MARKER = "HEEDFUL-SECRET-7f3a9c"
"""Text of a local file that hostile documents try to pull into a stored article."""


@dataclass(frozen=True)
class Case:
    """One hostile (or control) feed: how the server answers, and what must hold afterwards.

    ``expect`` is "fail" (a per-feed error), "ok" (articles stored) or "any" (either, as long
    as ``check`` passes). ``check`` gets the feed's stored articles and returns a problem or
    None.
    """

    name: str
    reply: Reply | Callable[[object], Reply]
    expect: str
    check: Callable[[list[ArticleRecord]], str | None] | None = None
    content_type: str = "application/rss+xml"


@dataclass
class Outcome:
    """What the batch did: the summary, wall seconds, peak memory growth and one Trial per
    case."""

    summary: RefreshSummary
    seconds: float
    peak_mib: float | None
    trials: list[Trial] = field(default_factory=list)


def bomb(mebibytes: int, *, wrapper: str) -> bytes:
    """A valid ``wrapper`` ("gzip" or "zlib") stream of ``mebibytes`` MiB of zero bytes.

    Each 1 MiB block is compressed after a full flush, so every block after the first
    compresses to the same bytes: the stream repeats them and the trailer is computed
    directly, so the decoded size is never held in memory.
    """
    block = bytes(1 << 20)
    wbits = 16 + zlib.MAX_WBITS if wrapper == "gzip" else zlib.MAX_WBITS
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = 8 if wrapper == "gzip" else 4
    final = compressor.flush()[:-tail]
    if wrapper == "gzip":
        crc = 0
        for _ in range(mebibytes):
            crc = zlib.crc32(block, crc)
        trailer = struct.pack("<II", crc, (mebibytes << 20) & 0xFFFFFFFF)
    else:
        adler = 1
        for _ in range(mebibytes):
            adler = zlib.adler32(block, adler)
        trailer = struct.pack(">I", adler)
    return first + repeat * (mebibytes - 1) + final + trailer


def _endless(chunk: bytes, *, opening: bytes = b"") -> Iterator[bytes]:
    yield opening
    yield from itertools.repeat(chunk)


def _titles(records: list[ArticleRecord]) -> str:
    return " | ".join(r.title for r in records)


def _has(text: str) -> Callable[[list[ArticleRecord]], str | None]:
    def check(records: list[ArticleRecord]) -> str | None:
        if any(text in r.title for r in records):
            return None
        return f"no stored title contains {text!r} (titles: {_titles(records)[:120]!r})"

    return check


def _no_secret(records: list[ArticleRecord]) -> str | None:
    for r in records:
        if any(MARKER in part for part in (r.title, r.summary_html, r.summary_text)):
            return "the local file's content was stored"
    return None


def _not_expanded(records: list[ArticleRecord]) -> str | None:
    for r in records:
        if "lollollol" in r.title + r.summary_text:
            return f"entities were expanded ({len(r.title + r.summary_text)} chars)"
    return None


def _capped(records: list[ArticleRecord]) -> str | None:
    if not records:
        return "no articles from the big feed"
    if len(records) > 2000:
        return f"{len(records)} articles stored, over the 2,000 cap"
    return None


def _no_nul(records: list[ArticleRecord]) -> str | None:
    if any("\x00" in r.title + r.summary_html for r in records):
        return "a NUL byte was stored"
    return _has("café")(records)


def _item_doc(title_xml: str, *, prolog: str = "", encoding: str = "utf-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n{prolog}'
        '<rss version="2.0"><channel><title>Hostile</title><link>https://example.org/</link>'
        f"<item><guid>h1</guid><title>{title_xml}</title>"
        "<description>plain</description></item></channel></rss>"
    )


def cases(server: LocalServer, secret: Path, *, bomb_mib: int, items: int) -> list[Case]:
    """The hostile feeds (plus three well-behaved controls), routed on ``server``.

    ``secret`` is a local file holding :data:`MARKER`; ``bomb_mib`` the decoded size of the
    compression bombs; ``items`` the entry count of the huge feed.
    """
    secret_url = secret.resolve().as_uri()
    laughs = (
        '<!DOCTYPE rss [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
            for i in range(1, 10)
        )
        + "]>"
    )
    huge = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Huge</title>'
        + "".join(f"<item><guid>{n}</guid><title>t {n}</title></item>" for n in range(items))
        + "</channel></rss>"
    ).encode()
    valid = rss(900, 0, 3)
    cafe = _item_doc("café crème")

    def loop(_request: object) -> Reply:
        return Reply(status=302, headers={"Location": "/h/loop"}, body=b"")

    def redirect(to: str) -> Reply:
        return Reply(status=302, headers={"Location": to}, body=b"")

    return [
        Case("control 1", Reply(body=rss(901, 0, 5), content_type="application/rss+xml"), "ok"),
        Case("control 2", Reply(body=rss(902, 0, 5), content_type="application/rss+xml"), "ok"),
        Case("control 3", Reply(body=rss(903, 0, 5), content_type="application/rss+xml"), "ok"),
        Case(
            "slow drip body",
            Reply(body=_endless(b" ", opening=valid[:100]), chunk_delay=0.05),
            "fail",
        ),
        Case("slow headers", Reply(body=valid, delay=3600), "fail"),
        Case("endless body", Reply(body=_endless(b"<!-- endless -->" * 4096)), "fail"),
        Case(
            "gzip bomb",
            Reply(body=bomb(bomb_mib, wrapper="gzip"), headers={"Content-Encoding": "gzip"}),
            "fail",
        ),
        Case(
            "deflate bomb",
            Reply(body=bomb(bomb_mib, wrapper="zlib"), headers={"Content-Encoding": "deflate"}),
            "fail",
        ),
        Case("redirect loop", loop, "fail"),
        Case("redirect to file://", redirect(secret_url), "fail", _no_secret),
        Case("redirect to ftp://", redirect("ftp://127.0.0.1/feed.xml"), "fail"),
        Case("redirect to javascript:", redirect("javascript:alert(1)"), "fail"),
        Case("redirect to data:", redirect("data:application/rss+xml;base64,PHJzcy8+"), "fail"),
        Case("wrong Content-Type (image/png)", Reply(body=valid, content_type="image/png"), "ok"),
        Case("wrong Content-Type (text/html)", Reply(body=valid, content_type="text/html"), "ok"),
        Case("no Content-Type", Reply(body=valid, content_type=None), "ok"),
        Case(
            "wrong charset (latin-1 sent as utf-8)",
            Reply(
                body=_item_doc("café crème", encoding="iso-8859-1").encode("latin-1"),
                content_type="application/xml; charset=utf-8",
            ),
            "ok",
        ),
        Case(
            "missing charset (windows-1252)",
            Reply(
                body=_item_doc("café crème", encoding="windows-1252").encode("cp1252"),
                content_type="application/xml",
            ),
            "ok",
            _has("café"),
        ),
        Case(
            "NUL bytes",
            Reply(
                body=cafe.encode().replace(b"<item>", b"<item>\x00\x00").replace(b"caf", b"c\x00af")
            ),
            "ok",
            _no_nul,
        ),
        Case(
            "UTF-16 LE with BOM",
            Reply(body=_item_doc("café crème", encoding="utf-16").encode("utf-16")),
            "ok",
            _has("café"),
        ),
        Case(
            "UTF-16 BE, charset in header only",
            Reply(
                body=_item_doc("café crème", encoding="utf-16").encode("utf-16-be"),
                content_type="application/xml; charset=utf-16be",
            ),
            "ok",
            _has("café"),
        ),
        Case(f"{items:,}-item feed", Reply(body=huge), "ok", _capped),
        Case(
            "billion laughs",
            Reply(body=_item_doc("&lol9;", prolog=laughs).encode()),
            "any",
            _not_expanded,
        ),
        Case(
            "external entity (file)",
            Reply(
                body=_item_doc(
                    "read &xxe;", prolog=f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret_url}">]>'
                ).encode()
            ),
            "any",
            _no_secret,
        ),
        Case(
            "external DTD (network)",
            Reply(
                body=_item_doc(
                    "dtd &ext;",
                    prolog=f'<!DOCTYPE rss SYSTEM "{server.url("/h/evil.dtd")}">',
                ).encode()
            ),
            "any",
            _no_secret,
        ),
        Case(
            "parameter entity",
            Reply(
                body=_item_doc(
                    "pe",
                    prolog=(
                        f'<!DOCTYPE rss [<!ENTITY % p SYSTEM "{server.url("/h/evil.dtd")}"> %p;]>'
                    ),
                ).encode()
            ),
            "any",
            _no_secret,
        ),
        Case(
            "web page instead of a feed",
            Reply(body=b"<!DOCTYPE html><html><body>hi</body></html>", content_type="text/html"),
            "fail",
        ),
        Case(
            "truncated body",
            Reply(body=iter([valid[: len(valid) // 3]]), headers={"Content-Length": "99999"}),
            "any",
        ),
        Case("empty body", Reply(body=b""), "fail"),
        Case(
            "503 with Retry-After",
            Reply(status=503, body=b"busy", headers={"Retry-After": "120"}),
            "fail",
        ),
    ]


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_kib() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _current_kib() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def hostile_batch(
    server: LocalServer, root: Path, secret: Path, limits: FetchLimits, *, bomb_mib: int, items: int
) -> Outcome:
    """Subscribe to every case, refresh them in one batch, and judge each feed."""
    secret.write_text(MARKER)
    chosen = cases(server, secret, bomb_mib=bomb_mib, items=items)
    server.route("/h/evil.dtd", Reply(body=f'<!ENTITY ext "{MARKER}">'.encode()))
    with Profile(root) as profile:
        ids: dict[str, int] = {}
        with profile.db.write() as s:
            for n, case in enumerate(chosen):
                path = f"/h/{n}" if case.name != "redirect loop" else "/h/loop"
                server.route(path, case.reply)
                ids[case.name] = feeds.add_feed(s, server.url(path), title=case.name).id
        base = _current_kib() if _reset_peak() else None
        started = time.monotonic()
        summary = Refresher(profile.db, limits=limits).refresh()
        seconds = time.monotonic() - started
        peak = _peak_kib()
        failed = {f.feed_id: f.message for f in summary.failures}
        outcome = Outcome(
            summary, seconds, None if base is None or peak is None else (peak - base) / 1024
        )
        for case in chosen:
            feed_id = ids[case.name]
            with profile.db.read() as s:
                stored = articles.list_articles(
                    s, feed_id=feed_id, unread_only=False, limit=1_000_000
                )
            problems = []
            if case.expect == "fail" and feed_id not in failed:
                problems.append(f"expected a per-feed error, got {len(stored)} articles")
            if case.expect == "ok" and (feed_id in failed or not stored):
                problems.append(f"expected articles, got {failed.get(feed_id, 'none')!r}")
            if feed_id in failed and not failed[feed_id].strip():
                problems.append("empty error message")
            if case.check is not None:
                problem = case.check(stored)
                if problem:
                    problems.append(problem)
            what = (
                f"error: {failed[feed_id][:70]}" if feed_id in failed else f"{len(stored)} stored"
            )
            outcome.trials.append(
                Trial(f"hostile: {case.name}", not problems, 0, "; ".join([what, *problems]))
            )
    dtd = server.count("/h/evil.dtd")
    outcome.trials.append(
        Trial(
            "hostile: no DTD fetched",
            dtd == 0,
            0,
            f"the external DTD was requested {dtd} times",
        )
    )
    return outcome
