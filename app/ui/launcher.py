"""Open the window: the Qt application, the profile, the log file and the event loop.

``heedful`` with no command (and ``python -m app``, ``python main.py``) comes here with the
parsed global options. ``HEEDFUL_QUIT_AFTER=SECONDS`` closes the window that long after it was
shown, for smoke tests and start-up timing; the INFO line "window shown" carries the wall-clock
time at which it was.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
import time

from app import APP_ID, __version__
from app.services.failure import reader_message
from app.services.profile import Profile, ProfilePaths, default_data_dir

log = logging.getLogger("heedful")

QUIT_AFTER_ENV = "HEEDFUL_QUIT_AFTER"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def run(args: argparse.Namespace) -> int:
    """Show the window on the profile ``args.data_dir`` (or the default); returns the exit code."""
    verbose = int(getattr(args, "verbose", 0) or 0)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=LOG_FORMAT)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.ui import crash, resource, theme
    from app.ui.window import MainWindow

    app = QApplication(sys.argv[:1])
    app.setApplicationName("Heedful")
    app.setOrganizationName("Heedful")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(resource.app_icon())
    theme.apply_theme()
    watcher = theme.ThemeWatcher(app)
    crash.install()
    root = args.data_dir or default_data_dir()
    try:
        profile = Profile(root)
    except Exception as exc:
        message = reader_message(exc, ProfilePaths(root).database)
        if message is None:
            raise
        sys.stderr.write(f"heedful: {message}\n")
        if app.platformName() != "offscreen":  # nobody could see (or close) the box
            QMessageBox.critical(None, "Heedful cannot start", message)
        return 1
    _log_to_profile(profile)
    try:
        window = MainWindow(profile)
        window.show()
        QTimer.singleShot(0, lambda: log.info("window shown (unix time %.3f)", time.time()))
        quit_after = _quit_after()
        if quit_after is not None:
            QTimer.singleShot(int(quit_after * 1000), window.close)
        code = app.exec()
        del watcher
        return code
    finally:
        profile.close()


def _quit_after() -> float | None:
    text = os.environ.get(QUIT_AFTER_ENV, "")
    try:
        value = float(text) if text else None
    except ValueError:
        log.warning("ignoring %s=%r (not a number of seconds)", QUIT_AFTER_ENV, text)
        return None
    return value if value is not None and value >= 0 else None


def _log_to_profile(profile: Profile) -> None:
    log_file = profile.paths.root / "heedful.log"
    try:
        handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=2 * 1024 * 1024, backupCount=2, encoding="utf-8"
        )
    except OSError as exc:
        log.warning("cannot write the log file %s: %s", log_file, exc)
    else:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logging.getLogger().addHandler(handler)
