"""Damage a profile's database in the ways issue 18 lists and measure what ``recover`` keeps.

Each trial copies one seeded profile (feeds, articles, clicks with their impressions, stars,
feedback, read times), damages ``heedful.db`` (a random page overwritten with garbage, scattered
bit flips, or the file cut short as by a power cut), then runs ``stats`` (which must refuse in
one line or work, never crash), ``recover`` and ``check``. Prints one row per kind: trials,
refused at open, tracebacks, recovered, and the rows of each kind of reader's data lost. With
``--backup`` the profile keeps its daily backup, taken before its last 4 clicks: ``recover``
then fills in from it what the damage took, and only rows newer than the backup can be lost.

    .venv/bin/python bench/recover.py [--trials 20] [--seed 0] [--backup]

``--large N`` instead times, on a profile of N articles, what the safeguards cost: opening with
and without the quick check, a backup, the full ``check`` and ``recover --force``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.cli import main as cli
from app.services import repair
from app.services.profile import Profile
from app.storage import articles, backup, events, feeds
from app.storage.database import Database
from app.storage.record import IncomingArticle
from harness.sample import seed_profile

KEPT = {
    "clicks": "SELECT count(*) FROM clicks",
    "impressions": "SELECT count(*) FROM impressions",
    "feedback": "SELECT count(*) FROM feedback",
    "stars": "SELECT count(*) FROM articles WHERE starred",
    "feeds": "SELECT count(*) FROM feeds WHERE url NOT LIKE 'https://recovered.invalid/%'",
    "articles": "SELECT count(*) FROM articles",
}


def seeded(folder: Path, with_backup: bool) -> Path:
    root = folder / "pristine"
    seed_profile(root, feed_count=4, per_feed=80, clicks=16)
    now = datetime.now(UTC)
    with Profile(root) as profile, profile.db.write() as s:
        ids = articles.unread_ids(s)
        for article_id in ids[:8]:
            articles.set_starred(s, article_id, True)
        articles.set_read(s, ids[8:40], True, now=now)
        for article_id in ids[40:44]:
            events.record_feedback(s, "more", now, article_id=article_id)
    shutil.rmtree(root / "backups", ignore_errors=True)
    backup.take(root / "heedful.db", root / "backups", backup.DAILY)
    with Profile(root) as profile, profile.db.write() as s:
        for n, article_id in enumerate(ids[50:54]):  # after the backup
            events.record_click(s, article_id, f"late-{n}", now)
    if not with_backup:
        shutil.rmtree(root / "backups", ignore_errors=True)
    return root


def counts(database: Path) -> dict[str, int]:
    conn = sqlite3.connect(database)
    try:
        return {name: int(conn.execute(query).fetchone()[0]) for name, query in KEPT.items()}
    finally:
        conn.close()


def damage(database: Path, kind: str, rng: random.Random) -> None:
    data = bytearray(database.read_bytes())
    if kind == "garbage page":
        page = rng.randrange(1, len(data) // 4096)  # never page 1, the header and schema
        data[page * 4096 : (page + 1) * 4096] = bytes(rng.randrange(256) for _ in range(4096))
    elif kind == "bit flips":
        for _ in range(30):
            data[rng.randrange(100, len(data))] ^= 1 << rng.randrange(8)
    else:  # power cut: the file ends at a random point
        del data[rng.randrange(4096, len(data)) :]
    database.write_bytes(bytes(data))


def run(root: Path, *argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli(["--data-dir", str(root), *argv])
    return code, err.getvalue()


def large(folder: Path, count: int) -> None:
    """Time the quick check at open, a backup, ``check`` and ``recover`` on ``count`` articles."""
    root = folder / "large"
    rng = random.Random(0)
    now = datetime.now(UTC)
    words = [
        "market",
        "bank",
        "rates",
        "election",
        "vote",
        "court",
        "police",
        "football",
        "space",
        "climate",
        "music",
    ]
    with Profile(root) as profile:
        with profile.db.write() as s:
            ids = [feeds.add_feed(s, f"https://example.org/{i}.xml").id for i in range(50)]
        per_feed = max(1, count // len(ids))
        for start in range(0, per_feed, 100):
            with profile.db.write() as s:
                for feed_id in ids:
                    items = [
                        IncomingArticle(
                            f"k{feed_id}-{n}",
                            f"https://example.org/{feed_id}/{n}",
                            " ".join(rng.choice(words) for _ in range(8)),
                            "<p>" + "text " * 40 + "</p>",
                            "text " * 40,
                            None,
                            now - timedelta(minutes=n),
                        )
                        for n in range(start, min(per_feed, start + 100))
                    ]
                    articles.upsert_articles(s, feed_id, items, now)
    database = root / "heedful.db"
    print(f"{count} articles, {database.stat().st_size / 2**20:.1f} MiB")
    for check in (False, True, False, True):
        started = time.perf_counter()
        Database(database, check=check).close()
        print(
            f"open, quick check {'on ' if check else 'off'}: {time.perf_counter() - started:.3f} s"
        )
    started = time.perf_counter()
    backup.take(database, folder / "backups", "bench")
    print(f"backup: {time.perf_counter() - started:.3f} s")
    started = time.perf_counter()
    repair.check(root)
    print(f"check: {time.perf_counter() - started:.3f} s")
    started = time.perf_counter()
    done = repair.recover(root, force=True)
    print(f"recover --force: {time.perf_counter() - started:.3f} s, {done.report.copied} rows")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backup", action="store_true", help="keep the daily backup")
    parser.add_argument("--large", type=int, default=0, help="time the safeguards instead")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    if args.large:
        with tempfile.TemporaryDirectory() as tmp:
            large(Path(tmp), args.large)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        pristine = seeded(Path(tmp), args.backup)
        expected = counts(pristine / "heedful.db")
        print(f"profile: {expected}")
        head = f"{'damage':<14}{'trials':>7}{'refused':>8}{'crashed':>8}{'recovered':>10}"
        print(f"{head}  lost rows")
        for kind in ("garbage page", "bit flips", "power cut"):
            tally: Counter[str] = Counter()
            lost: Counter[str] = Counter()
            for trial in range(args.trials):
                root = Path(tmp) / f"{kind.replace(' ', '-')}-{trial}"
                shutil.copytree(pristine, root)
                damage(root / "heedful.db", kind, rng)
                code, err = run(root, "stats")
                tally["refused"] += code == 1
                tally["crashed"] += code not in (0, 1) or "Traceback" in err
                code, err = run(root, "recover")
                if code != 0 and "nothing to recover" not in err:
                    tally["crashed"] += "Traceback" in err
                    continue
                if run(root, "check")[0] == 0:
                    tally["recovered"] += 1
                got = counts(root / "heedful.db")
                lost.update({k: max(0, expected[k] - got[k]) for k in expected})
                shutil.rmtree(root, ignore_errors=True)
            detail = ", ".join(f"{k} {lost[k]}" for k in KEPT)
            print(
                f"{kind:<14}{args.trials:>7}{tally['refused']:>8}{tally['crashed']:>8}"
                f"{tally['recovered']:>10}  {detail}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
