"""The reader pane: one article's sanitised HTML, with remote images off until asked for."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices, QImage, QTextDocument
from PySide6.QtWidgets import QTextBrowser, QWidget

from app.services.attachment import Attachment
from app.storage.record import ArticleRecord

log = logging.getLogger(__name__)

_IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(?:"([^"]+)"|'([^']+)')""", re.IGNORECASE)
SAFE_LINK_SCHEMES = ("http", "https", "mailto")


def image_urls(summary_html: str) -> list[str]:
    """The http(s) image addresses an article's HTML refers to, in order, without repeats."""
    found = [html.unescape(m.group(1) or m.group(2)) for m in _IMG_SRC.finditer(summary_html)]
    return [u for u in dict.fromkeys(found) if QUrl(u).scheme() in ("http", "https")]


def open_external(url: QUrl) -> bool:
    """Open ``url`` in the system browser (or mail client); only http(s) and mailto."""
    if url.scheme().lower() not in SAFE_LINK_SCHEMES:
        log.warning("refusing to open a %r link", url.scheme())
        return False
    return bool(QDesktopServices.openUrl(url))


def page(
    article: ArticleRecord,
    *,
    blocked_images: int,
    full_html: str | None = None,
    enclosures: Sequence[Attachment] = (),
    also_in: Sequence[str] = (),
) -> str:
    """The reader's HTML for ``article``: a header of plain text, then its stored HTML (which
    the feed layer sanitised with an allowlist before it was stored), or the full text fetched
    from its page when there is one (sanitised the same way), then its attachments."""
    when = article.published or article.fetched
    meta = [html.escape(article.feed_title), when.astimezone().strftime("%a %d %b %Y, %H:%M")]
    if article.author:
        meta.append(html.escape(article.author))
    link = ""
    if article.url:
        href = html.escape(article.url, quote=True)
        link = f'<p><a href="{href}">Open the full article in your browser →</a></p>'
    note = ""
    if blocked_images:
        note = (
            f'<p style="color:gray"><i>{blocked_images} remote '
            f"{'image is' if blocked_images == 1 else 'images are'} not loaded; "
            "use “Load images” to fetch them.</i></p>"
        )
    if full_html:
        meta.append("full text")
    if also_in:
        meta.append("also in " + ", ".join(html.escape(name) for name in also_in))
    body = without_title(full_html, article.title) if full_html else ""
    body = body or article.summary_html or html.escape(article.summary_text)
    return (
        f"<h2>{html.escape(article.title)}</h2>"
        f'<p style="color:gray">{" · ".join(meta)}</p>'
        f"{note}<div>{body}</div>{attachments(enclosures)}{link}"
    )


_LEADING_HEADING = re.compile(
    r"^((?:\s*<(?!h[1-6]\b)[a-z][^>]*>)*\s*)<h([1-3])\b[^>]*>(.*?)</h\2>",
    re.IGNORECASE | re.DOTALL,
)
"""A heading with nothing before it but opening tags (a table cell, a section) and spaces."""


def without_title(full_html: str, title: str) -> str:
    """``full_html`` without a leading heading that only repeats the article's title (pages
    put the headline above the story; the reader shows it already)."""
    match = _LEADING_HEADING.match(full_html)
    if match is None:
        return full_html
    heading = " ".join(html.unescape(re.sub(r"<[^>]+>", "", match.group(3))).split())
    if heading.casefold() != " ".join(title.split()).casefold():
        return full_html
    return match.group(1) + full_html[match.end() :]


def size_text(length: int | None) -> str:
    """A file size in words ("12.3 MB"), or "size unknown"."""
    if length is None or length <= 0:
        return "size unknown"
    size = float(length)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def attachments(enclosures: Sequence[Attachment]) -> str:
    """A list of the article's attachments with type and size; each opens with the system's
    handler when clicked (nothing is downloaded before that)."""
    if not enclosures:
        return ""
    items = "".join(
        f'<li><a href="{html.escape(e.url, quote=True)}">'
        f"{html.escape(e.url.rsplit('/', 1)[-1][:80] or e.url[:80])}</a> "
        f'<span style="color:gray">({html.escape(e.type or "unknown type")}, '
        f"{size_text(e.length)})</span></li>"
        for e in enclosures
    )
    return f"<h4>Attachments</h4><ul>{items}</ul>"


class ReaderView(QTextBrowser):
    """A QTextBrowser that never fetches anything itself.

    Remote images are only shown from bytes handed to :meth:`add_images` (fetched off the GUI
    thread after the reader clicked "Load images"); every other resource is refused. Links are
    reported by ``link_opened(QUrl)`` and opened in the system browser, never in the pane.
    """

    link_opened = Signal(QUrl)
    article_shown = Signal(object)
    """The ArticleRecord just shown (its full text and attachments may follow)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reader")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_self_anchor_clicked)
        self.article: ArticleRecord | None = None
        self.full_html: str | None = None
        self.enclosures: tuple[Attachment, ...] = ()
        self.also_in: tuple[str, ...] = ()
        self._images: dict[str, QImage] = {}
        self.refused: list[str] = []
        self.show_placeholder()

    def show_placeholder(self, text: str = "Select an article to read it here.") -> None:
        """An empty pane with a short hint."""
        self.article = None
        self.full_html = None
        self.enclosures = ()
        self.also_in = ()
        self._images = {}
        self.setHtml(f'<p style="color:gray; margin:24px">{html.escape(text)}</p>')

    def show_article(self, article: ArticleRecord) -> None:
        """Show ``article`` with its remote images blocked."""
        self.article = article
        self.full_html = None
        self.enclosures = ()
        self.also_in = ()
        self._images = {}
        self.refused = []
        self._render()
        self.article_shown.emit(article)

    def show_full_text(self, article_id: int, full_html: str) -> bool:
        """Show the full text of the open article (when it is still ``article_id``)."""
        if self.article is None or self.article.id != article_id:
            return False
        self.full_html = full_html
        self._render()
        return True

    def show_also_in(self, article_id: int, feeds: Sequence[str]) -> bool:
        """Name the other feeds whose copies of this story were folded into the open article."""
        if self.article is None or self.article.id != article_id:
            return False
        self.also_in = tuple(feeds)
        self._render()
        return True

    def show_enclosures(self, article_id: int, enclosures: Sequence[Attachment]) -> bool:
        """List the open article's attachments (when it is still ``article_id``)."""
        if self.article is None or self.article.id != article_id:
            return False
        self.enclosures = tuple(enclosures)
        self._render()
        return True

    def pending_images(self) -> list[str]:
        """The article's image addresses that are not loaded yet."""
        if self.article is None:
            return []
        shown = self.full_html or self.article.summary_html
        return [u for u in image_urls(shown) if u not in self._images]

    def add_images(self, images: dict[str, bytes]) -> int:
        """Show downloaded images (bytes by address); returns how many decoded."""
        count = 0
        for url, data in images.items():
            image = QImage()
            if image.loadFromData(data):
                self._images[url] = image
                count += 1
            else:
                log.info("image %s could not be decoded", url)
        if count:
            self._render()
        return count

    def _render(self) -> None:
        if self.article is None:
            return
        blocked = len(self.pending_images())
        position = self.verticalScrollBar().value()
        self.setHtml(
            page(
                self.article,
                blocked_images=blocked,
                full_html=self.full_html,
                enclosures=self.enclosures,
                also_in=self.also_in,
            )
        )
        self.verticalScrollBar().setValue(position)

    def loadResource(self, kind: int, name: QUrl | str) -> Any:  # noqa: N802
        """Answer from downloaded images only; refuse every other fetch (remote or local)."""
        url = name.toString() if isinstance(name, QUrl) else str(name)
        image_kind = QTextDocument.ResourceType.ImageResource.value
        if int(getattr(kind, "value", kind)) == image_kind and url in self._images:
            return self._images[url]
        self.refused.append(url)
        return None

    def _on_self_anchor_clicked(self, url: QUrl) -> None:
        self.link_opened.emit(url)
