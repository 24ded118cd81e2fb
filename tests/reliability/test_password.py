"""Passwords in feed addresses never show (issue 18, item 11): not in the stored address, a
message, a log line, a relative link of an article or an OPML export (unless asked for), and
they live in the system keyring when there is one; the feed is still fetched with them."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.feeds.fetcher import FetchLimits
from app.services import credential, subscription
from app.services.profile import Profile
from app.services.refresh import Refresher
from app.storage import articles, feeds
from harness.server import LocalServer, Reply, Request

SECRET = "s3cret"
FAST = FetchLimits(connect_timeout=2.0, total_timeout=2.0)
BODY = (
    b"<rss version='2.0'><channel><title>Private</title><link>/</link>"
    b"<item><guid>1</guid><title>Members only</title><link>/post/1</link>"
    b"<description>&lt;a href='/more'&gt;more&lt;/a&gt;</description></item>"
    b"</channel></rss>"
)


class FakeKeyring:
    """A stand-in for the ``keyring`` module with a working backend."""

    def __init__(self) -> None:
        self.store: dict[tuple[str, str], str] = {}

    def get_keyring(self) -> Any:
        return type("Backend", (), {"priority": 5})()

    def set_password(self, service: str, user: str, password: str) -> None:
        self.store[(service, user)] = password

    def get_password(self, service: str, user: str) -> str | None:
        return self.store.get((service, user))


@pytest.fixture
def server() -> Iterator[LocalServer]:
    server = LocalServer()
    expected = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()

    def guarded(request: Request) -> Reply:
        if request.headers.get("authorization") != expected:
            return Reply(status=401, body=b"who are you?")
        return Reply(body=BODY)

    server.route("/feed.xml", guarded)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["keyring", "no keyring"])
def keyring(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> FakeKeyring | None:
    fake = FakeKeyring() if request.param == "keyring" else None
    monkeypatch.setattr(credential, "_keyring", lambda: fake)
    return fake


def _with_password(server: LocalServer) -> str:
    return server.url("/feed.xml").replace("http://", f"http://alice:{SECRET}@")


def _profile_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.glob("heedful.db*") if p.is_file())


def test_the_password_is_used_but_never_shown(
    server: LocalServer,
    keyring: FakeKeyring | None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    root = tmp_path / "p"
    url = _with_password(server)
    with Profile(root) as profile:
        feed = subscription.add_feed(profile.db, url, limits=FAST)
        assert SECRET not in feed.url and "alice@" in feed.url
        summary = Refresher(profile.db, limits=FAST).refresh()
        assert summary.failed == 0, "the refresh must send the kept password"
        with pytest.raises(subscription.SubscriptionError) as again:
            subscription.add_feed(profile.db, url, limits=FAST)
        assert SECRET not in str(again.value)
        with profile.db.read() as s:
            links = [a.url or "" for a in articles.list_articles(s)]
            links += [a.summary_html for a in articles.list_articles(s)]
        assert links and not any(SECRET in link or "alice" in link for link in links)
    assert server.count("/feed.xml") == 2
    if keyring is not None:
        assert list(keyring.store.values()) == [SECRET]
        assert SECRET.encode() not in _profile_bytes(root)
    plain, full = tmp_path / "plain.opml", tmp_path / "full.opml"
    for argv in (
        ["stats"],
        ["list", "--json"],
        ["refresh"],
        ["export-opml", str(plain)],
        ["add", url.replace("feed.xml", "missing.xml")],
        ["add", url.replace("http://", "ftp://")],
    ):
        main(["--data-dir", str(root), *argv])
    main(["--data-dir", str(root), "export-opml", "--with-passwords", str(full)])
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err
    assert SECRET not in caplog.text
    assert SECRET.encode() not in plain.read_bytes()
    assert SECRET.encode() in full.read_bytes()


def test_an_imported_list_keeps_passwords_apart(
    server: LocalServer, keyring: FakeKeyring | None, tmp_path: Path
) -> None:
    listing = tmp_path / "in.opml"
    listing.write_text(
        f"<opml version='2.0'><body><outline type='rss' text='x' "
        f"xmlUrl='{_with_password(server)}'/></body></opml>"
    )
    with Profile(tmp_path / "p") as profile:
        report = subscription.import_opml(profile.db, listing)
        assert report.added == 1 and SECRET not in " ".join(report.problems)
        again = subscription.import_opml(profile.db, listing)
        assert again.skipped == 1 and SECRET not in " ".join(again.problems)
        with profile.db.read() as s:
            assert all(SECRET not in f.url for f in feeds.list_feeds(s))
        assert Refresher(profile.db, limits=FAST).refresh().failed == 0


def test_an_older_profile_has_its_passwords_moved_out(
    server: LocalServer, keyring: FakeKeyring | None, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    with Profile(root) as profile, profile.db.write() as s:
        feeds.add_feed(s, _with_password(server))  # as an older version stored it
    with Profile(root) as profile:
        with profile.db.read() as s:
            stored = feeds.list_feeds(s)[0].url
        assert SECRET not in stored
        assert credential.reveal(profile.db, stored) == _with_password(server)
        assert Refresher(profile.db, limits=FAST).refresh().failed == 0


def test_split_and_redact() -> None:
    assert credential.split("https://a:b%40c@h.org/f") == ("https://a@h.org/f", "b%40c")
    assert credential.split("https://a@h.org/f") == ("https://a@h.org/f", None)
    assert credential.split("https://h.org/f") == ("https://h.org/f", None)
    assert SECRET not in credential.redact(f"https://alice:{SECRET}@h.org/f")


def test_a_password_typed_into_a_feeds_properties_is_kept_apart(
    server: LocalServer, keyring: FakeKeyring | None, tmp_path: Path
) -> None:
    from app.services import feed as feed_service

    with Profile(tmp_path / "p") as profile:
        with profile.db.write() as s:
            feed_id = feeds.add_feed(s, server.url("/feed.xml")).id
        edit = feed_service.FeedEdit(None, None, _with_password(server), 1800, True)
        stored = feed_service.update(profile.db, feed_id, edit)
        assert SECRET not in stored.url
        assert Refresher(profile.db, limits=FAST).refresh().failed == 0
