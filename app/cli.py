"""With no command the window opens; a command runs headless, for scripts and tests.

``python -m app [--data-dir DIR] COMMAND ...``. Exit status 0 on success, 1 on a user error
(one clear line on stderr: bad arguments, a file that cannot be read or written, a damaged or
locked profile), 2 on a bug (with its traceback in the log), 130 when interrupted, and 141
(as for a program killed by SIGPIPE) when the reader of its output went away, as in
``list | head -1``, which ends quietly.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from app import __version__
from app.services import (
    activity,
    bundle,
    fulltext,
    guard,
    ranking,
    reading,
    repair,
    story,
    subscription,
)
from app.services.failure import clip, reader_message, shown
from app.services.model import opened_articles
from app.services.profile import Profile, ProfilePaths, default_data_dir
from app.services.refresh import Refresher
from app.services.river import RiverFilter

log = logging.getLogger(__name__)

MAX_ID = 2**63 - 1
"""The largest id or count SQLite can hold (a signed 64-bit integer)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a user error like any other: one line, exit status 1."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("heedful").strip()
        where = f"{command}: " if command else ""
        print(f"heedful: {where}{clip(message)} (see --help)", file=sys.stderr)
        raise SystemExit(1)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every headless command."""
    parser = _Parser(prog="heedful", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data-dir",
        type=_folder,
        default=None,
        help="profile folder (default: $HEEDFUL_HOME or the per-user data folder)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more")
    parser.add_argument("--version", action="version", version=f"heedful {__version__}")
    parser.add_argument(
        "--install-desktop-entry",
        action="store_true",
        help="add Heedful to this user's application menu (.desktop file, icons, metainfo)",
    )
    sub = parser.add_subparsers(
        dest="command", required=False, metavar="COMMAND", help="(none: open the window)"
    )

    p = sub.add_parser("import-opml", help="subscribe to the feeds in an OPML file")
    p.add_argument("file", type=Path)
    p = sub.add_parser(
        "export-opml",
        help="write the subscriptions to an OPML file",
        description="Write the subscriptions to an OPML file. A regular file (or a new path) is "
        "replaced atomically; a symbolic link is followed and its target replaced the same way; "
        "a device or named pipe (such as /dev/stdout) is written through; anything else is "
        "refused.",
    )
    p.add_argument("file", type=Path)
    p.add_argument(
        "--with-passwords",
        action="store_true",
        help="write the passwords of feed addresses that have one (left out by default)",
    )
    p = sub.add_parser("add", help="subscribe to a feed (or a page that links to one)")
    p.add_argument("url", type=_text)
    p.add_argument("--folder", type=_text, default=None)
    p = sub.add_parser("refresh", help="fetch new articles")
    p.add_argument("--due", action="store_true", help="only feeds whose update time has come")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("list", help="list unread articles, newest first or ranked")
    p.add_argument("--ranked", action="store_true", help="order by the reader's model")
    p.add_argument("--all", action="store_true", help="include read articles")
    p.add_argument("--limit", type=_positive_int, default=50)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("click", help="record opening an article, as if in the window")
    p.add_argument("article_id", type=_article_id)
    p.add_argument(
        "--session",
        type=_text,
        default=None,
        help="screen key to log it under (default: a new screen)",
    )
    p.add_argument("--dwell", type=_seconds, default=None, help="seconds spent reading")
    p.add_argument("--ranked", action="store_true", help="the article was seen in 'For you'")
    p = sub.add_parser("train", help="run one training round on the recorded clicks")
    p.add_argument("--epochs", type=_positive_int, default=None)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("explain", help="why an article ranks where it does")
    p.add_argument("article_id", type=_article_id)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("stats", help="counts of feeds, articles, clicks")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("fulltext", help="fetch, store and print an article's full text")
    p.add_argument("article_id", type=_article_id)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser(
        "unfold",
        help="show a folded story's copies as separate articles again",
        description="Unfold the story an article belongs to: each copy from another feed shows "
        "as its own row again and is never folded again; no article is deleted or changes its "
        "read state. The window's Article menu can fold it back right after.",
    )
    p.add_argument("article_id", type=_article_id)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("check", help="check the profile's database in full (writes nothing)")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser(
        "recover",
        help="rebuild a damaged or lost database from what can still be read",
        description="Rebuild the database from what the damaged file (or, when it is missing, "
        "the newest backup) still holds, table by table; the damaged file is moved aside as "
        "heedful.damaged-<time>.db, never deleted.",
    )
    p.add_argument("--force", action="store_true", help="rebuild even a sound database")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {clip(text)!r}") from None
    if not 1 <= value <= MAX_ID:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_ID}")
    return value


def _article_id(text: str) -> int:
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"not an article id: {exc}") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {clip(text)!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError("must be a finite number of seconds, at least 0")
    return value


def _text(text: str) -> str:
    """Text stored in the profile: it must be valid UTF-8 (a byte that is not arrives from
    the command line as a lone surrogate, which the database cannot store)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(f"not valid UTF-8 text: {shown(text)}") from None
    return text


def _folder(text: str) -> Path:
    """A profile folder; its name goes into the database's address, so it must be UTF-8."""
    return Path(_text(text))


def _install_desktop_entry() -> None:
    written = bundle.install_desktop_entry()
    print(f"installed {written[-1]} and its icons; Heedful is in the application menu")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.install_desktop_entry:
        return _guarded("--install-desktop-entry", _install_desktop_entry, None)
    if args.command is None:
        return _fail("a COMMAND is required (heedful with none opens the window)")
    root = args.data_dir or default_data_dir()
    if args.command in MAINTENANCE:  # on the profile's files, without opening it
        return _guarded(args.command, lambda: MAINTENANCE[args.command](root, args), root)

    def run() -> None:
        with Profile(root) as profile:
            COMMANDS[args.command](profile, args)

    return _guarded(args.command, run, root)


def _guarded(command: str, run: Callable[[], int | None], root: Path | None) -> int:
    """The one place the command line tells failures apart: ``run``'s exit status, or that of
    the failure that ended it: the reader's own problem in one line (status 1), a bug with
    its traceback (2), an interruption (130) or a reader of the output that went away (141).
    ``root`` is the profile's folder (None before there is one)."""
    try:
        status = run() or 0
        sys.stdout.flush()  # a closed pipe shows here, not at exit
    except KeyboardInterrupt:
        print("heedful: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    except Exception as exc:
        message = reader_message(exc, None if root is None else ProfilePaths(root).database)
        if message is None:
            return _bug(command)
        log.debug("%s failed", command, exc_info=True)
        return _fail(message)
    return status


def _fail(message: str) -> int:
    """Tell the reader what went wrong in one line; exit status 1."""
    print(f"heedful: {clip(message)}", file=sys.stderr)
    return 1


def _bug(command: str) -> int:
    """A failure nobody foresaw: its traceback to the log, one line to say so; status 2."""
    log.exception("%s failed because of a bug in Heedful", command)
    print(
        f"heedful: {command} failed because of a bug in Heedful (the traceback is above); "
        "please report it",
        file=sys.stderr,
    )
    return 2


def _quiet_stdout() -> None:
    """Point stdout at the null device, so that the interpreter's last flush at exit does not
    fail again on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _emit(data: Any, as_json: bool, text: Callable[[], str]) -> None:
    if as_json:
        json.dump(
            finite(data), sys.stdout, ensure_ascii=False, indent=2, default=str, allow_nan=False
        )
        sys.stdout.write("\n")
    else:
        print(text())


def finite(data: Any) -> Any:
    """``data`` with every NaN or infinite float made None (``null``), which strict JSON
    parsers accept; the scores are made finite before this, so this is the last guard."""
    if isinstance(data, float):
        if math.isfinite(data):
            return data
        log.warning("a non-finite number (%s) was written as null", data)
        return None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [finite(v) for v in data]
    return data


def _import_opml(profile: Profile, args: argparse.Namespace) -> None:
    report = subscription.import_opml(profile.db, args.file)
    for problem in report.problems:
        print(f"skipped: {clip(problem)}", file=sys.stderr)
    print(f"imported {report.added} feeds ({report.skipped} already there)")


def _export_opml(profile: Profile, args: argparse.Namespace) -> None:
    count = subscription.export_opml(profile.db, args.file, with_passwords=args.with_passwords)
    print(f"exported {count} feeds to {shown(args.file)}")


def _add(profile: Profile, args: argparse.Namespace) -> None:
    feed = subscription.add_feed(profile.db, args.url, folder=args.folder)
    name = shown(feed.title or feed.url)
    print(f"subscribed to {name} ({shown(feed.url)}), {feed.total} articles")


def _refresh(profile: Profile, args: argparse.Namespace) -> None:
    summary = Refresher(profile.db).refresh(due_only=args.due)
    story.fold_recent(profile.db)  # also what `add` stored before this refresh
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
        lines += [f"  failed: {shown(f.url)}: {clip(f.message)}" for f in summary.failures]
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
    position = len(above)
    page = above[-activity.HEADLESS_PAGE :]  # a screen of `list`, not the whole river
    session = args.session or activity.new_screen(
        profile.db,
        "foryou" if args.ranked else "headless",
        ordering="ranked" if args.ranked else "latest",
    )
    activity.record_click(
        profile.db,
        args.article_id,
        session,
        dwell=args.dwell,
        shown_above=page,
        position=position,
    )
    print(f"recorded a click on article {args.article_id} ({len(page)} shown above it)")


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
        "opened_articles": opened_articles(profile.db),  # what For you's threshold counts
        "ranking_mode": guard.mode(profile.db),  # model, clickbias or latest (the guard's)
        "ranking_notice": guard.notice(profile.db),
    }
    _emit(data, args.json, lambda: "\n".join(f"{k}: {v}" for k, v in data.items()))


def _fulltext(profile: Profile, args: argparse.Namespace) -> None:
    found = fulltext.fetch(profile.db, args.article_id)
    data = {"article_id": found.article_id, "text": found.text, "html": found.html}
    _emit(data, args.json, lambda: found.text)


def _unfold(profile: Profile, args: argparse.Namespace) -> None:
    done = story.unfold(profile.db, args.article_id)
    data = {
        "article_id": done.article_id,
        "articles": list(done.article_ids),
        "before": [{"article_id": a, "story_id": b} for a, b in done.before],
    }
    _emit(
        data,
        args.json,
        lambda: f"unfolded: articles {', '.join(map(str, done.article_ids))} show apart again",
    )


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
    "unfold": _unfold,
}


def _check(root: Path, args: argparse.Namespace) -> int:
    health = repair.check(root)
    data = {
        "path": str(health.path),
        "ok": health.ok,
        "problems": list(health.problems),
        "counts": health.counts,
    }
    if args.json:
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif health.ok:
        counts = ", ".join(f"{n} {table}" for table, n in health.counts.items())
        print(f"{health.path}: ok ({counts})")
    else:
        for problem in health.problems:
            print(f"{health.path}: {problem}")
    if not health.ok:
        print(
            f"heedful: {health.path} is damaged or missing; run "
            f"'heedful --data-dir {root} recover' to rebuild it (the damaged file is kept)",
            file=sys.stderr,
        )
        return 1
    return 0


def _recover(root: Path, args: argparse.Namespace) -> int:
    done = repair.recover(root, force=args.force)
    for table in done.report.tables:
        print(table.line())
    aside = f"; the damaged file is now {done.moved_aside[0]}" if done.moved_aside else ""
    print(f"rebuilt {done.database} from {done.source}{aside}")
    return 0


MAINTENANCE: dict[str, Callable[[Path, argparse.Namespace], int]] = {
    "check": _check,
    "recover": _recover,
}
"""Commands that work on a profile's files without opening it: opening refuses a damaged or
missing database, which is what they are for."""
