"""An article's attachments (enclosures and JSON Feed attachments), listed, never fetched."""

from __future__ import annotations

from app.storage import enclosure
from app.storage.database import Database
from app.storage.enclosure import EnclosureRecord

Attachment = EnclosureRecord
"""One attachment: ``url``, ``type`` (MIME, or None) and ``length`` (bytes, or None)."""


def attachments(db: Database, article_id: int) -> list[Attachment]:
    """The attachments of an article, in the feed's order."""
    with db.read() as s:
        return enclosure.for_article(s, article_id)
