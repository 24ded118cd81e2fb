"""Files shipped beside the code, as Qt wants them: icons, the stylesheet, the starter feeds.

Where they live (a checkout's ``resources/`` or an installed wheel's ``app/resources/``) is
:mod:`app.services.bundle`'s business.
"""

from __future__ import annotations

import logging
from functools import cache

from PySide6.QtGui import QIcon

from app import APP_ID
from app.services import bundle

log = logging.getLogger(__name__)

RESOURCES = bundle.root()
DEFAULT_FEEDS = bundle.default_feeds()


@cache
def icon(name: str) -> QIcon:
    """The SVG icon ``resources/<name>.svg`` (an empty icon when it is missing)."""
    path = bundle.path(f"{name}.svg")
    if not path.is_file():
        log.warning("missing icon %s", path)
        return QIcon()
    return QIcon(str(path))


def app_icon() -> QIcon:
    """The application's icon: the scalable SVG plus the rendered PNG of every desktop size."""
    result = QIcon(icon("heedful"))
    apps = bundle.path("desktop-entry") / "icons" / "hicolor"
    for size in bundle.ICON_SIZES:
        png = apps / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        if png.is_file():
            result.addFile(str(png))
    return result


def stylesheet() -> str:
    """The application stylesheet ("" when it cannot be read)."""
    try:
        return bundle.path("heedful.qss").read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("cannot read the stylesheet: %s", exc)
        return ""
