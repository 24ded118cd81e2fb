"""The window's actions laid out: its menus, its toolbar, the reader's toolbar and the river's
and sidebar's context menus, as lists of the actions' names (``act_<name>`` on the window).

:func:`action` makes one action with its shortcut on the window, for the window and for the
helpers that add their own (full text, catching up).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QMenuBar, QToolBar, QWidget

from app.ui import resource

Shortcut = str | QKeySequence.StandardKey | None

MENUS = (
    ("&File", "import export settings quit"),
    ("&Article", "next prev open read star why more less fewer images all_read"),
    ("F&eeds", "refresh add props refresh_feed delete delete_failed mute log"),
    ("&View", "show_read"),
    ("&Model", "train model feedback"),
    ("&Help", "help about"),
)
"""The menu bar: each menu's title and its actions' names, in order."""
TOOLBAR = ("refresh", "add", "", "model")
"""The main toolbar ("" is a separator)."""
READER_BAR = "open star why more less images"
RIVER_MENU = "open star why more less fewer"
SIDEBAR_MENU = "refresh_feed props all_read delete"


def action(
    window: QWidget,
    text: str,
    slot: Callable[[], object],
    shortcut: Shortcut = None,
    icon: str | None = None,
) -> QAction:
    """An action on ``window`` (its shortcut works anywhere in the window) that calls
    ``slot``."""
    made = QAction(text, window)
    if icon:
        made.setIcon(resource.icon(icon))
    if shortcut is not None:
        made.setShortcut(QKeySequence(shortcut))
        made.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    made.triggered.connect(slot)
    window.addAction(made)
    return made


def actions(window: QWidget, names: str | Sequence[str]) -> list[QAction | None]:
    """The window's ``act_<name>`` for each name; None for "" (a separator)."""
    split = names.split() if isinstance(names, str) else names
    found: list[QAction | None] = []
    for name in split:
        found.append(getattr(window, "act_" + name) if name else None)
    return found


def fill(target: QMenu | QToolBar, items: Sequence[QAction | None]) -> None:
    for item in items:
        if item is None:
            target.addSeparator()
        else:
            target.addAction(item)


def lay_out(window: QMainWindow, reader_bar: QToolBar) -> tuple[QMenu, QMenu]:
    """Fill the menu bar, the main toolbar and ``reader_bar`` with the window's actions;
    returns the river's and the sidebar's context menus."""
    bar = window.menuBar()
    for title, names in MENUS:
        fill(bar.addMenu(title), actions(window, names))
    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("main-toolbar")
    toolbar.setMovable(False)
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    fill(toolbar, actions(window, TOOLBAR))
    fill(reader_bar, actions(window, READER_BAR))
    river_menu = QMenu(window)
    fill(river_menu, actions(window, RIVER_MENU))
    sidebar_menu = QMenu(window)
    fill(sidebar_menu, actions(window, SIDEBAR_MENU))
    return river_menu, sidebar_menu


def find_menu(bar: QMenuBar, title: str) -> QMenu | None:
    """The menu on ``bar`` whose title, without its ``&`` accelerator, is ``title``."""
    for item in bar.actions():
        menu = item.menu()
        if isinstance(menu, QMenu) and menu.title().replace("&", "") == title:
            return menu
    return None
