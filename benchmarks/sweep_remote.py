"""Benchmark 3: a 100-job remote sweep against the loopback control plane with 50 ms added to every RPC.

Reports the time until every job is submitted (the last `Flyte run submitted` line) and until all
results are in. The control plane runs each task as a local subprocess, so the second figure is
bounded by this machine's cores rather than by the client.
"""

from __future__ import annotations

import logging
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

from _common import EXAMPLES, TESTS, SubmissionClock, table, use_walkthrough

JOBS = 100
LATENCY = 0.05


def main() -> str:
    use_walkthrough()
    import os

    from apps import tasks
    from flyte_loopback import LoopbackServer

    from flyteplugins.hydra import hydra_sweep

    logging.disable(logging.WARNING)
    os.chdir(TESTS)  # flyte bundles the code under the working directory: the test tasks live here
    with tempfile.TemporaryDirectory() as storage, LoopbackServer(Path(storage)) as server:
        os.environ["FLYTECTL_CONFIG"] = str(server.config_path)
        server.set_latency(LATENCY)
        server.limit_running(1)  # task processes would otherwise starve the client and server of CPU
        clock = SubmissionClock()
        start = time.perf_counter()
        with redirect_stdout(clock):
            results = hydra_sweep(
                tasks.trivial,
                config_path=str(EXAMPLES / "conf"),
                config_name="training",
                overrides=[f"training.epochs=range(0,{JOBS})", f"hydra.sweep.dir={storage}/sweep"],
                mode="remote",
                wait_max_workers=None,
            )
        done = time.perf_counter() - start
        submitted = clock.last_submitted - start
        assert len(results) == JOBS
        uploads = server.counters.get("CreateUploadLocation", 0)
    return table(
        f"Remote sweep, {JOBS} jobs, {LATENCY * 1000:.0f} ms per RPC (loopback control plane)",
        ["measure", "value", "target"],
        [
            ["all submitted", f"{submitted:.2f} s", "<= 5 s"],
            ["all results in", f"{done:.1f} s", "- (tasks run as local subprocesses)"],
            ["code bundle uploads", str(uploads), "1"],
        ],
    )


if __name__ == "__main__":
    print(main())
