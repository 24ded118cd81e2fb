"""Passwords in feed addresses (``https://alice:s3cret@example.org/feed``).

The rule: **a feed's stored address never holds a password.** When the reader subscribes to
(or imports) an address with one, the password is taken out and kept apart; the address keeps
the user name (``https://alice@example.org/feed``), which marks it as one to complete. So every
place that shows, logs or exports a feed's address (the window, ``stats``, refresh failures,
OPML) cannot show the password, and messages about an address typed by the reader pass it
through :func:`redact` first. :func:`reveal` puts the password back just before a fetch.

Where the password is kept: in the system keyring (the ``keyring`` package, service
"Heedful", one entry per address) when it is installed and has a working backend; else in
the profile's settings (``feed_password:<address>``), which is no safer than the profile
folder but is never displayed. OPML export writes addresses without passwords unless the
reader asks for them (``export-opml --with-passwords``).
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from sqlalchemy import select

from app.feeds.fetcher import redact
from app.storage import feeds
from app.storage.database import Database
from app.storage.feeds import DuplicateFeedError
from app.storage.schema import Feed
from app.storage.setting import delete_setting, get_setting, set_setting

log = logging.getLogger(__name__)

SERVICE = "Heedful"
SETTING_PREFIX = "feed_password:"
ENV_OFF = "HEEDFUL_NO_KEYRING"
"""Set to any value to keep passwords out of the system keyring (tests, portable profiles)."""

_NO_BACKEND = ("keyring.backends.fail", "keyring.backends.null")

__all__ = ["carry", "move_passwords", "redact", "reveal", "split", "stash"]


def split(url: str) -> tuple[str, str | None]:
    """``url`` without its password (the user name kept), and the password (None if none)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url, None
    user, _, password = userinfo.partition(":")
    bare = urlunsplit((parts.scheme, f"{user}@{host}", parts.path, parts.query, parts.fragment))
    return bare, password


def carry(typed: str, fetched: str) -> str:
    """``fetched`` (the address a fetch of ``typed`` ended at, which has no user name nor
    password) with the user name and password of ``typed`` when both are on the same origin;
    a redirect to another host does not take them along."""
    try:
        old, new = urlsplit(typed), urlsplit(fetched)
        same = (old.scheme, old.hostname, old.port) == (new.scheme, new.hostname, new.port)
    except ValueError:
        return fetched
    userinfo, at, _ = old.netloc.rpartition("@")
    if not at or not same or "@" in new.netloc:
        return fetched
    netloc = f"{userinfo}@{new.netloc}"
    return urlunsplit((new.scheme, netloc, new.path, new.query, new.fragment))


def _join(bare: str, password: str) -> str:
    parts = urlsplit(bare)
    user, _, host = parts.netloc.rpartition("@")
    netloc = f"{user}:{password}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _needs_password(url: str) -> bool:
    try:
        userinfo, at, _ = urlsplit(url).netloc.rpartition("@")
    except ValueError:
        return False
    return bool(at) and ":" not in userinfo


def _keyring() -> Any | None:
    """The ``keyring`` module when it is installed and has a usable backend, else None."""
    if os.environ.get(ENV_OFF):
        return None
    try:
        module = importlib.import_module("keyring")
        backend = module.get_keyring()
        usable = float(getattr(backend, "priority", 0)) > 0
    except Exception as exc:  # not installed, or a backend that fails to load: no keyring
        log.debug("no system keyring: %s", exc)
        return None
    if not usable or type(backend).__module__.startswith(_NO_BACKEND):
        return None
    return module


def stash(db: Database, url: str) -> str:
    """Keep the password of ``url`` apart and return the address to store (``url`` as it is
    when it has no password)."""
    bare, password = split(url)
    if password is None:
        return url
    keyring = _keyring()
    if keyring is not None:
        try:
            keyring.set_password(SERVICE, bare, unquote(password))
        except Exception as exc:  # a locked or refusing keyring: keep it in the profile
            log.warning("the system keyring refused the password for %s: %s", redact(bare), exc)
        else:
            with db.write() as s:
                delete_setting(s, SETTING_PREFIX + bare)
            return bare
    with db.write() as s:
        set_setting(s, SETTING_PREFIX + bare, password)
    return bare


def reveal(db: Database, url: str) -> str:
    """The address to fetch: ``url`` with its kept password put back (as it is when it has
    none, or when the password cannot be found)."""
    if not _needs_password(url):
        return url
    keyring = _keyring()
    if keyring is not None:
        try:
            found = keyring.get_password(SERVICE, url)
        except Exception as exc:
            log.warning("could not read the system keyring for %s: %s", redact(url), exc)
            found = None
        if found:
            return _join(url, _quote_password(found))
    with db.read() as s:
        kept = get_setting(s, SETTING_PREFIX + url)
    return _join(url, kept) if kept else url


def _quote_password(password: str) -> str:
    return quote(password, safe="")


def move_passwords(db: Database) -> int:
    """Take the passwords out of the stored addresses of older profiles; returns how many."""
    with db.read() as s:
        rows = s.execute(select(Feed.id, Feed.url).where(Feed.url.contains("@"))).all()
    holding = [(int(feed_id), str(url)) for feed_id, url in rows if split(url)[1] is not None]
    moved = 0
    for feed_id, url in holding:
        bare = stash(db, url)
        try:
            with db.write() as s:
                feeds.update_feed(s, feed_id, url=bare)
        except DuplicateFeedError:
            log.warning("feed %d repeats %s; its address is left as it was", feed_id, redact(bare))
            continue
        moved += 1
    if moved:
        log.info("moved the passwords of %d feed addresses out of the database", moved)
    return moved
