"""Rows of a damaged table rebuilt from what its indexes still list.

An index entry holds the indexed columns and the rowid, so where a table's own pages are gone
but its indexes' pages are not, a row can be rebuilt when the entries of all the table's
indexes together hold every column it cannot do without (columns no index holds are left
empty, or to their default). A click's own index holds only its article; the rest comes from
the impression it was logged with (:func:`_click_completer`). :mod:`app.storage.salvage` calls
:func:`from_indexes` after the pages, the write-ahead log and the backup have given what they
can.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["LOST_SESSION", "Insert", "TableInfo", "from_indexes", "index_entries", "table_info"]

Insert = Callable[[sqlite3.Connection, str, Sequence[Sequence[Any]]], tuple[int, int]]
"""Runs an INSERT for rows and returns (inserted, refused)."""

TableInfo = Sequence[Sequence[Any]]
"""A table's ``PRAGMA table_info`` rows: (cid, name, type, notnull, default, pk)."""


def table_info(conn: sqlite3.Connection, table: str) -> TableInfo:
    """The table's ``PRAGMA table_info`` rows (none when it does not exist)."""
    return [tuple(row) for row in conn.execute(f'PRAGMA table_info("{table}")')]


def from_indexes(
    src: sqlite3.Connection,
    dst: sqlite3.Connection,
    table: str,
    listed: dict[str, dict[int, dict[str, Any]]],
    insert: Insert,
    info: TableInfo | None = None,
) -> tuple[int, int, int] | None:
    """Rebuild into ``dst`` the rows of ``table`` that ``dst`` lacks but the indexes of
    ``src`` list; (rebuilt, of them in no known screen, listed but too incomplete to rebuild),
    or None when the table has no rowid of its own or its indexes cannot be listed. What the
    indexes list is kept in ``listed`` by table, for the tables rebuilt after. ``info`` is the
    table's :func:`table_info` in ``dst`` when the caller has read it. The rows go in by rowid,
    one ``insert`` for each run of rows that fill the same columns, not one for each row."""
    if info is None:
        info = table_info(dst, table)
    key = _rowid_column(info)
    if key is None:
        return None  # rows without a rowid of their own cannot be told apart from the copy's
    try:
        indexes = [str(row[1]) for row in src.execute(f'PRAGMA index_list("{table}")')]
    except sqlite3.DatabaseError:
        return None
    entries: dict[int, dict[str, Any]] = listed.setdefault(table, {})
    for index in indexes:
        for rowid, values in index_entries(src, table, index).items():
            entries.setdefault(rowid, {}).update(values)
    have = {int(row[0]) for row in dst.execute(f'SELECT "{key}" FROM "{table}"')}  # noqa: S608 (names from our own schema)
    columns = {str(row[1]) for row in info}
    needed = [str(row[1]) for row in info if row[3] and row[4] is None and not row[5]]
    complete = _COMPLETERS[table](dst, listed) if table in _COMPLETERS else None
    short = 0
    rows: list[tuple[tuple[str, ...], bool, tuple[Any, ...]]] = []  # (columns, unplaced, row)
    for rowid in sorted(set(entries) - have):
        values = {c: v for c, v in entries[rowid].items() if c in columns and c != key}
        if complete is not None:
            values = complete(values)
        if any(values.get(c) is None for c in needed):
            short += 1
            continue
        lost = values.get("session") == LOST_SESSION
        rows.append(((key, *values), lost, (rowid, *values.values())))
    rebuilt = unplaced = 0
    for (names, lost), run in itertools.groupby(rows, key=lambda row: row[:2]):
        quoted = ", ".join(f'"{c}"' for c in names)
        marks = ", ".join("?" * len(names))
        sql = f'INSERT OR IGNORE INTO "{table}" ({quoted}) VALUES ({marks})'  # noqa: S608 (names from our own schema)
        added = insert(dst, sql, [row for _names, _lost, row in run])[0]
        rebuilt += added
        unplaced += added if lost else 0
    return rebuilt, unplaced, short


def _rowid_column(info: TableInfo) -> str | None:
    """The table's INTEGER PRIMARY KEY (its rowid), if it has one."""
    keys = [row for row in info if row[5]]
    if len(keys) == 1 and str(keys[0][2]).upper() == "INTEGER":
        return str(keys[0][1])
    return None


def index_entries(src: sqlite3.Connection, table: str, index: str) -> dict[int, dict[str, Any]]:
    """What the index ``index`` lists, by rowid: its plain columns (not its expressions).
    Read forwards; where a damaged page stops that, backwards too, for the entries past it."""
    try:
        info = list(src.execute(f'PRAGMA index_xinfo("{index}")'))
    except sqlite3.DatabaseError:
        return {}
    cols = [str(row[2]) for row in info if row[5] and row[1] >= 0]
    if not cols:
        return {}
    names = ", ".join(f'"{c}"' for c in cols)
    entries: dict[int, dict[str, Any]] = {}
    for direction in ("ASC", "DESC"):
        order = ", ".join(f'"{c}" {direction}' for c in cols)
        query = f'SELECT rowid, {names} FROM "{table}" INDEXED BY "{index}" ORDER BY {order}'  # noqa: S608 (names from our own schema)
        try:
            for row in src.execute(query):
                entries[int(row[0])] = dict(zip(cols, row[1:], strict=True))
        except sqlite3.DatabaseError:
            continue
        break  # read to the end
    return entries


def _click_completer(
    dst: sqlite3.Connection, listed: dict[str, dict[int, dict[str, Any]]]
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A click's own index holds only its article. Its screen, time and row are those of the
    article's latest impression, which the click logged in the same transaction; where that
    impression is lost but its article and time are listed by the impressions' indexes, or
    the article's ``read_at`` (stamped by the click) is known, the click keeps that time and
    the screen :data:`LOST_SESSION`."""
    seen: dict[int, str] = {}
    for values in listed.get("impressions", {}).values():
        article, time = values.get("article_id"), values.get("time")
        if article is not None and time is not None and str(time) > seen.get(article, ""):
            seen[article] = str(time)

    def complete(values: dict[str, Any]) -> dict[str, Any]:
        article = values.get("article_id")
        if article is None:
            return values
        shown = dst.execute(
            "SELECT session, time, position FROM impressions WHERE article_id = ? "
            "ORDER BY time DESC, id DESC LIMIT 1",
            (article,),
        ).fetchone()
        if shown is not None:
            return {"session": shown[0], "time": shown[1], "position": shown[2]} | values
        time = seen.get(article)
        if time is None:
            row = dst.execute("SELECT read_at FROM articles WHERE id = ?", (article,)).fetchone()
            time = row[0] if row is not None else None
        if time is None:
            return values
        return {"session": LOST_SESSION, "time": time} | values

    return complete


LOST_SESSION = "recovered"
"""The screen of a click rebuilt from the indexes whose screen no index lists."""
_COMPLETERS = {"clicks": _click_completer}
"""How a table's rows rebuilt from its indexes get the columns no index holds."""
