"""Bounded-time fuzzing campaigns over the feed and OPML paths (used by bench/fuzz.py and
bench/reliability.py)."""

from __future__ import annotations

import hashlib
import tempfile
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.storage import feeds
from app.storage.database import Database
from harness.mutation import corpus, mutated
from harness.target import check_feed, check_opml

OUT = Path(__file__).resolve().parents[1] / "bench" / "out" / "fuzz"
"""Where failing inputs are saved."""


def fuzz(target: str, seconds: float, examples: int = 200) -> tuple[int, list[str]]:
    """Run rounds of ``examples`` until ``seconds`` pass; returns (inputs tried, crashes)."""
    seeds = corpus("feeds" if target == "feeds" else "opml")
    tried = 0
    crashes: list[str] = []
    end = time.monotonic() + seconds
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = Database(folder / "fuzz.db")
        with db.write() as s:
            feed_id = feeds.add_feed(s, "http://127.0.0.1:9/feed.xml").id
        last: list[bytes] = []
        round_no = 0
        while time.monotonic() < end:
            round_no += 1

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=False,
                suppress_health_check=list(HealthCheck),
            )
            @given(data=mutated(seeds), variant=st.integers(0, 3))
            def run(data: bytes, variant: int) -> None:
                nonlocal tried
                tried += 1
                last[:] = [data]
                if target == "feeds":
                    check_feed(data, db, feed_id, variant)
                else:
                    check_opml(data, db, folder)

            try:
                run()
            except Exception:
                data = last[0] if last else b""
                digest = hashlib.sha256(data).hexdigest()[:12]
                OUT.mkdir(parents=True, exist_ok=True)
                (OUT / f"{target}-{digest}.bin").write_bytes(data)
                crashes.append(f"{target}-{digest}: {traceback.format_exc().splitlines()[-1]}")
        db.close()
    return tried, crashes
