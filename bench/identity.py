"""How many feed items are lost because they share an identity within one fetch.

Parses every file under ``../shared/data/feeds`` (or the folder given) as the refresher does
and prints, per file that loses items, how many entries it has and how many were merged into
an earlier one; then the totals. Skips cleanly when the folder is absent.

    .venv/bin/python bench/identity.py [FOLDER]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from app.feeds.entry import ParseError
from app.feeds.parser import parse_feed

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "feeds"
_MERGED = re.compile(r"(\d+) entries repeated an earlier entry's identity")
MAX_BYTES = 8 * 1024 * 1024


def merged(path: Path) -> tuple[int, int] | None:
    """(entries kept, entries merged away) of one file, or None when it is not a feed."""
    try:
        body = path.read_bytes()[:MAX_BYTES]
        parsed = parse_feed(body, {}, "https://example.org/feed")
    except (ParseError, OSError):
        return None
    lost = sum(int(m.group(1)) for w in parsed.warnings if (m := _MERGED.search(w)))
    return len(parsed.entries), lost


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else DEFAULT
    if not folder.is_dir():
        print(f"skipped: {folder} is absent")
        return 0
    files = feeds = losing = kept = lost = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        files += 1
        result = merged(path)
        if result is None:
            continue
        feeds += 1
        kept += result[0]
        lost += result[1]
        if result[1]:
            losing += 1
            print(f"{result[1]:>5} of {sum(result):>5} merged  {path.relative_to(folder)}")
    print(f"{files} files, {feeds} feeds, {kept} entries kept, {lost} merged away "
          f"in {losing} feeds")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
