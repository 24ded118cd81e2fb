#!/usr/bin/env bash
# Install Heedful with its development tools into .venv, run the quality gates, then the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh dev
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
echo "== ruff check";          .venv/bin/ruff check app nrms_core harness tests bench main.py
echo "== ruff format --check"; .venv/bin/ruff format --check app nrms_core harness tests bench main.py
echo "== mypy --strict";       .venv/bin/mypy --strict app nrms_core main.py
echo "== import contracts";    .venv/bin/lint-imports
echo "== pytest";              .venv/bin/python -m pytest "$@"
