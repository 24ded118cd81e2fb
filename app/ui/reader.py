"""The reader pane: one article's sanitised HTML, with remote images off until asked for."""

from __future__ import annotations

import html
import logging
import re
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices, QImage, QTextDocument
from PySide6.QtWidgets import QTextBrowser, QWidget

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


def page(article: ArticleRecord, *, blocked_images: int) -> str:
    """The reader's HTML for ``article``: a header of plain text, then its stored HTML (which
    the feed layer sanitised with an allowlist before it was stored)."""
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
    body = article.summary_html or html.escape(article.summary_text)
    return (
        f"<h2>{html.escape(article.title)}</h2>"
        f'<p style="color:gray">{" · ".join(meta)}</p>'
        f"{note}<div>{body}</div>{link}"
    )


class ReaderView(QTextBrowser):
    """A QTextBrowser that never fetches anything itself.

    Remote images are only shown from bytes handed to :meth:`add_images` (fetched off the GUI
    thread after the reader clicked "Load images"); every other resource is refused. Links are
    reported by ``link_opened(QUrl)`` and opened in the system browser, never in the pane.
    """

    link_opened = Signal(QUrl)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reader")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_self_anchor_clicked)
        self.article: ArticleRecord | None = None
        self._images: dict[str, QImage] = {}
        self.refused: list[str] = []
        self.show_placeholder()

    def show_placeholder(self, text: str = "Select an article to read it here.") -> None:
        """An empty pane with a short hint."""
        self.article = None
        self._images = {}
        self.setHtml(f'<p style="color:gray; margin:24px">{html.escape(text)}</p>')

    def show_article(self, article: ArticleRecord) -> None:
        """Show ``article`` with its remote images blocked."""
        self.article = article
        self._images = {}
        self.refused = []
        self._render()

    def pending_images(self) -> list[str]:
        """The article's image addresses that are not loaded yet."""
        if self.article is None:
            return []
        return [u for u in image_urls(self.article.summary_html) if u not in self._images]

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
        self.setHtml(page(self.article, blocked_images=blocked))
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
