"""Start the Heedful desktop app: ``python main.py [--data-dir DIR]``."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import sys
from pathlib import Path

from app.services.profile import Profile, default_data_dir
from app.storage.database import StorageError

log = logging.getLogger("heedful")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="heedful", description="A news reader that learns, on your machine, what you heed."
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="profile folder (default: $HEEDFUL_HOME or the per-user data folder)",
    )
    parser.add_argument("--verbose", action="store_true", help="log debug messages")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, open the profile, show the window, run the event loop."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.ui import crash, resource, theme
    from app.ui.window import MainWindow

    app = QApplication(sys.argv[:1])
    app.setApplicationName("Heedful")
    app.setOrganizationName("Heedful")
    app.setWindowIcon(resource.icon("heedful"))
    theme.apply_theme()
    watcher = theme.ThemeWatcher(app)
    crash.install()
    root = args.data_dir or default_data_dir()
    try:
        profile = Profile(root)
    except StorageError as exc:
        sys.stderr.write(f"heedful: {exc}\n")
        if app.platformName() != "offscreen":  # nobody could see (or close) the box
            QMessageBox.critical(None, "Heedful cannot start", str(exc))
        return 1
    log_file = profile.paths.root / "heedful.log"
    try:
        handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=2 * 1024 * 1024, backupCount=2, encoding="utf-8"
        )
    except OSError as exc:
        log.warning("cannot write the log file %s: %s", log_file, exc)
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)
    try:
        window = MainWindow(profile)
        window.show()
        code = app.exec()
        del watcher
        return code
    finally:
        profile.close()


if __name__ == "__main__":
    sys.exit(main())
