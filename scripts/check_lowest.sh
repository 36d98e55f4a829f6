#!/usr/bin/env bash
# Install the lowest version that our pyprojects allow of every direct dependency (uv's
# `lowest-direct` resolution; indirect ones stay at their highest) and run the tests that exercise those
# dependencies, on the same xdist workers as the test stage (pytest's addopts).
# Works on a copy of the tree so that uv.lock and .venv here stay untouched.
#
# What runs, and why: every test file runs except the ones below, which check our own engine end to end
# (process lifecycles, signals, the journal across processes, what the docs print) and go through no
# dependency API that a kept file does not go through too. The test stage runs them at the locked
# versions. A new test file runs here unless it is added to this list, deliberately.
#   kept, by dependency: flyte local and remote runs (test_sdk_local, test_remote, test_cli_remote,
#   test_compat_2x, test_driver_cluster: nested actions and Run.listall by label, test_blocking_async:
#   local runs on their own loop, test_task_env: resources and kubernetes pod templates), the private
#   flyte/Hydra names (test_upstream_compat), Hydra and OmegaConf composition and the launcher plugin
#   (test_launcher with Optuna, test_conformance, test_fast_composition with hypothesis, test_job_outputs,
#   test_invalid_sweeps), Click (test_cli, test_cli_completion), the loopback plane's uvicorn, starlette
#   and httpx (tests/loopback), rich output (test_report, test_html_report), test_packaging.
#   left out:
#     test_faults.py              the fault matrix: our retry/reporting, against answers held for seconds
#     test_options_everywhere.py  every option on every path: our option plumbing (test_cli, test_sdk_local,
#                                 test_launcher run each path once here)
#     test_html_report_browser.py the HTML report in Chromium: no Python dependency involved
#     test_interrupts.py, test_sweep_control.py   Ctrl-C, SIGKILL, caps, reruns: our executor's waits
#     test_sweep_later.py, test_remote_truth.py, test_rerun.py   follow-up across processes: the same
#                                 flyte calls as test_remote and test_driver_cluster, in more processes
#     test_task_exits.py          how a local task's process leaves: the OS, not a dependency
#     test_readme.py, test_cli_executable.py      the docs' examples as written: the text, not the versions
#     test_output_at_scale.py     what we print for thousands of jobs
#     test_driver_cluster_app.py  a `@hydra.main` app's sweep as one driver run, in subprocesses: the flyte
#                                 calls of test_driver_cluster through the launcher plugin of test_launcher
#     test_driver_progress.py     the client following a cluster driver's children: our follow loop over
#                                 the calls test_driver_cluster makes
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
left_out=(
  test_faults.py test_options_everywhere.py test_html_report_browser.py
  test_interrupts.py test_sweep_control.py
  test_sweep_later.py test_remote_truth.py test_rerun.py
  test_task_exits.py
  test_readme.py test_cli_executable.py
  test_output_at_scale.py
  test_driver_cluster_app.py test_driver_progress.py
)
ignores=()
for f in "${left_out[@]}"; do
  [ -e "tests/$f" ] || { echo "check_lowest.sh: tests/$f is gone; update its list" >&2; exit 2; }
  ignores+=("--ignore=tests/$f")
done
uv run --no-sync pytest "${ignores[@]}"
