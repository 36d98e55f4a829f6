"""Benchmark: submitting a 1,000-job grid sweep with driver=cluster vs driver=local, 50 ms per RPC.

Both sweeps are submitted without waiting (`wait=False`) to a loopback control plane running in its
own process (`python -m flyte_loopback`, as in `remote_scale.py`), so this process's CPU time is the
client's alone; each figure is the best of `REPEATS` runs (the machine is shared). With the local
driver the client creates 1,000 runs; with the cluster driver it composes the 1,000 jobs and creates
one run, whose children the jobs become. The control plane runs no task (`--max-running 0`): what
is measured is the submission alone. The last row composes the jobs as the cluster driver's client
does (`_driver_client._grid_children`) and submits nothing: composition is most of that submission.
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
from remote_scale import _Server

JOBS = 1000
LATENCY = 0.05
REPEATS = 2


def _sweep(storage: str, driver: str, **options: object) -> tuple[float, float]:
    """(wall seconds, client CPU seconds) of one `hydra_sweep` call that does not wait."""
    from apps import tasks

    from flyteplugins.hydra import hydra_sweep

    wall, cpu = time.perf_counter(), time.process_time()
    with redirect_stdout(StringIO()):
        hydra_sweep(
            tasks.trivial,
            config_path=str(EXAMPLES / "conf"),
            config_name="training",
            overrides=[f"training.epochs=range(0,{JOBS})", f"hydra.sweep.dir={storage}/sweep"],
            mode="remote",
            wait=False,
            driver=driver,
            **options,
        )
    return time.perf_counter() - wall, time.process_time() - cpu


def _submit(driver: str, storage: str) -> tuple[float, float, int]:
    """Best (wall, CPU) of `REPEATS` submissions, each to a fresh control plane; CreateRun calls of one."""
    import flyte
    from flyte_loopback.pytest_plugin import reset_flyte_init

    best, created = None, 0
    for attempt in range(REPEATS):
        where = Path(storage) / f"{driver}-{attempt}"
        server = _Server(str(where), "--nested", "--latency", str(LATENCY), "--max-running", "0")
        try:
            os.environ["FLYTECTL_CONFIG"] = server.config
            flyte.init_from_config(server.config)
            figures = _sweep(str(where), driver)
        finally:
            counters = server.stop()
            reset_flyte_init()
        created = counters.get("CreateRun", 0)
        best = figures if best is None else min(best, figures)
    assert best is not None
    return best[0], best[1], created


def _compose_only() -> tuple[float, float]:
    """Best (wall, CPU) of composing the sweep's jobs as `driver=cluster` does before its one CreateRun."""
    from apps import tasks
    from hydra.core.utils import JobRuntime

    from flyteplugins.hydra._compose import make_config_loader
    from flyteplugins.hydra._driver_client import _grid_children
    from flyteplugins.hydra.engine import LaunchOptions, LaunchRequest

    options = LaunchOptions.parse("sdk", {"mode": "remote", "driver": "cluster"}, multirun=True)
    overrides = [f"training.epochs=range(0,{JOBS})", "hydra.sweep.dir=unused"]
    request = LaunchRequest(tasks.trivial, str(EXAMPLES / "conf"), "training", overrides, True, {}, options)
    JobRuntime().set("name", tasks.trivial.short_name)
    runs = []
    for _ in range(REPEATS):
        loader = make_config_loader(request.config_path)
        wall, cpu = time.perf_counter(), time.process_time()
        _grid_children(loader, request, overrides)
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(runs)


def main() -> str:
    use_walkthrough()
    logging.disable(logging.WARNING)
    os.chdir(TESTS)  # flyte bundles the code under the working directory: the test tasks live here
    rows = []
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as storage:
        for driver in ("local", "cluster"):
            wall, cpu, created = _submit(driver, storage)
            rows.append([f"driver={driver}", f"{wall:.2f} s", f"{cpu:.2f} s", str(created)])
        wall, cpu = _compose_only()
        rows.append(["driver=cluster: composing the jobs alone", f"{wall:.2f} s", f"{cpu:.2f} s", "0"])
    return table(
        f"Submitting a {JOBS}-job grid sweep, {LATENCY * 1000:.0f} ms per RPC (loopback control plane, "
        f"own process; best of {REPEATS})",
        ["driver", "submission wall time", "client CPU", "CreateRun calls"],
        rows,
    )


if __name__ == "__main__":
    print(main())
