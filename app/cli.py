"""Headless command line: the same services the window uses, for scripts and tests.

``python -m app [--data-dir DIR] COMMAND ...``. Exit status 0 on success, 1 on a user error
(one clear line on stderr), 2 on a bug (with its traceback in the log).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.services import activity, fulltext, ranking, reading, story, subscription
from app.services.profile import Profile, default_data_dir
from app.services.refresh import Refresher
from app.services.river import RiverFilter
from app.storage.database import StorageError

log = logging.getLogger(__name__)

KNOWN_ERRORS: tuple[type[Exception], ...] = (
    subscription.SubscriptionError,
    activity.ActivityError,
    ranking.RankingError,
    fulltext.FullTextError,
    StorageError,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every headless command."""
    parser = argparse.ArgumentParser(prog="heedful", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="profile folder (default: $HEEDFUL_HOME or the per-user data folder)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("import-opml", help="subscribe to the feeds in an OPML file")
    p.add_argument("file", type=Path)
    p = sub.add_parser("export-opml", help="write the subscriptions to an OPML file")
    p.add_argument("file", type=Path)
    p.add_argument(
        "--with-passwords",
        action="store_true",
        help="write the passwords of feed addresses that have one (left out by default)",
    )
    p = sub.add_parser("add", help="subscribe to a feed (or a page that links to one)")
    p.add_argument("url")
    p.add_argument("--folder", default=None)
    p = sub.add_parser("refresh", help="fetch new articles")
    p.add_argument("--due", action="store_true", help="only feeds whose update time has come")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("list", help="list unread articles, newest first or ranked")
    p.add_argument("--ranked", action="store_true", help="order by the reader's model")
    p.add_argument("--all", action="store_true", help="include read articles")
    p.add_argument("--limit", type=_positive_int, default=50)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("click", help="record opening an article, as if in the window")
    p.add_argument("article_id", type=int)
    p.add_argument("--session", default=None, help="reading-session id (default: a new one)")
    p.add_argument("--dwell", type=float, default=None, help="seconds spent reading")
    p.add_argument("--ranked", action="store_true", help="the article was seen in 'For you'")
    p = sub.add_parser("train", help="run one training round on the recorded clicks")
    p.add_argument("--epochs", type=_positive_int, default=None)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("explain", help="why an article ranks where it does")
    p.add_argument("article_id", type=int)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("stats", help="counts of feeds, articles, clicks")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("fulltext", help="fetch, store and print an article's full text")
    p.add_argument("article_id", type=_article_id)
    p.add_argument("--json", action="store_true")
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    handler = COMMANDS[args.command]
    try:
        with Profile(args.data_dir or default_data_dir()) as profile:
            handler(profile, args)
    except KNOWN_ERRORS as exc:
        print(f"heedful: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("heedful: interrupted", file=sys.stderr)
        return 130
    return 0


def _emit(data: Any, as_json: bool, text: Callable[[], str]) -> None:
    if as_json:
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(text())


def _import_opml(profile: Profile, args: argparse.Namespace) -> None:
    report = subscription.import_opml(profile.db, args.file)
    for problem in report.problems:
        print(f"skipped: {problem}", file=sys.stderr)
    print(f"imported {report.added} feeds ({report.skipped} already there)")


def _export_opml(profile: Profile, args: argparse.Namespace) -> None:
    count = subscription.export_opml(profile.db, args.file, with_passwords=args.with_passwords)
    print(f"exported {count} feeds to {args.file}")


def _add(profile: Profile, args: argparse.Namespace) -> None:
    feed = subscription.add_feed(profile.db, args.url, folder=args.folder)
    print(f"subscribed to {feed.title or feed.url} ({feed.url}), {feed.total} articles")


def _refresh(profile: Profile, args: argparse.Namespace) -> None:
    summary = Refresher(profile.db).refresh(due_only=args.due)
    data = {
        "feeds": summary.feeds,
        "ok": summary.ok,
        "not_modified": summary.not_modified,
        "failed": summary.failed,
        "new": summary.new,
        "updated": summary.updated,
        "seconds": round(summary.seconds, 3),
        "failures": [
            {"feed_id": f.feed_id, "url": f.url, "error": f.message} for f in summary.failures
        ],
    }

    def text() -> str:
        lines = [
            f"{summary.feeds} feeds: {summary.ok} updated, {summary.not_modified} unchanged, "
            f"{summary.failed} failed; {summary.new} new articles, {summary.updated} changed"
        ]
        lines += [f"  failed: {f.url}: {f.message}" for f in summary.failures]
        return "\n".join(lines)

    _emit(data, args.json, text)


def _list(profile: Profile, args: argparse.Namespace) -> None:
    river = ranking.Ranker(profile).river(
        ranked=args.ranked, limit=args.limit, view=RiverFilter(include_read=args.all)
    )
    data = [
        {
            "id": item.article.id,
            "title": item.article.title,
            "feed": item.article.feed_title,
            "feed_id": item.article.feed_id,
            "url": item.article.url,
            "published": item.article.published.isoformat() if item.article.published else None,
            "read": item.article.read,
            "starred": item.article.starred,
            "score": item.score,
        }
        for item in river.items
    ]
    folded = story.also_in(profile.db, [item.article.id for item in river.items])
    rows: list[dict[str, Any]] = [
        {**d, "also_in": folded.get(item.article.id, [])}
        for d, item in zip(data, river.items, strict=True)
    ]
    data = rows
    if river.notice:
        print(river.notice, file=sys.stderr)

    def text() -> str:
        return "\n".join(
            f"{d['id']:>7}  {'' if d['score'] is None else format(d['score'], '7.3f')}  "
            f"{d['title']}  [{d['feed']}]"
            for d in data
        )

    _emit(data, args.json, text)


def _click(profile: Profile, args: argparse.Namespace) -> None:
    above = ranking.Ranker(profile).shown_above(args.article_id, ranked=args.ranked)
    session = args.session or activity.new_session()
    activity.record_click(profile.db, args.article_id, session, dwell=args.dwell, shown_above=above)
    print(f"recorded a click on article {args.article_id} ({len(above)} shown above it)")


def _train(profile: Profile, args: argparse.Namespace) -> None:
    report = ranking.Ranker(profile, device=args.device).train(epochs=args.epochs)
    data = report.as_dict()
    _emit(data, args.json, report.summary)


def _explain(profile: Profile, args: argparse.Namespace) -> None:
    explanation = ranking.Ranker(profile).explain(args.article_id)
    _emit(explanation.as_dict(), args.json, explanation.summary)


def _stats(profile: Profile, args: argparse.Namespace) -> None:
    stats = reading.stats(profile.db)
    data = {
        "feeds": stats.feeds,
        "feeds_failed": stats.feeds_failed,
        "articles": stats.articles,
        "unread": stats.unread,
        "starred": stats.starred,
        "impressions": stats.impressions,
        "clicks": stats.clicks,
        "model_version": stats.model_version,
    }
    _emit(data, args.json, lambda: "\n".join(f"{k}: {v}" for k, v in data.items()))


def _fulltext(profile: Profile, args: argparse.Namespace) -> None:
    found = fulltext.fetch(profile.db, args.article_id)
    data = {"article_id": found.article_id, "text": found.text, "html": found.html}
    _emit(data, args.json, lambda: found.text)


COMMANDS: dict[str, Callable[[Profile, argparse.Namespace], None]] = {
    "import-opml": _import_opml,
    "export-opml": _export_opml,
    "add": _add,
    "refresh": _refresh,
    "list": _list,
    "click": _click,
    "train": _train,
    "explain": _explain,
    "stats": _stats,
    "fulltext": _fulltext,
}
