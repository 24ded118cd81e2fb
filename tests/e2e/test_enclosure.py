"""Enclosures through a real refresh: stored with type and size, never downloaded."""

from __future__ import annotations

from pathlib import Path

from app.services import attachment, reading, subscription
from app.services.profile import Profile
from app.services.refresh import Refresher
from app.storage.enclosure import EnclosureRecord
from harness.server import LocalServer, Reply


def test_refresh_keeps_enclosures_without_fetching_them(
    http_server: LocalServer, tmp_path: Path
) -> None:
    media = http_server.url("/media/e1.mp3")
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Pod</title>'
        "<item><guid>e1</guid><title>Episode one</title><link>https://pod.example/e1</link>"
        f'<enclosure url="{media}" type="audio/mpeg" length="4096"/></item>'
        "</channel></rss>"
    ).encode()
    http_server.route("/feed.xml", Reply(body=feed))
    http_server.route("/media/e1.mp3", Reply(body=b"\xff\xfb" * 2048, content_type="audio/mpeg"))
    with Profile(tmp_path) as profile:
        subscription.add_feed(profile.db, http_server.url("/feed.xml"))
        Refresher(profile.db).refresh()  # a second refresh must not add it twice
        [article] = reading.latest(profile.db)
        assert attachment.attachments(profile.db, article.id) == [
            EnclosureRecord(media, "audio/mpeg", 4096)
        ]
    assert http_server.count("/media/e1.mp3") == 0
