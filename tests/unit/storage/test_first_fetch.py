"""A feed's first fetch written in bulk (one multi-row insert of articles, one of attachments)
leaves exactly the rows that the general path (insert, look-up of ids, attachments article by
article) leaves: every table of the file, ids, tombstones and the full-text index's terms
included. Only the index's segments differ (its ``_data`` and ``_idx`` tables): FTS5 writes a
segment per statement, and the bulk path is one statement where the other is one a row."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.storage.articles import UNREAD_CAP_SETTING, FromSetting, upsert_articles
from app.storage.database import Database
from app.storage.enclosure import MAX_PER_ARTICLE, EnclosureRecord
from app.storage.feeds import add_feed
from app.storage.record import IncomingArticle, UpsertResult
from app.storage.setting import set_setting
from tests.unit.storage.rows import every_row
from tests.unit.storage.sample import NOW, item

Attachments = Mapping[str, Sequence[EnclosureRecord]]
_CAP_FROM_SETTING = FromSetting.FROM_SETTING


def _profile(root: Path, cap_setting: int | None) -> Path:
    """A profile folder with two feeds (the second one already has an article, so that the
    first feed's ids do not start at 1) and, when given, the unread cap setting."""
    folder = root / "template"
    with Database(folder / "heedful.sqlite") as db, db.write() as s:
        feed = add_feed(s, "https://example.org/feed.xml", title="Example").id
        other = add_feed(s, "https://example.org/other.xml").id
        upsert_articles(s, other, [item("older", age_days=3)], NOW)
        if cap_setting is not None:
            set_setting(s, UNREAD_CAP_SETTING, str(cap_setting))
        assert feed == 1
    return folder


def _store(
    folder: Path,
    batches: Sequence[tuple[Sequence[IncomingArticle], Attachments, datetime]],
    cap: int | FromSetting | None,
    *,
    bulk: bool,
) -> list[UpsertResult]:
    """Each fetch of feed 1 in turn, in a transaction of its own (the first one bulk or not)."""
    results = []
    with Database(folder / "heedful.sqlite") as db:
        for items, attachments, now in batches:
            with db.write() as s:
                results.append(
                    upsert_articles(s, 1, items, now, cap=cap, attachments=attachments, bulk=bulk)
                )
    return results


def _compare(
    root: Path,
    batches: Sequence[tuple[Sequence[IncomingArticle], Attachments, datetime]],
    cap: int | FromSetting | None = _CAP_FROM_SETTING,
    cap_setting: int | None = None,
) -> dict[str, list[tuple[object, ...]]]:
    """Store ``batches`` both ways into two copies of one profile; assert that they return the
    same and leave the same rows, and return those rows."""
    template = _profile(root, cap_setting)
    shutil.copytree(template, root / "bulk")
    shutil.copytree(template, root / "general")
    bulk = _store(root / "bulk", batches, cap, bulk=True)
    general = _store(root / "general", batches, cap, bulk=False)
    assert bulk == general
    tables = every_row(root / "bulk" / "heedful.sqlite")
    assert tables == every_row(root / "general" / "heedful.sqlite")
    return tables


def _enclosures(key: str, count: int) -> list[EnclosureRecord]:
    return [
        EnclosureRecord(f"https://cdn.example/{key}/{n}.mp3", "audio/mpeg", 1000 + n)
        for n in range(count)
    ]


def test_a_first_fetch_with_attachments_dates_and_repeated_keys(tmp_path: Path) -> None:
    items = [
        item("a", age_days=1, author="Ann", summary="first"),
        item("b"),  # no date
        item("c", published=NOW + timedelta(days=3)),  # in the future: clamped to now
        item("a", title="A again", age_days=0.5, summary="last version wins"),
        item("d", url="", age_days=2),
        item("e", age_days=4),
    ]
    attachments: dict[str, list[EnclosureRecord]] = {
        "a": _enclosures("a", 2),
        "b": [EnclosureRecord("https://cdn.example/b.ogg")] * 2 + [EnclosureRecord("")],
        "e": _enclosures("e", MAX_PER_ARTICLE + 3),
        "unknown": _enclosures("unknown", 1),  # no such entry: ignored
    }
    tables = _compare(tmp_path, [(items, attachments, NOW)])
    titles = sorted(row[4] for row in tables["articles"] if row[1] == 1)
    assert titles == ["A again", "Title b", "Title c", "Title d", "Title e"]
    assert len(tables["enclosures"]) == 2 + 1 + MAX_PER_ARTICLE


@pytest.mark.parametrize(("cap", "cap_setting"), [(3, None), (_CAP_FROM_SETTING, 2), (None, 1)])
def test_a_first_fetch_beyond_the_unread_cap(
    tmp_path: Path, cap: int | FromSetting | None, cap_setting: int | None
) -> None:
    items = [item(f"k{n}", age_days=n) for n in range(6)] + [item("undated"), item("k1")]
    attachments = {f"k{n}": _enclosures(f"k{n}", 2) for n in range(0, 6, 2)}
    tables = _compare(tmp_path, [(items, attachments, NOW)], cap, cap_setting)
    kept = 8 - 1 if cap is None else (3 if cap == 3 else 2)  # 7 distinct keys
    assert len([row for row in tables["articles"] if row[1] == 1]) == kept
    assert len(tables["tombstones"]) == 2 * (7 - kept)  # buried by key and by title and link


def test_later_fetches_on_top_of_a_bulk_first_fetch(tmp_path: Path) -> None:
    first = [item("a", age_days=1), item("b", age_days=2), item("c")]
    second = [
        item("a", title="A edited", age_days=1),  # an update
        item("b2", title="Title b", url="https://example.org/b", age_days=2),  # b re-keyed
        item("d", age_days=0.1),  # new
    ]
    later = NOW + timedelta(hours=1)
    tables = _compare(
        tmp_path,
        [
            (first, {"a": _enclosures("a", 1)}, NOW),
            (second, {"a": _enclosures("a", 2), "d": _enclosures("d", 1)}, later),
        ],
        cap=3,
    )
    keys = sorted(row[2] for row in tables["articles"] if row[1] == 1)
    assert len(keys) == 3  # the cap of 3 buried one of a, b2, c, d
    assert len(tables["tombstones"]) == 2  # by key and by title and link


_keys = st.sampled_from(["a", "b", "c", "d", "e", "f"])
_items = st.builds(
    item,
    _keys,
    st.one_of(st.none(), st.sampled_from(["One", "Two"])),
    summary=st.sampled_from(["", "text"]),
    author=st.one_of(st.none(), st.just("Ann")),
    age_days=st.one_of(st.none(), st.floats(min_value=-2, max_value=30)),
)


@settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    items=st.lists(_items, min_size=1, max_size=12),
    attached=st.dictionaries(_keys, st.integers(min_value=0, max_value=3)),
    cap=st.one_of(st.none(), st.integers(min_value=1, max_value=8)),
)
def test_any_first_fetch_is_written_alike(
    items: list[IncomingArticle], attached: dict[str, int], cap: int | None
) -> None:
    attachments = {key: _enclosures(key, count) for key, count in attached.items()}
    with tempfile.TemporaryDirectory() as root:
        _compare(Path(root), [(items, attachments, NOW)], cap)
