"""Start Heedful from a checkout: ``python main.py [--data-dir DIR] [COMMAND ...]``.

The same as the installed ``heedful`` command: the window with no command, a headless
command with one (see :mod:`app.__main__`).
"""

from __future__ import annotations

import sys

from app.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
