"""A damaged or missing database is handled the same way everywhere (issue 18, item 8): every
command refuses it with one line that names the file and the way out, without writing into it;
``check`` runs the full integrity check; ``recover`` rebuilds a fresh database from what can be
read (table by table, row by row past a bad page) and keeps the damaged file; rolling backups
are taken daily and before a migration; a missing database beside models or backups is not a
new profile; flipped bits never end in a traceback."""

from __future__ import annotations

import hashlib
import random
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.cli import main
from app.services.profile import Profile
from app.storage import articles, backup, events
from app.storage.migration import MIGRATIONS
from harness.sample import seed_profile

COMMANDS = (
    ["stats", "--json"],
    ["list", "--json"],
    ["click", "1"],
    ["explain", "1", "--json"],
    ["refresh"],
    ["add", "http://127.0.0.1:9/feed.xml"],
    ["export-opml", "{tmp}/out.opml"],
    ["train"],
)
TABLES = ("feeds", "articles", "clicks", "impressions", "feedback", "tombstones", "settings")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A profile with feeds, articles, clicks, impressions, stars, feedback and read times."""
    root = tmp_path_factory.mktemp("damage") / "profile"
    seed_profile(root, feed_count=3, per_feed=60, clicks=12)
    now = datetime.now(UTC)
    with Profile(root) as profile, profile.db.write() as s:
        ids = articles.unread_ids(s)
        for article_id in ids[:5]:
            articles.set_starred(s, article_id, True)
        articles.set_read(s, ids[5:15], True, now=now)
        for article_id in ids[15:18]:
            events.record_feedback(s, "more", now, article_id=article_id)
        events.set_setting(s, "mute_rules", '[{"pattern": "storm", "regex": false}]')
    for path in root.glob("heedful.db-*"):
        path.unlink()  # closed cleanly: everything is in the main file
    shutil.rmtree(root / "backups", ignore_errors=True)
    return root


@pytest.fixture
def root(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "profile"
    shutil.copytree(pristine, copy)
    return copy


def _counts(database: Path) -> dict[str, int]:
    conn = sqlite3.connect(database)
    try:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        counts["starred"] = conn.execute("SELECT count(*) FROM articles WHERE starred").fetchone()[
            0
        ]
        counts["read_at"] = conn.execute(
            "SELECT count(*) FROM articles WHERE read_at IS NOT NULL"
        ).fetchone()[0]
        return counts
    finally:
        conn.close()


def _pages(database: Path, name: str) -> list[int]:
    conn = sqlite3.connect(database)
    try:
        query = "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno"
        return [row[0] for row in conn.execute(query, (name,))]
    finally:
        conn.close()


def _garble(database: Path, page: int, seed: int = 0) -> None:
    """Overwrite one page (4 KiB) with random bytes, as a bad sector or a stray write would."""
    rng = random.Random(seed)
    with database.open("r+b") as handle:
        handle.seek((page - 1) * 4096)
        handle.write(bytes(rng.randrange(256) for _ in range(4096)))


def _digest(root: Path) -> str:
    return "".join(
        hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.glob("heedful.db*"))
    )


def _run(capsys: pytest.CaptureFixture[str], root: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(root), *[a.replace("{tmp}", str(root)) for a in argv]])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_command_refuses_a_damaged_file_without_writing_into_it(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = root / "heedful.db"
    pages = _pages(database, "articles")
    _garble(database, pages[len(pages) // 2])
    before = _digest(root)
    for argv in COMMANDS:
        code, _, err = _run(capsys, root, *argv)
        assert code == 1, (argv, err)
        assert err.count("\n") == 1 and str(database) in err and "recover" in err, (argv, err)
    assert _digest(root) == before, "a refused command wrote into the damaged file"
    code, _out, err = _run(capsys, root, "check")
    assert code == 1 and "recover" in err
    assert _digest(root) == before, "check wrote into the damaged file"


def test_recover_keeps_every_row_a_damaged_index_page_hides(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = root / "heedful.db"
    expected = _counts(database)
    _garble(database, _pages(database, "ix_articles_time")[0])
    damaged = _digest(root)
    code, out, _ = _run(capsys, root, "recover")
    assert code == 0, out
    assert _counts(database) == expected
    aside = list(root.glob("heedful.damaged-*.db"))
    assert len(aside) == 1 and hashlib.sha256(aside[0].read_bytes()).hexdigest() == damaged
    assert _run(capsys, root, "check")[0] == 0
    code, out, _ = _run(capsys, root, "list", "--json", "--limit", "5")
    assert code == 0 and out.strip().startswith("[")


def test_recover_reads_row_by_row_past_a_bad_table_page(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = root / "heedful.db"
    expected = _counts(database)
    pages = _pages(database, "articles")
    conn = sqlite3.connect(database)
    on_page = conn.execute(
        "SELECT ncell FROM dbstat WHERE pageno = ?", (pages[len(pages) // 2],)
    ).fetchone()[0]
    conn.close()
    _garble(database, pages[len(pages) // 2], seed=1)
    code, out, _ = _run(capsys, root, "recover")
    assert code == 0, out
    got = _counts(database)
    assert got["feeds"] == expected["feeds"]
    assert expected["articles"] - on_page <= got["articles"] < expected["articles"]
    assert "row by row" in out
    for table in ("clicks", "impressions", "feedback", "starred"):
        assert got[table] >= expected[table] - on_page, table
    assert got["settings"] == expected["settings"]
    assert _run(capsys, root, "check")[0] == 0


@pytest.mark.parametrize("seed", range(6))
def test_scattered_bit_flips_never_end_in_a_traceback(
    root: Path, capsys: pytest.CaptureFixture[str], seed: int
) -> None:
    database = root / "heedful.db"
    data = bytearray(database.read_bytes())
    rng = random.Random(seed)
    for _ in range(40):
        data[rng.randrange(100, len(data))] ^= 1 << rng.randrange(8)
    database.write_bytes(bytes(data))
    for argv in (["stats"], ["list", "--json", "--all", "--limit", "1000"], ["check"]):
        code, _, err = _run(capsys, root, *argv)
        assert code in (0, 1), (argv, err)
        assert "Traceback" not in err and "UnicodeDecodeError" not in err
    code, _, err = _run(capsys, root, "recover", "--force")
    assert code in (0, 1) and "Traceback" not in err
    if code == 0:
        assert _run(capsys, root, "stats", "--json")[0] == 0


def test_text_a_flipped_bit_broke_still_reads(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = root / "heedful.db"
    conn = sqlite3.connect(database)
    title = conn.execute("SELECT title FROM articles ORDER BY id LIMIT 1").fetchone()[0]
    conn.close()
    data = database.read_bytes()
    at = data.index(title.encode())
    database.write_bytes(data[:at] + b"\xff\xfe" + data[at + 2 :])
    code, out, err = _run(capsys, root, "list", "--json", "--limit", "1000")
    assert code == 0, err
    assert "\ufffd" in out


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_a_lost_database_beside_backups_is_not_a_new_profile(
    root: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    with Profile(root):
        pass  # the day's backup
    saved = backup.backups(root / "backups")
    assert len(saved) == 1
    expected = _counts(root / "heedful.db")
    database = root / "heedful.db"
    if how == "deleted":
        database.unlink()
    else:
        database.write_bytes(b"")
    code, _, err = _run(capsys, root, "stats")
    assert code == 1 and "not a new profile" in err and "recover" in err
    assert not database.exists() or database.stat().st_size == 0, "nothing may be created"
    code, out, _ = _run(capsys, root, "recover")
    assert code == 0, out
    assert _counts(database) == expected
    assert _run(capsys, root, "stats")[0] == 0


def test_models_without_a_database_are_not_a_new_profile(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (root / "models").mkdir(exist_ok=True)
    (root / "models" / "model-00001.pt").write_bytes(b"weights")
    (root / "heedful.db").unlink()
    code, _, err = _run(capsys, root, "list")
    assert code == 1 and "not a new profile" in err
    assert not (root / "heedful.db").exists()


def test_backups_daily_and_before_a_migration(tmp_path: Path) -> None:
    root = tmp_path / "old"
    root.mkdir()
    conn = sqlite3.connect(root / "heedful.db")
    for migration in MIGRATIONS[:2]:
        for statement in migration:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    conn.execute(
        "INSERT INTO feeds (url, created) VALUES ('https://example.org/f', '2026-01-01 00:00:00')"
    )
    conn.commit()
    conn.close()
    with Profile(root) as profile:
        assert profile.db.schema_version == len(MIGRATIONS)
    kinds = sorted(p.name.rsplit("-", 1)[-1] for p in backup.backups(root / "backups"))
    assert kinds == ["daily.db", f"v{len(MIGRATIONS)}.db"]
    old = next(p for p in backup.backups(root / "backups") if "before" in p.name)
    conn = sqlite3.connect(old)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("SELECT count(*) FROM feeds").fetchone()[0] == 1
    conn.close()
    for day in range(5):
        backup.take(
            root / "heedful.db",
            root / "backups",
            backup.DAILY,
            datetime(2026, 1, day + 1, tzinfo=UTC),
        )
    dailies = [p for p in backup.backups(root / "backups") if p.name.endswith("-daily.db")]
    assert len(dailies) == backup.KEEP


def test_a_sound_database_passes_check_and_recover_asks_for_force(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, root, "check")
    assert code == 0 and "ok" in out
    code, _, err = _run(capsys, root, "recover")
    assert code == 1 and "--force" in err


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_a_truncated_file_is_refused_then_recovered(
    root: Path, capsys: pytest.CaptureFixture[str], fraction: float
) -> None:
    """A power cut that leaves a short file: one line, never a traceback; ``recover`` rebuilds
    what the remaining pages hold."""
    database = root / "heedful.db"
    size = database.stat().st_size
    with database.open("r+b") as handle:
        handle.truncate(int(size * fraction) // 4096 * 4096 + 100)
    before = _digest(root)
    for argv in (["stats"], ["click", "1"], ["list", "--json"]):
        code, _, err = _run(capsys, root, *argv)
        assert code == 1 and "recover" in err and err.count("\n") == 1, (argv, err)
    assert _digest(root) == before
    code, _out, err = _run(capsys, root, "recover")
    assert code in (0, 1) and "Traceback" not in err, err
    if code == 0:
        assert _run(capsys, root, "check")[0] == 0
        assert _run(capsys, root, "stats")[0] == 0


def test_recover_fills_in_from_the_newest_backup_what_the_damage_took(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = root / "heedful.db"
    expected = _counts(database)
    backup.take(database, root / "backups", backup.DAILY)
    with database.open("r+b") as handle:
        handle.truncate(database.stat().st_size // 2)  # a power cut: the tail is gone
    code, out, _ = _run(capsys, root, "recover")
    assert code == 0, out
    assert _counts(database) == expected
    assert "from heedful-" in out  # the report says which rows came from the backup
