"""``heedful`` / ``python -m app``: the window with no command, a headless command with one.

``heedful`` opens the window on the default profile (``--data-dir DIR`` for another);
``heedful COMMAND ...`` runs that command without a window (see ``heedful --help``);
``heedful --version`` prints the version.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from app import cli


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch on the command line; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    parsed = cli.build_parser().parse_args(args)
    if parsed.command is None and not parsed.install_desktop_entry:
        from app.ui.launcher import run

        return run(parsed)
    return cli.main(args)


if __name__ == "__main__":
    sys.exit(main())
