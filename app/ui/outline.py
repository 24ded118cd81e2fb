"""The sidebar's rows worked out from plain feed records, off the GUI thread: the places
(smart views, folders, feeds), the folder tree a feed's folder path makes ("News/Tech":
"Tech" inside "News", each folder counting the unread articles of all it holds), and how
each row looks (:func:`layout_of`). :mod:`app.ui.sidebar` shows them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from app.services.feed import is_failing
from app.services.folder import SEPARATOR
from app.storage.record import FeedRecord

__all__ = [
    "FOR_YOU",
    "LATEST",
    "SMART",
    "STARRED",
    "FolderNode",
    "Layout",
    "Look",
    "Place",
    "folder_tree",
    "layout_of",
]


@dataclass(frozen=True)
class Place:
    """What a sidebar item stands for: a smart view ("foryou", "latest", "starred"), a folder
    (by name) or a feed (by id)."""

    kind: str
    value: str | int

    @property
    def feed_id(self) -> int | None:
        return int(self.value) if self.kind == "feed" else None

    @property
    def folder(self) -> str | None:
        return str(self.value) if self.kind == "folder" else None


FOR_YOU = Place("smart", "foryou")
LATEST = Place("smart", "latest")
STARRED = Place("smart", "starred")
SMART = ((FOR_YOU, "For you", "foryou"), (LATEST, "Latest", "latest"), (STARRED, "Starred", "star"))


@dataclass
class FolderNode:
    """A folder of the sidebar's tree: its path, the name shown, the unread count of all it
    holds, its folders by name, and its own feeds in the order given."""

    path: str
    label: str
    unread: int = 0
    folders: dict[str, FolderNode] = field(default_factory=dict)
    feeds: list[FeedRecord] = field(default_factory=list)


def folder_tree(feeds: Sequence[FeedRecord]) -> FolderNode:
    """The folders of ``feeds`` as a tree under a nameless root, which holds the feeds filed
    nowhere. Each part of a feed's folder path is a folder ("News/Tech": "Tech" inside "News"),
    and every folder on the path counts the feed's unread articles."""
    root = FolderNode("", "")
    for feed in feeds:
        node = root
        if feed.folder:
            parts = feed.folder.split(SEPARATOR)
            for depth, part in enumerate(parts, 1):
                child = node.folders.get(part)
                if child is None:
                    path = SEPARATOR.join(parts[:depth])
                    child = node.folders[part] = FolderNode(path, part.strip() or path)
                child.unread += feed.unread
                node = child
        node.feeds.append(feed)
    return root


class Look(NamedTuple):
    """How one sidebar row looks: the name, its icon's name, the unread count (bold when
    any), the tooltip, whether it is failing (red) or paused (italic), and the text screen
    readers speak for it ("" for the name alone). A tuple, so that comparing thousands of
    rows with those shown costs the GUI thread next to nothing."""

    label: str
    icon: str
    unread: int
    tooltip: str = ""
    failing: bool = False
    paused: bool = False
    accessible: str = ""


@dataclass(frozen=True)
class Layout:
    """The sidebar's rows in the order they are shown: each row's place and look, and ``key``,
    each row's place and that of the row it sits under in plain values, to tell at C speed
    whether the rows are those shown. Built off the GUI thread
    (:func:`layout_of`), shown with :meth:`app.ui.sidebar.SidebarModel.show`.

    The tree's shape, by row number n (the row's position in ``places``): ``up[n]`` the number
    of the row it sits under (-1: the top level), ``row[n]`` its row under that one, and
    ``children[m + 1]`` the numbers of the rows under row m (``children[0]``: the top level);
    ``number`` maps a place to its n."""

    places: tuple[Place, ...]
    looks: tuple[Look, ...]
    key: tuple[tuple[str, str | int, str, str | int], ...]
    up: tuple[int, ...]
    row: tuple[int, ...]
    children: tuple[tuple[int, ...], ...]
    number: dict[Place, int]

    @staticmethod
    def of(
        places: Sequence[Place], parents: Sequence[Place | None], looks: Sequence[Look]
    ) -> Layout:
        """The layout of these rows (a row's parent is one of them, or None), its shape
        worked out."""
        number = {p: n for n, p in enumerate(places)}
        up = tuple(-1 if p is None else number[p] for p in parents)
        children: list[list[int]] = [[] for _ in range(len(places) + 1)]
        row = []
        for n, m in enumerate(up):
            row.append(len(children[m + 1]))
            children[m + 1].append(n)
        key = tuple(
            (p.kind, p.value, "", "") if q is None else (p.kind, p.value, q.kind, q.value)
            for p, q in zip(places, parents, strict=True)
        )
        return Layout(
            tuple(places),
            tuple(looks),
            key,
            up,
            tuple(row),
            tuple(tuple(c) for c in children),
            number,
        )


def _feed_look(feed: FeedRecord) -> Look:
    failing = is_failing(feed)
    tip = [feed.title or feed.url, feed.url]
    if failing:
        tip.append(f"Error ({feed.error_count}× in a row): {feed.last_error}")
    if not feed.enabled:
        tip.append("Paused: not refreshed")
    return Look(
        feed.title or feed.url,
        "error" if failing else "feed",
        feed.unread,
        "\n".join(tip),
        failing,
        not feed.enabled,
    )


def layout_of(feeds: Sequence[FeedRecord], *, total_unread: int, starred: int) -> Layout:
    """The rows that show ``feeds`` and the smart views' counts: the smart views, then the
    folder tree of ``feeds`` (:func:`folder_tree`); inside a folder its folders by name,
    then its feeds in the order given. Pure: safe off the GUI thread."""
    counts = {FOR_YOU: total_unread, LATEST: total_unread, STARRED: starred}
    rows: list[tuple[Place, Place | None, Look]] = [
        (place, None, Look(label, icon, counts[place])) for place, label, icon in SMART
    ]
    # Iterative, not recursive: a folder path typed by hand may be deeper than the stack.
    stack: list[tuple[FolderNode, Place | None]] = [(folder_tree(feeds), None)]
    while stack:
        node, parent = stack.pop()
        for child in sorted(node.folders.values(), key=lambda n: (n.label.lower(), n.path)):
            where = f"folder inside {node.label}" if node.path else "folder"
            place = Place("folder", child.path)
            look = Look(
                child.label,
                "folder",
                child.unread,
                child.path,
                accessible=f"{child.label}, {where}, {child.unread} unread",
            )
            rows.append((place, parent, look))
            stack.append((child, place))
        rows.extend((Place("feed", f.id), parent, _feed_look(f)) for f in node.feeds)
    return Layout.of([p for p, _, _ in rows], [up for _, up, _ in rows], [k for *_, k in rows])
