"""Folders: what one holds, renaming it, deleting it with its feeds, moving feeds, and deleting
the feeds whose refresh failed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.services import activity, folder
from app.services import feed as feed_service
from app.services.profile import Profile
from app.storage import articles, events, feeds
from app.storage.record import IncomingArticle


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Profile]:
    p = Profile(tmp_path / "profile")
    yield p
    p.close()


def subscribe(profile: Profile, name: str, where: str | None, count: int = 2) -> int:
    now = datetime.now(UTC)
    with profile.db.write() as s:
        feed_id = feeds.add_feed(s, f"https://example.org/{name}.xml", title=name, folder=where).id
        items = [
            IncomingArticle(
                dedup_key=f"{name}{i}",
                url=f"https://example.org/{name}/{i}",
                title=f"{name} story {i}",
                summary_html="<p>x</p>",
                summary_text="x",
                author=None,
                published=now,
            )
            for i in range(count)
        ]
        articles.upsert_articles(s, feed_id, items, now)
    return feed_id


def places(profile: Profile) -> dict[str, str | None]:
    with profile.db.read() as s:
        return {f.title: f.folder for f in feeds.list_feeds(s)}


def test_a_folder_holds_its_inner_folders_but_not_a_namesake_prefix() -> None:
    assert folder.holds("News", "News")
    assert folder.holds("News", "News/Tech")
    assert not folder.holds("News", "Newsletters")
    assert not folder.holds("News", None)


def test_contents_count_feeds_and_articles(profile: Profile) -> None:
    a = subscribe(profile, "a", "News", 3)
    b = subscribe(profile, "b", "News/Tech", 2)
    subscribe(profile, "c", "Newsletters", 4)
    found = folder.contents(profile.db, "News")
    assert set(found.feed_ids) == {a, b}
    assert found.articles == 5


def test_rename_carries_inner_folders_and_merges(profile: Profile) -> None:
    subscribe(profile, "a", "News")
    subscribe(profile, "b", "News/Tech")
    subscribe(profile, "c", "World")
    assert folder.rename(profile.db, "News", " World ") == folder.Renamed("News", "World", 2)
    assert places(profile) == {"a": "World", "b": "World/Tech", "c": "World"}


@pytest.mark.parametrize("name", ["", "  ", "a//b", "/a"])
def test_rename_refuses_an_empty_name(profile: Profile, name: str) -> None:
    subscribe(profile, "a", "News")
    with pytest.raises(folder.FolderError):
        folder.rename(profile.db, "News", name)
    assert places(profile) == {"a": "News"}


def test_delete_takes_the_folders_feeds_and_articles_only(profile: Profile) -> None:
    subscribe(profile, "a", "News")
    subscribe(profile, "b", "News/Tech")
    subscribe(profile, "c", None)
    gone = folder.delete(profile.db, "News")
    assert len(gone.feed_ids) == 2 and gone.articles == 4
    assert places(profile) == {"c": None}
    with profile.db.read() as s:
        assert articles.stats(s).articles == 2


def test_move_files_feeds_under_another_folder_or_none(profile: Profile) -> None:
    a = subscribe(profile, "a", "News")
    b = subscribe(profile, "b", None)
    folder.move(profile.db, [a, b], "Tech")
    assert places(profile) == {"a": "Tech", "b": "Tech"}
    folder.move(profile.db, [a], None)
    assert places(profile) == {"a": None, "b": "Tech"}


def test_failing_feeds_are_deleted_together(profile: Profile) -> None:
    a = subscribe(profile, "a", None)
    b = subscribe(profile, "b", None)
    c = subscribe(profile, "c", None)
    with profile.db.write() as s:
        for feed_id in (a, b):
            feeds.record_fetch_failure(s, feed_id, datetime.now(UTC), "HTTP 404")
    with profile.db.read() as s:
        failing = feed_service.failing(feeds.list_feeds(s))
    assert {f.id for f in failing} == {a, b} and c not in {f.id for f in failing}
    assert feed_service.delete_many(profile.db, [a, b, 999]) == 2
    assert places(profile) == {"c": None}


def test_a_folder_of_one_feed_is_logged_as_a_screen_where_feeds_do_not_compete(
    profile: Profile,
) -> None:
    subscribe(profile, "alone", "Solo")
    subscribe(profile, "first", "News/Tech")
    subscribe(profile, "second", "News")
    solo = activity.new_screen(profile.db, "folder", filter={"folder": "Solo"})
    news = activity.new_screen(profile.db, "folder", filter={"folder": "News"})
    tech = activity.new_screen(profile.db, "folder", filter={"folder": "News/Tech"})
    latest = activity.new_screen(profile.db, "latest")
    with profile.db.read() as s:
        screens = events.screens(s)
        assert feeds.count_in_folder(s, "News") == 2 and feeds.count_in_folder(s, "Gone") == 0
    # a folder of one feed says no more about that feed than its own view; a nested one counts
    assert not screens[solo].multi_feed and not screens[tech].multi_feed
    assert screens[news].multi_feed and screens[latest].multi_feed
