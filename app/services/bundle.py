"""Files shipped with the code, and installing the desktop entry that points at this copy.

The repository keeps them in its top-level ``resources/`` folder; the wheel carries the same
files as ``app/resources/`` (pyproject maps one onto the other). :func:`root` finds them in
either place, so a checkout, an editable install and an installed wheel read the same files.
No Qt here: the headless ``--install-desktop-entry`` uses it too.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from app import APP_ID
from app.storage.error import HeedfulError

log = logging.getLogger(__name__)

DESKTOP_FILE = f"{APP_ID}.desktop"
METAINFO_FILE = f"{APP_ID}.metainfo.xml"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
"""The hicolor sizes shipped as PNG (rendered from heedful.svg), beside the scalable SVG."""


class BundleError(HeedfulError):
    """A shipped file is missing, or the desktop entry could not be installed."""


@cache
def root() -> Path:
    """The folder of shipped files: ``app/resources`` when installed, else the checkout's
    ``resources/``. An installed wheel is always unpacked on disk, so this is a real path."""
    shipped = resources.files("app") / "resources"
    if shipped.is_dir():
        return Path(str(shipped))
    return Path(__file__).resolve().parents[2] / "resources"


def path(name: str) -> Path:
    """The shipped file ``name`` (it may not exist; callers say what they do without it)."""
    return root() / name


def default_feeds() -> Path:
    """The starter feeds' OPML file."""
    return path("default_feeds.opml")


@dataclass(frozen=True)
class StarterFeed:
    """One feed the welcome offers: its title, folder, one line about it, and its address."""

    title: str
    folder: str
    description: str
    url: str


def starter_feeds() -> list[StarterFeed]:
    """The feeds in the starter OPML, in file order (empty when the file cannot be read)."""
    try:
        tree = ET.parse(default_feeds())  # noqa: S314 - our own shipped file, not input
    except (OSError, ET.ParseError) as exc:
        log.warning("cannot read the starter feeds: %s", exc)
        return []
    found: list[StarterFeed] = []
    for folder in tree.getroot().iter("outline"):
        for feed in folder.findall("outline"):
            url = feed.get("xmlUrl", "")
            if url:
                found.append(
                    StarterFeed(
                        title=feed.get("title") or feed.get("text") or url,
                        folder=folder.get("title") or folder.get("text") or "",
                        description=feed.get("description", ""),
                        url=url,
                    )
                )
    return found


def data_home() -> Path:
    """``$XDG_DATA_HOME``, else ``~/.local/share`` (where desktops look for a user's entries)."""
    env = os.environ.get("XDG_DATA_HOME", "")
    return Path(env) if env and Path(env).is_absolute() else Path.home() / ".local" / "share"


def launch_command() -> list[str]:
    """The command a desktop launcher runs to open the window of this very installation."""
    candidates = [Path(sys.executable).with_name("heedful")]
    if Path(sys.argv[0]).name == "heedful":  # run as the installed command (pip --user too)
        candidates.insert(0, Path(sys.argv[0]))
    for script in candidates:
        if script.is_file() and os.access(script, os.X_OK):
            return [str(script.resolve())]
    return [sys.executable, "-m", "app"]


def _exec_line(argv: list[str]) -> str:
    """``Exec=`` value: each argument quoted as the Desktop Entry spec asks, ``%`` doubled."""
    out = []
    for arg in argv:
        arg = arg.replace("%", "%%")
        if any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`"):
            arg = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
        out.append(arg)
    return " ".join(out)


def install_desktop_entry(target: Path | None = None) -> list[Path]:
    """Install the .desktop file, the AppStream metainfo and the icons for the current user.

    Files go under ``target`` (default :func:`data_home`): ``applications/``, ``metainfo/`` and
    ``icons/hicolor/<size>/apps/``. The entry's ``Exec`` runs this installation's ``heedful``.
    Returns the files written; raises BundleError when a shipped file is missing or a file
    cannot be written.
    """
    base = target or data_home()
    desktop = root() / "desktop-entry"
    copies: list[tuple[Path, Path]] = [(desktop / METAINFO_FILE, base / "metainfo" / METAINFO_FILE)]
    for size in ICON_SIZES:
        name = f"{size}x{size}"
        copies.append(
            (
                desktop / "icons" / "hicolor" / name / "apps" / f"{APP_ID}.png",
                base / "icons" / "hicolor" / name / "apps" / f"{APP_ID}.png",
            )
        )
    copies.append(
        (
            desktop / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg",
            base / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg",
        )
    )
    written: list[Path] = []
    try:
        template = (desktop / DESKTOP_FILE).read_text(encoding="utf-8")
        entry = "\n".join(
            f"Exec={_exec_line(launch_command())}" if line.startswith("Exec=") else line
            for line in template.splitlines()
        )
        for source, dest in copies:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
            written.append(dest)
        dest = base / "applications" / DESKTOP_FILE
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(entry + "\n", encoding="utf-8")
        written.append(dest)
    except OSError as exc:
        raise BundleError(f"cannot install the desktop entry: {exc}") from exc
    _refresh_caches(base)
    log.info("installed the desktop entry: %s", shlex.join(str(p) for p in written[-1:]))
    return written


def _refresh_caches(base: Path) -> None:
    """Tell the desktop about the new entry and icons (best effort): the menu's database where
    the tool exists, and a newer time on the icon folder, which makes icon caches look again."""
    import subprocess

    try:
        os.utime(base / "icons" / "hicolor")
    except OSError as exc:
        log.info("cannot touch the icon folder: %s", exc)
    exe = shutil.which("update-desktop-database")
    if exe is None:
        return
    try:
        subprocess.run(  # noqa: S603 - a fixed tool on a folder we just wrote
            [exe, str(base / "applications")], check=False, capture_output=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("update-desktop-database failed: %s", exc)
