"""Accessible names: what a screen reader says for a river row, and for the window's panes
and toolbar buttons (which otherwise read as "button" or nothing)."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtWidgets import QToolBar, QWidget

from app.storage.record import ArticleRecord


def age(when: datetime, now: datetime | None = None) -> str:
    """How long ago, in words a screen reader says well ("3 hours ago")."""
    seconds = max(0.0, ((now or datetime.now(UTC)) - when).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"


def row_name(article: ArticleRecord, score: float | None, now: datetime | None = None) -> str:
    """A river row's accessible name: title, feed, age, read and starred state, and score."""
    parts = [
        article.title,
        f"from {article.feed_title}",
        age(article.published or article.fetched, now),
        "read" if article.read else "unread",
    ]
    if article.starred:
        parts.append("starred")
    if score is not None:
        parts.append(f"score {score:.2f}")
    return ", ".join(parts)


PANES = {
    "sidebar_view": "Feeds and views",
    "river_view": "Articles",
    "reader": "Article text",
    "search": "Search all articles",
}


def name_widgets(window: QWidget) -> None:
    """Give the panes and every toolbar button an accessible name (a button takes its
    action's text, without the mnemonic ampersand and the trailing ellipsis)."""
    for attribute, name in PANES.items():
        widget = getattr(window, attribute, None)
        if widget is not None and not widget.accessibleName():
            widget.setAccessibleName(name)
    for toolbar in window.findChildren(QToolBar):
        toolbar.setAccessibleName(toolbar.windowTitle() or "Toolbar")
        for action in toolbar.actions():
            button = toolbar.widgetForAction(action)
            if button is not None and action.text():
                name = action.text().replace("&", "").rstrip("…").strip()
                button.setAccessibleName(name)
                if action.shortcut().toString():
                    button.setAccessibleDescription(f"Shortcut: {action.shortcut().toString()}")
