"""Benchmark 1: marginal cost per job of a local `hydra_sweep`, beside the bare `flyte.run` floor.

Both sides run the same trivial task over the same composed walkthrough config in one warm
process; the marginal cost is (t(120 jobs) - t(20 jobs)) / 100, which cancels fixed start-up.
Wall and CPU time are both shown: on a shared machine wall time also measures the neighbours.
The two sides take turns (floor, sweep, floor, sweep, ...) and each size's fastest of the
`REPEATS` rounds counts, so a burst of load on the shared machine falls on both sides alike
instead of on whichever was being measured then.
Each sweep writes into a new folder, as Hydra's default `multirun/<date>/<time>` does: rewriting
the folders of an earlier sweep costs the file system more (truncating files) than creating them.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable

from _common import table, trivial_local_sweep, use_walkthrough

SMALL, LARGE = 20, 120
REPEATS = 5


def main() -> str:
    use_walkthrough()
    import flyte
    from apps import tasks

    from flyteplugins.hydra._compose import compose_single, make_config_loader, task_config

    logging.disable(logging.WARNING)
    cfg = task_config(compose_single(make_config_loader("conf"), "training", []))

    def floor(n: int) -> None:
        for i in range(n):
            flyte.with_runcontext(mode="local").run(tasks.trivial, cfg=cfg)

    base = "/tmp/flyte-hydra-bench"
    os.makedirs(base, exist_ok=True)
    folders = tempfile.mkdtemp(prefix="sweeps-", dir=base)

    def sweep(n: int) -> None:
        trivial_local_sweep(n, tempfile.mkdtemp(dir=folders))

    floor(5)
    sweep(5)

    sides: dict[str, Callable[[int], None]] = {"floor": floor, "sweep": sweep}
    fastest: dict[tuple[str, int], list[float]] = {}
    for _ in range(REPEATS):
        for jobs in (SMALL, LARGE):
            for name, fn in sides.items():
                start, cpu = time.perf_counter(), time.process_time()
                fn(jobs)
                took = [time.perf_counter() - start, time.process_time() - cpu]
                best = fastest.setdefault((name, jobs), took)
                fastest[name, jobs] = [min(a, b) for a, b in zip(best, took)]

    def per_job(name: str) -> tuple[float, float]:
        (w1, c1), (w2, c2) = fastest[name, SMALL], fastest[name, LARGE]
        return (w2 - w1) / (LARGE - SMALL) * 1000, (c2 - c1) / (LARGE - SMALL) * 1000

    floor_wall, floor_cpu = per_job("floor")
    sweep_wall, sweep_cpu = per_job("sweep")
    shutil.rmtree(folders, ignore_errors=True)
    return table(
        "Local hydra_sweep, marginal ms per job",
        ["path", "wall ms/job", "CPU ms/job", "x floor (wall / CPU)", "target"],
        [
            ["bare flyte.run loop (floor)", f"{floor_wall:.2f}", f"{floor_cpu:.2f}", "1.0", "-"],
            [
                "hydra_sweep (SDK/CLI path)",
                f"{sweep_wall:.2f}",
                f"{sweep_cpu:.2f}",
                f"{sweep_wall / floor_wall:.2f} / {sweep_cpu / floor_cpu:.2f}",
                "<= 1.5x",
            ],
        ],
    )


if __name__ == "__main__":
    print(main())
