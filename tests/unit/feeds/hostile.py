"""Checks that sanitised HTML carries nothing active, shared by the feed tests."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_ACTIVE_TAGS = frozenset(
    {
        "script", "iframe", "object", "embed", "style", "form", "input", "button", "base",
        "meta", "link", "svg", "math", "applet", "frame", "frameset", "textarea", "select",
    }
)  # fmt: skip
_URL_ATTRS = frozenset({"href", "src", "cite", "action", "formaction", "background", "poster"})
_ACTIVE_TEXT_RE = re.compile(r"<\s*(script|iframe|object|embed|style)\b", re.IGNORECASE)
_CSS_RE = re.compile(r"expression\s*\(|url\s*\(", re.IGNORECASE)


class _Inspector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _ACTIVE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            text = (value or "").strip().lower()
            if name.startswith("on"):
                self.found.append(f"event handler {name} on <{tag}>")
            elif name == "style" or (_CSS_RE.search(text) and name not in ("title", "alt")):
                self.found.append(f"style on <{tag}>: {value!r}")
            elif name in _URL_ATTRS or name.endswith("href") or name == "srcset":
                scheme = re.sub(r"[\x00-\x20]", "", text).partition(":")[0]
                if ":" not in text or scheme not in ("http", "https", "mailto"):
                    self.found.append(f"non-web URL {name}={value!r} on <{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def problems(html: str) -> list[str]:
    """Every active thing found in ``html``: tags, event handlers, styles, non-web URLs."""
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    found = inspector.found
    found.extend(f"raw {m.group(0)!r}" for m in _ACTIVE_TEXT_RE.finditer(html))
    return found


def text_problems(text: str) -> list[str]:
    """Active markup in a string that must be plain text (a title)."""
    return [f"markup {m.group(0)!r}" for m in _ACTIVE_TEXT_RE.finditer(text)]
