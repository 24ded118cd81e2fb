#!/usr/bin/env bash
# Create .venv (if missing) and install Heedful into it; $1 selects optional groups (dev).
# An install leaves a stamp in .venv: a hash of what the install depends on (pyproject's
# [build-system], [project] and [tool.setuptools] tables, this script and the groups). When the
# stamp still matches, nothing is installed and nothing touches the network; a change to the
# linters' or the tests' settings elsewhere in pyproject.toml does not call for an install.
# FORCE=1 installs anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
extras="${1:-}"
install_tables() {
    # The tables an install reads, as canonical JSON; the whole file where tomllib is missing.
    "$PYTHON" - 2>/dev/null <<'PY' || cat pyproject.toml
import json
import tomllib

with open("pyproject.toml", "rb") as f:
    data = tomllib.load(f)
tables = {
    "build-system": data.get("build-system"),
    "project": data.get("project"),
    "setuptools": data.get("tool", {}).get("setuptools"),
}
print(json.dumps(tables, sort_keys=True))
PY
}
stamp_of() {
    { install_tables; cat scripts/bootstrap.sh; printf 'extras=%s\n' "$1"; } \
        | sha256sum | cut -d' ' -f1
}
stamp_file() { printf '.venv/.heedful-installed%s' "${1:+-$1}"; }
if [ "${FORCE:-0}" != 1 ] && [ -x .venv/bin/python ] \
    && [ "$(cat "$(stamp_file "$extras")" 2>/dev/null)" = "$(stamp_of "$extras")" ]; then
    exit 0
fi
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
stamp_of "$extras" > "$(stamp_file "$extras")"
# A full install with extras also holds everything the plain one needs.
if [ -n "$extras" ]; then
    stamp_of "" > "$(stamp_file "")"
fi
