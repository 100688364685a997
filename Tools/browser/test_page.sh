#!/usr/bin/env bash
# The web page in headless Chromium (Tools/browser/page_test.py), with websocket-client from a
# virtual environment made in .build/browser-venv on first use. GLIMPSE_BIN selects the binary
# (default: built here). Screenshots go to $PAGE_SCREENSHOTS when set. Skips, saying why, only
# where Chromium cannot be had.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v chromium >/dev/null 2>&1; then
    echo "page test skipped: chromium is not installed (Tools/setup.sh --test-tools installs it)" >&2
    exit 0
fi
if [[ -z "${GLIMPSE_BIN:-}" ]]; then
    swift build --product glimpse >/dev/null
    GLIMPSE_BIN="$(swift build --show-bin-path)/glimpse"
fi
venv=.build/browser-venv
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import websocket' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r Tools/browser/requirements.txt
fi
exec "$venv/bin/python" Tools/browser/page_test.py --glimpse "$GLIMPSE_BIN" ${PAGE_SCREENSHOTS:+--screenshots "$PAGE_SCREENSHOTS"}
