"""Full-text extraction benchmark: trafilatura against readability-lxml on 30 local pages.

Run: ``python bench/fulltext.py [--pages 30] [--repeat 3]``. Needs ``../shared/data`` (the BBC
articles the pages are built from, see ``harness/pagegen.py``) and both extractors installed.

Each page is served from 127.0.0.1 and fetched through the app's hardened fetcher, then
handed to each extractor. Quality is word-level precision and recall of the extracted text
against the article's own paragraphs (boilerplate kept lowers precision, story text lost
lowers recall); also counted are pages where comment or navigation text leaked in. Time is
the extraction alone, median over pages of the best of ``--repeat`` runs. Prints a table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.feeds.fetcher import Fetcher  # noqa: E402
from harness.pagegen import Page, bbc_pages, words  # noqa: E402

LEAKS = ("ad blocker", "morning briefing", "use cookies", "share on facebook", "advertisement")


class _Pages(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.pages.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


def _trafilatura(page: bytes, url: str) -> str:
    import trafilatura

    return trafilatura.extract(page, url=url, include_comments=False) or ""


def _readability(page: bytes, url: str) -> str:
    import lxml.html
    from readability import Document

    summary = Document(page.decode("utf-8"), url=url).summary(html_partial=True)
    return str(lxml.html.fromstring(summary).text_content()) if summary.strip() else ""


def _app(page: bytes, url: str) -> str:
    from app.feeds.extractor import extract

    return extract(page, url).text


def _score(extracted: str, gold: Page) -> tuple[float, float, bool]:
    got, want = Counter(words(extracted)), Counter(words(gold.gold))
    common = sum((got & want).values())
    precision = common / max(1, sum(got.values()))
    recall = common / max(1, sum(want.values()))
    lowered = extracted.lower()
    leaked = any(leak in lowered for leak in LEAKS) or "reader0" in lowered
    return precision, recall, leaked


def _installed_mb(*packages: str) -> float:
    """Size on disk of the named top-level packages in this environment, in MB."""
    import importlib.util

    total = 0
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        folder = Path(spec.origin).parent
        total += sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return total / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = ROOT.parent / "shared" / "data"
    pages = bbc_pages(data, args.pages)
    _Pages.pages = {p.path: p.html.encode("utf-8") for p in pages}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    fetched: list[tuple[Page, bytes, str]] = []
    started = time.perf_counter()
    with Fetcher() as fetcher:
        for page in pages:
            result = fetcher.fetch(base + page.path)
            assert result.body is not None
            fetched.append((page, result.body, result.url))
    fetch_ms = (time.perf_counter() - started) * 1000 / len(pages)
    server.shutdown()
    extractors: dict[str, Callable[[bytes, str], str]] = {
        "trafilatura": _trafilatura,
        "readability-lxml": _readability,
        "app (extract + nh3)": _app,
    }
    sizes = {
        "trafilatura": _installed_mb(
            "trafilatura",
            "lxml",
            "lxml_html_clean",
            "courlan",
            "htmldate",
            "justext",
            "dateparser",
            "babel",
            "tld",
            "regex",
            "tzlocal",
            "pytz",
            "dateutil",
            "charset_normalizer",
            "certifi",
            "urllib3",
        ),
        "readability-lxml": _installed_mb(
            "readability", "lxml", "lxml_html_clean", "cssselect", "chardet"
        ),
    }
    print(
        f"{len(pages)} pages from {base}, fetched through app.feeds.fetcher: {fetch_ms:.1f} ms/page"
    )
    print(
        f"{'extractor':22} {'precision':>9} {'recall':>7} {'F1':>6} {'worst F1':>8} "
        f"{'leaks':>5} {'ms/page':>8} {'MB':>6}"
    )
    for name, extract in extractors.items():
        scores: list[tuple[float, float, bool]] = []
        times: list[float] = []
        for page, body, url in fetched:
            best = float("inf")
            text = ""
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                text = extract(body, url)
                best = min(best, time.perf_counter() - t0)
            times.append(best * 1000)
            scores.append(_score(text, page))
        precision = statistics.mean(s[0] for s in scores)
        recall = statistics.mean(s[1] for s in scores)
        f1s = [2 * p * r / (p + r) if p + r else 0.0 for p, r, _ in scores]
        leaks = sum(1 for s in scores if s[2])
        size = sizes.get(name)
        print(
            f"{name:22} {precision:9.3f} {recall:7.3f} {statistics.mean(f1s):6.3f} "
            f"{min(f1s):8.3f} {leaks:5d} {statistics.median(times):8.1f} "
            f"{'' if size is None else f'{size:6.1f}'}"
        )


if __name__ == "__main__":
    main()
