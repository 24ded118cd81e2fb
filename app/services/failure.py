"""What a failure means to the reader: one line for their problem, None for a bug.

The command line, the window's jobs and the model host each ask :func:`reader_message` once,
so that they agree on which failures are the reader's: every :class:`HeedfulError`, the system
refusing a file (permissions, a full disk, a folder where a file should be), a SQLite failure
that means a locked, damaged or mismatched database, and a model file that cannot be used.
Anything else is a bug, shown with its traceback.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from app.storage.database import storage_error
from app.storage.error import HeedfulError

SHOWN_RUN = 120
"""Longest run of non-space characters (a URL, a path) a message shows in full."""
_LONG_RUN_RE = re.compile(rf"\S{{{SHOWN_RUN + 1},}}")
_MISMATCH = ("no such table", "already exists", "no such column")
"""What SQLite says when a profile's tables do not match its schema version."""
MODEL_ERRORS = (("nrms_core.checkpoint", "CheckpointError"),)
"""nrms_core's failures that are the reader's (a damaged or foreign model file), by module and
name: nrms_core cannot raise the app's type, and the window must not import torch to check."""


def reader_message(exc: BaseException, database: Path | None = None) -> str | None:
    """The line to show the reader for ``exc``, or None when ``exc`` is a bug.

    ``database`` is the profile's database file, named in the line for a SQLite failure.
    """
    if isinstance(exc, HeedfulError):
        return str(exc) or type(exc).__name__
    if isinstance(exc, OSError):
        return _os_message(exc)
    if isinstance(exc, DBAPIError | sqlite3.DatabaseError):
        return _database_message(exc, database)
    if _model_error(exc):
        return str(exc) or type(exc).__name__
    return None


def _os_message(exc: OSError) -> str:
    """An OSError in words, naming the file it is about."""
    why = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return why
    return f"cannot use {shown(exc.filename)}: {why}"


def _database_message(exc: DBAPIError | sqlite3.DatabaseError, database: Path | None) -> str | None:
    """A SQLite failure that means a locked, full, damaged or mismatched database, in words;
    None when it looks like a bug. A table that is missing or already there, or a column that
    is missing, is a profile whose tables do not match its schema version."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    detail = " ".join(str(orig).split())
    mismatch = isinstance(orig, sqlite3.OperationalError) and any(
        phrase in detail for phrase in _MISMATCH
    )
    if database is None:  # a caller that does not know the profile: the same verdict, unnamed
        known = storage_error(exc, Path("heedful.db")) is not None or mismatch
        return f"the profile's database failed ({detail})" if known else None
    found = storage_error(exc, database)
    if found is not None:
        return str(found)
    if not mismatch:
        return None
    return (
        f"the database {shown(database)} does not have the tables its schema version promises "
        f"({detail}); it is damaged or was changed by hand"
    )


def _model_error(exc: BaseException) -> bool:
    """Whether ``exc`` is one of :data:`MODEL_ERRORS`; a module not loaded raised none."""
    for module_name, name in MODEL_ERRORS:
        module = sys.modules.get(module_name)
        kind = getattr(module, name, None)
        if isinstance(kind, type) and isinstance(exc, kind):
            return True
    return False


def shown(value: object) -> str:
    """A name, path or address fit for a one-line message: bytes that are not UTF-8 escaped,
    controls escaped, long runs clipped."""
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    try:  # bytes that were not UTF-8 arrive as lone surrogates: show them as \xNN
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return clip(text)


def clip(message: str, limit: int = 600) -> str:
    """``message`` on one line, with each run of more than :data:`SHOWN_RUN` non-space
    characters (a 100 KB URL) clipped to its start and its length, and at most ``limit``
    characters in all."""
    line = " ".join(message.split())
    line = _LONG_RUN_RE.sub(
        lambda m: f"{m.group(0)[: SHOWN_RUN - 20]}… ({len(m.group(0))} characters)", line
    )
    return line if len(line) <= limit else line[: limit - 1] + "…"
