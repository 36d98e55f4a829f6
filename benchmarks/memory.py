"""Benchmark 5: peak RSS of a 1000-job local sweep and RSS growth per job.

Growth is measured between a 100-job warm-up sweep and the end of a following 1000-job sweep
in the same process, so one-off imports and caches are not counted as per-job growth.
"""

from __future__ import annotations

import gc
import logging
import resource

from _common import table, trivial_local_sweep, use_walkthrough

JOBS = 1000


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def main() -> str:
    use_walkthrough()

    logging.disable(logging.WARNING)

    def sweep(n: int) -> None:
        trivial_local_sweep(n, "/tmp/flyte-hydra-bench/memory")

    sweep(100)
    gc.collect()
    before = rss_kb()
    sweep(JOBS)
    gc.collect()
    after = rss_kb()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    growth = (after - before) / JOBS
    return table(
        f"Memory, {JOBS}-job local sweep",
        ["measure", "value", "target"],
        [["peak RSS", f"{peak_mb:.0f} MB", "-"], ["RSS growth per job", f"{growth:.1f} KB", "<= 20 KB"]],
    )


if __name__ == "__main__":
    print(main())
