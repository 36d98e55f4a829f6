"""Benchmark: submitting a 1,000-job grid sweep with driver=cluster vs driver=local, 50 ms per RPC.

Both sweeps are submitted without waiting (`wait=False`) against the loopback control plane, and the
client's wall time and CPU time for the submission are measured. With the local driver the client
creates 1,000 runs; with the cluster driver it composes the 1,000 jobs and creates one run, and the
jobs become child actions of it on the cluster. The control plane starts at most one task process at
a time, so the tasks left behind do not steal the client's CPU.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

from _common import EXAMPLES, TESTS, table, use_walkthrough

JOBS = 1000
LATENCY = 0.05


def _submit(driver: str, storage: str) -> tuple[float, float, int]:
    from apps import tasks
    from flyte_loopback import LoopbackServer

    from flyteplugins.hydra import hydra_sweep

    with LoopbackServer(Path(storage) / driver) as server:
        os.environ["FLYTECTL_CONFIG"] = str(server.config_path)
        server.nested = True
        server.set_latency(LATENCY)
        server.limit_running(1)
        wall, cpu = time.perf_counter(), time.process_time()
        with redirect_stdout(StringIO()):
            hydra_sweep(
                tasks.trivial,
                config_path=str(EXAMPLES / "conf"),
                config_name="training",
                overrides=[f"training.epochs=range(0,{JOBS})", f"hydra.sweep.dir={storage}/{driver}/sweep"],
                mode="remote",
                wait=False,
                driver=driver,
            )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        created = server.counters.get("CreateRun", 0)
    from flyte_loopback.pytest_plugin import reset_flyte_init

    reset_flyte_init()
    return wall, cpu, created


def main() -> str:
    use_walkthrough()
    logging.disable(logging.WARNING)
    os.chdir(TESTS)  # flyte bundles the code under the working directory: the test tasks live here
    rows = []
    with tempfile.TemporaryDirectory() as storage:
        for driver in ("local", "cluster"):
            wall, cpu, created = _submit(driver, storage)
            rows.append([f"driver={driver}", f"{wall:.2f} s", f"{cpu:.2f} s", str(created)])
    return table(
        f"Submitting a {JOBS}-job grid sweep, {LATENCY * 1000:.0f} ms per RPC (loopback control plane)",
        ["driver", "submission wall time", "client CPU", "CreateRun calls"],
        rows,
    )


if __name__ == "__main__":
    print(main())
