"""A power cut while the vector cache is being saved (the writer killed inside fsync, the
files then truncated at random points) never stops ranking or explaining (issue 18, item 1);
a power cut of the database lands while its writer is still writing, and the harness looks at
the cut file without changing it. The full run, 20 cuts of the cache and 20 of each database
file, is bench/reliability.py."""

from __future__ import annotations

import hashlib
import random
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from harness import powercut
from harness.sample import seed_profile
from harness.training import install_model


@pytest.mark.slow  # starts writers and loads torch and a model
def test_power_cuts_of_the_vector_cache_lose_nothing(tmp_path: Path) -> None:
    root = tmp_path / "p"
    seed_profile(root, feed_count=3, per_feed=20, clicks=21)
    install_model(root)
    rng = random.Random(5)
    for _ in range(2):
        trial = powercut.cache_trial(root, rng)
        assert trial.ok and trial.lost == 0, trial.detail


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_looking_at_a_cut_database_leaves_it_and_its_log_as_they_were(tmp_path: Path) -> None:
    """quick_check and the click count read the cut file read-only: a read-write connection's
    close would checkpoint the log into the damaged file and delete it, older frames and all."""
    root, cut = tmp_path / "p", tmp_path / "cut"
    root.mkdir()
    with closing(sqlite3.connect(root / "heedful.db", isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE clicks (id INTEGER PRIMARY KEY, article_id INTEGER)")
        for n in range(50):
            conn.execute("INSERT INTO clicks (article_id) VALUES (?)", (n,))
        # a power cut while the writer holds the file: the log is there, not checkpointed
        shutil.copytree(root, cut, ignore=shutil.ignore_patterns("heedful.db-shm"))
    before = {p.name: _digest(p) for p in cut.glob("heedful.db*")}
    assert "heedful.db-wal" in before
    assert powercut.quick_check(cut) == "ok"
    assert powercut.readable_clicks(cut) == 50
    assert powercut.shown_clicks(cut) == set(range(1, 51))
    after = {p.name: _digest(p) for p in cut.glob("heedful.db*") if not p.name.endswith("-shm")}
    assert after == before


@pytest.mark.slow  # starts a writer, then the program three times
def test_a_power_cut_of_the_database_lands_while_its_writer_is_writing(tmp_path: Path) -> None:
    base = powercut.seeded_base(tmp_path)
    trial = powercut.database_trial(base, tmp_path, random.Random(3), target="wal")
    assert "killed while writing" in trial.detail, trial.detail
    assert trial.ok and trial.lost == 0, trial.detail
    (root,) = tmp_path.glob("cut-wal-*")
    assert powercut.committed_clicks(root)  # what the writer noted before the kill
