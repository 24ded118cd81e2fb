"""Privacy: a full session (OPML import, refresh, clicks, training, ranking, explaining, reading,
export, images on request) reaches no address but the feeds' own server."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from app.services import activity, reading, subscription
from app.services.image import fetch_images
from app.services.profile import Profile
from app.services.ranking import Ranker
from app.services.refresh import Refresher
from harness.sample import WORDS
from harness.server import LocalServer, Reply
from tests.reliability.guard import network_guard

_TRACKERS = (
    '<img src="http://tracker.invalid/pixel.gif?id={n}">'
    '<img srcset="http://cdn.invalid/a.png 2x">'
    '<a href="http://elsewhere.invalid/story/{n}">more</a>'
    '<iframe src="http://ads.invalid/frame"></iframe>'
    '<link rel="stylesheet" href="http://fonts.invalid/css">'
    '<p style="background:url(http://bg.invalid/b.png)">text</p>'
    '<video poster="http://video.invalid/p.jpg"></video>'
    '<img src="/img/{n}.png">'
)


def _feed(feed_no: int, count: int) -> bytes:
    items = "".join(
        f"<item><guid>p{feed_no}-{n}</guid>"
        f"<title>{WORDS[(n * 7 + feed_no) % len(WORDS)]} {WORDS[(n * 3) % len(WORDS)]} "
        f"{WORDS[(n * 11 + 5) % len(WORDS)]} {n}</title>"
        f"<link>http://news.invalid/{feed_no}/{n}</link>"
        f"<comments>http://comments.invalid/{n}</comments>"
        f"<enclosure url='http://media.invalid/{n}.mp3' type='audio/mpeg' length='1'/>"
        f"<description><![CDATA[{_TRACKERS.format(n=n)}]]></description></item>"
        for n in range(count)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
        f"<channel><title>Private {feed_no}</title><link>http://site.invalid/{feed_no}</link>"
        "<image><url>http://logo.invalid/logo.png</url></image>"
        '<atom:link rel="hub" href="http://hub.invalid/"/>'
        f"{items}</channel></rss>"
    ).encode()


@pytest.mark.slow
def test_a_whole_session_talks_only_to_the_feed_server(
    feed_server: LocalServer, tmp_path: Path
) -> None:
    for f in range(3):
        feed_server.route(f"/p/{f}.xml", Reply(body=_feed(f, 15)))
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    for n in range(15):
        feed_server.route(f"/img/{n}.png", Reply(body=png, content_type="image/png"))
    opml = tmp_path / "subs.opml"
    outlines = "".join(
        f'<outline type="rss" text="P{f}" xmlUrl="{feed_server.url(f"/p/{f}.xml")}" '
        f'htmlUrl="http://site.invalid/{f}"/>'
        for f in range(3)
    )
    opml.write_text(
        f'<?xml version="1.0"?><opml version="2.0"><head/><body>{outlines}</body></opml>'
    )
    with network_guard({"127.0.0.1"}) as guard, Profile(tmp_path / "profile") as profile:
        report = subscription.import_opml(profile.db, opml)
        assert report.added == 3
        summary = Refresher(profile.db, parse_processes=0).refresh()
        assert summary.ok == 3
        unread = reading.latest(profile.db, limit=100)
        ranker = Ranker(profile)
        session = activity.new_session()
        for i, item in enumerate(unread[:22]):
            above = [a.id for a in unread[i + 22 : i + 26]]
            activity.record_click(profile.db, item.id, session, dwell=5.0, shown_above=above)
        trained = ranker.train(epochs=1)
        assert trained.version is not None
        river = ranker.river(ranked=True, limit=10)
        assert river.mode == "ranked"
        explanation = ranker.explain(river.items[0].article.id)
        assert explanation.words
        article = reading.article(profile.db, river.items[0].article.id)
        assert article is not None
        reading.set_read(profile.db, [article.id], True)
        reading.mark_all_read(profile.db)
        subscription.export_opml(profile.db, tmp_path / "out.opml")
        local = [u for u in _image_urls(article.summary_html) if u.startswith("http://127.0.0.1")]
        images = fetch_images(article.id, local)
        assert len(images.images) == 1
    port = feed_server.port
    assert guard.refused == []
    assert guard.attempts, "the guard saw no connection at all"
    assert {(host, p) for _, host, p in guard.attempts if p is not None} <= {("127.0.0.1", port)}


def _image_urls(html: str) -> list[str]:
    return re.findall(r'<img[^>]*\ssrc="([^"]+)"', html)


def test_the_guard_refuses_and_records_other_hosts() -> None:
    with network_guard({"127.0.0.1"}) as guard:
        with pytest.raises(ConnectionRefusedError):
            socket.getaddrinfo("example.invalid", 80)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("192.0.2.1", 9), timeout=0.1)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            with pytest.raises(ConnectionRefusedError):
                sock.connect(("192.0.2.1", 9))
        finally:
            sock.close()
    assert [r[1] for r in guard.refused] == ["example.invalid", "192.0.2.1", "192.0.2.1"]
    assert socket.getaddrinfo.__module__ == "socket"
