"""The reader's preferences, kept as settings in the profile database."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

from app.feeds.fetcher import FetchError, FetchLimits
from app.feeds.proxy import PROXY_SYSTEM, check_proxy
from app.storage import events
from app.storage.database import Database
from app.storage.error import HeedfulError

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")


class PreferenceError(HeedfulError, ValueError):
    """Settings that cannot be saved (a value out of range); the message is for the reader."""


@dataclass(frozen=True)
class Preferences:
    """Everything the settings dialog edits.

    ``cpu_threads`` 0 lets torch choose. ``retention_days`` shares its key with
    :func:`app.services.reading.purge`. A training round starts after ``train_min_clicks``
    new clicks or every ``train_minutes`` when anything is new, whichever comes first
    (:mod:`app.ui.schedule`).
    """

    refresh_minutes: int = 30
    train_minutes: int = 15
    train_min_clicks: int = 5
    device: str = "auto"
    cpu_threads: int = 0
    retention_days: int = 90
    remote_images: bool = False
    proxy: str = PROXY_SYSTEM
    """How feeds are fetched: "system" (the environment's and the desktop's proxy settings),
    "none" (directly) or an http(s) proxy URL (:func:`app.feeds.proxy.proxy_mounts`)."""
    highlight_words: int = 3
    """At most this many title words are tinted per row (:mod:`app.services.highlight`)."""
    highlight_percent: int = 15
    """A tinted word carries at least this share, in percent, of the title's total |share|."""
    notify_top: bool = False
    """After a refresh, a desktop notification when new articles reach the top 5 of "For you"
    (:mod:`app.ui.notification`); nothing while For you has no trained model to rank by."""
    mark_read_on_scroll: bool = False
    """Rows the reader scrolls past (seen in the river, then above its top edge) are marked
    read (:mod:`app.ui.scroll`). Off by default: such a row is neither a click nor a negative
    for training (the model learns from impressions and clicks, which are logged as ever), but
    read rows leave the unread views and For you's candidates."""


LIMITS: dict[str, tuple[int, int]] = {
    "refresh_minutes": (5, 24 * 60),
    "train_minutes": (1, 24 * 60),
    "train_min_clicks": (1, 1000),
    "cpu_threads": (0, 256),
    "retention_days": (1, 3650),
    "highlight_words": (0, 20),
    "highlight_percent": (1, 100),
}


def problems(prefs: Preferences) -> list[str]:
    """Sentences describing each value out of range (empty when all are fine)."""
    found: list[str] = []
    for name, (low, high) in LIMITS.items():
        value = getattr(prefs, name)
        if not low <= value <= high:
            found.append(f"{name.replace('_', ' ')} must be between {low} and {high}")
    if prefs.device not in DEVICES:
        found.append(f"device must be one of {', '.join(DEVICES)}")
    try:
        check_proxy(prefs.proxy)
    except FetchError as exc:
        found.append(exc.message)
    return found


def load(db: Database) -> Preferences:
    """The stored preferences; a missing or unreadable value keeps its default."""
    default = Preferences()
    values: dict[str, object] = {}
    with db.read() as s:
        for f in fields(Preferences):
            raw = events.get_setting(s, f.name)
            if raw is None:
                continue
            current = getattr(default, f.name)
            try:
                if isinstance(current, bool):
                    values[f.name] = raw == "1"
                elif isinstance(current, int):
                    values[f.name] = int(raw)
                else:
                    values[f.name] = raw
            except ValueError:
                log.warning("ignoring unreadable setting %s=%r", f.name, raw)
    prefs = Preferences(**values)  # type: ignore[arg-type]
    if problems(prefs):
        log.warning("stored settings out of range (%s); using defaults", problems(prefs))
        return default
    return prefs


def save(db: Database, prefs: Preferences) -> None:
    """Store ``prefs``; raises PreferenceError when a value is out of range."""
    found = problems(prefs)
    if found:
        raise PreferenceError("; ".join(found))
    with db.write() as s:
        for f in fields(Preferences):
            value = getattr(prefs, f.name)
            text = ("1" if value else "0") if isinstance(value, bool) else str(value)
            events.set_setting(s, f.name, text)


def fetch_limits(db: Database) -> FetchLimits:
    """The fetcher's settings for this profile: the defaults with the reader's proxy."""
    return FetchLimits(proxy=load(db).proxy)


WELCOMED_KEY = "welcomed"


def is_first_run(db: Database) -> bool:
    """True until :func:`mark_welcomed` has been called on this profile."""
    with db.read() as s:
        return events.get_setting(s, WELCOMED_KEY) is None


def mark_welcomed(db: Database) -> None:
    """Remember that the welcome was shown (and the default feeds offered)."""
    with db.write() as s:
        events.set_setting(s, WELCOMED_KEY, "1")
