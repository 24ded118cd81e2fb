"""Fuzz the feed-bytes → stored-articles path and OPML import for a bounded time.

Seeds are the real files of ../shared/data/feeds (plus built-in samples), mutated by the
hypothesis strategies of harness/mutation.py. Each round runs a fresh hypothesis
search; a failure is shrunk by hypothesis, saved under bench/out/fuzz/ and reported (add it to
REGRESSIONS in tests/reliability/test_fuzz.py).

    python bench/fuzz.py [--seconds 300] [--target feeds|opml|both]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.campaign import fuzz


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--target", choices=("feeds", "opml", "both"), default="both")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    targets = ["feeds", "opml"] if args.target == "both" else [args.target]
    print(f"{'target':8} {'seconds':>8} {'inputs':>8} {'per s':>7} {'crashes':>8}")
    for target in targets:
        share = args.seconds / len(targets)
        started = time.monotonic()
        tried, crashes = fuzz(target, share)
        spent = time.monotonic() - started
        print(f"{target:8} {spent:8.1f} {tried:8d} {tried / spent:7.1f} {len(crashes):8d}")
        for crash in crashes:
            print(f"  crash {crash}")


if __name__ == "__main__":
    main()
