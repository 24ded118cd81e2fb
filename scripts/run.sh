#!/usr/bin/env bash
# Install Heedful into .venv and start the desktop app (arguments go to main.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python main.py "$@"
