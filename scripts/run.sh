#!/usr/bin/env bash
# Start the desktop app (arguments go to it: --data-dir DIR, or a headless COMMAND).
# The first launch installs Heedful into .venv; later ones install only when pyproject.toml
# or the bootstrap script changed since (see the stamp in scripts/bootstrap.sh), so a
# relaunch starts straight away and works offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m app "$@"
