"""Benchmark 2: ms per job of `@hydra.main --multirun` with `hydra/launcher=flyte`, beside Hydra's basic launcher.

Both run the same app (tests/apps/hydra_app.py running a trivial task locally) in fresh
interpreters; the per-job figure is (t(N) - t(20)) / (N - 20), which cancels interpreter start-up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from _common import TESTS, best_of, table

N = 200


def run(launcher: list[str], jobs: int) -> None:
    with tempfile.TemporaryDirectory() as sweep_dir:
        subprocess.run(
            [
                sys.executable,
                str(TESTS / "apps" / "hydra_app.py"),
                "--multirun",
                *launcher,
                "+task=trivial",
                f"x=range(0,{jobs})",
                f"hydra.sweep.dir={sweep_dir}",
            ],
            check=True,
            capture_output=True,
            cwd=sweep_dir,
            env={**os.environ, "PYTHONPATH": str(TESTS), "CI": "1"},
        )


def per_job_ms(launcher: list[str]) -> float:
    return (best_of(2, lambda: run(launcher, N)) - best_of(2, lambda: run(launcher, 20))) / (N - 20) * 1000


def main() -> str:
    flyte_ms = per_job_ms(["hydra/launcher=flyte", "hydra.launcher.mode=local"])
    basic_ms = per_job_ms([])
    return table(
        f"@hydra.main --multirun, {N} jobs, ms per job",
        ["launcher", "ms/job", "target"],
        [
            ["hydra/launcher=flyte (mode=local)", f"{flyte_ms:.1f}", "<= 72 (half of 2.12.1's ~145)"],
            ["Hydra's basic launcher, same app", f"{basic_ms:.1f}", "-"],
        ],
    )


if __name__ == "__main__":
    print(main())
