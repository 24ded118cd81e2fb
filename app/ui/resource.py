"""Files shipped beside the code: icons, the stylesheet and the default feed list."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

log = logging.getLogger(__name__)

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
DEFAULT_FEEDS = RESOURCES / "default_feeds.opml"


@cache
def icon(name: str) -> QIcon:
    """The SVG icon ``resources/<name>.svg`` (an empty icon when it is missing)."""
    path = RESOURCES / f"{name}.svg"
    if not path.is_file():
        log.warning("missing icon %s", path)
        return QIcon()
    return QIcon(str(path))


def stylesheet() -> str:
    """The application stylesheet ("" when it cannot be read)."""
    try:
        return (RESOURCES / "heedful.qss").read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("cannot read the stylesheet: %s", exc)
        return ""
