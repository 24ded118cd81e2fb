#!/usr/bin/env bash
# Screenshots of the real app in its main states (river, reader, Why this?, Model page,
# settings, the activity panel after a real refresh, nested folders in the sidebar; then the
# reader with a fetched full text, a folded story "also in" another feed and an attachment),
# saved as PNGs in docs/screenshots/ (main.png is the README's).
#
# Installs nothing itself. On Debian/Ubuntu it needs:
#   apt-get install -y xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 imagemagick
# The app runs on a temporary profile filled with real headlines from ../shared/data
# (synthetic ones when that folder is absent) and trains one model round first (~1 minute).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/screenshots}"
mkdir -p "$out"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
export QT_QPA_PLATFORM=xcb
xvfb-run -a -s "-screen 0 1440x900x24" \
    .venv/bin/python scripts/screenshot.py --data-dir "$profile" --out "$out"
xvfb-run -a -s "-screen 0 1440x900x24" \
    .venv/bin/python scripts/readershot.py --out "$out"
ls -l "$out"
