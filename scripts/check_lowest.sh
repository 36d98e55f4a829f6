#!/usr/bin/env bash
# Install the lowest version that our pyprojects allow of every direct dependency (uv's
# `lowest-direct` resolution; indirect ones stay at their highest) and run the test suite, less the
# suites that only hold answers for seconds to check our own engine (the fault matrix, every option on
# every path, the browser checks of the HTML report): the test stage runs those, and they exercise no
# dependency differently. That keeps the whole CI run near half an hour on two cores.
# Works on a copy of the tree so that uv.lock and .venv here stay untouched.
#   bash scripts/check_lowest.sh            # the Python uv picks; UV_PYTHON=3.10 to choose
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/check-lowest-XXXXXX")"
trap 'rm -rf "$work"' EXIT

cd "$root"
git ls-files --cached --others --exclude-standard | while IFS= read -r f; do [ -e "$f" ] && printf '%s\n' "$f"; done \
  | tar -c -T - -f - | tar -x -C "$work"

cd "$work"
uv sync --all-packages --resolution lowest-direct
echo "lowest-direct: each distribution's direct dependencies as resolved"
uv tree --frozen --depth 1
uv run --no-sync pytest --ignore=tests/test_faults.py --ignore=tests/test_options_everywhere.py \
  --ignore=tests/test_html_report_browser.py
