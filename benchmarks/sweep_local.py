"""Benchmark 1: marginal cost per job of a local `hydra_sweep`, beside the bare `flyte.run` floor.

Both sides run the same trivial task over the same composed walkthrough config in one warm
process; the marginal cost is (t(120 jobs) - t(20 jobs)) / 100, which cancels fixed start-up.
"""

from __future__ import annotations

import logging

from _common import best_of, table, trivial_local_sweep, use_walkthrough

SMALL, LARGE = 20, 120


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

    def sweep(n: int) -> None:
        trivial_local_sweep(n, "/tmp/flyte-hydra-bench/sweep")

    floor(5)
    sweep(5)
    floor_ms = (best_of(3, lambda: floor(LARGE)) - best_of(3, lambda: floor(SMALL))) / (LARGE - SMALL) * 1000
    sweep_ms = (best_of(3, lambda: sweep(LARGE)) - best_of(3, lambda: sweep(SMALL))) / (LARGE - SMALL) * 1000
    return table(
        "Local hydra_sweep, marginal ms per job",
        ["path", "ms/job", "x floor", "target"],
        [
            ["bare flyte.run loop (floor)", f"{floor_ms:.2f}", "1.0", "-"],
            ["hydra_sweep (SDK/CLI path)", f"{sweep_ms:.2f}", f"{sweep_ms / floor_ms:.1f}", "<= 3.0x"],
        ],
    )


if __name__ == "__main__":
    print(main())
