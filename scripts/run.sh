#!/usr/bin/env bash
# Start the desktop app (arguments go to it: --data-dir DIR, or a headless COMMAND).
# The first launch installs Heedful into .venv; later ones install only when the requirements
# in pyproject.toml or the bootstrap script changed since (the stamp in scripts/bootstrap.sh), so a
# relaunch starts straight away and works offline. When an install is due but cannot be done
# (no package index reachable) and Heedful is already installed, it says so and starts that.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! bash scripts/bootstrap.sh; then
    if ! .venv/bin/python -c 'import importlib.metadata as m; m.version("heedful")' 2>/dev/null
    then
        echo "run.sh: installing Heedful failed (see above)" >&2
        exit 1
    fi
    echo "run.sh: could not update the installation (see above); starting the installed copy" >&2
fi
exec .venv/bin/python -m app "$@"
