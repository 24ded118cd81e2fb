"""Read and write OPML subscription lists.

Reading never fetches or opens anything a list refers to and never expands DTD
entities: outlines are collected with the standard library's tolerant
``html.parser`` (which, like listparser, ignores DOCTYPE declarations, so neither
entity expansion nor external entities exist for it), so the sloppy OPML that
real readers export still imports. That walker keeps what listparser drops
(``htmlUrl`` and duplicate outlines). Lists in the other formats listparser reads
(FOAF, iGoogle) go through listparser, always given bytes, never a URL.

Folders nest at most :data:`MAX_DEPTH` levels on import: the feeds of deeper folders are
kept, in their :data:`MAX_DEPTH`-th level folder, and a problem line says so (a list nested
10,000 levels deep otherwise costs memory quadratic in its depth).

Writing is iterative (no recursion, so any depth of folders an older list left in the
profile can still be exported) and indents at most :data:`MAX_INDENT` levels; what it writes
reads back to the same feeds. :func:`save` puts the document at a path without destroying
what is there: see its docstring.
"""

from __future__ import annotations

import codecs
import errno
import logging
import os
import re
import stat
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import listparser

from app.feeds.sanitizer import safe_url
from app.storage.error import HeedfulError

logger = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024
MAX_OUTLINES = 10_000
MAX_DEPTH = 50
"""Folder levels kept on import; deeper folders are merged into the level-50 one."""
MAX_INDENT = 32
"""Nesting levels the writer indents; deeper outlines keep that indent."""
_XML_INVALID_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_WEB = frozenset({"http", "https"})
_XML_ENCODING_RE = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_SPACE_RE = re.compile(r"\s+")


class OpmlError(HeedfulError):
    """The data is not a readable subscription list; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class OpmlFeed:
    """One subscription: feed URL, title, folder path ("News/Tech") and web site."""

    url: str
    title: str | None = None
    folder: str | None = None
    site_url: str | None = None


@dataclass(frozen=True)
class OpmlResult:
    """The feeds of a list in document order, and one line per outline skipped."""

    feeds: tuple[OpmlFeed, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True)
class _Outline:
    attrs: dict[str, str]
    folders: tuple[str, ...]


class _OutlineWalker(HTMLParser):
    """Collect OPML outlines with their enclosing folder names."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.is_opml = False
        self.outlines: list[_Outline] = []
        self.too_deep = False
        self._stack: list[bool] = []
        """Per open outline: whether it opened a folder (so closing it closes the folder)."""
        self._folders: list[str] = []
        """Names of the open folders, outermost first (each outline keeps at most
        MAX_DEPTH of them, so memory stays linear in the input)."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        name = tag.rpartition(":")[2]
        if name == "opml":
            self.is_opml = True
        elif name == "outline" and self.is_opml:
            values = {k.rpartition(":")[2]: v or "" for k, v in attrs}
            if len(self._folders) > MAX_DEPTH:
                self.too_deep = True
            self.outlines.append(_Outline(values, tuple(self._folders[:MAX_DEPTH])))
            if len(self.outlines) > MAX_OUTLINES:
                raise _TooManyOutlinesError
            is_feed = bool(values.get("xmlurl", "").strip())
            label = "" if is_feed else _label(values)
            self._stack.append(bool(label))
            if label:
                self._folders.append(label)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag.rpartition(":")[2] == "outline" and self._stack and self._stack.pop():
            self._folders.pop()


class _TooManyOutlinesError(Exception):
    """Raised inside the walker to stop at the outline cap."""


def _label(attrs: dict[str, str]) -> str:
    """The display name of an outline: its text, else its title, whitespace collapsed."""
    text = _SPACE_RE.sub(" ", attrs.get("text", "")).strip()
    return text or _SPACE_RE.sub(" ", attrs.get("title", "")).strip()


def _decode(data: bytes) -> str:
    """Decode an XML document: BOM, then the XML declaration, then UTF-8, then cp1252."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, "replace")
    match = _XML_ENCODING_RE.match(data.lstrip())
    if match:
        try:
            return data.decode(match.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _feed_url(raw: str) -> str | None:
    """An http(s) feed URL from an outline's xmlUrl (``feed:`` forms accepted)."""
    url = raw.strip()
    lowered = url.lower()
    if lowered.startswith("feed://"):
        url = "http://" + url[7:]
    elif lowered.startswith("feed:"):
        url = url[5:]
    return safe_url(url, None, _WEB)


def _from_outlines(outlines: list[_Outline]) -> Iterator[tuple[OpmlFeed | None, str | None]]:
    """Yield (feed, problem) for every outline that is or looks like a subscription."""
    for outline in outlines:
        attrs = outline.attrs
        raw = attrs.get("xmlurl", "").strip()
        kind = attrs.get("type", "").strip().lower()
        if not raw:
            if kind in ("link", "include"):
                yield None, f"skipped a link to another list: {attrs.get('url', '')[:200]}"
            continue
        url = _feed_url(raw)
        if url is None:
            yield None, f"skipped {raw[:200]!r}: not a web address"
            continue
        title = _label(attrs) or None
        if title in (raw, url):
            title = None
        site = attrs.get("htmlurl", "").strip()
        yield (
            OpmlFeed(
                url=url,
                title=title,
                folder="/".join(outline.folders) or None,
                site_url=safe_url(site, None, _WEB) if site else None,
            ),
            None,
        )


def _from_listparser(text: str) -> list[OpmlFeed]:
    """Feeds of a FOAF or iGoogle list, read by listparser (from bytes, never a URL)."""
    result: Any = listparser.parse(text.encode("utf-8"))
    if not str(result.get("version", "")) or str(result.get("version")).startswith("opml"):
        return []
    feeds = []
    for item in result.get("feeds", []):
        url = _feed_url(str(item.get("url", "")))
        if url is None:
            continue
        categories = item.get("categories") or []
        folder = "/".join(categories[0]) if categories and categories[0] else None
        feeds.append(OpmlFeed(url=url, title=str(item.get("title") or "") or None, folder=folder))
    return feeds


def read_opml(data: bytes) -> OpmlResult:
    """Read a subscription list; raise OpmlError when it is not one or is too large.

    Folders are kept (nested ones joined with "/"); outlines whose URL repeats an
    earlier one, or is not http(s), are skipped with a line in ``problems``.
    """
    if len(data) > MAX_BYTES:
        raise OpmlError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    text = _decode(data).replace("\x00", "")
    if not text.strip():
        raise OpmlError("the file is empty")
    walker = _OutlineWalker()
    try:
        walker.feed(text)
        walker.close()
    except _TooManyOutlinesError:
        raise OpmlError(f"the file has more than {MAX_OUTLINES} outlines") from None
    except Exception as exc:  # html.parser is lenient; anything else is unreadable
        logger.warning("OPML could not be read: %r", exc)
        raise OpmlError("the file could not be read") from exc
    if walker.is_opml:
        pairs = list(_from_outlines(walker.outlines))
        if walker.too_deep:
            pairs.append(
                (
                    None,
                    f"folders nested more than {MAX_DEPTH} levels deep were merged into "
                    f"their level-{MAX_DEPTH} folder",
                )
            )
    else:
        try:
            pairs = [(feed, None) for feed in _from_listparser(text)]
        except Exception as exc:  # listparser on hostile input
            logger.warning("listparser failed: %r", exc)
            pairs = []
        if not pairs:
            raise OpmlError("the file is not an OPML subscription list")
    feeds: list[OpmlFeed] = []
    problems: list[str] = []
    seen: set[str] = set()
    for feed, problem in pairs:
        if problem is not None:
            problems.append(problem)
        elif feed is not None and feed.url in seen:
            problems.append(f"skipped a duplicate of {feed.url[:200]}")
        elif feed is not None:
            seen.add(feed.url)
            feeds.append(feed)
    return OpmlResult(feeds=tuple(feeds), problems=tuple(problems))


@dataclass
class _Folder:
    """A folder while writing: its name and its folders and feeds in first-seen order."""

    name: str
    entries: list[_Folder | OpmlFeed] = field(default_factory=list)
    folders: dict[str, _Folder] = field(default_factory=dict)


def write_opml(feeds: Sequence[OpmlFeed], *, title: str = "Heedful subscriptions") -> bytes:
    """Write feeds as OPML 2.0 (UTF-8); folders become parent outlines, in first-seen order.

    Iterative at any depth (an explicit stack, no recursion); indentation stops growing at
    :data:`MAX_INDENT` levels so that deep folders do not make the file quadratic in size."""
    body = _Folder("")
    for feed in feeds:
        node = body
        for part in (feed.folder or "").split("/"):
            name = part.strip()
            if not name:
                continue
            child = node.folders.get(name)
            if child is None:
                child = node.folders[name] = _Folder(name)
                node.entries.append(child)
            node = child
        node.entries.append(feed)
    out = [
        "<?xml version='1.0' encoding='utf-8'?>",
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{_text(title)}</title>",
        f"    <dateCreated>{formatdate(usegmt=True)}</dateCreated>",
        "  </head>",
    ]
    if not body.entries:
        out.append("  <body />")
    else:
        out.append("  <body>")
        stack: list[Iterator[_Folder | OpmlFeed]] = [iter(body.entries)]
        while stack:
            entry = next(stack[-1], None)
            indent = "  " * (min(len(stack), MAX_INDENT) + 1)
            if entry is None:
                stack.pop()
                if stack:
                    out.append(f"{'  ' * (min(len(stack), MAX_INDENT) + 1)}</outline>")
            elif isinstance(entry, _Folder):
                attrs = _attrs({"text": entry.name, "title": entry.name})
                if entry.entries:
                    out.append(f"{indent}<outline {attrs}>")
                    stack.append(iter(entry.entries))
                else:
                    out.append(f"{indent}<outline {attrs} />")
            else:
                values = {"type": "rss", "text": entry.title or entry.url, "xmlUrl": entry.url}
                if entry.title:
                    values["title"] = entry.title
                if entry.site_url:
                    values["htmlUrl"] = entry.site_url
                out.append(f"{indent}<outline {_attrs(values)} />")
        out.append("  </body>")
    out.append("</opml>")
    return ("\n".join(out) + "\n").encode("utf-8")


def _text(value: str) -> str:
    """``value`` as XML character data: characters XML 1.0 cannot hold dropped, markup
    escaped."""
    clean = _XML_INVALID_RE.sub("", value)
    return clean.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attrs(values: dict[str, str]) -> str:
    """Attributes, double-quoted; line breaks and tabs kept as character references."""
    return " ".join(f'{name}="{_attribute(value)}"' for name, value in values.items())


def _attribute(value: str) -> str:
    escaped = _text(value).replace('"', "&quot;")
    return escaped.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")


def save(path: Path, data: bytes) -> None:
    """Put ``data`` at ``path`` without destroying what is there; raise OpmlError in words.

    - a regular file, or a path where nothing is: written to a temporary file beside it,
      flushed to disk and renamed over it (a failure leaves the old file whole);
    - a symbolic link: followed, and its target replaced the same way (the link stays);
    - a character device or a named pipe (``/dev/stdout``, a terminal, ``/dev/null``):
      written through, never replaced by a file; a pipe nobody reads is refused rather
      than waited on; a full device (``/dev/full``) is a "disk full" error;
    - anything else (a folder, a socket, a block device): refused.
    """
    try:
        info: os.stat_result | None = path.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OpmlError(_os_words(exc)) from exc
    try:
        if info is None or stat.S_ISREG(info.st_mode):
            target = Path(os.path.realpath(path)) if path.is_symlink() else path
            _replace(target, data, None if info is None else stat.S_IMODE(info.st_mode))
        elif stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode):
            _write_through(path, data, fifo=stat.S_ISFIFO(info.st_mode))
        elif stat.S_ISDIR(info.st_mode):
            raise OpmlError("it is a folder")
        else:
            raise OpmlError("it is not a file, a character device or a pipe; nothing written")
    except OSError as exc:
        raise OpmlError(_os_words(exc)) from exc


def _replace(target: Path, data: bytes, mode: int | None) -> None:
    """Atomically replace (or create) the regular file ``target``, keeping its permissions."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp: Path | None = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(name).chmod(_new_file_mode() if mode is None else mode)
        Path(name).replace(target)
        tmp = None
        try:
            folder = os.open(target.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(folder)
        except OSError:
            pass
        finally:
            os.close(folder)
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _new_file_mode() -> int:
    """The permissions a new file gets (0o666 less the umask), read without changing the
    umask, which is process-wide (Linux shows it in /proc; elsewhere assume 022)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o644


def _write_through(path: Path, data: bytes, *, fifo: bool) -> None:
    """Write into a device or pipe as it is (no temporary file, no rename)."""
    nonblock = getattr(os, "O_NONBLOCK", 0) if fifo else 0
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | nonblock)
    try:
        if nonblock:
            os.set_blocking(fd, True)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


def _os_words(exc: OSError) -> str:
    """A system error while saving, in words."""
    if exc.errno == errno.ENOSPC:
        return "the disk is full (no space left on the device)"
    if exc.errno == errno.ENXIO:
        return "it is a named pipe that nothing reads from"
    if exc.errno == errno.EDQUOT:
        return "the disk quota is used up"
    return exc.strerror or str(exc)
