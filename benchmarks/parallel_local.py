"""Benchmark: a local sweep of 8 jobs that each sleep 1 s, run one at a time and with max_parallel=8."""

from __future__ import annotations

import io
import logging
import tempfile
from contextlib import redirect_stdout

from _common import seconds, table, use_walkthrough


def main() -> str:
    use_walkthrough()
    from apps import tasks

    from flyteplugins.hydra import hydra_sweep

    logging.disable(logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for cap in (1, 8):
            overrides = ["+x=range(0,8)", "+sleep=1", f"+log={tmp}/spans-{cap}", f"hydra.sweep.dir={tmp}/{cap}"]

            def sweep(cap: int = cap, overrides: list[str] = overrides) -> None:
                with redirect_stdout(io.StringIO()):
                    hydra_sweep(
                        tasks.timed,
                        config_path="conf",
                        config_name="training",
                        overrides=overrides,
                        mode="local",
                        max_parallel=cap,
                    )

            rows.append([f"max_parallel={cap}", f"{seconds(sweep):.2f} s", "< 3 s" if cap == 8 else "-"])
    return table("Local sweep, 8 jobs sleeping 1 s each", ["setting", "wall time", "target"], rows)


if __name__ == "__main__":
    print(main())
