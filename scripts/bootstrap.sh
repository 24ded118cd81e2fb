#!/usr/bin/env bash
# Create .venv (if missing) and install Heedful into it; EXTRAS selects optional groups.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
extras="${1:-}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch 2.13.0 is the release Heedful is tested with. Installing it by exact
# version first keeps pip from swapping in a different build to satisfy the
# range in pyproject.toml; a torch already in range is kept.
if ! .venv/bin/python - <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
major, minor = (int(p) for p in version("torch").split(".")[:2])
sys.exit(0 if (2, 4) <= (major, minor) < (2, 14) else 1)
PY
then
    .venv/bin/python -m pip install --quiet "torch==2.13.0"
fi
if [ -n "$extras" ]; then
    .venv/bin/python -m pip install --quiet -e ".[$extras]"
else
    .venv/bin/python -m pip install --quiet -e .
fi
