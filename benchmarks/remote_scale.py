"""Benchmark: remote sweeps at scale, against a loopback control plane running in its own process.

The control plane is `python -m flyte_loopback` in a subprocess, so this process's CPU time is the
client's alone. Every RPC is answered 50 ms late, as a distant control plane would.

- floor: flyte's own client submitting the same task and config input in a bare loop, 32 at a
  time, with the task spec and code bundle made once (as flyte's `flyte.run` does not: it would
  rebuild both per run, a figure also given): what two RPCs per job cost this process at least;
- submission: N jobs with `wait=False` and no task executed (`--max-running 0`): time until the
  last run is submitted, client CPU per job (marginal, between two sizes, the median of three such
  pairs as for the floor, composition included; a dry run of the same sweep gives composition
  alone), peak RSS, lines printed;
- waiting: N runs that the control plane finishes after a few seconds without running a task
  (`--simulate`): time to all results, the most threads this process had, RPCs per run.

uv run python benchmarks/remote_scale.py [--large 10000] [--wait 2000]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import logging
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import redirect_stdout

from _common import EXAMPLES, TESTS, SubmissionClock, table, use_walkthrough

LATENCY = 0.05


class _Server:
    """`python -m flyte_loopback` in a subprocess; its counters are read when it stops."""

    def __init__(self, storage: str, *flags: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flyte_loopback", "--storage", storage, "--log-level", "WARNING", *flags],
            cwd=TESTS,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("flyte config:"):
                self.config = line.split()[2]
                return
        raise RuntimeError("the loopback control plane did not start")

    def stop(self) -> dict[str, int]:
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=60)
        line = next(x for x in out.splitlines() if x.startswith("counters: "))
        return json.loads(line.removeprefix("counters: "))


class _ThreadPeak:
    """The most threads this process had while the block ran (sampled every 50 ms)."""

    def __enter__(self) -> _ThreadPeak:
        self.peak = threading.active_count()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, threading.active_count())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _sweep(jobs: int, sweep_dir: str, **options: object) -> tuple[float, float, float, SubmissionClock]:
    """(wall seconds to the last submission, wall seconds overall, client CPU seconds, output)."""
    from apps import tasks

    from flyteplugins.hydra import hydra_sweep

    clock = SubmissionClock()
    start, cpu = time.perf_counter(), time.process_time()
    with redirect_stdout(clock):
        hydra_sweep(
            tasks.trivial,
            config_path=str(EXAMPLES / "conf"),
            config_name="training",
            overrides=[f"training.epochs=range(0,{jobs})", f"hydra.sweep.dir={sweep_dir}"],
            mode="remote",
            progress="lines",
            **options,
        )
    end = time.perf_counter()
    return (clock.last_submitted or end) - start, end - start, time.process_time() - cpu, clock


def _use(server: _Server) -> None:
    import flyte

    os.environ["FLYTECTL_CONFIG"] = server.config
    flyte.init_from_config(server.config)


def _composed_config() -> object:
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(str(EXAMPLES / "conf"), version_base=None):
        return compose("training", overrides=["training.epochs=1"])


def _floor(jobs: int, cfg: object, *, shared: bool = True, threads: int = 32) -> tuple[float, float]:
    """(wall seconds, client CPU seconds) of `jobs` bare `flyte.run`s of one task and input, `threads` at once."""
    from concurrent.futures import ThreadPoolExecutor

    import flyte
    from apps import tasks

    from flyteplugins.hydra._flyte_compat import SweepCodeBundle

    bundle = SweepCodeBundle()
    tag = time.time_ns()

    def one(num: int) -> object:
        runner = flyte.with_runcontext(mode="remote", name=f"floor-{tag}-{num}")
        return (bundle.apply(runner, "") if shared else runner).run(tasks.trivial, cfg=cfg)

    one(jobs)  # the code bundle and task spec: made once, outside the timing
    start, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(jobs)))
    return time.perf_counter() - start, time.process_time() - cpu


def _marginal(cpu_of: Callable[[int], float], small: int = 50, big: int = 250, pairs: int = 3) -> float:
    """Client CPU per job in ms between sweeps of `small` and `big` jobs: the median of `pairs` such pairs.

    One pair varies by up to a millisecond per job from run to run on two cores shared with the control
    plane's process, most of it from where Python's full garbage collections fall. Each sweep starts
    after a full collection, and the median of three pairs is taken, the same way for the floor and the sweep.
    """

    def cpu(jobs: int) -> float:
        gc.collect()  # each sweep starts with no collection owed by the one before
        return cpu_of(jobs)

    def pair() -> float:
        before = cpu(small)
        return (cpu(big) - before) / (big - small) * 1000

    return statistics.median([pair() for _ in range(pairs)])


def floor(storage: str) -> tuple[list[list[str]], float]:
    """The floor's rows, and its marginal client CPU per job in ms (for the sweep's rows to compare against)."""
    server = _Server(f"{storage}/cpf", "--latency", str(LATENCY), "--max-running", "0")
    _use(server)
    try:
        cfg = _composed_config()
        with redirect_stdout(SubmissionClock()):
            wall, _ = _floor(100, cfg)
            marginal = _marginal(lambda jobs: _floor(jobs, cfg)[1])
            _, unshared = _floor(10, cfg, shared=False, threads=1)
    finally:
        server.stop()
    return [
        ["floor: flyte's client alone, 100 jobs submitted (32 at a time)", f"{wall:.2f} s", "-"],
        ["floor: client CPU per job, marginal 50 -> 250 jobs (median of 3)", f"{marginal:.1f} ms", "-"],
        [
            "  bare flyte.run, which remakes the code bundle and task spec per run",
            f"{unshared / 10 * 1000:.0f} ms",
            "-",
        ],
    ], marginal


def submission(storage: str, large: int, floor_cpu: float) -> list[list[str]]:
    server = _Server(f"{storage}/cp", "--latency", str(LATENCY), "--max-running", "0")
    _use(server)
    try:
        _sweep(2, f"{storage}/warm", wait=False)
        hundred, _, _, _ = _sweep(100, f"{storage}/s100", wait=False)
        sweeps = itertools.count()
        marginal = _marginal(lambda jobs: _sweep(jobs, f"{storage}/s{next(sweeps)}", wait=False)[2])
        composing = _marginal(lambda jobs: _sweep(jobs, f"{storage}/d{next(sweeps)}", dry_run=True)[2])
        many, _, many_cpu, out = _sweep(large, f"{storage}/large", wait=False)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        counters = server.stop()
    bundles = counters.get("CreateUploadLocation", 0)
    return [
        ["100 jobs submitted (50 ms per RPC)", f"{hundred:.2f} s", "<= 1.0 s"],
        ["client CPU per job, marginal 50 -> 250 jobs (median of 3)", f"{marginal:.1f} ms", "<= 3 ms"],
        ["  of which composing the job (a dry run of the sweep)", f"{composing:.1f} ms", "-"],
        ["  of which submitting it", f"{marginal - composing:.1f} ms", "-"],
        ["  above flyte's own client (the floor), i.e. ours", f"{marginal - floor_cpu:.1f} ms", "-"],
        [f"{large} jobs submitted", f"{many:.1f} s", "<= 60 s"],
        [f"  client CPU for those {large} jobs (all threads)", f"{many_cpu:.1f} s", "-"],
        [f"peak client RSS after {large} jobs", f"{rss:.0f} MB", "<= 400 MB"],
        [f"lines printed for {large} jobs (progress=lines)", str(out.getvalue().count("\n")), "-"],
        ["code bundle uploads (all sweeps)", str(bundles), "1"],
    ]


def waiting(storage: str, jobs: int) -> list[list[str]]:
    server = _Server(f"{storage}/cpw", "--latency", str(LATENCY), "--simulate", "3")
    _use(server)
    try:
        with _ThreadPeak() as threads:
            submitted, total, _, out = _sweep(jobs, f"{storage}/w", wait=True)
    finally:
        counters = server.stop()
    per_run = {k: v / jobs for k, v in counters.items() if k not in ("SelectCluster", "CreateUploadLocation")}
    rpcs = ", ".join(f"{k} {v:.2f}" for k, v in sorted(per_run.items()) if v >= 0.01)
    return [
        [f"{jobs} runs (each done 3 s after submission): all submitted", f"{submitted:.1f} s", "-"],
        ["  all results in", f"{total:.1f} s", "-"],
        ["  most threads in the client", str(threads.peak), "bounded (wait_max_workers=32)"],
        ["  RPCs per run", f"{sum(per_run.values()):.2f} ({rpcs})", "no polling storm"],
        ["  lines printed (progress=lines: one per submission, one per result)", str(out.getvalue().count("\n")), "-"],
    ]


def main() -> str:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--wait", type=int, default=2_000)
    args = parser.parse_args()
    use_walkthrough()
    logging.disable(logging.WARNING)
    os.chdir(TESTS)  # flyte bundles the code under the working directory: the test tasks live here
    with tempfile.TemporaryDirectory() as storage:
        rows, floor_cpu = floor(storage)
        rows += submission(storage, args.large, floor_cpu)
        rows += waiting(storage, args.wait)
    return table(
        "Remote sweeps at scale (loopback control plane in its own process, 50 ms per RPC)",
        ["measure", "value", "target"],
        rows,
    )


if __name__ == "__main__":
    print(main())
